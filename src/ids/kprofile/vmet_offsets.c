// SPDX-License-Identifier: GPL-2.0
/*
 * V-Met offset finder: the struct offsets and constants the IDS needs, as the
 * L2 kernel's own build lays them out. Compiled against Debian's
 * linux-headers for exactly that kernel (scripts/build-vmet-profile) and
 * never loaded: the table below is constant data in its own section,
 * .vmet_offsets, which the set-up reads out of the compiled object (objcopy)
 * into the profile. Reading the object instead of loading the module needs no
 * VM boot, no module signature and no trust in a running kernel's output.
 *
 * Each record is a fixed 64 bytes: a NUL-padded name (56 bytes) and a
 * little-endian u64 value; names are "struct.member" (off), "struct" (size)
 * or a constant's name (const). No pointers, so no relocations.
 */
#include <linux/module.h>
#include <linux/cred.h>
#include <linux/kernel_stat.h>
#include <linux/mm_types.h>
#include <linux/mmzone.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/prio.h>
#include <linux/sched/signal.h>
#include <linux/tty.h>
#include <linux/tty_driver.h>
#include <linux/utsname.h>

#define VMET_NAME_LEN 56

struct vmet_offset_rec {
	char kind;			/* 'o' offset, 'z' size, 'c' constant */
	char name[VMET_NAME_LEN - 1];
	u64 value;
};

#define OFF(s, m)   { 'o', #s "." #m, offsetof(struct s, m) }
#define OFFN(s, name, m) { 'o', #s "." name, offsetof(struct s, m) }
#define SIZE(s)     { 'z', #s, sizeof(struct s) }
#define CONST(c)    { 'c', #c, (u64)(c) }

static const struct vmet_offset_rec vmet_offsets[] __used
	__section(".vmet_offsets") __aligned(8) = {
	/* the task list and a process's identity (vmet-ps, /proc/PID/stat) */
	OFF(task_struct, tasks),
	OFF(task_struct, pid),
	OFF(task_struct, tgid),
	OFF(task_struct, comm),
	OFF(task_struct, real_parent),
	OFF(task_struct, mm),
	OFF(task_struct, active_mm),
	OFF(task_struct, real_cred),
	OFF(task_struct, __state),
	OFF(task_struct, exit_state),
	OFF(task_struct, flags),
	OFF(task_struct, utime),
	OFF(task_struct, stime),
	OFF(task_struct, start_boottime),
	OFF(task_struct, static_prio),
	OFF(task_struct, prio),
	OFF(task_struct, policy),
	OFF(task_struct, signal),
	SIZE(task_struct),
	OFF(cred, uid),
	OFF(cred, euid),
	OFF(cred, suid),
	OFF(cred, fsuid),
	OFF(cred, gid),
	OFF(cred, egid),
	OFF(cred, sgid),
	OFF(cred, fsgid),
	/* memory (VSZ, RSS, cmdline) */
	OFF(mm_struct, pgd),
	OFF(mm_struct, arg_start),
	OFF(mm_struct, arg_end),
	OFF(mm_struct, total_vm),
	OFFN(mm_struct, "rss_stat", rss_stat.count),
	/* threads, session, process group, controlling tty */
	OFF(signal_struct, nr_threads),
	OFF(signal_struct, tty),
	OFF(signal_struct, pids),
	OFF(pid, numbers),
	OFF(upid, nr),
	OFF(tty_struct, index),
	OFF(tty_struct, driver),
	OFFN(tty_struct, "ctrl_pgrp", ctrl.pgrp),
	OFF(tty_driver, major),
	OFF(tty_driver, minor_start),
	/* uname, /proc/stat */
	OFF(uts_namespace, name),
	OFF(new_utsname, sysname),
	OFF(new_utsname, nodename),
	OFF(new_utsname, release),
	OFF(new_utsname, version),
	OFF(new_utsname, machine),
	OFF(kernel_cpustat, cpustat),
	/* constants of this build */
	CONST(HZ),
	CONST(INITIAL_JIFFIES),
	CONST(PAGE_SHIFT),
	CONST(TASK_COMM_LEN),
	CONST(NR_CPUS),
	CONST(PF_KTHREAD),
	CONST(MAX_RT_PRIO),
	CONST(DEFAULT_PRIO),
	CONST(TASK_UNINTERRUPTIBLE),
	CONST(TASK_IDLE),
	CONST(TASK_RTLOCK_WAIT),
	CONST(TASK_FROZEN),
	CONST(TASK_REPORT),
	CONST(TASK_REPORT_IDLE),
	CONST(PIDTYPE_PGID),
	CONST(PIDTYPE_SID),
	CONST(MM_FILEPAGES),
	CONST(MM_ANONPAGES),
	CONST(MM_SHMEMPAGES),
	CONST(NR_FREE_PAGES),
	CONST(NR_FILE_PAGES),
	CONST(CPUTIME_USER),
	CONST(CPUTIME_NICE),
	CONST(CPUTIME_SYSTEM),
	CONST(CPUTIME_IDLE),
	CONST(CPUTIME_IOWAIT),
	CONST(CPUTIME_IRQ),
	CONST(CPUTIME_SOFTIRQ),
	CONST(CPUTIME_STEAL),
	CONST(CPUTIME_GUEST),
	CONST(CPUTIME_GUEST_NICE),
	CONST(NR_STATS),
};

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("V-Met offset finder (read at set-up, never loaded)");
