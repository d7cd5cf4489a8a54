# SPDX-License-Identifier: GPL-2.0
# Typing into a real terminal, as a learner does: tmux runs a command in a
# window, send-keys types, capture-pane reads the screen. Sourced, not run.
#
#   tm_start W COLS ROWS CMD   a private tmux server, its first window W running CMD
#   tm_window W CMD            another window
#   tm_type W TEXT             type TEXT, then Enter
#   tm_key W KEY...            press keys (tmux names: C-c, C-d, Enter, ...)
#   tm_screen W                the window's screen and scrollback, wrapped lines joined
#   tm_wait W REGEX [SECS]     wait until the screen matches the extended REGEX
#   tm_prompts W               how many shell prompts the screen shows so far
#   tm_wait_prompts W N [SECS] wait until it shows at least N
#   tm_run W CMD [SECS]        type CMD at the VM's prompt, wait for the next
#                              prompt, print what CMD printed
#   tm_stop                    end the tmux server
# TM_PROMPT is the prompt to count (the VM's: "(vm) / # ").
TM_SOCK=simrupt-test-$$ TM_N=0
TM_PROMPT=${TM_PROMPT:-'(vm) '}
tm() { tmux -L "$TM_SOCK" "$@"; }
tm_start() {
  local w=$1 cols=$2 rows=$3; shift 3
  # A new server each time: one that was just killed may still hold its socket.
  TM_N=$((TM_N + 1)) TM_SOCK=simrupt-test-$$-$TM_N
  tm -f /dev/null new-session -d -s t -n "$w" -x "$cols" -y "$rows" "$*"
  tm set-option -g history-limit 50000 >/dev/null
  # Keep a window's screen after its command ends, to read the last lines.
  tm set-option -g remain-on-exit on >/dev/null
}
tm_window() { local w=$1; shift; tm new-window -d -t "t:" -n "$w" "$*"; }
tm_type() { tm send-keys -t "t:$1" -l -- "$2"; tm send-keys -t "t:$1" Enter; }
tm_key() { local w=$1; shift; tm send-keys -t "t:$w" "$@"; }
tm_screen() { tm capture-pane -p -J -S - -t "t:$1"; }
tm_wait() {
  local w=$1 re=$2 secs=${3:-60} i
  for ((i = 0; i < secs * 5; i++)); do
    tm_screen "$w" | grep -qE -- "$re" && return 0
    sleep 0.2
  done
  return 1
}
tm_prompts() { tm_screen "$1" | grep -cF -- "$TM_PROMPT" || true; }
tm_wait_prompts() {
  local w=$1 n=$2 secs=${3:-60} i
  for ((i = 0; i < secs * 5; i++)); do
    (($(tm_prompts "$w") >= n)) && return 0
    sleep 0.2
  done
  return 1
}
tm_run() {
  local w=$1 cmd=$2 secs=${3:-60} n
  n=$(tm_prompts "$w")
  tm_type "$w" "$cmd"
  tm_wait_prompts "$w" $((n + 1)) "$secs" || { echo "(no prompt after '$cmd' within ${secs}s)"; return 1; }
  # The lines between the last prompt showing CMD and the prompt after it.
  tm_screen "$w" | awk -v p="$TM_PROMPT" -v c="$cmd" '
    index($0, p) == 1 && index($0, c) { out = ""; on = 1; next }
    on && index($0, p) == 1 { on = 0; done = out }
    on { out = out $0 "\n" }
    END { printf "%s", done }'
}
tm_stop() { tm kill-server 2>/dev/null || true; }
