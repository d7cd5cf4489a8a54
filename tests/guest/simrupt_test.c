// SPDX-License-Identifier: GPL-2.0
/*
 * simrupt_test.c - guest-side tests for the simrupt teaching module.
 *
 * simrupt simulates a device that raises an interrupt every `delay` ms.
 * Each "interrupt" produces one byte of the cyclic sequence
 *   0x20 ' ', 0x21 '!', ..., 0x7e '~', 0x20 ' ', ...   (95 values)
 * which ends up in a kfifo that readers of /dev/simrupt consume.
 *
 * Build:  gcc -static -O2 -Wall -Wextra -Werror -o simrupt_test simrupt_test.c
 *
 * Usage:  simrupt_test <subcommand> [args...]
 *
 *   sequence <seconds>        bytes are in sequence, at a plausible rate
 *   nonblock                  O_NONBLOCK gives -1/EAGAIN when empty; lseek fails
 *   signal                    a signal interrupts a blocked read (-1/EINTR),
 *                             and with SA_RESTART the read is restarted
 *   efault                    a bad buffer gives -1/EFAULT and loses no byte;
 *                             a half-valid buffer gives 1 or -1/EFAULT, no loss
 *   readers <n> <seconds>     n processes read at once: every byte is delivered
 *                             to exactly one reader, in order, with no gap
 *   poll | select | epoll | epoll-et
 *                             readiness is reported exactly when data is queued
 *   openclose <count>         many opens/closes; overlapping opens keep it running
 *   failnth <N> <module.ko> [params]
 *                             load the module with the N-th fault injected
 *                             (prints "failnth <N>: rc=<0|-errno> injected=<0|1>",
 *                             exits 0 if the load succeeded, 3 if it failed)
 *   rate <seconds>            measure bytes/s (fails only on sequence errors)
 *   check-files idle|running|idle-reset
 *                             one rendering of debugfs stats and latency is
 *                             consistent; idle: the loss equation is exact;
 *                             idle-reset (both files reset together before):
 *                             also produce_to_read count = delivered
 *   race <seconds>            resets of stats and latency racing a SCHED_FIFO
 *                             reader (same CPU), a reader and a renderer that
 *                             checks every rendering; then the equation
 *   soak <seconds> <hrtimer|timer_list>
 *                             two readers of every kind, open/close storm,
 *                             readers killed mid-read, parameter writes,
 *                             rmmod attempts; then exact accounting
 *   drain <bs>                read all that is queued, bs bytes per read
 *   failrt                    fault injection (fail-nth) in open, read, poll,
 *                             close, debugfs and parameter writes: only
 *                             ENOMEM/EINTR
 *   kapi-nonblock             with kapi's self-test build loaded: a blocking
 *                             read of its test device must see O_NONBLOCK set
 *                             by another task (fcntl) while it runs
 *   kapi-teardown             with kapi's self-test build loaded: drop its test
 *                             device and debugfs directory while their files
 *                             are open and epoll waits on the device; the
 *                             files must keep working or fail with EIO
 *
 * Output: one line per check, "ok <name>" or "FAIL <name>: <reason>", plus
 * "# ..." diagnostic lines.  Exit status: 0 all checks passed, 1 some failed,
 * 2 usage error.
 *
 * Timing in an emulated guest is noisy, so no check asserts tight timing.
 * To avoid racing the device's next tick, tests first "synchronise": after
 * draining stale bytes they block in read() for one byte, which returns just
 * after a tick, so the next tick is about `delay` ms away.  Checks that can
 * still lose a race against a tick are retried a few times.
 *
 * For testing this program itself outside the guest, the environment
 * variables SIMRUPT_DEV and SIMRUPT_DELAY_FILE override the device path and
 * the path of the `delay` parameter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DEV "/dev/simrupt"
#define DEFAULT_DELAY_FILE "/sys/module/simrupt/parameters/delay"

#define FIRST 0x20	/* first value of the cyclic sequence, ' ' */
#define LAST 0x7e	/* last value, '~' */
#define NVALUES 95	/* values in one cycle */
#define RETRIES 5	/* attempts for checks that can lose a race with a tick */
#define BOGUS (-2)	/* xread(): read() returned an impossible value */
#define MAX_READERS 32

static const char *dev_path = DEFAULT_DEV;
static long delay_ms;		/* the device's period, from sysfs */

/* ------------------------------------------------------------------ */
/* Reporting                                                          */
/* ------------------------------------------------------------------ */

static char why[1024];		/* reason for the latest failure */
static int failures;		/* FAIL lines printed so far */
static const char *current = "simrupt_test";	/* subcommand, for die() */
static int in_child;		/* a forked reader: no ok/FAIL lines */

/* Record why a check failed; returns -1 so callers can "return fail(...)". */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

/* A "# ..." diagnostic line. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Print the one result line of a check: rc 0 is ok, anything else FAIL. */
static void report(const char *name, int rc)
{
	if (rc == 0) {
		printf("ok %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, why[0] ? why : "(no reason recorded)");
		failures++;
	}
	why[0] = '\0';
	fflush(stdout);
}

/* For failures of calls that cannot fail when used correctly. */
static void die(const char *what)
{
	printf("%s %s: internal error: %s: %s\n", in_child ? "# reader of" : "FAIL",
	       current, what, strerror(errno));
	fflush(stdout);
	if (in_child)
		_exit(1);
	exit(1);
}

/* "EAGAIN" rather than "Resource temporarily unavailable". */
static const char *ename(int e)
{
	static char buf[96];
	const char *name = strerrorname_np(e);

	if (name)
		return name;
	if (e >= 512 && e <= 530)
		snprintf(buf, sizeof(buf),
			 "errno %d (kernel-internal code such as ERESTARTSYS leaked)", e);
	else
		snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Time, signals                                                      */
/* ------------------------------------------------------------------ */

static double clock_ms(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		die("clock_gettime");
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* CPU time used by this process, to tell sleeping from busy-waiting. */
static double cpu_ms(void)
{
	return clock_ms(CLOCK_PROCESS_CPUTIME_ID);
}

static void sleep_ms(double ms)
{
	long long ns = (long long)(ms * 1e6);
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	while (nanosleep(&ts, &ts))
		if (errno != EINTR)
			die("nanosleep");
}

static volatile sig_atomic_t alarms;	/* SIGALRMs received */

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * Catch SIGALRM.  With flags 0 a blocked read is interrupted (-1/EINTR);
 * with SA_RESTART the kernel restarts it transparently.
 */
static void set_alarm_handler(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = flags;
	if (sigaction(SIGALRM, &sa, NULL))
		die("sigaction");
}

/* One-shot SIGALRM in ms milliseconds; 0 cancels it. */
static void arm_timer_ms(long ms)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	if (setitimer(ITIMER_REAL, &it, NULL))
		die("setitimer");
}

/* How long a blocking read may take before we call the device stuck. */
static long watchdog_ms(void)
{
	return 10 * delay_ms + 5000;
}

/* ------------------------------------------------------------------ */
/* The byte sequence                                                  */
/* ------------------------------------------------------------------ */

static int in_range(unsigned char b)
{
	return b >= FIRST && b <= LAST;
}

static unsigned char next_byte(unsigned char b)
{
	return b == LAST ? FIRST : b + 1;
}

/* Steps from `from` to `to` along the cycle, 0..94 (both in range). */
static int cyc_dist(unsigned char from, unsigned char to)
{
	return ((int)to - (int)from + NVALUES) % NVALUES;
}

/* Checks that a stream of bytes follows the sequence, across reads. */
struct seq {
	int started;		/* `last` is valid */
	unsigned char last;	/* previous byte */
	unsigned long n;	/* bytes checked so far */
};

/* Start a sequence whose byte before the first one fed is `last`. */
static void seq_after(struct seq *s, unsigned char last)
{
	s->started = 1;
	s->last = last;
	s->n = 0;
}

static int seq_feed(struct seq *s, const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++, s->n++) {
		unsigned char c = buf[i];

		if (!in_range(c))
			return fail("byte #%lu is 0x%02x, outside 0x20..0x7e", s->n, c);
		if (s->started && c != next_byte(s->last)) {
			int d = cyc_dist(s->last, c);

			return fail("byte #%lu is 0x%02x '%c' after 0x%02x '%c': "
				    "expected 0x%02x (%s%d value(s) skipped)",
				    s->n, c, c, s->last, s->last, next_byte(s->last),
				    d == 0 ? "repeated, " : "", d == 0 ? 0 : d - 1);
		}
		s->last = c;
		s->started = 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the device                                                 */
/* ------------------------------------------------------------------ */

static int open_dev(int flags)
{
	int fd = open(dev_path, flags | O_CLOEXEC);

	if (fd < 0)
		fail("open(%s, %s) failed: %s", dev_path,
		     flags & O_NONBLOCK ? "O_RDONLY|O_NONBLOCK" : "O_RDONLY",
		     ename(errno));
	return fd;
}

static void xclose(int fd)
{
	if (close(fd))
		die("close");
}

/*
 * read() that also catches an impossible result: anything that is neither
 * -1 nor in [0, count].  The C original returned error codes as huge byte
 * counts (-EAGAIN seen as 4294967285), which this reports as such.
 * Returns read()'s result (errno intact), or BOGUS with `why` set.
 */
static ssize_t xread(int fd, void *buf, size_t count, const char *what)
{
	ssize_t r = read(fd, buf, count);
	int32_t low = (int32_t)(uint32_t)r;

	if (r == -1 || (r >= 0 && (size_t)r <= count))
		return r;
	if (low < 0 && low >= -4095)
		fail("%s: read(count=%zu) returned %zd, neither -1 nor in [0,%zu]: "
		     "looks like the error -%s converted to a byte count",
		     what, count, r, count, ename(-low));
	else
		fail("%s: read(count=%zu) returned %zd, neither -1 nor in [0,%zu]",
		     what, count, r, count);
	return BOGUS;
}

static void set_nonblock(int fd, int on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		die("fcntl(F_GETFL)");
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, flags))
		die("fcntl(F_SETFL)");
}

/* A non-blocking read, whatever the fd's mode. */
static ssize_t read_nb(int fd, void *buf, size_t count, const char *what)
{
	int flags = fcntl(fd, F_GETFL);
	ssize_t r;
	int e;

	if (flags < 0)
		die("fcntl(F_GETFL)");
	if (!(flags & O_NONBLOCK))
		set_nonblock(fd, 1);
	r = xread(fd, buf, count, what);
	e = errno;
	if (!(flags & O_NONBLOCK))
		set_nonblock(fd, 0);
	errno = e;
	return r;
}

/*
 * Check the result of a non-blocking read that found the device empty:
 * it must be exactly -1/EAGAIN.  Returns 0 if so.
 */
static int expect_eagain(ssize_t r, const char *what)
{
	if (r == BOGUS)
		return -1;
	if (r == 0)
		return fail("%s: read returned 0 (EOF) on an empty device, expected -1/EAGAIN",
			    what);
	if (errno != EAGAIN)
		return fail("%s: read returned -1/%s, expected EAGAIN", what, ename(errno));
	return 0;
}

/*
 * Non-blocking reads into buf (up to cap bytes) until the device is empty.
 * Returns the number of bytes read, or -1 with `why` set.
 */
static long read_all_nb(int fd, unsigned char *buf, size_t cap, const char *what)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read_nb(fd, buf + n, cap - n, what);

		if (r <= 0)
			return expect_eagain(r, what) ? -1 : (long)n;
		n += r;
	}
	return fail("%s: more than %zu bytes queued", what, cap);
}

/* Discard stale bytes left in the kfifo (it is not cleared at close). */
static long drain(int fd)
{
	unsigned char buf[4096];
	long total = 0;

	for (int i = 0; i < 1000; i++) {
		ssize_t r = read_nb(fd, buf, sizeof(buf), "drain");

		if (r <= 0)
			return expect_eagain(r, "drain") ? -1 : total;
		total += r;
	}
	return fail("drain: device still not empty after %ld bytes", total);
}

/*
 * read() protected by a watchdog: if it blocks longer than watchdog_ms(),
 * a SIGALRM interrupts it and *timed_out is set.  Returns read()'s result
 * (errno intact) or BOGUS.
 */
static ssize_t read_guarded(int fd, void *buf, size_t count, const char *what,
			    int *timed_out)
{
	sig_atomic_t before;
	ssize_t r;
	int e;

	set_alarm_handler(0);
	before = alarms;
	arm_timer_ms(watchdog_ms());
	r = xread(fd, buf, count, what);
	e = errno;
	arm_timer_ms(0);
	*timed_out = (r == -1 && e == EINTR && alarms != before);
	errno = e;
	return r;
}

/* A blocking read that must return data.  Returns > 0, or -1 with `why`. */
static ssize_t read_wait(int fd, void *buf, size_t count, const char *what)
{
	int timed_out;
	ssize_t r = read_guarded(fd, buf, count, what, &timed_out);

	if (r > 0)
		return r;
	if (r == BOGUS)
		return -1;
	if (r == 0)
		return fail("%s: blocking read returned 0 (EOF), it should wait for data",
			    what);
	if (timed_out)
		return fail("%s: no data within %ld ms (is the timer running?)",
			    what, watchdog_ms());
	return fail("%s: read returned -1/%s", what, ename(errno));
}

/*
 * Synchronise with the device: drain, then block for one byte.  The read
 * returns just after a tick, so the next one is about delay_ms away.  Bytes
 * that came with that tick are consumed too; *last is the last byte read.
 */
static int sync_tick(int fd, unsigned char *last)
{
	unsigned char buf[256];
	struct seq s = { 0 };
	long n;

	if (drain(fd) < 0 || read_wait(fd, buf, 1, "sync read") < 0)
		return -1;
	if (seq_feed(&s, buf, 1))
		return -1;
	n = read_all_nb(fd, buf, sizeof(buf), "sync read");
	if (n < 0 || seq_feed(&s, buf, n))
		return -1;
	*last = s.last;
	return 0;
}

/*
 * Read for `seconds` wall-clock seconds, checking the sequence.  poll()
 * before each read lets the loop stop at the deadline.  (If the driver had
 * no poll method, poll() would always say "readable" and the read would
 * just block until the next tick, which still works.)
 */
static int timed_read(int fd, double seconds, unsigned long *bytes, double *elapsed)
{
	unsigned char buf[64];
	struct seq s = { 0 };
	double start = now_ms(), end = start + seconds * 1000;
	double left;

	while ((left = end - now_ms()) > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)left + 1);
		ssize_t r;

		if (n < 0)
			return fail("poll failed: %s", ename(errno));
		if (n == 0)
			continue;
		r = read_wait(fd, buf, sizeof(buf), "read");
		if (r < 0 || seq_feed(&s, buf, r))
			return -1;
	}
	*bytes = s.n;
	*elapsed = (now_ms() - start) / 1000;
	return 0;
}

/* ------------------------------------------------------------------ */
/* sequence, rate                                                     */
/* ------------------------------------------------------------------ */

static int cmd_sequence(double seconds, int check_rate)
{
	const char *name = check_rate ? "sequence" : "rate";
	unsigned long bytes = 0;
	double elapsed = 0, expected;
	int fd, rc;

	fd = open_dev(O_RDONLY);
	rc = fd < 0 ? -1 : 0;
	if (rc == 0) {
		long stale = drain(fd);

		rc = stale < 0 ? -1 : timed_read(fd, seconds, &bytes, &elapsed);
		if (stale >= 0)
			note("drained %ld stale byte(s)", stale);
		xclose(fd);
	}
	if (rc == 0)
		note("bytes=%lu seconds=%.3f rate=%.2f", bytes, elapsed, bytes / elapsed);
	report(name, rc);
	if (!check_rate)
		return failures ? 1 : 0;

	expected = elapsed * 1000 / delay_ms;
	if (rc)
		rc = fail("not measured, see the sequence check");
	else if (bytes < 0.5 * expected || bytes > 1.5 * expected + 3)
		rc = fail("%lu bytes in %.3f s, expected about %.1f (delay %ld ms), "
			  "accepted %.1f..%.1f", bytes, elapsed, expected, delay_ms,
			  0.5 * expected, 1.5 * expected + 3);
	else
		note("expected about %.1f bytes (delay %ld ms)", expected, delay_ms);
	report("sequence-rate", rc);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* nonblock                                                           */
/* ------------------------------------------------------------------ */

/* Drain an O_NONBLOCK fd; the read that ends it must be exactly -1/EAGAIN. */
static int check_nonblock_empty(void)
{
	unsigned char buf[4096];
	long total = 0;
	ssize_t r;
	int e, fd = open_dev(O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	for (int i = 0; i < 1000; i++) {
		r = xread(fd, buf, sizeof(buf), "non-blocking read");
		if (r <= 0)
			break;
		total += r;
	}
	e = errno;
	xclose(fd);
	note("drained %ld stale byte(s)", total);
	if (r > 0)
		return fail("device still not empty after %ld bytes", total);
	errno = e;
	return expect_eagain(r, "non-blocking read");
}

/* On an O_NONBLOCK fd, data that arrives later is returned. */
static int check_nonblock_data(void)
{
	unsigned char buf[64], last;
	struct seq s;
	double end = now_ms() + watchdog_ms();
	ssize_t r;
	int e, fd = open_dev(O_RDONLY);

	if (fd < 0)
		return -1;
	if (sync_tick(fd, &last)) {
		xclose(fd);
		return -1;
	}
	set_nonblock(fd, 1);	/* as if opened with O_NONBLOCK */
	do {
		sleep_ms(delay_ms);
		r = xread(fd, buf, sizeof(buf), "non-blocking read");
		e = errno;
	} while (r == -1 && e == EAGAIN && now_ms() < end);
	xclose(fd);
	errno = e;
	if (r <= 0)
		return r == -1 && e == EAGAIN ?
			fail("no data within %ld ms", watchdog_ms()) :
			expect_eagain(r, "non-blocking read");
	seq_after(&s, last);
	return seq_feed(&s, buf, r);
}

static int check_lseek(void)
{
	static const struct { int whence; const char *name; } tries[] = {
		{ SEEK_SET, "SEEK_SET" }, { SEEK_CUR, "SEEK_CUR" }, { SEEK_END, "SEEK_END" },
	};
	int fd = open_dev(O_RDONLY | O_NONBLOCK);
	int rc = 0;

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]) && rc == 0; i++) {
		off_t off = lseek(fd, 0, tries[i].whence);

		if (off != -1)
			rc = fail("lseek(fd, 0, %s) returned %lld, expected -1/ESPIPE or EINVAL",
				  tries[i].name, (long long)off);
		else if (errno != ESPIPE && errno != EINVAL)
			rc = fail("lseek(fd, 0, %s) failed with %s, expected ESPIPE or EINVAL",
				  tries[i].name, ename(errno));
	}
	xclose(fd);
	return rc;
}

static int cmd_nonblock(void)
{
	report("nonblock", check_nonblock_empty());
	report("nonblock-data", check_nonblock_data());
	report("nonblock-lseek", check_lseek());
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* signal                                                             */
/* ------------------------------------------------------------------ */

/* The alarm must ring well before the next tick (about delay_ms away). */
static long signal_alarm_ms(void)
{
	long ms = delay_ms >= 90 ? 30 : delay_ms / 3;

	return ms < 1 ? 1 : ms;
}

/*
 * One attempt: a blocked read interrupted by a SIGALRM whose handler lacks
 * SA_RESTART must return -1/EINTR after really sleeping.  *race is set if
 * a tick came first, which is worth another attempt.
 */
static int try_eintr(int fd, int *race)
{
	long alarm_ms = signal_alarm_ms();
	unsigned char buf[16], last;
	double t0, c0, wall, cpu;
	sig_atomic_t before;
	ssize_t r;
	int e;

	if (sync_tick(fd, &last))
		return -1;
	set_alarm_handler(0);
	before = alarms;
	t0 = now_ms();
	c0 = cpu_ms();
	arm_timer_ms(alarm_ms);
	r = xread(fd, buf, sizeof(buf), "read interrupted by a signal");
	e = errno;
	wall = now_ms() - t0;
	cpu = cpu_ms() - c0;
	arm_timer_ms(0);

	if (r == BOGUS)
		return -1;
	if (r > 0) {
		*race = 1;
		return fail("a tick won the race: read returned %zd byte(s) after %.1f ms, "
			    "before the %ld ms alarm", r, wall, alarm_ms);
	}
	if (r == 0)
		return fail("read returned 0 (EOF), expected -1/EINTR");
	if (e != EINTR)
		return fail("read returned -1/%s, expected EINTR", ename(e));
	if (alarms == before)
		return fail("read returned -1/EINTR but the SIGALRM handler never ran");
	note("read interrupted after %.1f ms (alarm %ld ms), %.2f ms of CPU",
	     wall, alarm_ms, cpu);
	if (wall < alarm_ms * 2 / 3)
		return fail("EINTR after only %.1f ms with a %ld ms alarm", wall, alarm_ms);
	if (cpu > wall / 2)
		return fail("the read used %.1f ms of CPU in %.1f ms: busy-waiting, not sleeping?",
			    cpu, wall);
	return 0;
}

/*
 * One attempt: with SA_RESTART the kernel restarts the read after the
 * handler (the driver returns -ERESTARTSYS), so data comes back, in sequence.
 */
static int try_restart(int fd, int *race)
{
	long alarm_ms = signal_alarm_ms();
	unsigned char buf[16], last;
	sig_atomic_t before;
	struct seq s;
	double t0, wall;
	int fired;
	ssize_t r;
	int e;

	if (sync_tick(fd, &last))
		return -1;
	set_alarm_handler(SA_RESTART);
	before = alarms;
	t0 = now_ms();
	arm_timer_ms(alarm_ms);
	r = xread(fd, buf, sizeof(buf), "read with SA_RESTART");
	e = errno;
	fired = alarms != before;
	wall = now_ms() - t0;
	arm_timer_ms(0);
	set_alarm_handler(0);

	if (r == BOGUS)
		return -1;
	if (r == -1 && e == EINTR)
		return fail("read returned -1/EINTR although the handler has SA_RESTART: "
			    "does the driver return -EINTR instead of -ERESTARTSYS?");
	if (r == -1)
		return fail("read returned -1/%s, expected data", ename(e));
	if (r == 0)
		return fail("read returned 0 (EOF), expected data");
	if (!fired) {
		*race = 1;
		return fail("a tick won the race: data after %.1f ms, before the %ld ms alarm",
			    wall, alarm_ms);
	}
	note("read restarted after the %ld ms alarm, %zd byte(s) after %.1f ms",
	     alarm_ms, r, wall);
	seq_after(&s, last);
	return seq_feed(&s, buf, r);
}

/* Run a racy attempt up to RETRIES times while it loses races. */
static int with_retries(int (*attempt)(int fd, int *race), int fd)
{
	int rc = -1;

	for (int i = 1; i <= RETRIES; i++) {
		int race = 0;

		rc = attempt(fd, &race);
		if (!race)
			return rc;
		note("attempt %d/%d: %s", i, RETRIES, why);
	}
	return rc;
}

static int check_with_retries(int (*attempt)(int fd, int *race))
{
	int fd = open_dev(O_RDONLY);
	int rc;

	if (fd < 0)
		return -1;
	rc = with_retries(attempt, fd);
	xclose(fd);
	return rc;
}

static int cmd_signal(void)
{
	report("signal-eintr", check_with_retries(try_eintr));
	report("signal-restart", check_with_retries(try_restart));
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* efault                                                             */
/* ------------------------------------------------------------------ */

/*
 * An address that is never mapped.  Kept in a volatile so the compiler
 * does not reason about (void *)1 as a constant pointer.
 */
static volatile uintptr_t bad_address = 1;

/*
 * After a read that reported nothing, the next byte must be next(last):
 * a byte that was not reported as read must not be lost.
 */
static int expect_continues(int fd, unsigned char last, const char *after)
{
	unsigned char buf[64];
	struct seq s;
	ssize_t r = read_wait(fd, buf, sizeof(buf), "read after the fault");

	if (r < 0)
		return -1;
	if (buf[0] != next_byte(last) && in_range(buf[0]))
		return fail("after %s the next byte is 0x%02x, expected 0x%02x: "
			    "%d byte(s) lost", after, buf[0], next_byte(last),
			    cyc_dist(last, buf[0]) - 1);
	note("after %s: %zd byte(s), first 0x%02x as expected", after, r, buf[0]);
	seq_after(&s, last);
	return seq_feed(&s, buf, r);
}

/* read() into an unmapped address: -1/EFAULT, and no byte lost. */
static int check_efault(void)
{
	unsigned char last;
	int fd = open_dev(O_RDONLY);
	int rc, timed_out;
	ssize_t r;

	if (fd < 0)
		return -1;
	rc = sync_tick(fd, &last);
	if (rc == 0) {
		sleep_ms(2.5 * delay_ms);	/* about two bytes queue up */
		r = read_guarded(fd, (void *)bad_address, 16, "read into (void *)1",
				 &timed_out);
		if (r == BOGUS)
			rc = -1;
		else if (r >= 0)
			rc = fail("read into (void *)1 returned %zd, expected -1/EFAULT", r);
		else if (errno != EFAULT)
			rc = fail("read into (void *)1 returned -1/%s, expected EFAULT%s",
				  ename(errno), timed_out ? " (watchdog fired)" : "");
		else
			rc = expect_continues(fd, last, "EFAULT");
	}
	xclose(fd);
	return rc;
}

/*
 * The outcome of read(fd, p, 2) where p is the last byte of a mapping,
 * `got` what landed in *p (it held 0 before).  "No loss" means:
 *   returned 1:         *p == next(last), and the next byte == next(*p);
 *   returned -1/EFAULT: nothing was reported, so the next byte == next(last)
 *                       (a driver that copied a byte to *p, dropped it from
 *                       the fifo and still said EFAULT has lost it).
 */
static int judge_partial(int fd, ssize_t r, int e, unsigned char got,
			 unsigned char last, int *race)
{
	unsigned char buf[64];
	struct seq s;
	long n;

	if (r == BOGUS)
		return -1;
	if (r == -1 && e == EFAULT) {
		if (got)
			note("half-valid buffer: -1/EFAULT, 0x%02x written to its valid byte",
			     got);
		else
			note("half-valid buffer: -1/EFAULT, its valid byte untouched");
		if (expect_continues(fd, last, "EFAULT on a half-valid buffer") == 0)
			return 0;
		if (got == next_byte(last)) {
			char lost[sizeof(why)];

			memcpy(lost, why, sizeof(lost));
			return fail("%.600s; the driver copied 0x%02x into the valid part, "
				    "removed it from the fifo, but reported EFAULT instead "
				    "of 1 byte read", lost, got);
		}
		return -1;
	}
	if (r == -1)
		return fail("read returned -1/%s, expected 1 or -1/EFAULT", ename(e));
	if (r != 1)
		return fail("read returned %zd, expected 1 (only one byte of the buffer "
			    "is mapped) or -1/EFAULT", r);
	if (got != next_byte(last))
		return fail("read returned 1 but the byte is 0x%02x, expected 0x%02x",
			    got, next_byte(last));
	n = read_all_nb(fd, buf, sizeof(buf), "read after the partial read");
	if (n < 0)
		return -1;
	if (n == 0) {
		*race = 1;	/* only one byte was queued: the fault never happened */
		return fail("only one byte was queued, so the unmapped page was not reached");
	}
	note("half-valid buffer: returned 1 (0x%02x), then %ld more byte(s)", got, n);
	seq_after(&s, got);
	return seq_feed(&s, buf, n);
}

static int try_partial(int fd, int *race)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map, *p, last;
	int rc, timed_out, e;
	ssize_t r;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return fail("mmap: %s", ename(errno));
	if (munmap(map + page, page))
		die("munmap");
	p = map + page - 1;
	*p = 0;			/* not a sequence value; also faults the page in */

	rc = sync_tick(fd, &last);
	if (rc == 0) {
		sleep_ms(3.5 * delay_ms);	/* about three bytes queue up */
		r = read_guarded(fd, p, 2, "read(count 2) across the end of a mapping",
				 &timed_out);
		e = errno;
		rc = judge_partial(fd, r, e, *p, last, race);
	}
	if (munmap(map, page))
		die("munmap");
	return rc;
}

static int cmd_efault(void)
{
	report("efault", check_efault());
	report("efault-partial", check_with_retries(try_partial));
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* readers                                                            */
/* ------------------------------------------------------------------ */

struct reader {
	pid_t pid;
	int pipe;		/* read end: the bytes the child got */
	int blocking;		/* child uses a blocking fd (else O_NONBLOCK) */
	unsigned char bytes[512];
	size_t n;
};

static void write_all(int fd, const unsigned char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		buf += w;
		n -= w;
	}
}

/*
 * Child: read with small, varying buffer sizes until the deadline, then
 * send everything to the parent.  Never returns.
 */
static void reader_child(int idx, int blocking, int out, double deadline)
{
	struct sigaction dfl;
	unsigned char got[512];
	size_t n = 0;
	int fd;

	in_child = 1;
	/* A child stuck in read() is killed by SIGALRM; the parent reports it. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if (sigaction(SIGALRM, &dfl, NULL))
		die("sigaction");
	alarm((unsigned)((deadline - now_ms() + watchdog_ms()) / 1000) + 5);

	fd = open_dev(blocking ? O_RDONLY : O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		note("reader %d: %s", idx, why);
		_exit(1);
	}
	for (int j = 0; now_ms() < deadline; j++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		size_t size = 1 + (idx + j) % 8;
		ssize_t r;

		if (poll(&p, 1, (int)(deadline - now_ms()) + 1) < 0) {
			note("reader %d: poll: %s", idx, ename(errno));
			_exit(1);
		}
		if (p.revents == 0)
			continue;
		if (n + size > sizeof(got)) {
			note("reader %d: more than %zu bytes", idx, sizeof(got));
			_exit(1);
		}
		r = xread(fd, got + n, size, "reader");
		if (r > 0)
			n += r;
		else if (!(r == -1 && errno == EAGAIN && !blocking)) {
			if (r != BOGUS)
				fail("read returned %zd/%s", r, r ? ename(errno) : "EOF");
			note("reader %d: %s", idx, why);
			_exit(1);
		}
		/* EAGAIN on the non-blocking fd: another reader was faster. */
	}
	xclose(fd);
	write_all(out, got, n);
	_exit(0);
}

/* Fork `count` readers (even ones blocking); *started says how many ran. */
static int start_readers(struct reader *rd, int count, int parent_fd, double deadline,
			 int *started)
{
	fflush(stdout);		/* or the children would print it again */
	for (*started = 0; *started < count; ++*started) {
		int i = *started, pfd[2];

		if (pipe(pfd))
			return fail("pipe: %s", ename(errno));
		rd[i].blocking = (i % 2 == 0);
		rd[i].pid = fork();
		if (rd[i].pid < 0) {
			int e = errno;

			xclose(pfd[0]);
			xclose(pfd[1]);
			return fail("fork: %s", ename(e));
		}
		if (rd[i].pid == 0) {
			xclose(pfd[0]);
			xclose(parent_fd);
			reader_child(i, rd[i].blocking, pfd[1], deadline);
		}
		xclose(pfd[1]);
		rd[i].pipe = pfd[0];
		rd[i].n = 0;
	}
	return 0;
}

/* Collect each child's bytes and exit status. */
static int collect_readers(struct reader *rd, int count)
{
	int rc = 0;

	for (int i = 0; i < count; i++) {
		int status;
		ssize_t r;

		while ((r = read(rd[i].pipe, rd[i].bytes + rd[i].n,
				 sizeof(rd[i].bytes) - rd[i].n)) > 0)
			rd[i].n += r;
		if (r < 0)
			die("read from pipe");
		xclose(rd[i].pipe);
		while (waitpid(rd[i].pid, &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
		if (rc == 0 && WIFSIGNALED(status))
			rc = fail("reader %d was killed by signal %d%s", i, WTERMSIG(status),
				  WTERMSIG(status) == SIGALRM ?
				  " (watchdog: stuck in read)" : "");
		else if (rc == 0 && WEXITSTATUS(status) != 0)
			rc = fail("reader %d failed (see its # line)", i);
	}
	return rc;
}

static void note_bytes(const char *label, const unsigned char *b, size_t n)
{
	printf("# %s: %zu byte(s) \"", label, n);
	for (size_t i = 0; i < n; i++)
		if (in_range(b[i]) && b[i] != '"' && b[i] != '\\')
			putchar(b[i]);
		else
			printf("\\x%02x", b[i]);
	printf("\"\n");
	fflush(stdout);
}

/*
 * Each reader's bytes must come in cycle order after L; over all readers
 * (index `count` is the parent's leftovers) every position 1..total after
 * L must be delivered exactly once.
 */
static int check_union(const struct reader *rd, int count, unsigned char L,
		       size_t *total)
{
	int owner[NVALUES] = { 0 };	/* position after L -> reader + 1 */

	*total = 0;
	for (int i = 0; i <= count; i++) {
		int prev = 0;

		for (size_t k = 0; k < rd[i].n; k++) {
			unsigned char b = rd[i].bytes[k];
			int d = cyc_dist(L, b);

			if (!in_range(b))
				return fail("reader %d got 0x%02x, outside 0x20..0x7e", i, b);
			if (d == 0 || d <= prev)
				return fail("%s %d got 0x%02x after 0x%02x: out of order "
					    "(or a value repeated) relative to the sync byte 0x%02x",
					    i == count ? "leftovers" : "reader", i, b,
					    k ? rd[i].bytes[k - 1] : L, L);
			if (owner[d])
				return fail("byte 0x%02x delivered twice (readers %d and %d)",
					    b, owner[d] - 1, i);
			owner[d] = i + 1;
			prev = d;
		}
		*total += rd[i].n;
	}
	if (*total >= NVALUES)
		return fail("%zu bytes: too many to tell values apart (keep it under 95)",
			    *total);
	for (size_t d = 1, b = next_byte(L); d <= *total; d++, b = next_byte(b))
		if (!owner[d])
			return fail("gap: byte 0x%02zx (%zu after the sync byte 0x%02x) "
				    "never delivered, %zu bytes in all", b, d, L, *total);
	return 0;
}

static int cmd_readers(int count, double seconds)
{
	static struct reader rd[MAX_READERS + 1];	/* + the leftovers */
	double expected = seconds * 1000 / delay_ms;
	unsigned char L;
	size_t total = 0;
	long left;
	int fd, rc, started;

	fd = open_dev(O_RDONLY);
	if (fd < 0 || sync_tick(fd, &L)) {
		report("readers", -1);
		return 1;
	}
	note("sync byte L=0x%02x; %d readers for %.3f s, about %.1f bytes expected",
	     L, count, seconds, expected);
	rc = start_readers(rd, count, fd, now_ms() + seconds * 1000, &started);
	if (collect_readers(rd, started) && rc == 0)
		rc = -1;
	/* The device stayed open through fd; take what nobody read. */
	left = read_all_nb(fd, rd[count].bytes, sizeof(rd[count].bytes), "leftovers");
	rd[count].n = left < 0 ? 0 : (size_t)left;
	if (left < 0 && rc == 0)
		rc = -1;
	xclose(fd);

	for (int i = 0; i < count; i++) {
		char label[64];

		snprintf(label, sizeof(label), "reader %d (%s)", i,
			 rd[i].blocking ? "blocking" : "non-blocking");
		note_bytes(label, rd[i].bytes, rd[i].n);
	}
	note_bytes("leftovers", rd[count].bytes, rd[count].n);
	if (rc == 0)
		rc = check_union(rd, count, L, &total);
	if (rc == 0 && total < 0.5 * expected)
		rc = fail("only %zu bytes in %.3f s, expected about %.1f", total, seconds,
			  expected);
	report("readers", rc);

	if (count > expected / 4) {
		note("not checking that every reader got data (%d readers, ~%.1f bytes)",
		     count, expected);
		return failures ? 1 : 0;
	}
	rc = 0;
	for (int i = 0; i < count && rc == 0; i++)
		if (rd[i].n == 0)
			rc = fail("reader %d got no byte in %.3f s (~%.1f bytes for %d readers)",
				  i, seconds, expected, count);
	report("readers-share", rc);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* poll, select, epoll, epoll-et                                      */
/* ------------------------------------------------------------------ */

enum wait_kind { W_POLL, W_SELECT, W_EPOLL, W_EPOLL_ET };

struct waiter {
	enum wait_kind kind;
	int fd;			/* the device */
	int epfd;		/* for W_EPOLL*, else -1 */
};

/* Each returns 1 readable, 0 timeout, -1 error (with `why`). */
static int wait_poll(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDNORM };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return fail("poll: %s", ename(errno));
	if (n == 0)
		return 0;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
		return fail("poll revents 0x%x has POLLERR/POLLHUP/POLLNVAL", p.revents);
	if ((p.revents & (POLLIN | POLLRDNORM)) != (POLLIN | POLLRDNORM))
		return fail("poll revents 0x%x lacks POLLIN|POLLRDNORM (0x%x)",
			    p.revents, POLLIN | POLLRDNORM);
	return 1;
}

static int wait_select(int fd, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	fd_set rset, eset;
	int n;

	if (fd >= FD_SETSIZE)
		return fail("fd %d too large for select", fd);
	FD_ZERO(&rset);
	FD_ZERO(&eset);
	FD_SET(fd, &rset);
	FD_SET(fd, &eset);
	n = select(fd + 1, &rset, NULL, &eset, &tv);
	if (n < 0)
		return fail("select: %s", ename(errno));
	if (n == 0)
		return 0;
	if (FD_ISSET(fd, &eset))
		return fail("select reports an exceptional condition");
	if (!FD_ISSET(fd, &rset))
		return fail("select returned %d but the fd is not in the read set", n);
	return 1;
}

static int wait_epoll(struct waiter *w, int timeout_ms)
{
	struct epoll_event ev[4];
	int n = epoll_wait(w->epfd, ev, 4, timeout_ms);

	if (n < 0)
		return fail("epoll_wait: %s", ename(errno));
	if (n == 0)
		return 0;
	if (n > 1)
		return fail("epoll_wait returned %d events for one fd", n);
	if (ev[0].data.fd != w->fd)
		return fail("epoll_wait returned data.fd %d, expected %d", ev[0].data.fd, w->fd);
	if (ev[0].events & (EPOLLERR | EPOLLHUP))
		return fail("epoll events 0x%x have EPOLLERR/EPOLLHUP", ev[0].events);
	if (!(ev[0].events & EPOLLIN))
		return fail("epoll events 0x%x lack EPOLLIN", ev[0].events);
	return 1;
}

static int wait_readable(struct waiter *w, int timeout_ms)
{
	switch (w->kind) {
	case W_POLL:
		return wait_poll(w->fd, timeout_ms);
	case W_SELECT:
		return wait_select(w->fd, timeout_ms);
	default:
		return wait_epoll(w, timeout_ms);
	}
}

/*
 * Wait that must time out (the fifo is empty, or for edge-triggered epoll
 * nothing new arrived).  If it reports "readable", find out whether a tick
 * came early (a race: retry) or it lied.
 */
static int expect_timeout(struct waiter *w, int timeout_ms, const char *when, int *race)
{
	unsigned char b;
	double t0 = now_ms();
	int n = wait_readable(w, timeout_ms);
	ssize_t r;

	if (n <= 0)
		return n;
	if (w->kind == W_EPOLL_ET) {
		*race = 1;	/* cannot tell without reading; retry */
		return fail("%s: event after %.1f ms (timeout %d ms); tick early, "
			    "or the edge was reported twice", when, now_ms() - t0, timeout_ms);
	}
	r = read_nb(w->fd, &b, 1, "read after a readable report");
	if (r == -1 && errno == EAGAIN)
		return fail("%s: reported readable after %.1f ms, but read gives EAGAIN",
			    when, now_ms() - t0);
	if (r == BOGUS)
		return -1;
	*race = 1;
	return fail("%s: a tick came early (readable after %.1f ms, timeout %d ms)",
		    when, now_ms() - t0, timeout_ms);
}

/* Wait that must report readable, since a tick is due within it. */
static int expect_ready(struct waiter *w, int timeout_ms, const char *when)
{
	int n = wait_readable(w, timeout_ms);

	if (n == 0)
		return fail("%s: not readable within %d ms (4 periods)", when, timeout_ms);
	return n < 0 ? -1 : 0;
}

/* One attempt of the readiness test; see cmd_wait(). */
static int try_wait(struct waiter *w, int *race)
{
	int short_ms = delay_ms / 3, long_ms = 4 * delay_ms;
	int et = w->kind == W_EPOLL_ET;
	unsigned char buf[256], last;
	struct seq s;
	long n;

	if (sync_tick(w->fd, &last))
		return -1;
	if (expect_timeout(w, short_ms, "empty fifo", race) ||
	    expect_ready(w, long_ms, "waiting for a tick"))
		return -1;
	if (!et) {
		int again = wait_readable(w, 0);

		if (again < 0)
			return -1;
		if (again == 0)
			return fail("readable, but a second wait without reading says "
				    "not readable (readiness must be level-triggered)");
	}
	if (et && (expect_timeout(w, short_ms, "edge-triggered, no new data", race) ||
		   expect_ready(w, long_ms, "edge-triggered, next tick is a new edge")))
		return -1;

	n = read_all_nb(w->fd, buf, sizeof(buf), "read after readable");
	if (n < 0)
		return -1;
	if (n < 1 + et)
		return fail("only %ld byte(s) after %d readiness report(s)", n, 1 + et);
	note("%ld byte(s) read after readiness", n);
	seq_after(&s, last);
	if (seq_feed(&s, buf, n))
		return -1;
	return expect_timeout(w, 0, "fifo read empty", race);
}

static int check_wait(enum wait_kind kind)
{
	struct waiter w = { .kind = kind, .fd = open_dev(O_RDONLY), .epfd = -1 };
	int rc;

	if (w.fd < 0)
		return -1;
	if (kind == W_EPOLL || kind == W_EPOLL_ET) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = w.fd };

		if (kind == W_EPOLL_ET)
			ev.events |= EPOLLET;
		w.epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w.epfd < 0)
			die("epoll_create1");
		if (epoll_ctl(w.epfd, EPOLL_CTL_ADD, w.fd, &ev)) {
			rc = fail("epoll_ctl(ADD): %s", ename(errno));
			goto out;
		}
	}
	for (int i = 1; i <= RETRIES; i++) {
		int race = 0;

		rc = try_wait(&w, &race);
		if (!race)
			break;
		note("attempt %d/%d: %s", i, RETRIES, why);
	}
out:
	if (w.epfd >= 0)
		xclose(w.epfd);
	xclose(w.fd);
	return rc;
}

/*
 * After a sync: a wait of delay/3 ms must time out; a wait of 4*delay ms
 * must report readable; then (level-triggered) it is still readable until
 * read, and the bytes continue the sequence.  Edge-triggered epoll: after
 * the first event, no event without new data, but a new one per new byte.
 */
static int cmd_wait(const char *name, enum wait_kind kind)
{
	report(name, check_wait(kind));
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* openclose                                                          */
/* ------------------------------------------------------------------ */

static int check_open_close(long count)
{
	double t0 = now_ms();

	for (long i = 0; i < count; i++) {
		int fd = open_dev(i % 2 ? O_RDONLY | O_NONBLOCK : O_RDONLY);

		if (fd < 0)
			return fail("open #%ld of %ld: %s", i + 1, count, why);
		if (close(fd))
			return fail("close #%ld of %ld: %s", i + 1, count, ename(errno));
	}
	note("%ld opens and closes in %.1f ms", count, now_ms() - t0);
	return 0;
}

/*
 * Open A and B, close one of them: the other must keep receiving data, since
 * the device is still open.  Two bytes are read, so at least one was
 * produced after the close.
 */
static int check_overlap(int close_first)
{
	unsigned char buf[2];
	struct seq s = { 0 };
	int a, b, keep, rc = 0;

	a = open_dev(O_RDONLY);
	if (a < 0)
		return -1;
	b = open_dev(O_RDONLY);
	if (b < 0) {
		xclose(a);
		return -1;
	}
	xclose(close_first ? a : b);
	keep = close_first ? b : a;
	if (drain(keep) < 0)
		rc = -1;
	for (int i = 0; i < 2 && rc == 0; i++)
		if (read_wait(keep, buf + i, 1, close_first ?
			      "read B after closing A" : "read A after closing B") < 0)
			rc = -1;
	xclose(keep);
	return rc ? rc : seq_feed(&s, buf, 2);
}

static int cmd_openclose(long count)
{
	report("openclose", check_open_close(count));
	report("openclose-overlap", check_overlap(1));
	report("openclose-overlap-rev", check_overlap(0));
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* failnth                                                            */
/* ------------------------------------------------------------------ */

/* This thread's fault-injection counter file. */
static int open_fail_nth(void)
{
	char path[64];
	int fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", (int)gettid());
	return open(path, O_RDWR | O_CLOEXEC);
}

/*
 * Load the module with the N-th fault-injection point of this thread made
 * to fail.  Nothing may run between arming fail-nth and finit_module(), or
 * it would consume the count; the files are opened before.
 */
static int cmd_failnth(long nth, const char *ko, const char *params)
{
	char num[32], back[32];
	int ko_fd, nth_fd, len, err, injected;
	unsigned long remaining;
	ssize_t got;
	long rc;

	ko_fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (ko_fd < 0) {
		printf("FAIL failnth: cannot open %s: %s\n", ko, ename(errno));
		return 1;
	}
	nth_fd = open_fail_nth();
	if (nth_fd < 0) {
		printf("FAIL failnth: cannot open fail-nth: %s "
		       "(kernel without CONFIG_FAULT_INJECTION?)\n", ename(errno));
		return 1;
	}
	len = snprintf(num, sizeof(num), "%ld", nth);
	memset(back, 0, sizeof(back));

	if (write(nth_fd, num, len) != len) {
		printf("FAIL failnth: writing %s to fail-nth: %s\n", num, ename(errno));
		return 1;
	}
	rc = syscall(SYS_finit_module, ko_fd, params, 0);
	err = errno;

	got = pread(nth_fd, back, sizeof(back) - 1, 0);
	if (got < 0 && errno == ESPIPE)
		got = read(nth_fd, back, sizeof(back) - 1);
	if (got <= 0) {
		printf("FAIL failnth: reading fail-nth back: %s\n",
		       got ? ename(errno) : "empty");
		return 1;
	}
	back[got] = '\0';
	remaining = strtoul(back, NULL, 10);
	injected = remaining == 0;	/* the count reached 0: the fault fired */
	if (!injected && write(nth_fd, "0", 1) != 1) {
		printf("FAIL failnth: resetting fail-nth: %s\n", ename(errno));
		return 1;
	}
	xclose(nth_fd);
	xclose(ko_fd);
	printf("failnth %ld: rc=%d injected=%d\n", nth, rc == 0 ? 0 : -err, injected);
	fflush(stdout);
	return rc == 0 ? 0 : 3;
}

/* ------------------------------------------------------------------ */
/* The debugfs files: consistency of every summary                    */
/* ------------------------------------------------------------------ */

#define DEBUGFS "/sys/kernel/debug/simrupt"
#define PARAMS "/sys/module/simrupt/parameters"

/* Reads a whole (small) file in one read(), as a consistent snapshot. */
static int slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return fail("open(%s): %s", path, ename(errno));
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return fail("read(%s): %s", path, ename(errno));
	buf[n] = '\0';
	return 0;
}

/*
 * Checks one rendering of `latency`: every summary line is ordered
 * (min <= median <= p99 <= max), its mean lies in [min, max], and its bar
 * chart lines add up to its count. Returns 0 or -1 with `why`.
 */
static int check_latency_text(const char *text)
{
	char name[64];
	unsigned long long c, mi, me, p, ma, mean, bars = 0;
	int in_hist = 0, hists = 0;
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char l[512];

		if (len >= sizeof(l))
			return fail("latency: line too long");
		memcpy(l, line, len);
		l[len] = '\0';
		if (l[0] != ' ') {
			if (in_hist && bars != c)
				return fail("latency: %s: bars add up to %llu, count is %llu", name, bars, c);
			if (sscanf(l, "%63[^:]: count %llu min %llu median %llu p99 %llu max %llu mean %llu (ns)",
				   name, &c, &mi, &me, &p, &ma, &mean) != 7)
				return fail("latency: cannot parse '%s'", l);
			if (!(mi <= me && me <= p && p <= ma))
				return fail("latency: not ordered: '%s'", l);
			if (!(mi <= mean && mean <= ma))
				return fail("latency: mean outside [min, max]: '%s'", l);
			if (c == 0 && (mi || ma || mean))
				return fail("latency: empty but not zero: '%s'", l);
			in_hist = 1;
			hists++;
			bars = 0;
		} else {
			const char *last = strrchr(l, ' ');

			if (!in_hist || !last)
				return fail("latency: stray line '%s'", l);
			bars += strtoull(last + 1, NULL, 10);
		}
		line += len + (nl ? 1 : 0);
	}
	if (in_hist && bars != c)
		return fail("latency: %s: bars add up to %llu, count is %llu", name, bars, c);
	if (hists != 4)
		return fail("latency: %d histograms, expected 4", hists);
	return 0;
}

struct stats {
	unsigned long long produced, delivered, dropped, overwritten, qfast, qkfifo, invariant;
	int have_invariant;
};

/* Reads one `name: value` line of a stats text; -1 if missing. */
static int stat_field(const char *text, const char *name, unsigned long long *v)
{
	char key[80];
	const char *p;

	snprintf(key, sizeof(key), "\n%s: ", name);
	if (!strncmp(text, key + 1, strlen(key + 1)))
		p = text + strlen(key + 1);
	else if ((p = strstr(text, key)))
		p += strlen(key);
	else
		return fail("stats: no line '%s'", name);
	*v = strtoull(p, NULL, 10);
	return 0;
}

/*
 * Checks one rendering of `stats`: running, produced is at least the sum of
 * where bytes went; idle, equal (the loss equation). Fills *s.
 */
static int check_stats_text(const char *text, int idle, struct stats *s)
{
	unsigned long long rhs;

	if (stat_field(text, "produced", &s->produced) ||
	    stat_field(text, "delivered", &s->delivered) ||
	    stat_field(text, "dropped_fast_buf", &s->dropped) ||
	    stat_field(text, "overwritten_kfifo", &s->overwritten) ||
	    stat_field(text, "queued_fast_buf", &s->qfast) ||
	    stat_field(text, "queued_kfifo", &s->qkfifo))
		return -1;
	s->have_invariant = strstr(text, "invariant_failures: ") != NULL;
	s->invariant = 0;
	if (s->have_invariant)
		stat_field(text, "invariant_failures", &s->invariant);
	rhs = s->delivered + s->dropped + s->overwritten + s->qfast + s->qkfifo;
	if (idle ? s->produced != rhs : s->produced < rhs)
		return fail("stats: produced %llu %s delivered %llu + dropped %llu + "
			    "overwritten %llu + queued %llu+%llu = %llu", s->produced,
			    idle ? "!=" : "<", s->delivered, s->dropped, s->overwritten,
			    s->qfast, s->qkfifo, rhs);
	if (s->invariant)
		return fail("stats: invariant_failures %llu", s->invariant);
	return 0;
}

/* The `count` of one histogram of a latency text, or -1. */
static long long hist_count(const char *text, const char *name)
{
	char key[80];
	const char *p;

	snprintf(key, sizeof(key), "%s: count ", name);
	p = strstr(text, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/*
 * check-files idle|running: one consistency check of both files; idle
 * adds the exact rules: the loss equation and, if `exact_ptr` (both files
 * were reset together), produce_to_read count = delivered.
 */
static int cmd_check_files(int idle, int exact_ptr)
{
	static char lat[65536], st[16384];
	struct stats s;
	long long ptr;

	if (slurp(DEBUGFS "/latency", lat, sizeof(lat)) || check_latency_text(lat)) {
		report("latency-consistent", -1);
		return 1;
	}
	report("latency-consistent", 0);
	if (slurp(DEBUGFS "/stats", st, sizeof(st)) || check_stats_text(st, idle, &s)) {
		report(idle ? "stats-equation-exact" : "stats-consistent", -1);
		return 1;
	}
	note("produced %llu delivered %llu dropped %llu overwritten %llu queued %llu+%llu",
	     s.produced, s.delivered, s.dropped, s.overwritten, s.qfast, s.qkfifo);
	report(idle ? "stats-equation-exact" : "stats-consistent", 0);
	if (!idle || !exact_ptr)
		return 0;
	ptr = hist_count(lat, "produce_to_read");
	if (ptr != (long long)s.delivered)
		fail("produce_to_read count %lld != delivered %llu", ptr, s.delivered);
	report("produce-to-read-count-is-delivered", ptr == (long long)s.delivered ? 0 : -1);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Shared state of the multi-process tests                            */
/* ------------------------------------------------------------------ */

#define VICTIM_SLOTS (1 << 20)
#define MAX_KIDS 32

struct shared {
	volatile int stop;
	unsigned long long got[MAX_KIDS];	/* bytes each child read */
	unsigned long long loops[MAX_KIDS];	/* iterations each child made */
	volatile int failed;			/* a child found a problem */
	char why[1024];				/* ... and this one */
	unsigned long victim_next;		/* next free victim slot */
	unsigned char victim[VICTIM_SLOTS];	/* one byte per read by a victim */
};

static struct shared *sh;

static void shared_init(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	memset(sh, 0, sizeof(*sh));
}

/* A child's failure: the first one is kept for the report. */
static void child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void child_fail(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&sh->failed, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
	va_end(ap);
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort: 1 CPU is fine */
}

static void on_usr1(int sig) { (void)sig; }

/* SIGUSR1 interrupts a blocked read (no SA_RESTART): how children are stopped. */
static void child_setup(void)
{
	struct sigaction sa;

	in_child = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
}

static pid_t kids[MAX_KIDS];
static int nkids;

static void spawn(void (*fn)(int), int id)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		child_setup();
		fn(id);
		_exit(0);
	}
	kids[nkids++] = pid;
}

/* Stops every child (flag, then SIGUSR1 until it exits); 0 if all exited 0. */
static int stop_kids(void)
{
	int bad = 0;

	sh->stop = 1;
	for (int i = 0; i < nkids; i++) {
		int status;

		for (;;) {
			kill(kids[i], SIGUSR1);
			pid_t r = waitpid(kids[i], &status, WNOHANG);

			if (r == kids[i])
				break;
			sleep_ms(20);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	}
	nkids = 0;
	return bad;
}

/* ------------------------------------------------------------------ */
/* Readers of every kind                                              */
/* ------------------------------------------------------------------ */

enum reader_kind { R_BLOCK, R_NONBLOCK, R_POLL, R_EPOLL, R_EPOLL_ET, R_SELECT, R_KINDS };
static const char *const reader_names[] = { "blocking", "nonblocking", "poll", "epoll",
					    "epoll-et", "select" };

/* A read whose bytes are counted; -1 on an error other than EAGAIN/EINTR. */
static int counted_read(int fd, int id, size_t len)
{
	unsigned char buf[4096];
	ssize_t r = read(fd, buf, len < sizeof(buf) ? len : sizeof(buf));

	if (r > 0) {
		sh->got[id] += r;
		for (ssize_t i = 0; i < r; i++)
			if (!in_range(buf[i])) {
				child_fail("reader %d: byte 0x%02x out of the sequence", id, buf[i]);
				return -1;
			}
		return (int)r;
	}
	if (r == 0) {
		child_fail("reader %d: read returned 0 (EOF)", id);
		return -1;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	child_fail("reader %d: read: %s", id, ename(errno));
	return -1;
}

/* Reader `id`, of kind id % R_KINDS, until stopped. */
static void reader(int id)
{
	enum reader_kind kind = id % R_KINDS;
	int fd = open(dev_path, O_RDONLY | O_CLOEXEC | (kind == R_BLOCK ? 0 : O_NONBLOCK));
	int ep = -1;
	size_t len = 1 + (size_t)id * 37 % 512;

	if (fd < 0) {
		child_fail("reader %d: open: %s", id, ename(errno));
		_exit(1);
	}
	if (kind == R_EPOLL || kind == R_EPOLL_ET) {
		struct epoll_event ev = { .events = EPOLLIN | (kind == R_EPOLL_ET ? EPOLLET : 0) };

		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			die("epoll");
	}
	while (!sh->stop) {
		int r = 0;

		sh->loops[id]++;
		switch (kind) {
		case R_BLOCK:
			r = counted_read(fd, id, len);
			break;
		case R_NONBLOCK:
			r = counted_read(fd, id, len);
			if (r == 0)
				sleep_ms(3);
			break;
		case R_POLL: {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 200) > 0)
				r = counted_read(fd, id, len);
			break;
		}
		case R_SELECT: {
			fd_set set;
			struct timeval tv = { 0, 200000 };

			FD_ZERO(&set);
			FD_SET(fd, &set);
			if (select(fd + 1, &set, NULL, NULL, &tv) > 0)
				r = counted_read(fd, id, len);
			break;
		}
		case R_EPOLL:
		case R_EPOLL_ET: {
			struct epoll_event ev;

			if (epoll_wait(ep, &ev, 1, 200) > 0) {
				/* Edge-triggered: drain, or no new event comes. */
				do
					r = counted_read(fd, id, len);
				while (kind == R_EPOLL_ET && r > 0);
			}
			break;
		}
		default:
			break;
		}
		if (r < 0)
			_exit(1);
	}
	if (ep >= 0)
		close(ep);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* race: resets of stats and latency racing readers and renderers      */
/* ------------------------------------------------------------------ */

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = errno;
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -err;
}

/*
 * CPU 0, normal priority: reset both files as fast as possible. The files
 * stay open and are written again and again (their write ignores the file
 * position), so that most of the loop's time is spent inside a reset, where
 * a preempting reader's records land.
 */
static void resetter(int id)
{
	int lat = open(DEBUGFS "/latency", O_WRONLY | O_CLOEXEC);
	int st = open(DEBUGFS "/stats", O_WRONLY | O_CLOEXEC);

	pin_cpu(0);
	if (lat < 0 || st < 0) {
		child_fail("resetter: open: %s", ename(errno));
		_exit(1);
	}
	while (!sh->stop) {
		for (int i = 0; i < 4; i++)
			if (write(lat, "0\n", 2) != 2) {
				child_fail("resetter: latency write: %s", ename(errno));
				_exit(1);
			}
		if (write(st, "reset", 5) != 5) {
			child_fail("resetter: stats write: %s", ename(errno));
			_exit(1);
		}
		sh->loops[id]++;
	}
	close(lat);
	close(st);
}

/* CPU 0, SCHED_FIFO: wakes on each tick and preempts the resetter. */
static void rt_reader(int id)
{
	struct sched_param sp = { .sched_priority = 50 };
	int fd;

	pin_cpu(0);
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		note("rt reader: sched_setscheduler: %s (running unprioritised)", ename(errno));
	fd = open(dev_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		child_fail("rt reader: open: %s", ename(errno));
		_exit(1);
	}
	while (!sh->stop) {
		if (counted_read(fd, id, 1 + sh->loops[id] % 64) < 0)
			_exit(1);
		sh->loops[id]++;
	}
	close(fd);
}

/*
 * The other CPU: render both files and check every rendering. After a
 * failure it keeps rendering (the first failure is the one reported), so
 * that a reading that crashes the kernel is still reached.
 */
static void renderer(int id)
{
	static char lat[65536], st[16384];
	struct stats s;

	pin_cpu(1);
	while (!sh->stop) {
		if (slurp(DEBUGFS "/latency", lat, sizeof(lat)) || check_latency_text(lat))
			child_fail("renderer, after %llu renderings: %s", sh->loops[id], why);
		if (slurp(DEBUGFS "/stats", st, sizeof(st)) || check_stats_text(st, 0, &s))
			child_fail("renderer, after %llu renderings: %s", sh->loops[id], why);
		sh->loops[id]++;
	}
}

/*
 * race <seconds>: a resetter of both debugfs files and a SCHED_FIFO reader
 * on CPU 0 (the reader preempts the reset whenever a byte arrives), a plain
 * reader and a renderer on CPU 1 checking every rendering. Afterwards, idle,
 * the loss equation must still be exact and no invariant broken.
 */
static int cmd_race(double seconds)
{
	int bad;

	shared_init();
	spawn(resetter, 0);
	spawn(rt_reader, 1);
	spawn(renderer, 2);
	spawn(reader, 3 * R_KINDS + R_BLOCK);	/* id 18: a blocking reader */
	sleep_ms(seconds * 1000);
	bad = stop_kids();
	note("%llu x (4 latency resets + 1 stats reset), %llu renderings, rt reader %llu bytes in %llu reads, reader %llu bytes",
	     sh->loops[0], sh->loops[2], sh->got[1], sh->loops[1], sh->got[18]);
	if (sh->failed)
		fail("%s", sh->why);
	else if (bad)
		fail("a child exited abnormally");
	else if (sh->loops[0] < 10 || sh->loops[2] < 10 || sh->got[1] == 0)
		fail("too little happened: %llu resets, %llu renderings, %llu bytes",
		     sh->loops[0], sh->loops[2], sh->got[1]);
	report("race-every-rendering-consistent", sh->failed || bad || why[0] ? -1 : 0);
	/* All closed: idle. The equation survived every reset. */
	return cmd_check_files(1, 0) || failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* soak: every kind of reader, storms, parameter writes, kills, rmmod  */
/* ------------------------------------------------------------------ */

static int timer_list_mode;	/* period_us is refused with timer=timer_list */

/* Opens and closes the device in a loop, sometimes reading a little. */
static void storm(int id)
{
	while (!sh->stop) {
		int fd = open(dev_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0) {
			child_fail("storm: open: %s", ename(errno));
			_exit(1);
		}
		if (sh->loops[id] % 4 == 0 && counted_read(fd, id, 3) < 0)
			_exit(1);
		close(fd);
		sh->loops[id]++;
	}
}

/*
 * Forks victims that read one byte at a time, each straight into its own
 * slot of shared memory, and SIGKILLs them mid-read. A slot that is not 0 any
 * more received a byte: that is how bytes delivered to a killed reader are
 * counted exactly.
 */
static void killer(int id)
{
	unsigned int seed = 12345;

	while (!sh->stop) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			int fd = open(dev_path, O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				_exit(0);	/* killed during open, or refused: nothing read */
			for (;;) {
				unsigned long slot = __atomic_fetch_add(&sh->victim_next, 1,
									__ATOMIC_SEQ_CST);

				if (slot >= VICTIM_SLOTS)
					pause();
				if (read(fd, &sh->victim[slot], 1) < 0 && errno != EINTR)
					child_fail("victim: read: %s", ename(errno));
			}
		}
		sleep_ms(rand_r(&seed) % 40);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		sh->loops[id]++;
	}
}

struct pwrite {
	const char *param, *value;
	int ok;		/* 1: must be accepted; 0: refused (EINVAL) */
	int hr_only;	/* accepted only with timer=hrtimer */
};

/* Run-time parameter writes, valid and garbage, with the expected outcome. */
static const struct pwrite pwrites[] = {
	{ "delay", "1", 1, 0 },      { "delay", "5\n", 1, 0 },    { "delay", "+10", 1, 0 },
	{ "delay", "0x14", 1, 0 },   { "delay", "002", 1, 0 },    { "burst", "1", 1, 0 },
	{ "burst", "16\n", 1, 0 },   { "burst", "0x8", 1, 0 },    { "burst", "+3", 1, 0 },
	{ "period_us", "0", 1, 0 },  { "period_us", "00", 1, 0 }, { "period_us", "+0\n", 1, 0 },
	{ "period_us", "500", 1, 1 }, { "period_us", "2000\n", 1, 1 },
	{ "period_us", "0", 1, 0 },  { "trace", "0", 1, 0 },      { "trace", "off", 1, 0 },
	{ "trace", "n\n", 1, 0 },
	{ "delay", "0", 0, 0 },      { "delay", "10001", 0, 0 },  { "delay", "abc", 0, 0 },
	{ "delay", "-1", 0, 0 },     { "delay", " 5", 0, 0 },     { "delay", "5 ", 0, 0 },
	{ "delay", "5\n\n", 0, 0 },  { "delay", "1.5", 0, 0 },
	{ "delay", "0x", 0, 0 },     { "delay", "09", 0, 0 },     { "delay", "99999999999", 0, 0 },
	{ "burst", "0", 0, 0 },      { "burst", "4097", 0, 0 },   { "burst", "++1", 0, 0 },
	{ "period_us", "9", 0, 0 },  { "period_us", "1000001", 0, 0 }, { "period_us", "x", 0, 0 },
	{ "trace", "maybe", 0, 0 },
};

static void param_writer(int id)
{
	unsigned int seed = 777;
	char path[128];

	while (!sh->stop) {
		const struct pwrite *w = &pwrites[rand_r(&seed) % (sizeof(pwrites) / sizeof(pwrites[0]))];
		int want = w->ok && !(w->hr_only && timer_list_mode);
		int e;

		snprintf(path, sizeof(path), PARAMS "/%s", w->param);
		e = write_str(path, w->value);
		if (want ? e != 0 : e != -EINVAL) {
			char shown[64];
			size_t j = 0;

			/* The value on one line: a newline shown as \n. */
			for (const char *v = w->value; *v && j < sizeof(shown) - 3; v++) {
				if (*v == '\n') {
					shown[j++] = '\\';
					shown[j++] = 'n';
				} else {
					shown[j++] = *v;
				}
			}
			shown[j] = '\0';
			child_fail("param_writer: %s='%s' gave %s, expected %s", w->param, shown,
				   e ? ename(-e) : "success", want ? "success" : "EINVAL");
			_exit(1);
		}
		sh->loops[id]++;
		sleep_ms(rand_r(&seed) % 20);
	}
}

/* Renders both files, checking them, now and then. */
static void slow_renderer(int id)
{
	static char lat[65536], st[16384];
	struct stats s;

	while (!sh->stop) {
		if (slurp(DEBUGFS "/latency", lat, sizeof(lat)) || check_latency_text(lat) ||
		    slurp(DEBUGFS "/stats", st, sizeof(st)) || check_stats_text(st, 0, &s)) {
			child_fail("renderer: %s", why);
			_exit(1);
		}
		sh->loops[id]++;
		sleep_ms(50);
	}
}

static int module_loaded(void)
{
	char line[256];
	FILE *f = fopen("/proc/modules", "re");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "simrupt ", 8))
			found = 1;
	fclose(f);
	return found;
}

/*
 * soak <seconds> <hrtimer|timer_list>: two readers of every kind, an
 * open/close storm, a killer of readers mid-read, run-time parameter writes
 * (valid and garbage), a renderer, and rmmod attempts while open. Then,
 * idle: the loss equation is exact, delivered equals what the readers got,
 * produce_to_read counts every delivered byte, and no invariant broke.
 * Expects counters reset (at idle) just before.
 */
static int cmd_soak(double seconds, const char *timer)
{
	static char lat[65536], st[16384];
	unsigned long long readers_got = 0, victims_got = 0;
	int rmmod_tries = 0, rmmod_bad = 0, bad, id;
	struct stats s;
	long long ptr;
	double end;

	timer_list_mode = !strcmp(timer, "timer_list");
	shared_init();
	for (id = 0; id < 2 * R_KINDS; id++)
		spawn(reader, id);
	spawn(storm, 12);
	spawn(killer, 13);
	spawn(param_writer, 14);
	spawn(slow_renderer, 15);
	end = now_ms() + seconds * 1000;
	while (now_ms() < end && !sh->failed) {
		sleep_ms(500);
		/* Readers hold the device open: unloading must be refused. */
		rmmod_tries++;
		if (syscall(SYS_delete_module, "simrupt", O_NONBLOCK) == 0 || module_loaded() != 1) {
			rmmod_bad++;
			break;
		}
	}
	bad = stop_kids();
	/* Parameters back to a quiet state. */
	write_str(PARAMS "/burst", "1");
	write_str(PARAMS "/delay", "10");
	if (!timer_list_mode)
		write_str(PARAMS "/period_us", "0");
	for (id = 0; id < 2 * R_KINDS; id++) {
		note("reader %d (%s): %llu bytes in %llu loops", id, reader_names[id % R_KINDS],
		     sh->got[id], sh->loops[id]);
		readers_got += sh->got[id];
	}
	readers_got += sh->got[12];
	for (unsigned long i = 0; i < VICTIM_SLOTS && i < sh->victim_next; i++)
		victims_got += sh->victim[i] != 0;
	note("storm: %llu opens, %llu bytes; killer: %llu victims killed, %llu bytes; "
	     "param writes %llu; renderings %llu; rmmod attempts %d",
	     sh->loops[12], sh->got[12], sh->loops[13], victims_got, sh->loops[14],
	     sh->loops[15], rmmod_tries);
	if (sh->failed)
		fail("%s", sh->why);
	else if (bad)
		fail("a child exited abnormally");
	report("soak-children", sh->failed || bad ? -1 : 0);
	if (rmmod_bad)
		fail("rmmod succeeded (or the module vanished) while the device was open");
	report("soak-rmmod-refused-while-open", rmmod_bad ? -1 : 0);
	/*
	 * Readers of one kind may starve behind others (read_lock is held
	 * across a blocking reader's sleep, and a woken poller may find the
	 * fifo emptied): not a defect, so only noted. But the readers as a
	 * whole must have read, or the accounting below proves nothing.
	 */
	for (id = 0; id < R_KINDS; id++)
		if (sh->got[id] + sh->got[id + R_KINDS] == 0)
			note("no %s reader got anything (starved by the others)", reader_names[id]);
	if (readers_got == 0)
		fail("the readers got nothing");
	report("soak-readers-read", why[0] ? -1 : 0);
	if (sh->loops[13] == 0)
		fail("no reader was killed");
	report("soak-readers-killed", why[0] ? -1 : 0);

	/* Everything is closed: idle, the exact rules hold. */
	if (slurp(DEBUGFS "/latency", lat, sizeof(lat)) || check_latency_text(lat) ||
	    slurp(DEBUGFS "/stats", st, sizeof(st)) || check_stats_text(st, 1, &s)) {
		report("soak-equation-exact", -1);
		return 1;
	}
	report("soak-equation-exact", 0);
	if (s.delivered != readers_got + victims_got)
		fail("delivered %llu, readers got %llu + killed readers %llu", s.delivered,
		     readers_got, victims_got);
	report("soak-delivered-is-what-readers-got", why[0] ? -1 : 0);
	ptr = hist_count(lat, "produce_to_read");
	if (ptr != (long long)s.delivered)
		fail("produce_to_read count %lld != delivered %llu", ptr, s.delivered);
	report("soak-produce-to-read-count-is-delivered", why[0] ? -1 : 0);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* drain: read everything queued, in one go or in small reads          */
/* ------------------------------------------------------------------ */

/*
 * drain <bs>: non-blocking reads of `bs` bytes until EAGAIN, checking each
 * byte is a value of the sequence (after both kinds of overflow, the bytes
 * left need not be consecutive values).
 */
static int cmd_drain(long bs)
{
	static unsigned char buf[1 << 16];
	long total = 0, reads = 0;
	int fd = open_dev(O_RDONLY | O_NONBLOCK);

	if (fd < 0) {
		report("drain", -1);
		return 1;
	}
	for (;;) {
		ssize_t r = xread(fd, buf, (size_t)bs, "drain");

		if (r < 0) {
			if (r == -1 && errno == EAGAIN)
				break;
			if (r == -1)
				fail("drain: read: %s", ename(errno));
			break;
		}
		if (r == 0) {
			fail("drain: read returned 0");
			break;
		}
		for (ssize_t i = 0; i < r; i++)
			if (!in_range(buf[i]) && !why[0])
				fail("drain: byte 0x%02x out of the sequence", buf[i]);
		if (why[0])
			break;
		total += r;
		reads++;
		if (total > 1 << 22) {
			fail("drain: never empty");
			break;
		}
	}
	close(fd);
	note("drained %ld bytes in %ld reads of up to %ld", total, reads, bs);
	printf("drained=%ld\n", total);
	report(bs >= 4096 ? "drain-one-go" : "drain-small-reads", why[0] ? -1 : 0);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* failrt: run-time fault injection in the reading task                */
/* ------------------------------------------------------------------ */

enum failop { F_OPEN, F_READ, F_POLL, F_CLOSE, F_STATS_W, F_LAT_W, F_STATS_R, F_PARAM_W, F_OPS };
static const char *const failop_names[] = { "open", "read", "poll", "close", "stats-write",
					    "latency-write", "stats-read", "param-write" };

/* Performs `op` once; returns 0 or -errno. `fd` is an open device fd. */
static int do_failop(enum failop op, int fd)
{
	char buf[4096];
	int r = 0, f;

	switch (op) {
	case F_OPEN:
		f = open(dev_path, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			return -errno;
		close(f);
		return 0;
	case F_READ:
		r = read(fd, buf, 64);
		return r < 0 ? -errno : 0;
	case F_POLL: {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		return poll(&p, 1, 300) < 0 ? -errno : 0;
	}
	case F_CLOSE:
		/* The device opened just before (fail-nth armed in between). */
		return close(fd) ? -errno : 0;
	case F_STATS_W:
		return write_str(DEBUGFS "/stats", "0");
	case F_LAT_W:
		return write_str(DEBUGFS "/latency", "reset\n");
	case F_STATS_R:
		f = open(DEBUGFS "/stats", O_RDONLY | O_CLOEXEC);
		if (f < 0)
			return -errno;
		r = read(f, buf, sizeof(buf));
		r = r < 0 ? -errno : 0;
		close(f);
		return r;
	case F_PARAM_W:
		return write_str(PARAMS "/delay", "10\n");
	default:
		return 0;
	}
}

/*
 * failrt: for each operation, make the N-th slab allocation of this task
 * fail, N = 1, 2, ... until the operation no longer reaches it. Each try may
 * only succeed or fail with ENOMEM (or EINTR). Afterwards the device still
 * works (checked by the caller, with the loss equation).
 */
static int cmd_failrt(void)
{
	int nth_fd = open_fail_nth();
	int dev = open_dev(O_RDONLY);

	if (nth_fd < 0 || dev < 0) {
		fail("cannot open fail-nth or the device: %s", ename(errno));
		report("failrt", -1);
		return 1;
	}
	for (int op = 0; op < F_OPS; op++) {
		char name[64], num[16], back[32];
		int n, injected_any = 0, bad = 0;

		snprintf(name, sizeof(name), "failrt-%s", failop_names[op]);
		for (n = 1; n <= 200; n++) {
			int fd = dev, len, rc, injected;
			ssize_t got;

			if (op == F_CLOSE && (fd = open_dev(O_RDONLY)) < 0)
				break;
			len = snprintf(num, sizeof(num), "%d", n);
			if (write(nth_fd, num, len) != len)
				die("write fail-nth");
			rc = do_failop(op, fd);
			got = pread(nth_fd, back, sizeof(back) - 1, 0);
			if (got <= 0)
				die("read fail-nth");
			back[got] = '\0';
			injected = strtoul(back, NULL, 10) == 0;
			if (!injected && write(nth_fd, "0", 1) != 1)
				die("reset fail-nth");
			if (rc && rc != -ENOMEM && rc != -EINTR) {
				fail("%s with allocation %d failing: %s (only ENOMEM or EINTR allowed)",
				     failop_names[op], n, ename(-rc));
				bad = 1;
				break;
			}
			injected_any |= injected && rc;
			if (!injected)
				break;
		}
		note("%s: %d allocations reached, %s", failop_names[op], n - 1,
		     injected_any ? "some failed it with ENOMEM" : "none made it fail");
		report(name, bad ? -1 : 0);
	}
	close(dev);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Command line                                                       */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* kapi's teardown self-test (tests/kapi/selftest.rs)                 */
/* ------------------------------------------------------------------ */

#define KST_DEV "/dev/simrupt_kst"
#define KST_FILE "/sys/kernel/debug/simrupt_kst/f"
#define KST_CTL "/sys/kernel/debug/simrupt_kst_ctl/teardown"

/* A line in the kernel log, so the guest can order it against the module's. */
static void kmsg(const char *line)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/kmsg");
	if (write(fd, line, strlen(line)) < 0)
		die("write /dev/kmsg");
	xclose(fd);
}

/*
 * Opens the self-test's device and debugfs file, has epoll wait on the
 * device (a forked child in epoll_wait()), then asks the module to drop the
 * registration and the directory, and goes on using what it holds open.
 */
static int cmd_kapi_teardown(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char buf[16];
	int fd, dfd, ctl, ep, status, rc;
	struct pollfd pfd;
	ssize_t r;
	pid_t child;

	fd = open(KST_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	dfd = open(KST_FILE, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 || dfd < 0;
	if (rc)
		fail("open %s or %s: %s", KST_DEV, KST_FILE, ename(errno));
	else if ((r = read(dfd, buf, 4)) != 4 || memcmp(buf, "kept", 4))
		rc = fail("read %s before the teardown: %zd", KST_FILE, r);
	report("kapi-teardown-open", rc);
	if (rc)
		return 1;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		/* Waits across the teardown; the device is never ready. */
		struct epoll_event got;
		int n = epoll_wait(ep, &got, 1, 1500);

		_exit(n == 0 ? 0 : 1);
	}
	sleep_ms(300);

	ctl = open(KST_CTL, O_WRONLY | O_CLOEXEC);
	rc = ctl < 0 || write(ctl, "1\n", 2) != 2;
	if (rc)
		fail("write %s: %s", KST_CTL, ename(errno));
	if (ctl >= 0)
		xclose(ctl);
	report("kapi-teardown-drop", rc);

	rc = open(KST_DEV, O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT;
	if (rc)
		fail("a new open of %s after the teardown: %s, not ENOENT", KST_DEV,
		     ename(errno));
	report("kapi-teardown-no-new-open", rc);

	r = read(fd, buf, sizeof(buf));
	rc = r != 4 || memcmp(buf, "kst\n", 4);
	if (rc)
		fail("read of the open device after the teardown: %zd (%s)", r,
		     r < 0 ? ename(errno) : "wrong bytes");
	report("kapi-teardown-open-device-reads", rc);

	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	rc = poll(&pfd, 1, 0) != 0;
	if (rc)
		fail("poll of the open device after the teardown: %s", ename(errno));
	report("kapi-teardown-open-device-polls", rc);

	r = read(dfd, buf, sizeof(buf));
	rc = !(r == -1 && errno == EIO);
	if (rc)
		fail("read of the removed debugfs file: %zd (%s), not EIO", r,
		     r < 0 ? ename(errno) : "data");
	report("kapi-teardown-removed-debugfs-file-eio", rc);

	if (waitpid(child, &status, 0) != child)
		die("waitpid");
	rc = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	if (rc)
		fail("epoll_wait across the teardown did not time out cleanly");
	report("kapi-teardown-epoll-wait", rc);

	rc = epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) != 0;
	if (rc)
		fail("EPOLL_CTL_DEL after the teardown: %s", ename(errno));
	report("kapi-teardown-epoll-del", rc);

	kmsg("simrupt_test: kapi-teardown: closing the files\n");
	xclose(dfd);
	xclose(fd);
	xclose(ep);
	report("kapi-teardown-close", 0);
	return failures ? 1 : 0;
}

/*
 * File::is_nonblocking (kapi/chrdev.rs) against fcntl() from another task:
 * a blocking read of the self-test's device spins in the kernel until the
 * file turns non-blocking. A forked child, sharing the open file, sets
 * O_NONBLOCK with fcntl(F_SETFL) 20 ms later; the read must see it and fail
 * with EAGAIN, not spin out (about a second) and return 0.
 */
static int cmd_kapi_nonblock(void)
{
	double start;
	char buf[16];
	int fd, status, rc;
	ssize_t r;
	pid_t child;

	fd = open(KST_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", KST_DEV, ename(errno));
		report("kapi-nonblock-seen", 1);
		return 1;
	}
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		sleep_ms(20);
		_exit(fcntl(fd, F_SETFL, O_NONBLOCK) ? 1 : 0);
	}
	start = now_ms();
	r = read(fd, buf, sizeof(buf));
	printf("# kapi-nonblock: read returned %zd (%s) after %.0f ms\n", r,
	       r < 0 ? ename(errno) : "no error", now_ms() - start);
	if (waitpid(child, &status, 0) != child)
		die("waitpid");
	rc = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	if (rc)
		fail("fcntl(F_SETFL, O_NONBLOCK) in the child failed");
	else if ((rc = !(r == -1 && errno == EAGAIN)))
		fail("the blocking read did not see O_NONBLOCK set by another task: %zd (%s)",
		     r, r < 0 ? ename(errno) : "it spun out");
	report("kapi-nonblock-seen", rc);
	xclose(fd);
	return failures ? 1 : 0;
}

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "simrupt_test: %s\n", msg);
	fprintf(stderr,
		"usage: simrupt_test <subcommand> [args...]\n"
		"  sequence <seconds> | rate <seconds> | nonblock | signal | efault\n"
		"  readers <nreaders> <seconds> | poll | select | epoll | epoll-et\n"
		"  openclose <count> | failnth <N> <module.ko> [params]\n"
		"  check-files idle|running|idle-reset | race <seconds>\n"
		"  soak <seconds> <hrtimer|timer_list> | drain <bs> | failrt\n"
		"  kapi-teardown | kapi-nonblock\n");
	exit(2);
}

static long parse_long(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "simrupt_test: %s must be an integer in %ld..%ld, not '%s'\n",
			what, min, max, s);
		usage(NULL);
	}
	return v;
}

static double parse_seconds(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0 && v <= 3600)) {
		fprintf(stderr, "simrupt_test: seconds must be in (0, 3600], not '%s'\n", s);
		usage(NULL);
	}
	return v;
}

/* The period from sysfs; on failure prints the FAIL line and exits. */
static void load_delay(const char *name)
{
	const char *path = getenv("SIMRUPT_DELAY_FILE");
	FILE *f;
	int n;

	if (!path)
		path = DEFAULT_DELAY_FILE;
	f = fopen(path, "re");
	if (!f) {
		fail("cannot open %s: %s (is the module loaded?)", path, ename(errno));
		report(name, -1);
		exit(1);
	}
	n = fscanf(f, "%ld", &delay_ms);
	fclose(f);
	if (n != 1 || delay_ms <= 0) {
		fail("%s does not hold a positive decimal number", path);
		report(name, -1);
		exit(1);
	}
	note("delay=%ld ms", delay_ms);
}

static void want_args(int argc, int min, int max)
{
	if (argc - 2 < min || argc - 2 > max)
		usage("wrong number of arguments");
}

static int cmd_poll(void) { return cmd_wait("poll", W_POLL); }
static int cmd_select(void) { return cmd_wait("select", W_SELECT); }
static int cmd_epoll(void) { return cmd_wait("epoll", W_EPOLL); }
static int cmd_epoll_et(void) { return cmd_wait("epoll-et", W_EPOLL_ET); }

/* The subcommands without arguments. */
static const struct {
	const char *name;
	int (*run)(void);
} simple[] = {
	{ "nonblock", cmd_nonblock }, { "signal", cmd_signal },
	{ "efault", cmd_efault },     { "poll", cmd_poll },
	{ "select", cmd_select },     { "epoll", cmd_epoll },
	{ "epoll-et", cmd_epoll_et },
};

int main(int argc, char **argv)
{
	const char *cmd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage(NULL);
	cmd = argv[1];
	current = cmd;
	if (getenv("SIMRUPT_DEV"))
		dev_path = getenv("SIMRUPT_DEV");

	if (!strcmp(cmd, "failnth")) {
		want_args(argc, 2, 3);
		return cmd_failnth(parse_long(argv[2], 1, 1000000000, "N"),
				   argv[3], argc > 4 ? argv[4] : "");
	}
	if (!strcmp(cmd, "sequence") || !strcmp(cmd, "rate")) {
		want_args(argc, 1, 1);
		double seconds = parse_seconds(argv[2]);

		load_delay(cmd);
		return cmd_sequence(seconds, !strcmp(cmd, "sequence"));
	}
	if (!strcmp(cmd, "readers")) {
		want_args(argc, 2, 2);
		long count = parse_long(argv[2], 1, MAX_READERS, "nreaders");
		double seconds = parse_seconds(argv[3]);

		load_delay(cmd);
		if (seconds * 1000 / delay_ms >= 90)
			usage("readers: seconds*1000/delay must be < 90, so that "
			      "each value appears at most once");
		return cmd_readers((int)count, seconds);
	}
	if (!strcmp(cmd, "openclose")) {
		want_args(argc, 1, 1);
		long count = parse_long(argv[2], 1, 100000000, "count");

		load_delay(cmd);
		return cmd_openclose(count);
	}
	if (!strcmp(cmd, "check-files")) {
		want_args(argc, 1, 1);
		if (strcmp(argv[2], "idle") && strcmp(argv[2], "running") &&
		    strcmp(argv[2], "idle-reset"))
			usage("check-files: idle, running or idle-reset");
		return cmd_check_files(strcmp(argv[2], "running") != 0,
				       !strcmp(argv[2], "idle-reset"));
	}
	if (!strcmp(cmd, "race")) {
		want_args(argc, 1, 1);
		return cmd_race(parse_seconds(argv[2]));
	}
	if (!strcmp(cmd, "soak")) {
		want_args(argc, 2, 2);
		return cmd_soak(parse_seconds(argv[2]), argv[3]);
	}
	if (!strcmp(cmd, "drain")) {
		want_args(argc, 1, 1);
		return cmd_drain(parse_long(argv[2], 1, 1 << 16, "bs"));
	}
	if (!strcmp(cmd, "failrt")) {
		want_args(argc, 0, 0);
		return cmd_failrt();
	}
	if (!strcmp(cmd, "kapi-teardown")) {
		want_args(argc, 0, 0);
		return cmd_kapi_teardown();
	}
	if (!strcmp(cmd, "kapi-nonblock")) {
		want_args(argc, 0, 0);
		return cmd_kapi_nonblock();
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcmp(cmd, simple[i].name))
			continue;
		want_args(argc, 0, 0);
		load_delay(cmd);
		return simple[i].run();
	}
	usage("unknown subcommand");
	return 2;
}
