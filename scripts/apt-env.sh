# SPDX-License-Identifier: GPL-2.0
# apt without touching /etc/apt: the system's own Debian mirror, private apt
# states for suites the system does not list, and the install planner of
# scripts/deps.sh. Sourced, not run.
#
#   apt_sources                 every "deb" entry of the system's apt sources,
#                               one per line: URI SUITE SIGNED-BY ("-" if none)
#   debian_mirror SUITE         the URI the system uses for Debian's SUITE
#                               (e.g. bookworm, bookworm-security); fails if none
#   apt_private DIR SUITE... -- COMMAND...
#                               run an apt command with a private state in DIR:
#                               its own sources list (the system's mirror, the
#                               SUITEs given), lists and caches
#   apt_private_plus DIR SUITE -- COMMAND...
#                               likewise, with the system's own sources plus SUITE
#   plan_install PKG...         decide where each package comes from (below)
#
# A user behind a local mirror or proxy has no other mirror than the one in
# their sources, so nothing here names one.

# APT::Sandbox::User=root: apt downloads as root into directories its _apt
# user could not reach (the cache is under the user's home), and says so with
# a warning on every call unless told that this is intended.
APT_QUIET_SANDBOX=(-o APT::Sandbox::User=root)

apt_sources() {
  local f
  {
    [ -r /etc/apt/sources.list ] && awk '
      /^[ \t]*deb[ \t]/ {
        sub(/^[ \t]*deb[ \t]+/, ""); sb = "-"
        if ($1 ~ /^\[/) {               # [ options ]
          opts = $0; sub(/\].*/, "", opts); sub(/^[^\]]*\][ \t]*/, "")
          if (match(opts, /signed-by=[^ \t\]]+/)) sb = substr(opts, RSTART + 10, RLENGTH - 10)
        }
        print $1, $2, sb
      }' /etc/apt/sources.list
    for f in /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      awk '/^[ \t]*deb[ \t]/ { sub(/^[ \t]*deb[ \t]+/, ""); sb = "-"
        if ($1 ~ /^\[/) { opts = $0; sub(/\].*/, "", opts); sub(/^[^\]]*\][ \t]*/, "")
          if (match(opts, /signed-by=[^ \t\]]+/)) sb = substr(opts, RSTART + 10, RLENGTH - 10) }
        print $1, $2, sb }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -r "$f" ] || continue
      # deb822 stanzas: Types, URIs, Suites, Signed-By, Enabled.
      awk 'function flush(   i, j, t, u, s) {
             if (types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/) {
               nu = split(uris, u, " "); ns = split(suites, s, " ")
               for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j], (sb == "" ? "-" : sb)
             }
             types = uris = suites = sb = enabled = ""
           }
           /^[ \t]*#/ { next }
           /^[ \t]*$/ { flush(); next }
           { key = tolower($1); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
             if (key == "types:") types = val; else if (key == "uris:") uris = val
             else if (key == "suites:") suites = val; else if (key == "signed-by:") sb = val
             else if (key == "enabled:") enabled = val }
           END { flush() }' "$f"
    done
  } 2>/dev/null
}

debian_mirror() {
  local uri
  uri=$(apt_sources | awk -v s="$1" '$2 == s { print $1; exit }')
  [ -n "$uri" ] || return 1
  echo "${uri%/}"
}

# The Signed-By of the system's entry for SUITE, or the Debian keyring.
debian_signed_by() {
  local sb
  sb=$(apt_sources | awk -v s="$1" '$2 == s && $3 != "-" { print $3; exit }')
  if [ -z "$sb" ] && [ -r /usr/share/keyrings/debian-archive-keyring.gpg ]; then
    sb=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  echo "$sb"
}

# apt_state_opts DIR: the options that point apt at DIR for lists and caches.
apt_state_opts() {
  mkdir -p "$1/lists/partial" "$1/cache/archives/partial"
  APT_STATE_OPTS=(-o Dir::State::Lists="$1/lists" -o Dir::Cache="$1/cache"
                  -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache="" "${APT_QUIET_SANDBOX[@]}")
}

# apt_private DIR SUITE... -- COMMAND...: only the SUITEs given, from the
# system's Debian mirror (that of its own release).
apt_private() {
  local dir=$1; shift
  local suites=() host mirror sb s
  while [ "$1" != -- ]; do suites+=("$1"); shift; done; shift
  host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  mirror=$(debian_mirror "$host") || { echo "no Debian mirror for '$host' in /etc/apt/sources*" >&2; return 1; }
  sb=$(debian_signed_by "$host")
  : > "$dir.sources.new" 2>/dev/null || mkdir -p "$(dirname "$dir")"
  for s in "${suites[@]}"; do echo "deb ${sb:+[signed-by=$sb] }$mirror $s main"; done > "$dir.sources.new"
  mv "$dir.sources.new" "$dir.sources.list"
  apt_state_opts "$dir"
  "$@" -o Dir::Etc::SourceList="$dir.sources.list" -o Dir::Etc::SourceParts=/dev/null "${APT_STATE_OPTS[@]}"
}

# apt_private_plus DIR SUITE -- COMMAND...: the system's own sources (copied
# afresh each call, so they never go stale) plus SUITE from its Debian mirror.
apt_private_plus() {
  local dir=$1 suite=$2 host mirror sb f; shift 3
  host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  mirror=$(debian_mirror "$host") || { echo "no Debian mirror for '$host' in /etc/apt/sources*" >&2; return 1; }
  sb=$(debian_signed_by "$host")
  rm -rf "$dir/parts"; mkdir -p "$dir/parts"
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && cp "$f" "$dir/parts/"
  done
  echo "deb ${sb:+[signed-by=$sb] }$mirror $suite main" > "$dir/parts/zz-simrupt-$suite.list"
  apt_state_opts "$dir"
  "$@" -o Dir::Etc::SourceList=/etc/apt/sources.list -o Dir::Etc::SourceParts="$dir/parts" "${APT_STATE_OPTS[@]}"
}

# --- The install planner --------------------------------------------------------
#
# plan_install PKG...: where each package should come from so that installing
# removes nothing. Needs these, which scripts/deps.sh defines on real apt and
# tests/deps/plan-selftest.sh on recorded apt output:
#   apt_sim host|bp PKG...   apt-get -s install output, with the system's
#                            suites, or with $BP_SUITE added and preferred
#   apt_installed PKG        the installed version of PKG
#   apt_origin PKG           the suite that serves PKG's installed version
#                            (looked up with $BP_SUITE added), or nothing
#   apt_candidate_bp PKG     the version of PKG that $BP_SUITE would install
# Sets PLAN_HOST (from the system's suites), PLAN_BP (from $BP_SUITE) and
# PLAN_NOTES (one line per package taken from $BP_SUITE). When no plan avoids a
# removal, PLAN_ERR holds the message and it returns 1.
sim_removed() { awk '/^Remv /{print $2}'; }

# Why a package of simrupt's toolchain would be removed by cargo or rustup.
CARGO_RUSTUP_NOTE="Debian's cargo-web and rustc-web (simrupt's toolchain) conflict with the 'cargo' and 'rustup' packages: on Debian 13 installing either one removes rustc-web. A rustup installed by its own installer in ~/.cargo does not conflict."

plan_install() {
  PLAN_HOST=() PLAN_BP=() PLAN_NOTES=() PLAN_ERR=()
  local p x r from why all_bp
  if [ -z "$(apt_sim host "$@" | sim_removed)" ]; then PLAN_HOST=("$@"); return 0; fi
  # Something would be removed: find which of the packages pulls what out.
  for p in "$@"; do
    r=$(apt_sim host "$p" | sim_removed | tr '\n' ' ')
    if [ -z "$r" ]; then PLAN_HOST+=("$p"); continue; fi
    all_bp=1 why=
    for x in $r; do
      from=$(apt_origin "$x")
      [ "$from" = "$BP_SUITE" ] || all_bp=0
      why+="${why:+; }$x $(apt_installed "$x"), from ${from:-no suite this system lists}"
    done
    if ((all_bp)) && [ -z "$(apt_sim bp "$p" | sim_removed)" ]; then
      PLAN_BP+=("$p")
      PLAN_NOTES+=("$p: taken from $BP_SUITE ($(apt_candidate_bp "$p")), where the installed ${r% } came from")
      continue
    fi
    # The first package removed, and where it came from, for the advice.
    x=${r%% *}
    from=$(apt_origin "$x")
    PLAN_ERR+=("installing $p would REMOVE $why.")
    case " $r $p " in
      *" cargo "* | *" rustup "*) PLAN_ERR+=("$CARGO_RUSTUP_NOTE") ;;
    esac
    if ((all_bp)); then PLAN_ERR+=("$p from $BP_SUITE would remove something too."); fi
    PLAN_ERR+=("What you can do: install a $p that goes with the installed $x yourself${from:+ (from $from, where $x came from)}," \
               "or remove $x (apt-get remove $x) and run this again.")
  done
  if ((${#PLAN_ERR[@]} == 0)) && ((${#PLAN_HOST[@]})); then
    r=$(apt_sim host "${PLAN_HOST[@]}" | sim_removed | tr '\n' ' ')
    [ -z "$r" ] || PLAN_ERR+=("installing ${PLAN_HOST[*]} together would REMOVE ${r% } (each alone removes nothing).")
  fi
  if ((${#PLAN_ERR[@]})); then
    PLAN_ERR+=("Nothing was changed.")
    return 1
  fi
  return 0
}
