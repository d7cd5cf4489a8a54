// SPDX-License-Identifier: GPL-2.0
/*
 * helpers.c - small C shims for the kernel APIs that Rust cannot call, or
 * should not describe by hand.
 *
 * Three kinds of helper live here, and nothing else:
 *  - macros and static inline functions, which have no symbol and so no
 *    bindgen declaration: smp_processor_id(), in_hardirq(), tasklet_schedule(),
 *    poll_wait(), WARN(), the kfifo_*() API...;
 *  - C APIs whose name or shape changed between the supported kernels
 *    (Linux 6.12 and 7.3): hrtimer_init() became hrtimer_setup(),
 *    init_timer_key() became timer_init_key(), alloc_workqueue() and
 *    debugfs_create_file() became macros. The #if lives here, once, checked
 *    by the C compiler against the real headers;
 *  - C structures whose layout Rust would otherwise have to mirror
 *    (struct __kfifo): Rust only ever holds a pointer to them.
 *
 * The kernel solves the first problem with the files in rust/helpers/; an out-of-tree
 * module does the same. Kbuild links this object and the Rust crate into one
 * simrupt.ko (see Kbuild); kapi/helpers.rs declares these functions for Rust,
 * with the same prototypes as below (plain scalars and pointers only).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/hardirq.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irqflags.h>
#include <linux/kdev_t.h>
#include <linux/kfifo.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/timer.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

/* Prototypes, for -Wmissing-prototypes: the callers are in Rust. */
bool simrupt_in_task(void);
bool simrupt_preemptible(void);
u64 simrupt_context(void);
unsigned long simrupt_local_irq_save(void);
void simrupt_local_irq_restore(unsigned long flags);
void simrupt_warn(const char *what);
void simrupt_hrtimer_setup(struct hrtimer *t, enum hrtimer_restart (*fn)(struct hrtimer *));
void simrupt_hrtimer_start(struct hrtimer *t, u64 ns);
u64 simrupt_hrtimer_forward_now(struct hrtimer *t, u64 ns);
void simrupt_timer_setup(struct timer_list *t, void (*fn)(struct timer_list *),
			 const char *name, struct lock_class_key *key);
void simrupt_timer_start_ms(struct timer_list *t, unsigned int ms);
void simrupt_tasklet_setup(struct tasklet_struct *t, void (*fn)(struct tasklet_struct *));
void simrupt_tasklet_schedule(struct tasklet_struct *t);
struct workqueue_struct *simrupt_alloc_workqueue_unbound(const char *name);
int simrupt_mutex_lock_interruptible(struct mutex *lock);
void simrupt_poll_wait(struct file *filp, wait_queue_head_t *wq, poll_table *p);
dev_t simrupt_mkdev(unsigned int major, unsigned int minor);
void simrupt_rcu_read_lock(void);
void simrupt_rcu_read_unlock(void);
struct __kfifo *simrupt_kfifo_alloc(unsigned int n, size_t esize, bool use_vmalloc);
void simrupt_kfifo_free(struct __kfifo *fifo, bool use_vmalloc);
unsigned int simrupt_kfifo_size(struct __kfifo *fifo);
unsigned int simrupt_kfifo_out_acquire(struct __kfifo *fifo);
unsigned int simrupt_kfifo_in_once(struct __kfifo *fifo);
unsigned int simrupt_kfifo_in(struct __kfifo *fifo, const void *buf, unsigned int n);
unsigned int simrupt_kfifo_out(struct __kfifo *fifo, void *buf, unsigned int n);
bool simrupt_kfifo_skip(struct __kfifo *fifo);
int simrupt_kfifo_to_user(struct __kfifo *fifo, void __user *to, unsigned long len,
			  unsigned int *copied);
struct dentry *simrupt_debugfs_create_dir(const char *name);
struct dentry *simrupt_debugfs_create_file(const char *name, umode_t mode, struct dentry *parent,
					   void *data, const struct file_operations *fops);
void simrupt_debugfs_remove(struct dentry *dentry);

/* --- Execution context (linux/preempt.h, linux/irqflags.h) --------------- */

/* The helpers a top half calls on every tick are marked __hot_helper: they
 * go to .text.hot, next to kapi's timer callbacks (kapi/hrtimer.rs,
 * kapi/timer_list.rs), into which simrupt's top half is inlined, and kapi.rs
 * aligns that section to a page. A tick then runs from one page of this
 * module's code instead of four: under emulation, a tick that comes every
 * 100 ms pays for every page it enters (Documentation/benchmarks.md). */
#define __hot_helper __section(".text.hot")

/* The CPU we run on and three questions about the context, in one call: the
 * top half asks them all on every tick, and a call into C costs more than a
 * question, most of all under emulation. Bits 0-31: the CPU number ("raw_"
 * because a preemptible work item may migrate right after; the C original
 * uses get_cpu()/put_cpu() there); then one bit per question, as
 * kapi/context.rs's `Here` names them. The !! matters: in_hardirq() and
 * in_serving_softirq() are masks of the preempt count (0x10000, 0x100), not
 * 0 or 1. */
__hot_helper u64 simrupt_context(void)
{
	return (u64)(u32)raw_smp_processor_id() |
	       (u64)!!in_hardirq() << 32 |
	       (u64)!!in_serving_softirq() << 33 |
	       (u64)!!irqs_disabled() << 34;
}

bool simrupt_in_task(void)
{
	return in_task();
}

bool simrupt_preemptible(void)
{
	return preemptible();
}

__hot_helper unsigned long simrupt_local_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

__hot_helper void simrupt_local_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

/* WARN() is a macro: this gives Rust a real kernel WARNING with a backtrace. */
void simrupt_warn(const char *what)
{
	WARN(1, "simrupt: context check failed: %s\n", what);
}

/* --- hrtimer (linux/hrtimer.h): the top half in hard-IRQ mode ------------ */

/* A relative CLOCK_MONOTONIC timer whose callback runs in hard-IRQ context.
 * Linux 6.13 replaced hrtimer_init() + setting ->function by hrtimer_setup(). */
void simrupt_hrtimer_setup(struct hrtimer *t, enum hrtimer_restart (*fn)(struct hrtimer *))
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	hrtimer_setup(t, fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
#else
	hrtimer_init(t, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	t->function = fn;
#endif
}

void simrupt_hrtimer_start(struct hrtimer *t, u64 ns)
{
	hrtimer_start(t, ns_to_ktime(ns), HRTIMER_MODE_REL_HARD);
}

/* Moves the expiry past now in whole periods; returns how many periods. */
__hot_helper u64 simrupt_hrtimer_forward_now(struct hrtimer *t, u64 ns)
{
	return hrtimer_forward_now(t, ns_to_ktime(ns));
}

/* --- timer_list (linux/timer.h): the C original's top half --------------- */

/* C's timer_setup(), with the caller's lockdep name and key instead of one
 * static key for every timer set up here. Linux 6.16 renamed
 * init_timer_key() to timer_init_key(), together with adding
 * timer_container_of(), which is what this tests for. */
void simrupt_timer_setup(struct timer_list *t, void (*fn)(struct timer_list *),
			 const char *name, struct lock_class_key *key)
{
#ifdef timer_container_of
	timer_init_key(t, fn, 0, name, key);
#else
	init_timer_key(t, fn, 0, name, key);
#endif
}

__hot_helper void simrupt_timer_start_ms(struct timer_list *t, unsigned int ms)
{
	mod_timer(t, jiffies + msecs_to_jiffies(ms));
}

/* --- tasklet (linux/interrupt.h) ----------------------------------------- */

void simrupt_tasklet_setup(struct tasklet_struct *t, void (*fn)(struct tasklet_struct *))
{
	tasklet_setup(t, fn);
}

__hot_helper void simrupt_tasklet_schedule(struct tasklet_struct *t)
{
	tasklet_schedule(t);
}

/* --- workqueue (linux/workqueue.h) --------------------------------------- */

/* alloc_workqueue() is a function in 6.12 and a macro in 7.3. */
struct workqueue_struct *simrupt_alloc_workqueue_unbound(const char *name)
{
	return alloc_workqueue("%s", WQ_UNBOUND, 0, name);
}

/* --- locks, wait queues, char devices ------------------------------------ */

int simrupt_mutex_lock_interruptible(struct mutex *lock)
{
	return mutex_lock_interruptible(lock);
}

void simrupt_poll_wait(struct file *filp, wait_queue_head_t *wq, poll_table *p)
{
	poll_wait(filp, wq, p);
}

dev_t simrupt_mkdev(unsigned int major, unsigned int minor)
{
	return MKDEV(major, minor);
}

/* RCU read-side critical sections (static inlines): chrdev's device slot. */
void simrupt_rcu_read_lock(void)
{
	rcu_read_lock();
}

void simrupt_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

/* --- kfifo (linux/kfifo.h) ----------------------------------------------- */

/*
 * A kfifo of n elements of esize bytes each, n a power of two; Rust holds
 * only the pointer. kfifo_alloc() takes a count of elements, kfifo_init() a
 * size in bytes: this helper takes elements for both, so the capacity is
 * exactly n either way (kapi/kfifo.rs checks it with simrupt_kfifo_size()).
 */
struct __kfifo *simrupt_kfifo_alloc(unsigned int n, size_t esize, bool use_vmalloc)
{
	struct __kfifo *fifo = kzalloc(sizeof(*fifo), GFP_KERNEL);
	void *buf;

	if (!fifo)
		return NULL;
	if (!use_vmalloc) {
		if (__kfifo_alloc(fifo, n, esize, GFP_KERNEL))
			goto fail;
		return fifo;
	}
	buf = vmalloc_array(n, esize);
	if (!buf)
		goto fail;
	if (__kfifo_init(fifo, buf, n * esize, esize)) {
		vfree(buf);
		goto fail;
	}
	return fifo;
fail:
	kfree(fifo);
	return NULL;
}

void simrupt_kfifo_free(struct __kfifo *fifo, bool use_vmalloc)
{
	if (use_vmalloc)
		vfree(fifo->data);
	else
		__kfifo_free(fifo);
	kfree(fifo);
}

unsigned int simrupt_kfifo_size(struct __kfifo *fifo)
{
	return fifo->mask + 1;
}

/*
 * kfifo_len() in two reads, for a caller that makes them in this order while
 * the other role may move its index (kapi/kfifo.rs, Kfifo::len): `out` first,
 * with acquire, then `in`. In one C expression `in - out` the order of the two
 * reads is the compiler's choice.
 */
unsigned int simrupt_kfifo_out_acquire(struct __kfifo *fifo)
{
	return smp_load_acquire(&fifo->out);
}

unsigned int simrupt_kfifo_in_once(struct __kfifo *fifo)
{
	return READ_ONCE(fifo->in);
}

unsigned int simrupt_kfifo_in(struct __kfifo *fifo, const void *buf, unsigned int n)
{
	return __kfifo_in(fifo, buf, n);
}

unsigned int simrupt_kfifo_out(struct __kfifo *fifo, void *buf, unsigned int n)
{
	return __kfifo_out(fifo, buf, n);
}

/* kfifo_skip() for a fifo without records: drop the oldest element. */
bool simrupt_kfifo_skip(struct __kfifo *fifo)
{
	if (READ_ONCE(fifo->in) == fifo->out)
		return false;
	WRITE_ONCE(fifo->out, fifo->out + 1);
	return true;
}

int simrupt_kfifo_to_user(struct __kfifo *fifo, void __user *to, unsigned long len,
			  unsigned int *copied)
{
	return __kfifo_to_user(fifo, to, len, copied);
}

/* --- debugfs (linux/debugfs.h) ------------------------------------------- */

struct dentry *simrupt_debugfs_create_dir(const char *name)
{
	return debugfs_create_dir(name, NULL);
}

/* debugfs_create_file() is a function in 6.12 and a _Generic macro in 7.3. */
struct dentry *simrupt_debugfs_create_file(const char *name, umode_t mode, struct dentry *parent,
					   void *data, const struct file_operations *fops)
{
	return debugfs_create_file(name, mode, parent, data, fops);
}

void simrupt_debugfs_remove(struct dentry *dentry)
{
	debugfs_remove(dentry);
}
