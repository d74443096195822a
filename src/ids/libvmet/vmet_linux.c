/*
 * The Linux layer (vmet_linux.h): fs/proc's view of processes, rebuilt from
 * kernel memory with the profile's offsets.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "vmet_linux.h"

/* --- resolving the profile -------------------------------------------------- */

#define L(field) offsetof(struct vmet_lx_layout, field)

static const struct need {
    enum vmet_profile_kind kind;
    const char *name;
    size_t at;
} needs[] = {
    { VMET_PK_SYM, "_text", L(text) },
    { VMET_PK_SYM, "linux_banner", L(linux_banner) },
    { VMET_PK_SYM, "init_task", L(init_task) },
    { VMET_PK_SYM, "init_uts_ns", L(init_uts_ns) },
    { VMET_PK_SYM, "jiffies_64", L(jiffies_64) },
    { VMET_PK_SYM, "_totalram_pages", L(totalram_pages) },
    { VMET_PK_SYM, "vm_zone_stat", L(vm_zone_stat) },
    { VMET_PK_SYM, "vm_node_stat", L(vm_node_stat) },
    { VMET_PK_SYM, "__per_cpu_offset", L(per_cpu_offset) },
    { VMET_PK_SYM, "kernel_cpustat", L(kernel_cpustat) },
    { VMET_PK_SYM, "nr_cpu_ids", L(nr_cpu_ids) },
    { VMET_PK_OFF, "task_struct.tasks", L(t_tasks) },
    { VMET_PK_OFF, "task_struct.pid", L(t_pid) },
    { VMET_PK_OFF, "task_struct.tgid", L(t_tgid) },
    { VMET_PK_OFF, "task_struct.comm", L(t_comm) },
    { VMET_PK_OFF, "task_struct.real_parent", L(t_real_parent) },
    { VMET_PK_OFF, "task_struct.mm", L(t_mm) },
    { VMET_PK_OFF, "task_struct.active_mm", L(t_active_mm) },
    { VMET_PK_OFF, "task_struct.real_cred", L(t_real_cred) },
    { VMET_PK_OFF, "task_struct.__state", L(t_state) },
    { VMET_PK_OFF, "task_struct.exit_state", L(t_exit_state) },
    { VMET_PK_OFF, "task_struct.flags", L(t_flags) },
    { VMET_PK_OFF, "task_struct.utime", L(t_utime) },
    { VMET_PK_OFF, "task_struct.stime", L(t_stime) },
    { VMET_PK_OFF, "task_struct.start_boottime", L(t_start_boottime) },
    { VMET_PK_OFF, "task_struct.static_prio", L(t_static_prio) },
    { VMET_PK_OFF, "task_struct.prio", L(t_prio) },
    { VMET_PK_OFF, "task_struct.policy", L(t_policy) },
    { VMET_PK_OFF, "task_struct.signal", L(t_signal) },
    { VMET_PK_OFF, "cred.uid", L(c_uid) },
    { VMET_PK_OFF, "cred.euid", L(c_euid) },
    { VMET_PK_OFF, "cred.suid", L(c_suid) },
    { VMET_PK_OFF, "cred.fsuid", L(c_fsuid) },
    { VMET_PK_OFF, "cred.gid", L(c_gid) },
    { VMET_PK_OFF, "cred.egid", L(c_egid) },
    { VMET_PK_OFF, "cred.sgid", L(c_sgid) },
    { VMET_PK_OFF, "cred.fsgid", L(c_fsgid) },
    { VMET_PK_OFF, "mm_struct.pgd", L(mm_pgd) },
    { VMET_PK_OFF, "mm_struct.arg_start", L(mm_arg_start) },
    { VMET_PK_OFF, "mm_struct.arg_end", L(mm_arg_end) },
    { VMET_PK_OFF, "mm_struct.total_vm", L(mm_total_vm) },
    { VMET_PK_OFF, "mm_struct.rss_stat", L(mm_rss_stat) },
    { VMET_PK_OFF, "signal_struct.nr_threads", L(sig_nr_threads) },
    { VMET_PK_OFF, "signal_struct.tty", L(sig_tty) },
    { VMET_PK_OFF, "signal_struct.pids", L(sig_pids) },
    { VMET_PK_OFF, "pid.numbers", L(pid_numbers) },
    { VMET_PK_OFF, "upid.nr", L(upid_nr) },
    { VMET_PK_OFF, "tty_struct.index", L(tty_index) },
    { VMET_PK_OFF, "tty_struct.driver", L(tty_driver) },
    { VMET_PK_OFF, "tty_struct.ctrl_pgrp", L(tty_pgrp) },
    { VMET_PK_OFF, "tty_driver.major", L(drv_major) },
    { VMET_PK_OFF, "tty_driver.minor_start", L(drv_minor_start) },
    { VMET_PK_OFF, "uts_namespace.name", L(uts_name) },
    { VMET_PK_OFF, "new_utsname.sysname", L(uts_sysname) },
    { VMET_PK_OFF, "new_utsname.nodename", L(uts_nodename) },
    { VMET_PK_OFF, "new_utsname.release", L(uts_release) },
    { VMET_PK_OFF, "new_utsname.version", L(uts_version) },
    { VMET_PK_OFF, "new_utsname.machine", L(uts_machine) },
    { VMET_PK_OFF, "kernel_cpustat.cpustat", L(kcs_cpustat) },
    { VMET_PK_CONST, "HZ", L(hz) },
    { VMET_PK_CONST, "INITIAL_JIFFIES", L(initial_jiffies) },
    { VMET_PK_CONST, "PAGE_SHIFT", L(page_shift) },
    { VMET_PK_CONST, "TASK_COMM_LEN", L(comm_len) },
    { VMET_PK_CONST, "PF_KTHREAD", L(pf_kthread) },
    { VMET_PK_CONST, "MAX_RT_PRIO", L(max_rt_prio) },
    { VMET_PK_CONST, "DEFAULT_PRIO", L(default_prio) },
    { VMET_PK_CONST, "TASK_UNINTERRUPTIBLE", L(task_uninterruptible) },
    { VMET_PK_CONST, "TASK_IDLE", L(task_idle) },
    { VMET_PK_CONST, "TASK_RTLOCK_WAIT", L(task_rtlock_wait) },
    { VMET_PK_CONST, "TASK_FROZEN", L(task_frozen) },
    { VMET_PK_CONST, "TASK_REPORT", L(task_report) },
    { VMET_PK_CONST, "TASK_REPORT_IDLE", L(task_report_idle) },
    { VMET_PK_CONST, "PIDTYPE_PGID", L(pidtype_pgid) },
    { VMET_PK_CONST, "PIDTYPE_SID", L(pidtype_sid) },
    { VMET_PK_CONST, "MM_FILEPAGES", L(mm_filepages) },
    { VMET_PK_CONST, "MM_ANONPAGES", L(mm_anonpages) },
    { VMET_PK_CONST, "MM_SHMEMPAGES", L(mm_shmempages) },
    { VMET_PK_CONST, "NR_FREE_PAGES", L(nr_free_pages) },
    { VMET_PK_CONST, "NR_FILE_PAGES", L(nr_file_pages) },
    { VMET_PK_CONST, "NR_STATS", L(nr_stats) },
    /* /proc/stat's column order: user nice system idle iowait irq softirq steal guest guest_nice */
    { VMET_PK_CONST, "CPUTIME_USER", L(cputime[0]) },
    { VMET_PK_CONST, "CPUTIME_NICE", L(cputime[1]) },
    { VMET_PK_CONST, "CPUTIME_SYSTEM", L(cputime[2]) },
    { VMET_PK_CONST, "CPUTIME_IDLE", L(cputime[3]) },
    { VMET_PK_CONST, "CPUTIME_IOWAIT", L(cputime[4]) },
    { VMET_PK_CONST, "CPUTIME_IRQ", L(cputime[5]) },
    { VMET_PK_CONST, "CPUTIME_SOFTIRQ", L(cputime[6]) },
    { VMET_PK_CONST, "CPUTIME_STEAL", L(cputime[7]) },
    { VMET_PK_CONST, "CPUTIME_GUEST", L(cputime[8]) },
    { VMET_PK_CONST, "CPUTIME_GUEST_NICE", L(cputime[9]) },
};

/* Offsets within task_struct read per process (one window read). */
static const size_t task_fields[] = {
    L(t_tasks), L(t_pid), L(t_tgid), L(t_comm), L(t_real_parent), L(t_mm),
    L(t_real_cred), L(t_state), L(t_exit_state), L(t_flags), L(t_utime), L(t_stime),
    L(t_start_boottime), L(t_static_prio), L(t_prio), L(t_policy), L(t_signal),
};

/* A task_struct window larger than this means a broken profile. */
#define TASK_WINDOW_MAX 16384u
#define UTS_LEN 65u

static uint64_t *field(struct vmet_lx_layout *l, size_t at)
{
    return (uint64_t *)((char *)l + at);
}

static vmet_status_t check_layout(struct vmet_linux *lx, char *detail, size_t n)
{
    const struct vmet_lx_layout *l = &lx->l;

    lx->task_lo = UINT64_MAX;
    lx->task_hi = 0;
    for (size_t i = 0; i < sizeof(task_fields) / sizeof(task_fields[0]); i++) {
        uint64_t off = *field(&lx->l, task_fields[i]);
        /* comm is the widest field read (TASK_COMM_LEN), the others <= 8 bytes */
        uint64_t end = off + (task_fields[i] == L(t_comm) ? l->comm_len : 8);

        lx->task_lo = off < lx->task_lo ? off : lx->task_lo;
        lx->task_hi = end > lx->task_hi ? end : lx->task_hi;
    }
    if (l->comm_len == 0 || l->comm_len > VMET_COMM_LEN ||
        lx->task_hi - lx->task_lo > TASK_WINDOW_MAX || l->hz == 0 ||
        l->page_shift < 12 || l->page_shift > 21 || l->nr_stats > 16 ||
        l->task_report_idle == 0 || l->task_report_idle > 0x10000) {
        snprintf(detail, n, "profile values out of range (comm_len, task fields, HZ, "
                 "PAGE_SHIFT or TASK_REPORT)");
        return VMET_E_PROFILE;
    }
    for (unsigned i = 0; i < 10; i++) {
        if (l->cputime[i] >= l->nr_stats) {
            snprintf(detail, n, "profile: CPUTIME_* >= NR_STATS");
            return VMET_E_PROFILE;
        }
    }
    return VMET_OK;
}

vmet_status_t vmet_linux_init(struct vmet_linux *lx, const struct vmet_profile *p,
                              const struct vmet_kmem *km, char *detail, size_t n)
{
    memset(lx, 0, sizeof(*lx));
    lx->km = *km;
    lx->max_tasks = VMET_PID_MAX_LIMIT;
    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
        if (vmet_profile_get(p, needs[i].kind, needs[i].name,
                             field(&lx->l, needs[i].at)) != VMET_OK) {
            snprintf(detail, n, "profile has no %s %s",
                     needs[i].kind == VMET_PK_SYM ? "symbol" :
                     needs[i].kind == VMET_PK_OFF ? "offset" : "constant", needs[i].name);
            return VMET_E_PROFILE;
        }
    }
    memcpy(lx->banner, p->banner, sizeof(lx->banner));
    lx->banner_len = p->banner_len;
    return check_layout(lx, detail, n);
}

/* --- reading ----------------------------------------------------------------- */

static vmet_status_t rd(struct vmet_linux *lx, uint64_t va, void *buf, size_t len)
{
    return lx->km.read_kva(lx->km.ctx, va, buf, len);
}

static vmet_status_t rd64(struct vmet_linux *lx, uint64_t va, uint64_t *v)
{
    return rd(lx, va, v, sizeof(*v));
}

static vmet_status_t rd32(struct vmet_linux *lx, uint64_t va, uint32_t *v)
{
    return rd(lx, va, v, sizeof(*v));
}

/* A pointer the kernel could hold to one of its objects: high half, aligned. */
static int kptr_ok(uint64_t p, uint64_t align)
{
    return (p >> 63) && (p & (align - 1)) == 0;
}

/* Runtime address of a link-time symbol. */
static uint64_t sym(const struct vmet_linux *lx, uint64_t link)
{
    return link + (uint64_t)lx->slide;
}

static void quote(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 2 < cap; i++) {
        char c = s[i];

        if (c == '\n' || c == '\0') {
            break;
        }
        out[o++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    out[o] = '\0';
}

vmet_status_t vmet_linux_locate(struct vmet_linux *lx, char *detail, size_t n)
{
    char seen[VMET_PROFILE_TEXT], text[96];
    int mapped = 0, quoted = 0;

    for (uint64_t va = VMET_KERNEL_MAP_START;
         va < VMET_KERNEL_MAP_START + VMET_KERNEL_MAP_SIZE; va += VMET_KERNEL_ALIGN) {
        uint64_t gpa;
        vmet_status_t st = lx->km.kva_to_gpa(lx->km.ctx, va, &gpa);

        if (st == VMET_E_BUDGET) {
            return st;
        }
        if (st != VMET_OK) {
            continue;     /* not mapped (or mapped to nothing readable) */
        }
        mapped = 1;
        lx->slide = (int64_t)(va - lx->l.text);
        st = rd(lx, sym(lx, lx->l.linux_banner), seen, lx->banner_len);
        if (st == VMET_OK && !memcmp(seen, lx->banner, lx->banner_len)) {
            return VMET_OK;
        }
        if (st == VMET_OK && !quoted) {
            quote(seen, lx->banner_len, text, sizeof(text));
            quoted = 1;
        }
    }
    lx->slide = 0;
    if (!mapped) {
        snprintf(detail, n, "nothing mapped in the kernel image area %#llx+1GiB",
                 (unsigned long long)VMET_KERNEL_MAP_START);
        return VMET_E_KERNEL_NOT_FOUND;
    }
    quote(lx->banner, lx->banner_len, seen, 80);
    snprintf(detail, n, "running kernel is not the profile's (%s): at its banner's "
             "place it has \"%s\"", seen, quoted ? text : "(unreadable)");
    return VMET_E_KERNEL_MISMATCH;
}

vmet_status_t vmet_linux_kernel_root(struct vmet_linux *lx, uint64_t *gpa)
{
    uint64_t mm, pgd;
    vmet_status_t st;

    if ((st = rd64(lx, sym(lx, lx->l.init_task) + lx->l.t_active_mm, &mm)) != VMET_OK) {
        return st;
    }
    if (!kptr_ok(mm, 8)) {
        return VMET_E_CORRUPT;
    }
    if ((st = rd64(lx, mm + lx->l.mm_pgd, &pgd)) != VMET_OK) {
        return st;
    }
    if (!kptr_ok(pgd, 4096)) {
        return VMET_E_CORRUPT;
    }
    return lx->km.kva_to_gpa(lx->km.ctx, pgd, gpa);
}

/* --- processes --------------------------------------------------------------- */

static int fls32(uint32_t x)
{
    int r = 0;

    while (x) {
        r++;
        x >>= 1;
    }
    return r;
}

char vmet_linux_state_char(const struct vmet_lx_layout *l, uint32_t state, uint32_t exit_state)
{
    static const char chars[] = "RSDTtXZPI";     /* include/linux/sched.h */
    uint32_t s = (state | exit_state) & (uint32_t)l->task_report;
    int idx;

    if ((state & l->task_idle) == l->task_idle) {
        s = (uint32_t)l->task_report_idle;
    }
    if ((state & l->task_rtlock_wait) || (state & l->task_frozen)) {
        s = (uint32_t)l->task_uninterruptible;
    }
    idx = fls32(s);
    return idx < (int)sizeof(chars) - 1 ? chars[idx] : '?';
}

/* A little-endian value of size bytes at off in a window starting at base. */
static uint64_t win(const uint8_t *w, uint64_t base, uint64_t off, size_t size)
{
    uint64_t v = 0;

    memcpy(&v, w + (off - base), size);
    return v;
}

/* The number of the struct pid at pid_va in the initial namespace (numbers[0].nr). */
static vmet_status_t pid_nr(struct vmet_linux *lx, uint64_t pid_va, int32_t *nr)
{
    uint32_t v;
    vmet_status_t st;

    if (!pid_va) {
        *nr = 0;
        return VMET_OK;
    }
    if (!kptr_ok(pid_va, 8)) {
        return VMET_E_CORRUPT;
    }
    st = rd32(lx, pid_va + lx->l.pid_numbers + lx->l.upid_nr, &v);
    *nr = (int32_t)v;
    return st;
}

static vmet_status_t read_cred(struct vmet_linux *lx, uint64_t cred, struct vmet_process *p)
{
    const struct vmet_lx_layout *l = &lx->l;
    const struct { uint64_t off; uint32_t *dst; } ids[] = {
        { l->c_uid, &p->uid }, { l->c_euid, &p->euid }, { l->c_suid, &p->suid },
        { l->c_fsuid, &p->fsuid }, { l->c_gid, &p->gid }, { l->c_egid, &p->egid },
        { l->c_sgid, &p->sgid }, { l->c_fsgid, &p->fsgid },
    };

    if (!kptr_ok(cred, 8)) {
        return VMET_E_CORRUPT;
    }
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        vmet_status_t st = rd32(lx, cred + ids[i].off, ids[i].dst);

        if (st != VMET_OK) {
            return st;
        }
    }
    return VMET_OK;
}

/* new_encode_dev(MKDEV(major, minor_start) + index), as fs/proc/array.c's tty_nr. */
static uint32_t encode_tty(uint32_t major, uint32_t minor)
{
    return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

static vmet_status_t read_signal(struct vmet_linux *lx, uint64_t sig, struct vmet_process *p)
{
    const struct vmet_lx_layout *l = &lx->l;
    uint64_t tty, pgid, sid, drv, fg;
    uint32_t nthreads, index, major, minor;
    vmet_status_t st;

    if (!kptr_ok(sig, 8)) {
        return VMET_E_CORRUPT;
    }
    if ((st = rd32(lx, sig + l->sig_nr_threads, &nthreads)) != VMET_OK ||
        (st = rd64(lx, sig + l->sig_tty, &tty)) != VMET_OK ||
        (st = rd64(lx, sig + l->sig_pids + 8 * l->pidtype_pgid, &pgid)) != VMET_OK ||
        (st = rd64(lx, sig + l->sig_pids + 8 * l->pidtype_sid, &sid)) != VMET_OK ||
        (st = pid_nr(lx, pgid, &p->pgrp)) != VMET_OK ||
        (st = pid_nr(lx, sid, &p->sid)) != VMET_OK) {
        return st;
    }
    p->nthreads = nthreads;
    p->tpgid = -1;
    if (!tty) {
        return VMET_OK;
    }
    if (!kptr_ok(tty, 8)) {
        return VMET_E_CORRUPT;
    }
    if ((st = rd32(lx, tty + l->tty_index, &index)) != VMET_OK ||
        (st = rd64(lx, tty + l->tty_driver, &drv)) != VMET_OK ||
        (st = rd64(lx, tty + l->tty_pgrp, &fg)) != VMET_OK ||
        (st = pid_nr(lx, fg, &p->tpgid)) != VMET_OK) {
        return st;
    }
    if (!kptr_ok(drv, 8)) {
        return VMET_E_CORRUPT;
    }
    if ((st = rd32(lx, drv + l->drv_major, &major)) != VMET_OK ||
        (st = rd32(lx, drv + l->drv_minor_start, &minor)) != VMET_OK) {
        return st;
    }
    p->tty_nr = encode_tty(major, minor + index);
    return VMET_OK;
}

static vmet_status_t read_mm(struct vmet_linux *lx, uint64_t mm, struct vmet_process *p)
{
    const struct vmet_lx_layout *l = &lx->l;
    const uint64_t counters[] = { l->mm_filepages, l->mm_anonpages, l->mm_shmempages };
    uint64_t pgd, total_vm, rss = 0;
    vmet_status_t st;

    if (!kptr_ok(mm, 8)) {
        return VMET_E_CORRUPT;
    }
    if ((st = rd64(lx, mm + l->mm_pgd, &pgd)) != VMET_OK ||
        (st = rd64(lx, mm + l->mm_arg_start, &p->arg_start)) != VMET_OK ||
        (st = rd64(lx, mm + l->mm_arg_end, &p->arg_end)) != VMET_OK ||
        (st = rd64(lx, mm + l->mm_total_vm, &total_vm)) != VMET_OK) {
        return st;
    }
    for (size_t i = 0; i < 3; i++) {
        int64_t c;

        st = rd(lx, mm + l->mm_rss_stat + 8 * counters[i], &c, sizeof(c));
        if (st != VMET_OK) {
            return st;
        }
        rss += c > 0 ? (uint64_t)c : 0;   /* per-CPU batching can leave it negative */
    }
    p->rss_pages = rss;
    p->vsize = total_vm << l->page_shift;
    if (!kptr_ok(pgd, 4096)) {
        return VMET_E_CORRUPT;
    }
    return lx->km.kva_to_gpa(lx->km.ctx, pgd, &p->pgd_gpa);
}

/* Fill p from the task_struct at task. */
static vmet_status_t read_task(struct vmet_linux *lx, uint64_t task, struct vmet_process *p)
{
    const struct vmet_lx_layout *l = &lx->l;
    uint8_t w[TASK_WINDOW_MAX];
    uint64_t lo = lx->task_lo, parent, mm, cred, sig;
    uint32_t ptgid;
    vmet_status_t st;

    memset(p, 0, sizeof(*p));
    st = rd(lx, task + lo, w, (size_t)(lx->task_hi - lo));
    if (st != VMET_OK) {
        return st;
    }
    p->task_va = task;
    p->pid = (int32_t)win(w, lo, l->t_pid, 4);
    p->tgid = (int32_t)win(w, lo, l->t_tgid, 4);
    memcpy(p->comm, w + (l->t_comm - lo), l->comm_len);
    p->comm[l->comm_len < VMET_COMM_LEN ? l->comm_len : VMET_COMM_LEN] = '\0';
    p->comm[VMET_COMM_LEN] = '\0';
    p->state = vmet_linux_state_char(l, (uint32_t)win(w, lo, l->t_state, 4),
                                     (uint32_t)win(w, lo, l->t_exit_state, 4));
    p->flags = (uint32_t)win(w, lo, l->t_flags, 4);
    p->utime_ns = win(w, lo, l->t_utime, 8);
    p->stime_ns = win(w, lo, l->t_stime, 8);
    p->start_ns = win(w, lo, l->t_start_boottime, 8);
    p->nice = (int32_t)win(w, lo, l->t_static_prio, 4) - (int32_t)l->default_prio;
    p->prio = (int32_t)win(w, lo, l->t_prio, 4) - (int32_t)l->max_rt_prio;
    p->policy = (uint32_t)win(w, lo, l->t_policy, 4);
    parent = win(w, lo, l->t_real_parent, 8);
    mm = win(w, lo, l->t_mm, 8);
    cred = win(w, lo, l->t_real_cred, 8);
    sig = win(w, lo, l->t_signal, 8);

    if (!kptr_ok(parent, 8)) {
        return VMET_E_CORRUPT;
    }
    if ((st = rd32(lx, parent + l->t_tgid, &ptgid)) != VMET_OK ||
        (st = read_cred(lx, cred, p)) != VMET_OK ||
        (st = read_signal(lx, sig, p)) != VMET_OK) {
        return st;
    }
    p->ppid = (int32_t)ptgid;
    return mm ? read_mm(lx, mm, p) : VMET_OK;
}

/*
 * Walk init_task.tasks. Brent's cycle detection (no memory, at most about
 * twice the list's length in steps) catches a list that loops without
 * coming back to its head.
 */
vmet_status_t vmet_linux_processes(struct vmet_linux *lx, struct vmet_process *out,
                                   size_t cap, size_t *count)
{
    uint64_t head = sym(lx, lx->l.init_task) + lx->l.t_tasks, next, tortoise = head;
    size_t n = 0, power = 1, lam = 0;
    vmet_status_t st;

    *count = 0;
    if ((st = rd64(lx, head, &next)) != VMET_OK) {
        return st;
    }
    while (next != head) {
        if (!kptr_ok(next, 8)) {
            return VMET_E_CORRUPT;
        }
        if (next == tortoise) {
            return VMET_E_LOOP;
        }
        if (++lam == power) {       /* Brent: move the tortoise, double the stride */
            tortoise = next;
            power *= 2;
            lam = 0;
        }
        if (n >= lx->max_tasks) {
            return VMET_E_CORRUPT;
        }
        if (n < cap) {
            st = read_task(lx, next - lx->l.t_tasks, &out[n]);
            if (st != VMET_OK) {
                return st;
            }
        }
        n++;
        *count = n;
        if ((st = rd64(lx, next, &next)) != VMET_OK) {
            return st;
        }
    }
    return n > cap ? VMET_E_TRUNCATED : VMET_OK;
}

vmet_status_t vmet_linux_cmdline(struct vmet_linux *lx, const struct vmet_process *p,
                                 char *buf, size_t cap, size_t *len)
{
    uint64_t va = p->arg_start, end = p->arg_end;

    *len = 0;
    if (!p->pgd_gpa || end <= va) {
        return VMET_OK;
    }
    while (va < end && *len < cap) {
        uint64_t chunk = 4096 - (va & 4095);

        if (chunk > end - va) {
            chunk = end - va;
        }
        if (chunk > cap - *len) {
            chunk = cap - *len;
        }
        /* An argv page that is not present ends the copy, as in procfs. */
        if (lx->km.read_uva(lx->km.ctx, p->pgd_gpa, va, buf + *len, (size_t)chunk) != VMET_OK) {
            break;
        }
        *len += (size_t)chunk;
        va += chunk;
    }
    return VMET_OK;
}

/* --- global figures ----------------------------------------------------------- */

static vmet_status_t read_uts(struct vmet_linux *lx, uint64_t off, char out[UTS_LEN])
{
    vmet_status_t st = rd(lx, sym(lx, lx->l.init_uts_ns) + lx->l.uts_name + off, out, UTS_LEN);

    out[UTS_LEN - 1] = '\0';
    return st;
}

static vmet_status_t cpu_times(struct vmet_linux *lx, uint32_t ncpus,
                               struct vmet_kernel_stats *out)
{
    const struct vmet_lx_layout *l = &lx->l;

    for (uint32_t cpu = 0; cpu < ncpus && cpu < VMET_STAT_CPUS; cpu++) {
        uint64_t base, stat[16];
        vmet_status_t st = rd64(lx, sym(lx, l->per_cpu_offset) + 8 * cpu, &base);

        if (st != VMET_OK) {
            return st;
        }
        /* A per-CPU symbol's address is its offset in each CPU's area. */
        st = rd(lx, base + l->kernel_cpustat + l->kcs_cpustat, stat, 8 * l->nr_stats);
        if (st != VMET_OK) {
            return st;
        }
        for (unsigned i = 0; i < 10; i++) {
            out->cpu_ns_each[cpu][i] = stat[l->cputime[i]];
            out->cpu_ns[i] += stat[l->cputime[i]];
        }
    }
    return VMET_OK;
}

vmet_status_t vmet_linux_stats(struct vmet_linux *lx, struct vmet_kernel_stats *out)
{
    const struct vmet_lx_layout *l = &lx->l;
    uint64_t jiffies, total;
    int64_t free_pages, file_pages;
    uint32_t ncpus;
    vmet_status_t st;

    memset(out, 0, sizeof(*out));
    if ((st = rd64(lx, sym(lx, l->jiffies_64), &jiffies)) != VMET_OK ||
        (st = rd64(lx, sym(lx, l->totalram_pages), &total)) != VMET_OK ||
        (st = rd(lx, sym(lx, l->vm_zone_stat) + 8 * l->nr_free_pages, &free_pages, 8)) != VMET_OK ||
        (st = rd(lx, sym(lx, l->vm_node_stat) + 8 * l->nr_file_pages, &file_pages, 8)) != VMET_OK ||
        (st = rd32(lx, sym(lx, l->nr_cpu_ids), &ncpus)) != VMET_OK ||
        (st = cpu_times(lx, ncpus, out)) != VMET_OK ||
        (st = read_uts(lx, l->uts_sysname, out->sysname)) != VMET_OK ||
        (st = read_uts(lx, l->uts_nodename, out->nodename)) != VMET_OK ||
        (st = read_uts(lx, l->uts_release, out->release)) != VMET_OK ||
        (st = read_uts(lx, l->uts_version, out->version)) != VMET_OK ||
        (st = read_uts(lx, l->uts_machine, out->machine)) != VMET_OK) {
        return st;
    }
    /* jiffies_64 starts at INITIAL_JIFFIES (5 minutes before wrap), not 0. */
    out->uptime_ns = (jiffies - l->initial_jiffies) * (1000000000ull / l->hz);
    out->mem_total_kb = total << (l->page_shift - 10);
    out->mem_free_kb = free_pages > 0 ? (uint64_t)free_pages << (l->page_shift - 10) : 0;
    out->file_pages_kb = file_pages > 0 ? (uint64_t)file_pages << (l->page_shift - 10) : 0;
    out->ncpus = ncpus;
    out->hz = (uint32_t)l->hz;
    return VMET_OK;
}
