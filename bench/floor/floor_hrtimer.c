// SPDX-License-Identifier: GPL-2.0
/*
 * floor_hrtimer.c - the floor of an hrtimer top half, for `make bench` only.
 *
 * An hrtimer in HRTIMER_MODE_REL_HARD, as simrupt's default top half, whose
 * callback only re-arms: hrtimer_forward_now() by `delay` ms and
 * HRTIMER_RESTART. Nothing a top half could do costs less, so the time the
 * timer core's trace events (hrtimer_expire_entry/exit) show for this
 * callback is the floor simrupt's trace-off top half is compared with.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/version.h>

static int delay = 100;
module_param(delay, int, 0444);
MODULE_PARM_DESC(delay, "Period in ms (default 100)");

static struct hrtimer timer;

static enum hrtimer_restart floor_hrtimer_fn(struct hrtimer *t)
{
	hrtimer_forward_now(t, ms_to_ktime(delay));
	return HRTIMER_RESTART;
}

static int __init floor_init(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	hrtimer_setup(&timer, floor_hrtimer_fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
#else
	hrtimer_init(&timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	timer.function = floor_hrtimer_fn;
#endif
	hrtimer_start(&timer, ms_to_ktime(delay), HRTIMER_MODE_REL_HARD);
	return 0;
}

static void __exit floor_exit(void)
{
	hrtimer_cancel(&timer);
}

module_init(floor_init);
module_exit(floor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Floor of an hrtimer top half (re-arm only), for simrupt's benchmark");
