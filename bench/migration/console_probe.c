/*
 * console-probe: the downtime of a user VM's console across a migration, as
 * seen from outside (USShadow, papers/002 fig. 8). The VM prints a tick
 * every few ms; the probe reads the source L0's console socket until L0
 * closes it (the state leaves with the migration), then connects to the
 * destination L0's console socket as soon as it exists, and reports the
 * longest silence between two received bytes.
 *
 *   console-probe SRC.sock DST.sock TIMEOUT_S
 *
 * Output: "probe: gap_ms=G src_bytes=S dst_bytes=D", or "probe: gap_ms=NA
 * ..." if the destination never answered within TIMEOUT_S (the console was
 * lost, e.g. the vsbypass configuration). Exit status 0, or 2 on bad usage
 * or if the source could not be read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        return fd;
    }
    if (fd >= 0) {
        close(fd);
    }
    return -1;
}

/* Read fd until EOF or deadline; track the longest gap. Returns bytes read. */
static long drain(int fd, double deadline, double *last, double *gap)
{
    char buf[4096];
    long total = 0;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left = (int)(deadline - now_ms());

        if (left <= 0 || poll(&p, 1, left) <= 0) {
            return total;
        }
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            return total;
        }
        double t = now_ms();

        if (*last > 0 && t - *last > *gap) {
            *gap = t - *last;
        }
        *last = t;
        total += n;
    }
}

int main(int argc, char **argv)
{
    double deadline, last = 0, gap = 0;
    long src, dst = 0;
    int fd;

    if (argc != 4) {
        fprintf(stderr, "usage: console-probe SRC.sock DST.sock TIMEOUT_S\n");
        return 2;
    }
    deadline = now_ms() + atof(argv[3]) * 1e3;
    fd = connect_unix(argv[1]);
    if (fd < 0) {
        fprintf(stderr, "console-probe: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    src = drain(fd, deadline, &last, &gap);
    close(fd);
    while ((fd = connect_unix(argv[2])) < 0 && now_ms() < deadline) {
        usleep(1000);
    }
    if (fd >= 0) {
        /* A few seconds of the destination's ticks close the gap. */
        double until = now_ms() + 3000;

        dst = drain(fd, until < deadline ? until : deadline, &last, &gap);
        close(fd);
    }
    if (dst > 0) {
        printf("probe: gap_ms=%.1f src_bytes=%ld dst_bytes=%ld\n", gap, src, dst);
    } else {
        printf("probe: gap_ms=NA src_bytes=%ld dst_bytes=0\n", src);
    }
    return 0;
}
