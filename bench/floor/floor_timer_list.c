// SPDX-License-Identifier: GPL-2.0
/*
 * floor_timer_list.c - the floor of a timer_list top half, for `make bench` only.
 *
 * A timer_list, as the C original's top half, whose callback only re-arms:
 * mod_timer() `delay` ms on. The time the timer core's trace events
 * (timer_expire_entry/exit) show for this callback is the floor simrupt's
 * trace-off timer_list top half is compared with.
 */
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/timer.h>

static int delay = 100;
module_param(delay, int, 0444);
MODULE_PARM_DESC(delay, "Period in ms (default 100)");

static struct timer_list timer;

static void floor_timer_list_fn(struct timer_list *t)
{
	mod_timer(t, jiffies + msecs_to_jiffies(delay));
}

static int __init floor_init(void)
{
	timer_setup(&timer, floor_timer_list_fn, 0);
	mod_timer(&timer, jiffies + msecs_to_jiffies(delay));
	return 0;
}

static void __exit floor_exit(void)
{
	timer_delete_sync(&timer);
}

module_init(floor_init);
module_exit(floor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Floor of a timer_list top half (re-arm only), for simrupt's benchmark");
