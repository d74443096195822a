/* sources: src/ids/libvmet/vmet_linux.c src/ids/libvmet/vmet_profile.c */
/*
 * The Linux layer on fake kernel memory built by the test: finding the
 * kernel (KASLR slide, banner check, mismatch and absence reported), the
 * process list as /proc shows it, and hostile task lists (cycles not through
 * the head, self-loops, huge lists, user or misaligned pointers, unmapped
 * memory, exhausted budgets) that end with an error after bounded reads.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "../../src/ids/libvmet/vmet_linux.h"

#define TEXT_LINK  0xffffffff81000000ull
#define SLIDE      0x20000000ull
#define IMG        (TEXT_LINK + SLIDE)         /* runtime _text, 2 MiB aligned */
#define KB         0xffff888000000000ull       /* the "direct map" arena */
#define ARENA      (1u << 20)
#define USER_VA    0x00007ffc00000000ull
#define BANNER     "Linux version 6.1.0-test (t@t) #1 SMP\n"

static uint8_t image[0x10000], arena[ARENA], user[4096];
static uint64_t reads;
static long budget;             /* < 0: unlimited */
static int image_mapped = 1;

static uint8_t *host_of(uint64_t va, size_t len)
{
    if (image_mapped && va >= IMG && va - IMG + len <= sizeof(image)) {
        return image + (va - IMG);
    }
    if (va >= KB && va - KB + len <= sizeof(arena)) {
        return arena + (va - KB);
    }
    return NULL;
}

static vmet_status_t charge(void)
{
    reads++;
    if (budget == 0) {
        return VMET_E_BUDGET;
    }
    if (budget > 0) {
        budget--;
    }
    return VMET_OK;
}

static vmet_status_t f_read_kva(void *ctx, uint64_t va, void *buf, size_t len)
{
    uint8_t *p = host_of(va, len);

    (void)ctx;
    if (charge() != VMET_OK) {
        return VMET_E_BUDGET;
    }
    if (!p) {
        return VMET_E_NOT_PRESENT;
    }
    memcpy(buf, p, len);
    return VMET_OK;
}

static vmet_status_t f_kva_to_gpa(void *ctx, uint64_t va, uint64_t *gpa)
{
    (void)ctx;
    if (charge() != VMET_OK) {
        return VMET_E_BUDGET;
    }
    if (!host_of(va, 1)) {
        return VMET_E_NOT_PRESENT;
    }
    *gpa = va >= KB && va < KB + ARENA ? va - KB : 0x1000000 + (va - IMG);
    return VMET_OK;
}

static vmet_status_t f_read_uva(void *ctx, uint64_t pgd, uint64_t va, void *buf, size_t len)
{
    (void)ctx;
    if (pgd != 0x5000 || va < USER_VA || va - USER_VA + len > sizeof(user)) {
        return VMET_E_NOT_PRESENT;
    }
    memcpy(buf, user + (va - USER_VA), len);
    return VMET_OK;
}

static const struct vmet_kmem km = { f_read_kva, f_kva_to_gpa, f_read_uva, NULL };

/* The profile of the fake kernel. */
static const char profile_text[] =
    "vmet-profile 1\nkernel release 6.1.0-test\n"
    "kernel banner Linux version 6.1.0-test (t@t) #1 SMP\\n\n"
    "sym _text 0xffffffff81000000\nsym linux_banner 0xffffffff81001000\n"
    "sym init_task 0xffffffff81002000\nsym init_uts_ns 0xffffffff81003000\n"
    "sym jiffies_64 0xffffffff81003400\nsym _totalram_pages 0xffffffff81003408\n"
    "sym vm_zone_stat 0xffffffff81003500\nsym vm_node_stat 0xffffffff81003600\n"
    "sym __per_cpu_offset 0xffffffff81003700\nsym nr_cpu_ids 0xffffffff81003800\n"
    "sym kernel_cpustat 0x100\n"
    "off task_struct.tasks 0x10\noff task_struct.pid 0x20\noff task_struct.tgid 0x24\n"
    "off task_struct.comm 0x30\noff task_struct.real_parent 0x40\noff task_struct.mm 0x48\n"
    "off task_struct.active_mm 0x50\noff task_struct.real_cred 0x58\n"
    "off task_struct.__state 0x60\noff task_struct.exit_state 0x64\n"
    "off task_struct.flags 0x68\noff task_struct.utime 0x70\noff task_struct.stime 0x78\n"
    "off task_struct.start_boottime 0x80\noff task_struct.static_prio 0x88\n"
    "off task_struct.prio 0x8c\noff task_struct.policy 0x90\noff task_struct.signal 0x98\n"
    "off cred.uid 4\noff cred.gid 8\noff cred.suid 12\noff cred.sgid 16\noff cred.euid 20\n"
    "off cred.egid 24\noff cred.fsuid 28\noff cred.fsgid 32\n"
    "off mm_struct.pgd 0\noff mm_struct.arg_start 8\noff mm_struct.arg_end 16\n"
    "off mm_struct.total_vm 24\noff mm_struct.rss_stat 32\n"
    "off signal_struct.nr_threads 0\noff signal_struct.tty 8\noff signal_struct.pids 16\n"
    "off pid.numbers 8\noff upid.nr 0\noff tty_struct.index 0\noff tty_struct.driver 8\n"
    "off tty_struct.ctrl_pgrp 16\noff tty_driver.major 0\noff tty_driver.minor_start 4\noff uts_namespace.name 8\n"
    "off new_utsname.sysname 0\noff new_utsname.nodename 65\noff new_utsname.release 130\n"
    "off new_utsname.version 195\noff new_utsname.machine 260\noff kernel_cpustat.cpustat 0\n"
    "const HZ 250\nconst INITIAL_JIFFIES 0xfffedb08\nconst PAGE_SHIFT 12\n"
    "const TASK_COMM_LEN 16\nconst PF_KTHREAD 0x200000\nconst MAX_RT_PRIO 100\n"
    "const DEFAULT_PRIO 120\nconst TASK_UNINTERRUPTIBLE 2\nconst TASK_IDLE 0x402\n"
    "const TASK_RTLOCK_WAIT 0x1000\nconst TASK_FROZEN 0x8000\nconst TASK_REPORT 0x7f\n"
    "const TASK_REPORT_IDLE 0x80\nconst PIDTYPE_PGID 2\nconst PIDTYPE_SID 3\n"
    "const MM_FILEPAGES 0\nconst MM_ANONPAGES 1\nconst MM_SHMEMPAGES 3\n"
    "const NR_FREE_PAGES 0\nconst NR_FILE_PAGES 2\nconst NR_STATS 10\n"
    "const CPUTIME_USER 0\nconst CPUTIME_NICE 1\nconst CPUTIME_SYSTEM 2\n"
    "const CPUTIME_SOFTIRQ 3\nconst CPUTIME_IRQ 4\nconst CPUTIME_IDLE 5\n"
    "const CPUTIME_IOWAIT 6\nconst CPUTIME_STEAL 7\nconst CPUTIME_GUEST 8\n"
    "const CPUTIME_GUEST_NICE 9\n";

static struct vmet_profile prof;
static struct vmet_linux lx;
static struct vmet_process procs[8];

static void put64(uint64_t va, uint64_t v)
{
    memcpy(host_of(va, 8), &v, 8);
}

static void put32(uint64_t va, uint32_t v)
{
    memcpy(host_of(va, 4), &v, 4);
}

#define INIT_TASK (IMG + 0x2000)
#define TASK(i)   (KB + 0x1000ull * (i))
#define CRED0     (KB + 0xf0000)
#define CRED1000  (KB + 0xf0100)
#define SIGNAL    (KB + 0xf0200)
#define PID_SH    (KB + 0xf0300)
#define TTY       (KB + 0xf0400)
#define DRIVER    (KB + 0xf0500)
#define MM        (KB + 0xf0600)
#define PGD       (KB + 0x5000)       /* gpa 0x5000 */

/* A task at index i (arena), linked after prev (a task's address). */
static void task(unsigned i, int pid, const char *comm, uint64_t parent, uint64_t cred,
                 uint64_t mm, uint32_t state, uint64_t prev)
{
    uint64_t t = TASK(i);

    memset(host_of(t, 0xa0), 0, 0xa0);
    put32(t + 0x20, (uint32_t)pid);
    put32(t + 0x24, (uint32_t)pid);
    memcpy(host_of(t + 0x30, 16), comm, strlen(comm));
    put64(t + 0x40, parent);
    put64(t + 0x48, mm);
    put64(t + 0x58, cred);
    put32(t + 0x60, state);
    put32(t + 0x68, mm ? 0 : 0x200000);
    put64(t + 0x70, 3000000000ull);
    put64(t + 0x88, 120);
    put64(t + 0x8c, 120);
    put64(t + 0x98, SIGNAL);
    put64(t + 0x10, INIT_TASK + 0x10);               /* closes the list */
    put64(prev + 0x10, t + 0x10);
}

/* init_task, init (1), kthreadd (2), sh (92, uid 1000, on ttyS0). */
static void build_kernel(void)
{
    unsigned bad;

    memset(image, 0, sizeof(image));
    memset(arena, 0, sizeof(arena));
    memset(user, 0, sizeof(user));
    reads = 0;
    budget = -1;
    image_mapped = 1;
    vmet_profile_parse(profile_text, sizeof(profile_text) - 1, &prof, &bad);
    memcpy(image + 0x1000, BANNER, strlen(BANNER));
    put64(INIT_TASK + 0x10, INIT_TASK + 0x10);       /* empty list */
    put64(INIT_TASK + 0x50, MM);                     /* active_mm (as init_mm) */
    put32(CRED1000 + 4, 1000);
    put32(CRED1000 + 20, 1000);
    put32(SIGNAL + 0, 1);
    put64(SIGNAL + 8, TTY);
    put64(SIGNAL + 16 + 8 * 2, PID_SH);
    put64(SIGNAL + 16 + 8 * 3, PID_SH);
    put32(PID_SH + 8, 92);
    put32(TTY + 0, 0);
    put64(TTY + 8, DRIVER);
    put64(TTY + 16, PID_SH);                         /* foreground group: sh's */
    put32(DRIVER + 0, 4);
    put32(DRIVER + 4, 64);                           /* ttyS0: 4:64 */
    put64(MM + 0, PGD);
    put64(MM + 8, USER_VA + 0x100);
    put64(MM + 16, USER_VA + 0x106);
    put64(MM + 24, 300);
    put64(MM + 32 + 8 * 1, 40);
    put64(MM + 32 + 8 * 3, 2);
    memcpy(user + 0x100, "sh\0-l\0", 6);
    task(1, 1, "init", INIT_TASK, CRED0, MM, 1, INIT_TASK);
    task(2, 2, "kthreadd", INIT_TASK, CRED0, 0, 0x402, TASK(1));
    task(3, 92, "sh", TASK(1), CRED1000, MM, 1, TASK(2));
    lx.slide = 0;
}

static const char *init_layer(void)
{
    char detail[256];

    return vmet_linux_init(&lx, &prof, &km, detail, sizeof(detail)) == VMET_OK ? NULL :
           "init failed";
}

/* --- cases: each returns NULL or what went wrong ------------------------------- */

static char detail[256];

static const char *c_locate(void)
{
    if (vmet_linux_locate(&lx, detail, sizeof(detail)) != VMET_OK) {
        return detail;
    }
    return lx.slide == (int64_t)SLIDE ? NULL : "wrong slide";
}

static const char *c_locate_mismatch(void)
{
    memcpy(image + 0x1000, "Linux version 9.9.9-other", 25);
    if (vmet_linux_locate(&lx, detail, sizeof(detail)) != VMET_E_KERNEL_MISMATCH) {
        return "not reported as a mismatch";
    }
    return strstr(detail, "9.9.9-other") ? NULL : "detail does not quote the running kernel";
}

static const char *c_locate_not_found(void)
{
    image_mapped = 0;
    return vmet_linux_locate(&lx, detail, sizeof(detail)) == VMET_E_KERNEL_NOT_FOUND ? NULL :
           "not reported as absent";
}

static const char *c_kernel_root(void)
{
    uint64_t gpa = 0;

    vmet_linux_locate(&lx, detail, sizeof(detail));
    return vmet_linux_kernel_root(&lx, &gpa) == VMET_OK && gpa == 0x5000 ? NULL : "root";
}

static vmet_status_t list(size_t cap, size_t *n)
{
    vmet_linux_locate(&lx, detail, sizeof(detail));
    reads = 0;
    return vmet_linux_processes(&lx, procs, cap, n);
}

static const char *c_processes(void)
{
    size_t n;
    const struct vmet_process *sh = &procs[2];

    if (list(8, &n) != VMET_OK || n != 3) {
        return "list failed";
    }
    if (procs[0].pid != 1 || procs[0].ppid != 0 || strcmp(procs[0].comm, "init") ||
        procs[0].state != 'S' || procs[1].pid != 2 || procs[1].state != 'I' ||
        procs[1].pgd_gpa != 0 || !(procs[1].flags & 0x200000)) {
        return "init/kthreadd fields";
    }
    if (sh->pid != 92 || sh->ppid != 1 || strcmp(sh->comm, "sh") || sh->uid != 1000 ||
        sh->euid != 1000 || sh->gid != 0 || sh->tty_nr != 0x440 || sh->pgrp != 92 ||
        sh->sid != 92 || sh->tpgid != 92 || procs[0].tpgid != 92 || sh->nthreads != 1 || sh->nice != 0 || sh->prio != 20 ||
        sh->vsize != 300 * 4096 || sh->rss_pages != 42 || sh->pgd_gpa != 0x5000 ||
        sh->utime_ns != 3000000000ull || sh->task_va != TASK(3)) {
        return "sh fields";
    }
    return NULL;
}

static const char *c_truncated(void)
{
    size_t n;

    return list(1, &n) == VMET_E_TRUNCATED && n == 3 && procs[0].pid == 1 ? NULL : "truncation";
}

static const char *c_cycle_not_through_head(void)
{
    size_t n;

    put64(TASK(3) + 0x10, TASK(2) + 0x10);          /* sh -> kthreadd -> sh ... */
    return list(8, &n) == VMET_E_LOOP && reads < 200 ? NULL : "cycle not caught in bounds";
}

static const char *c_self_loop(void)
{
    size_t n;

    put64(TASK(1) + 0x10, TASK(1) + 0x10);
    return list(8, &n) == VMET_E_LOOP && reads < 100 ? NULL : "self-loop not caught";
}

static const char *c_huge_list(void)
{
    size_t n;

    for (unsigned i = 4; i < 200; i++) {
        task(i, (int)i + 100, "x", INIT_TASK, CRED0, 0, 1, TASK(i - 1));
    }
    lx.max_tasks = 50;
    return list(8, &n) == VMET_E_CORRUPT && n == 50 ? NULL : "huge list not refused";
}

static const char *c_budget(void)
{
    size_t n;

    for (unsigned i = 4; i < 200; i++) {
        task(i, (int)i + 100, "x", INIT_TASK, CRED0, 0, 1, TASK(i - 1));
    }
    vmet_linux_locate(&lx, detail, sizeof(detail));
    budget = 300;
    return vmet_linux_processes(&lx, procs, 8, &n) == VMET_E_BUDGET ? NULL : "budget ignored";
}

static const char *c_user_pointer(void)
{
    size_t n;

    put64(TASK(1) + 0x10, USER_VA);
    return list(8, &n) == VMET_E_CORRUPT ? NULL : "user pointer followed";
}

static const char *c_misaligned(void)
{
    size_t n;

    put64(TASK(1) + 0x10, TASK(2) + 0x13);
    return list(8, &n) == VMET_E_CORRUPT ? NULL : "misaligned pointer followed";
}

static const char *c_unmapped(void)
{
    size_t n;

    put64(TASK(1) + 0x10, 0xffffc90000000000ull);   /* kernel half, not mapped */
    return list(8, &n) == VMET_E_NOT_PRESENT ? NULL : "unmapped pointer not reported";
}

static const char *c_bad_cred(void)
{
    size_t n;

    put64(TASK(2) + 0x58, 0);
    return list(8, &n) == VMET_E_CORRUPT ? NULL : "NULL cred followed";
}

static const char *c_cmdline(void)
{
    size_t n, len = 0;
    char buf[64];

    list(8, &n);
    if (vmet_linux_cmdline(&lx, &procs[2], buf, sizeof(buf), &len) != VMET_OK || len != 6 ||
        memcmp(buf, "sh\0-l\0", 6)) {
        return "sh's cmdline";
    }
    if (vmet_linux_cmdline(&lx, &procs[2], buf, 3, &len) != VMET_OK || len != 3) {
        return "cap not honoured";
    }
    return vmet_linux_cmdline(&lx, &procs[1], buf, sizeof(buf), &len) == VMET_OK && len == 0 ?
           NULL : "kernel thread has a cmdline";
}

static const char *c_stats(void)
{
    struct vmet_kernel_stats st;

    put64(IMG + 0x3400, 0xfffedb08ull + 250 * 100);  /* 100 s after boot */
    put64(IMG + 0x3408, 32768);                      /* 128 MiB */
    put64(IMG + 0x3500, 1000);
    put64(IMG + 0x3600 + 16, 500);
    put32(IMG + 0x3800, 1);
    put64(IMG + 0x3700, KB + 0x80000 - 0x100);       /* CPU 0's per-CPU area */
    put64(KB + 0x80000 + 8 * 0, 7);                  /* user */
    put64(KB + 0x80000 + 8 * 5, 11);                 /* idle */
    memcpy(image + 0x3008 + 0, "Linux", 5);
    memcpy(image + 0x3008 + 65, "vm0", 3);
    memcpy(image + 0x3008 + 130, "6.1.0-test", 10);
    vmet_linux_locate(&lx, detail, sizeof(detail));
    if (vmet_linux_stats(&lx, &st) != VMET_OK) {
        return "stats failed";
    }
    return st.uptime_ns == 100000000000ull && st.mem_total_kb == 131072 &&
           st.mem_free_kb == 4000 && st.file_pages_kb == 2000 && st.ncpus == 1 &&
           st.cpu_ns[0] == 7 && st.cpu_ns[3] == 11 && !strcmp(st.nodename, "vm0") &&
           !strcmp(st.release, "6.1.0-test") && st.hz == 250 ? NULL : "values";
}

static const char *c_state_chars(void)
{
    static const struct { uint32_t state, exit; char want; } t[] = {
        { 0, 0, 'R' }, { 1, 0, 'S' }, { 2, 0, 'D' }, { 4, 0, 'T' }, { 8, 0, 't' },
        { 0, 0x10, 'X' }, { 0, 0x20, 'Z' }, { 0x40, 0, 'P' }, { 0x402, 0, 'I' },
        { 0x1000, 0, 'D' }, { 0x8001, 0, 'D' }, { 0x100, 0, 'R' },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (vmet_linux_state_char(&lx.l, t[i].state, t[i].exit) != t[i].want) {
            static char why[64];

            snprintf(why, sizeof(why), "state %#x exit %#x", t[i].state, t[i].exit);
            return why;
        }
    }
    return NULL;
}

static const char *c_missing_offset(void)
{
    char text[sizeof(profile_text)], d[256];
    char *at;
    unsigned bad;

    memcpy(text, profile_text, sizeof(text));
    at = strstr(text, "off cred.uid");
    at[4] = 'X';                                     /* "off Xred.uid" */
    vmet_profile_parse(text, sizeof(text) - 1, &prof, &bad);
    return vmet_linux_init(&lx, &prof, &km, d, sizeof(d)) == VMET_E_PROFILE &&
           strstr(d, "cred.uid") ? NULL : "missing offset not named";
}

static const struct {
    const char *name;
    const char *(*run)(void);
} cases[] = {
    { "linux_locate_kaslr", c_locate },
    { "linux_locate_mismatch_reported", c_locate_mismatch },
    { "linux_locate_not_found", c_locate_not_found },
    { "linux_kernel_root_from_init_mm", c_kernel_root },
    { "linux_processes", c_processes },
    { "linux_processes_truncated", c_truncated },
    { "linux_cycle_not_through_head", c_cycle_not_through_head },
    { "linux_self_loop", c_self_loop },
    { "linux_huge_list_bounded", c_huge_list },
    { "linux_budget_bounds_walk", c_budget },
    { "linux_user_pointer_refused", c_user_pointer },
    { "linux_misaligned_pointer_refused", c_misaligned },
    { "linux_unmapped_pointer", c_unmapped },
    { "linux_null_cred_refused", c_bad_cred },
    { "linux_cmdline", c_cmdline },
    { "linux_stats", c_stats },
    { "linux_state_chars", c_state_chars },
    { "linux_missing_offset_named", c_missing_offset },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why;

        build_kernel();
        why = init_layer();
        if (!why) {
            why = cases[i].run();
        }
        unit_check(cases[i].name, why == NULL, "%s", why ? why : "");
    }
    return unit_exit();
}
