// SPDX-License-Identifier: GPL-2.0
/*
 * helpers.c - one-line C shims for kernel APIs that Rust cannot call.
 *
 * smp_processor_id(), in_hardirq(), tasklet_schedule(), poll_wait() and
 * friends are macros or static inline functions: they have no symbol, so
 * bindgen cannot generate a Rust declaration for them. The kernel solves this
 * with the files in rust/helpers/; an out-of-tree module does the same here. Kbuild links
 * this object and the Rust crate into one simrupt.ko (see Kbuild), and the
 * Rust side declares these functions in kapi/context.rs and friends.
 *
 * Each helper only forwards to the macro: no logic lives here.
 */
#include <linux/hardirq.h>
#include <linux/interrupt.h>
#include <linux/irqflags.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/preempt.h>
#include <linux/smp.h>

/* Prototypes, for -Wmissing-prototypes: the callers are in Rust. */
int simrupt_smp_processor_id(void);
bool simrupt_in_hardirq(void);
bool simrupt_in_serving_softirq(void);
bool simrupt_in_task(void);
bool simrupt_irqs_disabled(void);
bool simrupt_preemptible(void);
unsigned long simrupt_local_irq_save(void);
void simrupt_local_irq_restore(unsigned long flags);
void simrupt_tasklet_schedule(struct tasklet_struct *t);
int simrupt_mutex_lock_interruptible(struct mutex *lock);
void simrupt_poll_wait(struct file *filp, wait_queue_head_t *wq, poll_table *p);
void simrupt_warn(const char *what);

/* The CPU we run on. "raw_" because tracing from a preemptible work item
 * may migrate right after; the C original uses get_cpu()/put_cpu() there. */
int simrupt_smp_processor_id(void)
{
	return raw_smp_processor_id();
}

bool simrupt_in_hardirq(void)
{
	return in_hardirq();
}

bool simrupt_in_serving_softirq(void)
{
	return in_serving_softirq();
}

bool simrupt_in_task(void)
{
	return in_task();
}

bool simrupt_irqs_disabled(void)
{
	return irqs_disabled();
}

bool simrupt_preemptible(void)
{
	return preemptible();
}

unsigned long simrupt_local_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void simrupt_local_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

void simrupt_tasklet_schedule(struct tasklet_struct *t)
{
	tasklet_schedule(t);
}

int simrupt_mutex_lock_interruptible(struct mutex *lock)
{
	return mutex_lock_interruptible(lock);
}

void simrupt_poll_wait(struct file *filp, wait_queue_head_t *wq, poll_table *p)
{
	poll_wait(filp, wq, p);
}

/* WARN() is a macro: this gives Rust a real kernel WARNING with a backtrace. */
void simrupt_warn(const char *what)
{
	WARN(1, "simrupt: context check failed: %s\n", what);
}
