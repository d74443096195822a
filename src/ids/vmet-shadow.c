/*
 * vmet-shadow: VM Shadow (papers/001 sec. 3.4) on V-Met: a read-only FUSE
 * file system that shows a user VM's processes as a /proc tree, rebuilt from
 * the VM's kernel memory through L0, so unmodified tools (Debian's procps
 * `ps`) introspect the VM from outside. vmet-shell mounts it over /proc in a
 * private mount namespace.
 *
 *   vmet-shadow [OPTIONS] VMNAME MOUNTPOINT [-f]
 *
 * Tree (formats as fs/proc/array.c, fs/proc/meminfo.c, fs/proc/stat.c of
 * Linux 6.1, with the fields V-Met reads; others are 0):
 *   PID/{stat,status,cmdline,comm}   one directory per process of the VM
 *   uptime meminfo stat cpuinfo      the VM's global figures (cpuinfo: the
 *   version                          processor/core id lines libproc2 reads)
 *   sys/kernel/{pid_max,osrelease}
 *   self/NAME, CALLERPID/NAME         the *caller's* own host /proc entries
 *                                    (ps reads its own stat/status; the
 *                                    caller is not a process of the VM)
 * The process list is a snapshot, taken at most every SNAPSHOT_MS when a
 * directory is read or a process looked up, so one `ps` sees one state.
 */
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE /* asprintf */

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmet_cli.h"

#define SNAPSHOT_MS 500
#define USER_HZ 100                 /* what /proc reports times in (clock_t) */
#define CMDLINE_MAX 4096
#define SELF_MAX (64 * 1024)

struct shadow {
    vmet_t *h;
    struct vmet_process *procs;
    size_t n;
    struct vmet_kernel_stats ks;
    struct vmet_vm_info info;
    int64_t taken_ms;
    vmet_status_t last;
};

static struct shadow sh;

/* One opened file's whole content, made at open (procfs style: size 0 in stat). */
struct content {
    size_t len;
    char data[];
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int snapshot(void)
{
    vmet_status_t st;

    if (sh.procs && now_ms() - sh.taken_ms < SNAPSHOT_MS) {
        return 0;
    }
    free(sh.procs);
    sh.procs = NULL;
    sh.n = 0;
    st = vmet_cli_processes(sh.h, &sh.procs, &sh.n);
    if (st == VMET_OK) {
        st = vmet_kernel_stats(sh.h, &sh.ks);
    }
    if (st != VMET_OK) {
        if (st != sh.last) {
            fprintf(stderr, "vmet-shadow: %s: snapshot failed: %s\n", sh.info.name,
                    vmet_strerror(st));
        }
        sh.last = st;
        return -EIO;
    }
    sh.last = VMET_OK;
    sh.taken_ms = now_ms();
    return 0;
}

static const struct vmet_process *find_pid(long pid)
{
    for (size_t i = 0; i < sh.n; i++) {
        if (sh.procs[i].pid == pid) {
            return &sh.procs[i];
        }
    }
    return NULL;
}

/* --- paths ---------------------------------------------------------------------------- */

enum node {
    N_NONE, N_ROOT, N_PIDDIR, N_PIDFILE, N_GLOBAL, N_DIR, N_SELF, N_SELFFILE,
};

static const char *const pid_files[] = { "stat", "status", "cmdline", "comm" };
static const char *const global_files[] = {
    "uptime", "meminfo", "stat", "cpuinfo", "version", "sys/kernel/pid_max", "sys/kernel/osrelease",
};
static const char *const dirs[] = { "sys", "sys/kernel" };

struct where {
    enum node node;
    const struct vmet_process *p;
    const char *name;               /* file name within its directory */
};

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(s, list[i])) {
            return 1;
        }
    }
    return 0;
}

#define IN(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

/* A decimal pid followed by end or '/': the pid, else -1. */
static long parse_pid(const char *s, const char **rest)
{
    long v = 0;

    if (*s < '1' || *s > '9') {
        return -1;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (*s - '0');
        if (v > 0x7fffffff) {
            return -1;
        }
    }
    *rest = s;
    return (*s == '\0' || *s == '/') ? v : -1;
}

/*
 * The caller looks itself up by number (procps reads /proc/$(getpid())), a
 * process of the host, not of the VM: its directory is served like self/.
 * A VM process with the same number wins (then ps sees that as itself).
 */
static struct where caller_dir(long pid, const char *rest)
{
    struct where w = { N_NONE, NULL, NULL };

    if (pid != (long)fuse_get_context()->pid) {
        return w;
    }
    if (*rest == '\0') {
        w.node = N_SELF;
    } else if (rest[1] && !strchr(rest + 1, '/')) {
        w.node = N_SELFFILE;
        w.name = rest + 1;
    }
    return w;
}

static struct where resolve(const char *path)
{
    struct where w = { N_NONE, NULL, NULL };
    const char *rest;
    long pid;

    if (!strcmp(path, "/")) {
        w.node = N_ROOT;
        return w;
    }
    path++;
    if (IN(path, global_files)) {
        w.node = N_GLOBAL;
        w.name = path;
        return w;
    }
    if (IN(path, dirs)) {
        w.node = N_DIR;
        return w;
    }
    if (!strcmp(path, "self")) {
        w.node = N_SELF;
        return w;
    }
    if (!strncmp(path, "self/", 5) && path[5] && !strchr(path + 5, '/')) {
        w.node = N_SELFFILE;
        w.name = path + 5;
        return w;
    }
    pid = parse_pid(path, &rest);
    if (pid < 0 || snapshot() < 0) {
        return w;
    }
    w.p = find_pid(pid);
    if (!w.p) {
        return caller_dir(pid, rest);
    }
    if (*rest == '\0') {
        w.node = N_PIDDIR;
    } else if (IN(rest + 1, pid_files)) {
        w.node = N_PIDFILE;
        w.name = rest + 1;
    }
    return w;
}

/* --- contents ------------------------------------------------------------------------- */

static unsigned long long ticks(uint64_t ns)
{
    return ns / (1000000000ull / USER_HZ);
}

static const char *state_name(char s)
{
    switch (s) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "disk sleep";
    case 'T': return "stopped";
    case 't': return "tracing stop";
    case 'X': return "dead";
    case 'Z': return "zombie";
    case 'P': return "parked";
    case 'I': return "idle";
    default: return "unknown";
    }
}

/* fs/proc/array.c do_task_stat(): 52 fields. */
static char *pid_stat(const struct vmet_process *p)
{
    char *s = NULL;

    if (asprintf(&s, "%d (%s) %c %d %d %d %u %d %u 0 0 0 0 %llu %llu 0 0 %d %d %u 0 %llu "
                 "%llu %llu 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 %u 0 0 0 "
                 "0 0 0 %llu %llu 0 0 0\n",
                 p->pid, p->comm, p->state, p->ppid, p->pgrp, p->sid, p->tty_nr,
                 p->tpgid, p->flags, ticks(p->utime_ns), ticks(p->stime_ns),
                 p->prio, p->nice, p->nthreads, ticks(p->start_ns),
                 (unsigned long long)p->vsize, (unsigned long long)p->rss_pages, p->policy,
                 (unsigned long long)p->arg_start, (unsigned long long)p->arg_end) < 0) {
        return NULL;
    }
    return s;
}

/* fs/proc/array.c proc_pid_status(), the lines procps reads. */
static char *pid_status(const struct vmet_process *p)
{
    char *s = NULL, vm[160] = "";

    if (p->pgd_gpa) {
        snprintf(vm, sizeof(vm), "VmSize:\t%8llu kB\nVmRSS:\t%8llu kB\n",
                 (unsigned long long)(p->vsize >> 10), (unsigned long long)(p->rss_pages * 4));
    }
    if (asprintf(&s, "Name:\t%s\nUmask:\t0022\nState:\t%c (%s)\nTgid:\t%d\nNgid:\t0\n"
                 "Pid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\n"
                 "Gid:\t%u\t%u\t%u\t%u\nFDSize:\t64\nGroups:\t\nNStgid:\t%d\nNSpid:\t%d\n"
                 "NSpgid:\t%d\nNSsid:\t%d\n%sThreads:\t%u\n",
                 p->comm, p->state, state_name(p->state), p->tgid, p->pid, p->ppid,
                 p->uid, p->euid, p->suid, p->fsuid, p->gid, p->egid, p->sgid, p->fsgid,
                 p->tgid, p->pid, p->pgrp, p->sid, vm, p->nthreads) < 0) {
        return NULL;
    }
    return s;
}

static struct content *make_content(const char *data, size_t len)
{
    struct content *c = malloc(sizeof(*c) + len + 1);

    if (c) {
        c->len = len;
        memcpy(c->data, data, len);
        c->data[len] = '\0';
    }
    return c;
}

/* Take ownership of a NUL-terminated heap string. */
static struct content *from_string(char *s)
{
    struct content *c = s ? make_content(s, strlen(s)) : NULL;

    free(s);
    return c;
}

static struct content *pid_file(const struct vmet_process *p, const char *name)
{
    if (!strcmp(name, "stat")) {
        return from_string(pid_stat(p));
    }
    if (!strcmp(name, "status")) {
        return from_string(pid_status(p));
    }
    if (!strcmp(name, "comm")) {
        char *s = NULL;

        return from_string(asprintf(&s, "%s\n", p->comm) < 0 ? NULL : s);
    } else {
        char buf[CMDLINE_MAX];
        size_t len = 0;

        /* As procfs: a page of argv that is not present ends it early. */
        if (vmet_process_cmdline(sh.h, p, buf, sizeof(buf), &len) != VMET_OK) {
            len = 0;
        }
        return make_content(buf, len);
    }
}

static char *global_meminfo(void)
{
    const struct vmet_kernel_stats *k = &sh.ks;
    char *s = NULL;

    if (asprintf(&s, "MemTotal:       %8llu kB\nMemFree:        %8llu kB\n"
                 "MemAvailable:   %8llu kB\nBuffers:        %8u kB\nCached:         %8llu kB\n"
                 "SwapCached:     %8u kB\nSwapTotal:      %8u kB\nSwapFree:       %8u kB\n",
                 (unsigned long long)k->mem_total_kb, (unsigned long long)k->mem_free_kb,
                 (unsigned long long)(k->mem_free_kb + k->file_pages_kb), 0,
                 (unsigned long long)k->file_pages_kb, 0, 0, 0) < 0) {
        return NULL;
    }
    return s;
}

/* Append printf output to a heap string; on failure the string is freed, NULL. */
__attribute__((format(printf, 2, 3)))
static char *append(char *s, const char *fmt, ...)
{
    char *add = NULL, *joined = NULL;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&add, fmt, ap);
    va_end(ap);
    if (s && r >= 0 && asprintf(&joined, "%s%s", s, add) < 0) {
        joined = NULL;
    } else if (!s && r >= 0) {
        joined = add;
        add = NULL;
    }
    free(s);
    free(add);
    return joined;
}

/* One "cpu" line of /proc/stat, in USER_HZ ticks. */
static char *cpu_line(char *s, const char *name, const uint64_t ns[10])
{
    s = append(s, "%s", name);
    for (int i = 0; s && i < 10; i++) {
        s = append(s, " %llu", ticks(ns[i]));
    }
    return s ? append(s, "\n") : NULL;
}

/* fs/proc/stat.c: cpu lines, then btime (on the host's clock: now - uptime). */
static char *global_stat(void)
{
    const struct vmet_kernel_stats *k = &sh.ks;
    unsigned running = 0;
    char *s, name[16];

    s = cpu_line(NULL, "cpu ", k->cpu_ns);
    for (uint32_t c = 0; s && c < k->ncpus && c < VMET_STAT_CPUS; c++) {
        snprintf(name, sizeof(name), "cpu%u", c);
        s = cpu_line(s, name, k->cpu_ns_each[c]);
    }
    for (size_t i = 0; i < sh.n; i++) {
        running += sh.procs[i].state == 'R';
    }
    return s ? append(s, "intr 0\nctxt 0\nbtime %llu\nprocesses %zu\nprocs_running %u\n"
                      "procs_blocked 0\nsoftirq 0\n",
                      (unsigned long long)(time(NULL) - (time_t)(k->uptime_ns / 1000000000ull)),
                      sh.n, running) : NULL;
}

/* What libproc2 reads of /proc/cpuinfo (its stat API needs it): processor, core id. */
static char *global_cpuinfo(void)
{
    char *s = NULL;

    for (uint32_t c = 0; c < sh.ks.ncpus && c < VMET_STAT_CPUS; c++) {
        s = append(s, "processor\t: %u\ncore id\t\t: %u\n\n", c, c);
        if (!s) {
            return NULL;
        }
    }
    return s ? s : append(NULL, "%s", "");
}

static struct content *global_file(const char *name)
{
    const struct vmet_kernel_stats *k = &sh.ks;
    char *s = NULL;
    int r = 0;

    if (snapshot() < 0) {
        return NULL;
    }
    if (!strcmp(name, "uptime")) {
        unsigned long long idle = k->cpu_ns[3] / 10000000ull;

        r = asprintf(&s, "%llu.%02llu %llu.%02llu\n",
                     (unsigned long long)(k->uptime_ns / 1000000000ull),
                     (unsigned long long)(k->uptime_ns / 10000000ull % 100), idle / 100, idle % 100);
    } else if (!strcmp(name, "meminfo")) {
        s = global_meminfo();
    } else if (!strcmp(name, "stat")) {
        s = global_stat();
    } else if (!strcmp(name, "cpuinfo")) {
        s = global_cpuinfo();
    } else if (!strcmp(name, "version")) {
        r = asprintf(&s, "%s", sh.info.banner);
    } else if (!strcmp(name, "sys/kernel/pid_max")) {
        r = asprintf(&s, "32768\n");  /* the VM's value is not read; Linux's default */
    } else {
        r = asprintf(&s, "%s\n", k->release);
    }
    return r < 0 ? NULL : from_string(s);
}

/* The caller's own /proc entry on the host, read by this (host-namespace) daemon. */
static struct content *self_file(const char *name)
{
    char path[64], *buf = malloc(SELF_MAX);
    struct content *c = NULL;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)fuse_get_context()->pid, name);
    fd = buf ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        n = read(fd, buf, SELF_MAX);
        close(fd);
        c = n >= 0 ? make_content(buf, (size_t)n) : NULL;
    }
    free(buf);
    return c;
}

/* --- FUSE operations ---------------------------------------------------------------------- */

static int sh_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct where w = resolve(path);

    (void)fi;
    memset(st, 0, sizeof(*st));
    switch (w.node) {
    case N_ROOT: case N_DIR: case N_SELF: case N_PIDDIR:
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        break;
    case N_PIDFILE: case N_GLOBAL: case N_SELFFILE:
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        break;
    default:
        return -ENOENT;
    }
    if (w.p) {
        st->st_uid = w.p->euid;
        st->st_gid = w.p->egid;
    }
    return 0;
}

static int sh_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct where w = resolve(path);
    char name[16];

    (void)off;
    (void)fi;
    (void)flags;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    switch (w.node) {
    case N_ROOT:
        if (snapshot() < 0) {
            return -EIO;
        }
        for (size_t i = 0; i < sh.n; i++) {
            snprintf(name, sizeof(name), "%d", sh.procs[i].pid);
            fill(buf, name, NULL, 0, 0);
        }
        fill(buf, "uptime", NULL, 0, 0);
        fill(buf, "meminfo", NULL, 0, 0);
        fill(buf, "stat", NULL, 0, 0);
        fill(buf, "cpuinfo", NULL, 0, 0);
        fill(buf, "version", NULL, 0, 0);
        fill(buf, "sys", NULL, 0, 0);
        fill(buf, "self", NULL, 0, 0);
        return 0;
    case N_PIDDIR:
        for (size_t i = 0; i < sizeof(pid_files) / sizeof(pid_files[0]); i++) {
            fill(buf, pid_files[i], NULL, 0, 0);
        }
        return 0;
    case N_DIR:
        fill(buf, !strcmp(path, "/sys") ? "kernel" : "pid_max", NULL, 0, 0);
        if (strcmp(path, "/sys")) {
            fill(buf, "osrelease", NULL, 0, 0);
        }
        return 0;
    case N_SELF:
        return 0;   /* entries exist on lookup, as the caller's host /proc has them */
    default:
        return -ENOTDIR;
    }
}

static int sh_open(const char *path, struct fuse_file_info *fi)
{
    struct where w = resolve(path);
    struct content *c = NULL;

    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        return -EACCES;
    }
    switch (w.node) {
    case N_PIDFILE: c = pid_file(w.p, w.name); break;
    case N_GLOBAL: c = global_file(w.name); break;
    case N_SELFFILE: c = self_file(w.name); break;
    default: return -ENOENT;
    }
    if (!c) {
        return -EIO;
    }
    fi->fh = (uint64_t)(uintptr_t)c;
    fi->direct_io = 1;   /* size 0 in stat, as procfs: reads must reach us */
    return 0;
}

static int sh_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    struct content *c = (struct content *)(uintptr_t)fi->fh;

    (void)path;
    if (off < 0 || (size_t)off >= c->len) {
        return 0;
    }
    if (size > c->len - (size_t)off) {
        size = c->len - (size_t)off;
    }
    memcpy(buf, c->data + off, size);
    return (int)size;
}

static int sh_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    free((void *)(uintptr_t)fi->fh);
    return 0;
}

static const struct fuse_operations ops = {
    .getattr = sh_getattr,
    .readdir = sh_readdir,
    .open = sh_open,
    .read = sh_read,
    .release = sh_release,
};

static void usage(void)
{
    fprintf(stderr, "usage: vmet-shadow " VMET_CLI_USAGE " VMNAME MOUNTPOINT [-f]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct vmet_config cfg;
    char *fargv[8];
    int opt, fargc = 0, foreground = 0, rc;

    vmet_cli_defaults(&cfg);
    while ((opt = getopt(argc, argv, VMET_CLI_OPTS "f")) != -1) {
        if (opt == 'f') {
            foreground = 1;
        } else if (vmet_cli_option(&cfg, opt, optarg) < 0) {
            usage();
        }
    }
    if (optind != argc - 2) {
        usage();
    }
    cfg.vm_name = argv[optind];
    /* Open (and check the kernel) before mounting: a mismatch never mounts. */
    if (vmet_cli_open("vmet-shadow", &cfg, &sh.h) != VMET_OK) {
        return 1;
    }
    vmet_vm_info(sh.h, &sh.info);
    if (snapshot() < 0) {
        vmet_destroy(sh.h);
        return 1;
    }
    fargv[fargc++] = argv[0];
    fargv[fargc++] = argv[optind + 1];
    fargv[fargc++] = "-s";              /* one thread: a vmet handle is not shared */
    fargv[fargc++] = "-o";
    fargv[fargc++] = "ro,fsname=vmet-shadow,subtype=vmet";
    if (foreground) {
        fargv[fargc++] = "-f";
    }
    fargv[fargc] = NULL;
    rc = fuse_main(fargc, fargv, &ops, NULL);
    free(sh.procs);
    vmet_destroy(sh.h);
    return rc;
}
