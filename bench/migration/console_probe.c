/*
 * console-probe: the downtime of a user VM's console across a migration, as
 * seen from outside (USShadow, papers/002 fig. 8). The VM prints a tick
 * every few ms; the probe reads the source host's console and, as soon as it
 * can connect, the destination's, and reports the longest silence between
 * two bytes received from either. Both are read at once because the source
 * need not close: a shadow console in L0 does (its state leaves with the
 * migration), L1's QEMU serial port (the nested configuration) stays open
 * and falls silent, while the destination's QEMU listens from its start.
 *
 *   console-probe SRC DST TIMEOUT_S
 *
 * SRC and DST: unix:PATH, tcp:HOST:PORT (IPv4, e.g. 127.0.0.1) or a plain
 * path (a unix socket). The probe ends 3 s after the destination's first
 * byte, or at TIMEOUT_S.
 *
 * Output: "probe: gap_ms=G src_bytes=S dst_bytes=D", or "probe: gap_ms=NA
 * ..." if the destination sent nothing within TIMEOUT_S (the console was
 * lost, e.g. the vsbypass configuration). Exit status 0, or 2 on bad usage
 * or if the source could not be reached.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROBE_TAIL_MS 3000.0

struct probe_end {
    const char *addr;
    int fd;
    long bytes;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A stream socket of family connected to a, or -1. */
static int connect_socket(int family, const struct sockaddr *a, socklen_t len)
{
    int fd = socket(family, SOCK_STREAM, 0);

    if (fd >= 0 && connect(fd, a, len) == 0) {
        return fd;
    }
    if (fd >= 0) {
        close(fd);
    }
    return -1;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    return connect_socket(AF_UNIX, (struct sockaddr *)&a, sizeof(a));
}

/* "HOST:PORT", an IPv4 host. */
static int connect_tcp(const char *hostport)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    char host[64];
    const char *colon = strrchr(hostport, ':');
    char *end;
    long port;

    if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    a.sin_port = htons((uint16_t)port);
    return connect_socket(AF_INET, (struct sockaddr *)&a, sizeof(a));
}

static int probe_connect(const char *addr)
{
    if (strncmp(addr, "tcp:", 4) == 0) {
        return connect_tcp(addr + 4);
    }
    return connect_unix(strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr);
}

/* Read what end e has; track the longest gap. Returns 0, or -1 at EOF. */
static int probe_read(struct probe_end *e, double *last, double *gap)
{
    char buf[4096];
    ssize_t n = read(e->fd, buf, sizeof(buf));
    double t = now_ms();

    if (n <= 0) {
        return -1;
    }
    if (*last > 0 && t - *last > *gap) {
        *gap = t - *last;
    }
    *last = t;
    e->bytes += n;
    return 0;
}

int main(int argc, char **argv)
{
    struct probe_end src = { .fd = -1 }, dst = { .fd = -1 };
    double deadline, last = 0, gap = 0, dst_first = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: console-probe SRC DST TIMEOUT_S\n");
        return 2;
    }
    src.addr = argv[1];
    dst.addr = argv[2];
    deadline = now_ms() + atof(argv[3]) * 1e3;
    src.fd = probe_connect(src.addr);
    if (src.fd < 0) {
        fprintf(stderr, "console-probe: %s: %s\n", src.addr, strerror(errno));
        return 2;
    }
    for (;;) {
        double t = now_ms();
        double end = dst_first > 0 && dst_first + PROBE_TAIL_MS < deadline ?
                     dst_first + PROBE_TAIL_MS : deadline;
        struct pollfd p[2] = { { .fd = src.fd, .events = POLLIN },
                               { .fd = dst.fd, .events = POLLIN } };
        int left = (int)(end - t);

        if (left <= 0) {
            break;
        }
        if (dst.fd < 0) {
            dst.fd = probe_connect(dst.addr);
            p[1].fd = dst.fd;
            if (dst.fd < 0 && left > 1) {
                left = 1;               /* the destination's socket may come at any moment */
            }
        }
        if (poll(p, 2, left) <= 0) {
            continue;
        }
        if (p[0].revents && probe_read(&src, &last, &gap) < 0) {
            close(src.fd);
            src.fd = -1;
        }
        if (p[1].revents) {
            if (probe_read(&dst, &last, &gap) < 0) {
                close(dst.fd);
                dst.fd = -1;            /* closed before it answered: try again */
            } else if (dst_first == 0) {
                dst_first = now_ms();
            }
        }
    }
    if (dst.bytes > 0) {
        printf("probe: gap_ms=%.1f src_bytes=%ld dst_bytes=%ld\n", gap, src.bytes, dst.bytes);
    } else {
        printf("probe: gap_ms=NA src_bytes=%ld dst_bytes=0\n", src.bytes);
    }
    return 0;
}
