// SPDX-License-Identifier: GPL-2.0
/*
 * simrupt_cref.c - a C reference top half, for `make bench` only.
 *
 * Not the C original: a minimal module written for this benchmark that does,
 * per tick, what the C simrupt's top half does, the C way, so that the Rust
 * top half can be timed against it in the same VM boot. A timer_list callback
 * (softirq) that disables interrupts, then, between two ktime_get() calls:
 * logs "produce data", puts one byte into a one-page circ_buf, logs
 * "scheduling tasklet" and schedules a tasklet; then logs the time between the
 * two ktime_get() calls, in nanoseconds (the C original logs ns >> 10 and
 * calls it usec). Its trace lines are simrupt's, under the name simrupt_cref.
 *
 * Loaded alone, with `delay` in ms like simrupt's; it runs from load to unload
 * (no device, no reader): only the top half is measured. Its ring is vmalloc
 * memory, as the C original's fast_buf is. With trace=0 it logs only the
 * in_irq line, which is outside the timed span: the time of the top half's
 * own work without printk; with report=0 not even that (the whole callback
 * then calls no printk, as simrupt's with trace=0).
 *
 * With hrtimer=1 the same work runs from an hrtimer in HRTIMER_MODE_REL_HARD
 * instead, as simrupt's default top half does (hard-IRQ context: interrupts
 * are already off), and re-arms with hrtimer_forward_now(): the C answer to
 * "how close to the floor can this top half get" for each timer.
 *
 * Built with CREF_STEPS=y (`make bench` builds it as simrupt_cref-steps.ko),
 * it also reads the CPU's time-stamp counter at each step of its first 64
 * ticks, as simrupt's `steps` build does (bench_steps.rs), and prints them
 * at unload, one line per tick: "cref-steps: TICK C0 .. C5". The steps: C0
 * the callback is entered; C1 the first clock is read (timer_list:
 * interrupts are off); C2 the byte is in the ring; C3 the tasklet is
 * scheduled; C4 the second clock is read; C5 about to re-arm (timer_list:
 * interrupts still off). The normal build has none of it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/circ_buf.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/timer.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <asm/tsc.h>

static int delay = 100;
module_param(delay, int, 0444);
MODULE_PARM_DESC(delay, "Period of the simulated interrupt in ms (default 100)");
static bool trace = true;
module_param(trace, bool, 0444);
MODULE_PARM_DESC(trace, "Log the lines inside the timed span (default Y)");
static bool report = true;
module_param(report, bool, 0444);
MODULE_PARM_DESC(report, "Log the in_irq line, outside the timed span (default Y)");
static bool hrtimer;
module_param(hrtimer, bool, 0444);
MODULE_PARM_DESC(hrtimer, "Run the top half from a hard-IRQ hrtimer, not a timer_list (default N)");

static struct circ_buf ring;	/* top half -> tasklet, as C's fast_buf */
static unsigned char data;	/* the last byte produced */
static struct timer_list timer;
static struct hrtimer hrt;
static struct tasklet_struct tasklet;

#ifdef CREF_STEPS
#define STEPS 6
#define TICKS 64
static u64 stamps[TICKS][STEPS];
static unsigned int ticks;	/* ticks recorded; only the top half writes it */

static void stamp(int n)
{
	if (ticks >= TICKS)
		return;
	stamps[ticks][n] = rdtsc();
	if (n == STEPS - 1)
		ticks++;
}

static void print_steps(void)
{
	unsigned int i;

	for (i = 0; i < ticks; i++)
		pr_info("cref-steps: %u %llu %llu %llu %llu %llu %llu\n", i,
			stamps[i][0], stamps[i][1], stamps[i][2],
			stamps[i][3], stamps[i][4], stamps[i][5]);
}
#else
static inline void stamp(int n) { }
static inline void print_steps(void) { }
#endif

static void cref_tasklet_func(struct tasklet_struct *t)
{
	/* Empty the ring, as the bottom half's work would. */
	WRITE_ONCE(ring.tail, READ_ONCE(ring.head));
}

static void produce(void)
{
	if (trace)
		pr_info("[CPU#%d] produce data\n", smp_processor_id());
	data = max((data + 1) % 0x7f, 0x20);
	if (CIRC_SPACE(ring.head, READ_ONCE(ring.tail), PAGE_SIZE) >= 1) {
		ring.buf[ring.head] = data;
		smp_store_release(&ring.head, (ring.head + 1) & (PAGE_SIZE - 1));
	}
	stamp(2);
	if (trace)
		pr_info("[CPU#%d] scheduling tasklet\n", smp_processor_id());
	tasklet_schedule(&tasklet);
	stamp(3);
}

/* The top half proper: the same for both timers, with interrupts off. */
static void top_half(void)
{
	ktime_t start, end;

	start = ktime_get();
	stamp(1);
	produce();
	end = ktime_get();
	stamp(4);
	if (report)
		pr_info("[CPU#%d] timer_handler in_irq: %llu ns\n", smp_processor_id(),
			(unsigned long long)ktime_to_ns(ktime_sub(end, start)));
}

static void cref_timer_handler(struct timer_list *t)
{
	stamp(0);
	if (trace)
		pr_info("[CPU#%d] enter timer_handler\n", smp_processor_id());
	local_irq_disable();
	top_half();
	stamp(5);
	mod_timer(&timer, jiffies + msecs_to_jiffies(delay));
	local_irq_enable();
}

static enum hrtimer_restart cref_hrtimer_handler(struct hrtimer *t)
{
	stamp(0);
	if (trace)
		pr_info("[CPU#%d] enter timer_handler\n", smp_processor_id());
	top_half();
	stamp(5);
	hrtimer_forward_now(t, ms_to_ktime(delay));
	return HRTIMER_RESTART;
}

static int __init cref_init(void)
{
	ring.buf = vzalloc(PAGE_SIZE);
	if (!ring.buf)
		return -ENOMEM;
	tasklet_setup(&tasklet, cref_tasklet_func);
	if (hrtimer) {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
		hrtimer_setup(&hrt, cref_hrtimer_handler, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
#else
		hrtimer_init(&hrt, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
		hrt.function = cref_hrtimer_handler;
#endif
		hrtimer_start(&hrt, ms_to_ktime(delay), HRTIMER_MODE_REL_HARD);
		return 0;
	}
	timer_setup(&timer, cref_timer_handler, 0);
	mod_timer(&timer, jiffies + msecs_to_jiffies(delay));
	return 0;
}

static void __exit cref_exit(void)
{
	if (hrtimer)
		hrtimer_cancel(&hrt);
	else
		timer_delete_sync(&timer);
	tasklet_kill(&tasklet);
	vfree(ring.buf);
	print_steps();
}

module_init(cref_init);
module_exit(cref_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("C reference top half for simrupt's benchmark (not the C original)");
