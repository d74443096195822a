/*
 * nvsec-irqserver: the interrupt server in L1 (VSBypass, papers/000 sec. 4.3).
 *
 * L0 runs each user VM's COM1 on a shadow 16550 and sends the changes of its
 * interrupt line here as irqmsg messages (src/common/irqmsg.h). This daemon
 * validates them and hands each to the injector registered for its VM tag:
 * libnvsec-irqinject.so inside that VM's QEMU, which calls KVM_IRQ_LINE
 * (KVM accepts VM ioctls only from the process that created the VM, so the
 * injection itself cannot happen here). Interrupts carry no secrets, so this
 * path may cross the untrusted L1.
 *
 * Transports (one, chosen at start; struct transport below):
 *   net    UDP datagrams, one message each, on L1's eth0 at --port (the
 *          paper's path; L0 forwards host 127.0.0.1:PORT with hostfwd=udp)
 *   vport  a byte stream on a virtio-serial port (--vport, default
 *          /dev/virtio-ports/org.nvsec.irq), bypassing L1's network stack;
 *          framed by irqframe.c
 * Injectors connect to --sock (AF_UNIX SOCK_SEQPACKET, src/l1/irqserver/
 * irqproto.h). Routing decisions are in irqroute.c.
 *
 * Latency matters (the benchmark times keystroke echo): one epoll loop, no
 * timed waits except retrying a virtio port that cannot be opened.
 *
 * stderr: "nvsec-irqserver: ready transport=T ..." once listening, one line
 * per event worth knowing (injector registered/left, first undelivered message
 * per tag, bad input, rate-limited), and a summary on exit (SIGINT/SIGTERM).
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
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../common/irqmsg.h"
#include "irqframe.h"
#include "irqproto.h"
#include "irqroute.h"

#define PROG "nvsec-irqserver"
#define DEFAULT_PORT 24600         /* the same as L0's vsbypass irq-port default: hostfwd keeps the port */
#define DEFAULT_VPORT "/dev/virtio-ports/org.nvsec.irq"
#define MAX_CLIENTS 64
#define MAX_EVENTS 32
#define VPORT_RETRY_MS 200
#define BAD_INPUT_LOG_EVERY 1000        /* log the 1st, 1001st, ... bad message */

enum ep_kind { EP_TRANSPORT, EP_LISTEN, EP_SIGNAL, EP_TIMER, EP_CLIENT };

enum client_state {
    C_HELLO,                    /* connected, no hello yet */
    C_ACTIVE,                   /* the tag's injector: gets its messages */
    C_STANDBY,                  /* said hello for a tag another injector holds; waits its turn */
};

struct client {
    int fd;                     /* -1: free */
    uint32_t gen;               /* bumped per connection: tells a stale epoll event from the slot's new owner */
    enum client_state state;
    uint64_t since;             /* hello order: the oldest standby takes over first */
    bool resync;                /* a send failed with EAGAIN: resend the tag's levels when writable */
    char tag[ULTRACALL_VMTAG_SIZE];
};

struct server;

/* A transport: where L0's messages come from. Chosen once, in main(). */
struct transport {
    const char *name;
    int (*open)(struct server *s);      /* sets s->tfd; -errno on failure */
    void (*readable)(struct server *s, uint32_t events);
};

struct server {
    const struct transport *tr;
    int port;
    const char *vport_path;
    const char *sock_path;
    bool verbose;

    int epfd, tfd, lfd, sigfd, timerfd;
    struct irqframe frame;
    struct irqroute route;
    struct client clients[MAX_CLIENTS];
    uint64_t out_seq;
    uint64_t hellos;
    bool stop;
    bool vport_wait_logged;
    bool vport_closed;                  /* the port's host side was closed at the last read */

    uint64_t received, bad, stale, delivered, undelivered, dropped_full, send_errors;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, PROG ": %s\n", line);
}

/* epoll data: the kind in the high half, a key (a client's slot and generation) in the low half. */
static int ep_add(struct server *s, int fd, uint32_t events, enum ep_kind kind, uint32_t key)
{
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)kind << 32 | key };
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void ep_mod(struct server *s, int fd, uint32_t events, enum ep_kind kind, uint32_t key)
{
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)kind << 32 | key };
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
}

/* --- injectors ----------------------------------------------------------- */

#define CLIENT_KEY_BITS 8
_Static_assert(MAX_CLIENTS <= 1 << CLIENT_KEY_BITS, "a slot fits in the key's low bits");

static uint32_t client_key(const struct server *s, int idx)
{
    return s->clients[idx].gen << CLIENT_KEY_BITS | (uint32_t)idx;
}

static void client_send(struct server *s, int idx, uint32_t irq, uint8_t level);

/* Make idx the tag's injector and send it the tag's current levels; -EBUSY if another holds the tag. */
static int client_activate(struct server *s, int idx)
{
    struct client *c = &s->clients[idx];
    struct irqroute_event ev[IRQROUTE_MAX_IRQ];
    unsigned n;
    int rc = irqroute_register(&s->route, c->tag, idx, ev, &n);
    if (rc < 0)
        return rc;
    c->state = C_ACTIVE;
    logf_("injector for %s registered (%u known line levels sent)", c->tag, n);
    for (unsigned i = 0; i < n && c->fd >= 0; i++)
        client_send(s, idx, ev[i].irq, ev[i].level);
    return 0;
}

static void client_close(struct server *s, int idx, const char *why)
{
    struct client *c = &s->clients[idx];
    if (c->fd < 0)
        return;
    close(c->fd);                       /* also removes it from epoll */
    c->fd = -1;
    c->resync = false;
    if (c->state != C_ACTIVE)
        return;
    c->state = C_HELLO;
    irqroute_unregister(&s->route, idx);
    logf_("injector for %s left (%s)", c->tag, why);

    /* The oldest standby for the tag takes over. */
    int next = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        const struct client *o = &s->clients[i];
        if (o->fd >= 0 && o->state == C_STANDBY && !memcmp(o->tag, c->tag, sizeof(c->tag)) &&
            (next < 0 || o->since < s->clients[next].since))
            next = i;
    }
    if (next >= 0)
        client_activate(s, next);
}

/* Send one level to an injector. On a full socket, remember to resend the tag's levels later. */
static void client_send(struct server *s, int idx, uint32_t irq, uint8_t level)
{
    struct client *c = &s->clients[idx];
    if (c->resync)
        return;                         /* the resync sends the latest levels */
    struct irqmsg m = { .seq = ++s->out_seq, .irq = irq, .level = level };
    memcpy(m.tag, c->tag, sizeof(m.tag));
    uint8_t buf[IRQMSG_SIZE];
    if (irqmsg_encode(&m, buf, sizeof(buf)) != IRQMSG_SIZE)
        return;                         /* cannot happen: tag and irq were checked */
    if (send(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(buf))
        return;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->resync = true;
        ep_mod(s, c->fd, EPOLLIN | EPOLLOUT, EP_CLIENT, client_key(s, idx));
        return;
    }
    s->send_errors++;
    client_close(s, idx, strerror(errno));
}

/*
 * After a full socket: the injector may have missed edges, so each high line
 * is sent as a pulse 0,1 (a spurious interrupt at worst; the 8250 driver finds
 * nothing pending), each low line as 0.
 */
static void client_resync(struct server *s, int idx)
{
    struct client *c = &s->clients[idx];
    const struct irqroute_entry *e = irqroute_find(&s->route, c->tag);
    c->resync = false;
    ep_mod(s, c->fd, EPOLLIN, EP_CLIENT, client_key(s, idx));
    if (!e)
        return;
    for (uint32_t irq = 0; irq < IRQROUTE_MAX_IRQ && s->clients[idx].fd >= 0; irq++) {
        if (!(e->known & (1u << irq)))
            continue;
        client_send(s, idx, irq, 0);
        if (e->level & (1u << irq))
            client_send(s, idx, irq, 1);
    }
}

static void client_hello(struct server *s, int idx, const uint8_t *buf, size_t len)
{
    struct client *c = &s->clients[idx];
    int rc = irqproto_hello_decode(buf, len, c->tag);
    if (rc < 0) {
        logf_("injector connection refused: bad hello (%s)", strerror(-rc));
        client_close(s, idx, "bad hello");
        return;
    }
    c->since = ++s->hellos;
    rc = client_activate(s, idx);
    if (rc == -EBUSY) {
        c->state = C_STANDBY;
        logf_("injector for %s waits: another injector holds the tag", c->tag);
    } else if (rc < 0) {
        logf_("injector for %s refused: %s", c->tag, strerror(-rc));
        client_close(s, idx, "refused");
    }
}

static void client_event(struct server *s, int idx, uint32_t events)
{
    struct client *c = &s->clients[idx];
    if (events & EPOLLIN) {
        uint8_t buf[64];
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n == 0) {
            client_close(s, idx, "closed");
            return;
        }
        if (n > 0) {
            if (c->state != C_HELLO) {
                client_close(s, idx, "unexpected data after hello");
                return;
            }
            client_hello(s, idx, buf, (size_t)n);   /* MSG_TRUNC: a long one fails the size check unread */
            if (c->fd < 0)
                return;
        } else if (errno != EAGAIN && errno != EINTR) {
            client_close(s, idx, strerror(errno));
            return;
        }
    }
    if (events & (EPOLLHUP | EPOLLERR)) {
        client_close(s, idx, "hung up");
        return;
    }
    if ((events & EPOLLOUT) && c->resync)
        client_resync(s, idx);
}

static void accept_clients(struct server *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                logf_("accept: %s", strerror(errno));
            return;
        }
        int idx = -1;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (s->clients[i].fd < 0) {
                idx = i;
                break;
            }
        if (idx < 0) {
            logf_("injector connection refused: %d connections already", MAX_CLIENTS);
            close(fd);
            continue;
        }
        s->clients[idx] = (struct client){ .fd = fd, .gen = (s->clients[idx].gen + 1) & 0xffffff };
        if (ep_add(s, fd, EPOLLIN, EP_CLIENT, client_key(s, idx)) < 0) {
            close(fd);
            s->clients[idx].fd = -1;
        }
    }
}

/* --- messages from L0 ---------------------------------------------------- */

static void bad_input(struct server *s, const char *what, int err)
{
    if (s->bad++ % BAD_INPUT_LOG_EVERY == 0)
        logf_("bad message from %s: %s (%llu bad so far)", what, strerror(-err),
              (unsigned long long)s->bad);
}

static void dispatch(struct server *s, const struct irqmsg *m)
{
    struct irqroute_result res;
    s->received++;
    int rc = irqroute_msg(&s->route, m->tag, m->seq, m->irq, m->level, &res);
    if (rc == -EALREADY) {
        s->stale++;
        return;
    }
    if (rc == -ENOSPC) {
        if (s->dropped_full++ % BAD_INPUT_LOG_EVERY == 0)
            logf_("message for %s dropped: %d tags known, all with injectors", m->tag, IRQROUTE_MAX_TAGS);
        return;
    }
    if (rc < 0) {
        bad_input(s, "L0 (irq out of range)", rc);
        return;
    }
    if (s->verbose)
        logf_("%s seq %llu irq %u level %u -> %s", m->tag, (unsigned long long)m->seq, m->irq,
              m->level, res.client == IRQROUTE_NO_CLIENT ? "no injector" : "injector");
    if (res.client == IRQROUTE_NO_CLIENT) {
        s->undelivered++;
        if (res.log_undelivered)
            logf_("no injector for tag %s: its messages are counted and kept as its current level", m->tag);
        return;
    }
    s->delivered++;
    for (unsigned i = 0; i < res.n && s->clients[res.client].fd >= 0; i++)
        client_send(s, res.client, res.ev[i].irq, res.ev[i].level);
}

static int net_open(struct server *s)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)s->port),
        .sin_addr.s_addr = htonl(INADDR_ANY),
    };
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    s->tfd = fd;
    return ep_add(s, fd, EPOLLIN, EP_TRANSPORT, 0);
}

static void net_readable(struct server *s, uint32_t events)
{
    (void)events;
    for (;;) {
        uint8_t buf[IRQMSG_SIZE + 1];
        ssize_t n = recv(s->tfd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                logf_("udp recv: %s", strerror(errno));
            return;
        }
        struct irqmsg m;
        /* MSG_TRUNC: n is the datagram's real length, so a long one fails the size check. */
        int rc = irqmsg_decode(buf, (size_t)n > sizeof(buf) ? sizeof(buf) : (size_t)n, &m);
        if (rc < 0)
            bad_input(s, "udp", rc);
        else
            dispatch(s, &m);
    }
}

static void vport_retry_later(struct server *s)
{
    struct itimerspec its = { .it_value = { 0, VPORT_RETRY_MS * 1000000L } };
    timerfd_settime(s->timerfd, 0, &its, NULL);
}

/*
 * /dev/virtio-ports/NAME is a link made by udev, which a busybox L1 lacks:
 * then find the port named NAME in sysfs and open its /dev/vportNpM.
 */
static int open_vport_by_name(const char *path)
{
    static const char prefix[] = "/dev/virtio-ports/";
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return -ENOENT;
    const char *name = path + sizeof(prefix) - 1;
    DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return -ENOENT;
    int fd = -ENOENT;
    struct dirent *e;
    while (fd < 0 && (e = readdir(d))) {
        char p[PATH_MAX], got[256];
        if (e->d_name[0] == '.' ||
            snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", e->d_name) >= (int)sizeof(p))
            continue;
        FILE *f = fopen(p, "re");
        if (!f)
            continue;
        bool match = false;
        if (fgets(got, sizeof(got), f)) {
            got[strcspn(got, "\n")] = '\0';
            match = !strcmp(got, name);
        }
        fclose(f);
        if (match && snprintf(p, sizeof(p), "/dev/%s", e->d_name) < (int)sizeof(p))
            fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && match)
            fd = -errno;
    }
    closedir(d);
    return fd;
}

static int vport_open(struct server *s)
{
    int fd = open(s->vport_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open_vport_by_name(s->vport_path);
        if (fd < 0)
            errno = -fd;
    }
    if (fd < 0) {
        int e = errno;
        if (!s->vport_wait_logged)
            logf_("waiting for %s (%s)", s->vport_path, strerror(e));
        s->vport_wait_logged = true;
        vport_retry_later(s);
        return 0;
    }
    s->tfd = fd;
    irqframe_reset(&s->frame);
    logf_("reading %s", s->vport_path);
    s->vport_wait_logged = false;
    return ep_add(s, fd, EPOLLIN, EP_TRANSPORT, 0);
}

/*
 * A virtio console port polls EPOLLHUP and reads 0 while its host side is
 * closed (drivers/char/virtio_console.c, port_fops_poll/port_fops_read). The
 * port is watched level-triggered: edge-triggered watching lost wake-ups under
 * a sustained stream (a 1 MiB console transfer stalled with L1's port buffers
 * full and the server asleep in epoll_wait), and a lost interrupt edge stalls
 * the user VM's UART for good. A read of 0 (host side closed) closes the port
 * and reopens it after VPORT_RETRY_MS, so a closed host side never spins.
 */
static void vport_readable(struct server *s, uint32_t events)
{
    (void)events;
    uint8_t buf[4096];
    ssize_t n;
    for (;;) {
        n = read(s->tfd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (s->vport_closed) {
            logf_("%s: host side open", s->vport_path);
            s->vport_closed = false;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            off += irqframe_push(&s->frame, buf + off, (size_t)n - off);
            struct irqmsg m;
            while (irqframe_next(&s->frame, &m) == 0)
                dispatch(s, &m);
        }
    }
    if (n < 0 && errno == EAGAIN)
        return;
    if (n == 0) {
        if (!s->vport_closed)
            logf_("%s: host side closed; waiting for it", s->vport_path);
        s->vport_closed = true;
        irqframe_reset(&s->frame);      /* a partial message will not be completed */
        close(s->tfd);                  /* leaves the epoll set with it */
        s->tfd = -1;
        vport_retry_later(s);
        return;
    }
    logf_("%s: %s; reopening", s->vport_path, strerror(errno));
    close(s->tfd);
    s->tfd = -1;
    vport_retry_later(s);
}

static const struct transport transports[] = {
    { "net", net_open, net_readable },
    { "vport", vport_open, vport_readable },
};

/* --- set-up and loop ------------------------------------------------------- */

static int listen_open(struct server *s)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(s->sock_path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    strcpy(a.sun_path, s->sock_path);

    /* mkdir -p of the socket's directory */
    char dir[sizeof(a.sun_path)];
    strcpy(dir, s->sock_path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    struct stat st;
    if (lstat(s->sock_path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(s->sock_path);           /* left by an earlier run */

    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    s->lfd = fd;
    return ep_add(s, fd, EPOLLIN, EP_LISTEN, 0);
}

static void usage(void)
{
    fprintf(stderr,
"usage: " PROG " --transport net|vport [--port N] [--vport PATH] [--sock PATH] [-v]\n"
"  --transport net    irqmsg UDP datagrams on 0.0.0.0:PORT (default %d)\n"
"  --transport vport  irqmsg byte stream on PATH (default " DEFAULT_VPORT ")\n"
"  --sock PATH        where injectors connect (default " IRQPROTO_SOCK_DEFAULT ")\n"
"  -v                 log every message\n"
"Runs until SIGINT or SIGTERM. Exit status: 0 after a signal, 1 set-up error, 2 usage.\n",
            DEFAULT_PORT);
}

static int parse_args(struct server *s, int argc, char **argv)
{
    static const struct option lo[] = {
        { "transport", required_argument, 0, 't' },
        { "port", required_argument, 0, 'p' },
        { "vport", required_argument, 0, 'V' },
        { "sock", required_argument, 0, 's' },
        { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "t:p:V:s:vh", lo, NULL)) != -1) {
        switch (ch) {
        case 't':
            s->tr = NULL;
            for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
                if (!strcmp(optarg, transports[i].name))
                    s->tr = &transports[i];
            if (!s->tr) {
                fprintf(stderr, PROG ": unknown transport '%s'\n", optarg);
                return -EINVAL;
            }
            break;
        case 'p': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > 65535) {
                fprintf(stderr, PROG ": bad port '%s'\n", optarg);
                return -EINVAL;
            }
            s->port = (int)v;
            break;
        }
        case 'V': s->vport_path = optarg; break;
        case 's': s->sock_path = optarg; break;
        case 'v': s->verbose = true; break;
        default: return -EINVAL;
        }
    }
    if (optind != argc || !s->tr) {
        if (!s->tr)
            fprintf(stderr, PROG ": --transport is required\n");
        return -EINVAL;
    }
    return 0;
}

static int setup(struct server *s)
{
    int rc;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        return -errno;

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd < 0 || (rc = ep_add(s, s->sigfd, EPOLLIN, EP_SIGNAL, 0)) < 0)
        return s->sigfd < 0 ? -errno : rc;

    s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->timerfd < 0 || (rc = ep_add(s, s->timerfd, EPOLLIN, EP_TIMER, 0)) < 0)
        return s->timerfd < 0 ? -errno : rc;

    if ((rc = listen_open(s)) < 0) {
        logf_("%s: %s", s->sock_path, strerror(-rc));
        return rc;
    }
    if ((rc = s->tr->open(s)) < 0) {
        logf_("transport %s: %s", s->tr->name, strerror(-rc));
        return rc;
    }
    if (s->tr == &transports[0])
        logf_("ready transport=net udp=0.0.0.0:%d sock=%s", s->port, s->sock_path);
    else
        logf_("ready transport=vport path=%s sock=%s", s->vport_path, s->sock_path);
    return 0;
}

static void run(struct server *s)
{
    struct epoll_event evs[MAX_EVENTS];
    while (!s->stop) {
        int n = epoll_wait(s->epfd, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            logf_("epoll_wait: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n; i++) {
            enum ep_kind kind = (enum ep_kind)(evs[i].data.u64 >> 32);
            uint32_t key = (uint32_t)evs[i].data.u64;
            int idx = (int)(key & ((1u << CLIENT_KEY_BITS) - 1));
            switch (kind) {
            case EP_TRANSPORT:
                if (s->tfd >= 0)
                    s->tr->readable(s, evs[i].events);
                break;
            case EP_LISTEN:
                accept_clients(s);
                break;
            case EP_SIGNAL:
                s->stop = true;
                break;
            case EP_TIMER: {
                uint64_t ticks;
                if (read(s->timerfd, &ticks, sizeof(ticks)) == sizeof(ticks) && s->tfd < 0)
                    s->tr->open(s);
                break;
            }
            case EP_CLIENT:
                /* Closed earlier in this batch, maybe with its slot reused since: skip. */
                if (s->clients[idx].fd >= 0 && client_key(s, idx) == key)
                    client_event(s, idx, evs[i].events);
                break;
            }
        }
    }
}

int main(int argc, char **argv)
{
    static struct server s;
    s.port = DEFAULT_PORT;
    s.vport_path = DEFAULT_VPORT;
    s.sock_path = IRQPROTO_SOCK_DEFAULT;
    s.tfd = s.lfd = s.sigfd = s.timerfd = -1;
    for (int i = 0; i < MAX_CLIENTS; i++)
        s.clients[i].fd = -1;
    irqroute_init(&s.route);
    irqframe_init(&s.frame);

    if (parse_args(&s, argc, argv) < 0) {
        usage();
        return 2;
    }
    if (setup(&s) < 0)
        return 1;
    run(&s);

    close(s.lfd);                       /* first, so no injector reconnects to a server on its way out */
    unlink(s.sock_path);
    for (int i = 0; i < MAX_CLIENTS; i++)
        client_close(&s, i, "server exit");
    logf_("exit: %llu messages, %llu delivered, %llu undelivered, %llu stale, %llu bad, "
          "%llu stream bytes skipped, %llu stream frames rejected, %llu send errors",
          (unsigned long long)s.received, (unsigned long long)s.delivered,
          (unsigned long long)s.undelivered, (unsigned long long)s.stale,
          (unsigned long long)s.bad, (unsigned long long)s.frame.skipped,
          (unsigned long long)s.frame.rejected,
          (unsigned long long)s.send_errors);
    return 0;
}
