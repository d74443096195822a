/*
 * The Linux layer: find the running kernel (KASLR slide, linux_banner check
 * against the profile) and read its processes and global figures, the way
 * fs/proc would, through a kernel-memory reader the core supplies. Pure C:
 * no syscalls; tests/unit/test_vmet_linux.c runs it on fake kernel memory
 * with hostile lists.
 *
 * Everything read here is controlled by the VM: every pointer is checked
 * before use, every list walk is bounded (cycle detection, a length limit,
 * and the core's read budget underneath).
 */
#ifndef VMET_LINUX_H
#define VMET_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "../vmet.h"
#include "vmet_profile.h"

/* Kernel memory as the core can read it. */
struct vmet_kmem {
    vmet_status_t (*read_kva)(void *ctx, uint64_t va, void *buf, size_t len);
    vmet_status_t (*kva_to_gpa)(void *ctx, uint64_t va, uint64_t *gpa);
    vmet_status_t (*read_uva)(void *ctx, uint64_t pgd_gpa, uint64_t va, void *buf,
                              size_t len);
    void *ctx;
};

/* What the layer needs from the profile, resolved once (vmet_linux_init). */
struct vmet_lx_layout {
    /* symbols (link-time) */
    uint64_t text, linux_banner, init_task, init_uts_ns, jiffies_64, totalram_pages,
             vm_zone_stat, vm_node_stat, per_cpu_offset, kernel_cpustat, nr_cpu_ids;
    /* offsets */
    uint64_t t_tasks, t_pid, t_tgid, t_comm, t_real_parent, t_mm, t_active_mm, t_real_cred,
             t_state, t_exit_state, t_flags, t_utime, t_stime, t_start_boottime,
             t_static_prio, t_prio, t_policy, t_signal;
    uint64_t c_uid, c_euid, c_suid, c_fsuid, c_gid, c_egid, c_sgid, c_fsgid;
    uint64_t mm_pgd, mm_arg_start, mm_arg_end, mm_total_vm, mm_rss_stat;
    uint64_t sig_nr_threads, sig_tty, sig_pids, pid_numbers, upid_nr;
    uint64_t tty_index, tty_driver, tty_pgrp, drv_major, drv_minor_start;
    uint64_t uts_name, uts_sysname, uts_nodename, uts_release, uts_version, uts_machine;
    uint64_t kcs_cpustat;
    /* constants */
    uint64_t hz, initial_jiffies, page_shift, comm_len, pf_kthread, max_rt_prio,
             default_prio, task_uninterruptible, task_idle, task_rtlock_wait,
             task_frozen, task_report, task_report_idle, pidtype_pgid, pidtype_sid,
             mm_filepages, mm_anonpages, mm_shmempages, nr_free_pages, nr_file_pages,
             nr_stats;
    uint64_t cputime[10];     /* CPUTIME_USER .. CPUTIME_GUEST_NICE, /proc/stat's order */
};

struct vmet_linux {
    struct vmet_kmem km;
    struct vmet_lx_layout l;
    int64_t slide;            /* valid after vmet_linux_locate() */
    uint32_t max_tasks;       /* a longer task list is VMET_E_CORRUPT */
    char banner[VMET_PROFILE_TEXT];
    size_t banner_len;
    uint64_t task_lo, task_hi; /* the part of task_struct read per process */
};

/* The x86-64 kernel image area KASLR chooses from (Documentation/x86/x86_64/mm.rst). */
#define VMET_KERNEL_MAP_START 0xffffffff80000000ull
#define VMET_KERNEL_MAP_SIZE  (1ull << 30)
#define VMET_KERNEL_ALIGN     (1ull << 21)   /* CONFIG_PHYSICAL_ALIGN of x86-64 */
#define VMET_PID_MAX_LIMIT    4194304u       /* PID_MAX_LIMIT on 64-bit */

/*
 * Resolve every symbol, offset and constant the layer uses from p. Returns
 * VMET_OK or VMET_E_PROFILE (detail names the missing entry).
 */
vmet_status_t vmet_linux_init(struct vmet_linux *lx, const struct vmet_profile *p,
                              const struct vmet_kmem *km, char *detail, size_t n);

/*
 * Find the kernel image: the first 2 MiB slot of the kernel map area that
 * is mapped and holds the profile's linux_banner at the profile's distance
 * from _text. Sets lx->slide. Returns VMET_OK, VMET_E_KERNEL_MISMATCH (an
 * image is mapped but no banner matches; detail quotes what the running
 * kernel says), VMET_E_KERNEL_NOT_FOUND (nothing mapped there), or a read
 * status that stops the search (VMET_E_BUDGET, VMET_E_OUT_OF_RANGE).
 */
vmet_status_t vmet_linux_locate(struct vmet_linux *lx, char *detail, size_t n);

/*
 * The VM-physical address of the kernel's own page table (init_mm.pgd, found
 * through init_task.active_mm): a root that lives as long as the kernel,
 * unlike a process's CR3. Call after vmet_linux_locate().
 */
vmet_status_t vmet_linux_kernel_root(struct vmet_linux *lx, uint64_t *gpa);

vmet_status_t vmet_linux_processes(struct vmet_linux *lx, struct vmet_process *out,
                                   size_t cap, size_t *count);

vmet_status_t vmet_linux_cmdline(struct vmet_linux *lx, const struct vmet_process *p,
                                 char *buf, size_t cap, size_t *len);

vmet_status_t vmet_linux_stats(struct vmet_linux *lx, struct vmet_kernel_stats *out);

/* The state letter fs/proc/array.c shows for (__state, exit_state). */
char vmet_linux_state_char(const struct vmet_lx_layout *l, uint32_t state, uint32_t exit_state);

#endif
