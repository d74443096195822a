#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

uint64_t session_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int session_spawn(struct session *s, char *const argv[])
{
    struct termios tio;

    /* Raw on our side: the bytes we send are the keystrokes, nothing cooked. */
    cfmakeraw(&tio);
    s->len = 0;
    s->pid = forkpty(&s->fd, NULL, &tio, NULL);
    if (s->pid < 0) {
        int err = errno;
        fprintf(stderr, "session: forkpty: %s\n", strerror(err));
        return -err;
    }
    if (s->pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "session: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return 0;
}

int session_send(struct session *s, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "session: write to the client terminal: %s\n", strerror(errno));
            return -EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read whatever is available into s->buf, waiting at most until deadline_ns. */
static int session_fill(struct session *s, uint64_t deadline_ns)
{
    uint64_t now = session_now_ns();
    struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
    ssize_t n;
    int r;

    if (now >= deadline_ns) {
        return -ETIMEDOUT;
    }
    r = poll(&pfd, 1, (int)((deadline_ns - now + 999999) / 1000000));
    if (r < 0) {
        return errno == EINTR ? 0 : -EIO;
    }
    if (r == 0) {
        return -ETIMEDOUT;
    }
    n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
    if (n < 0 && errno == EINTR) {
        return 0;
    }
    if (n <= 0) {
        /* EIO on a pty master means the client closed its side. */
        return -EPIPE;
    }
    s->len += (size_t)n;
    return 0;
}

/* Move n consumed bytes out of s->buf, into out when the caller wants them. */
static int session_take(struct session *s, size_t n, uint8_t *out,
                        size_t out_cap, size_t *out_len)
{
    int r = 0;

    if (out) {
        size_t room = out_cap - *out_len;
        size_t c = n < room ? n : room;
        memcpy(out + *out_len, s->buf, c);
        *out_len += c;
        if (c < n) {
            r = -ENOBUFS;
        }
    }
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    return r;
}

int session_expect(struct session *s, const char *needle, int timeout_ms,
                   uint8_t *out, size_t out_cap, size_t *out_len)
{
    size_t nlen = strlen(needle);
    uint64_t deadline = session_now_ns() + (uint64_t)timeout_ms * 1000000u;
    int overflow = 0;

    if (out_len) {
        *out_len = 0;
    }
    if (nlen == 0 || nlen >= sizeof(s->buf)) {
        return -EINVAL;
    }
    for (;;) {
        uint8_t *hit = memmem(s->buf, s->len, needle, nlen);
        int r;

        if (hit) {
            size_t pos = (size_t)(hit - s->buf);
            overflow |= session_take(s, pos, out, out_cap, out_len);
            session_take(s, nlen, NULL, 0, NULL);
            return overflow ? -ENOBUFS : 0;
        }
        /* Keep a needle's length minus one: it may be split across reads. */
        if (s->len >= nlen) {
            overflow |= session_take(s, s->len - (nlen - 1), out, out_cap, out_len);
        }
        r = session_fill(s, deadline);
        if (r < 0) {
            return r;
        }
    }
}

/* Wait for the first of two needles; returns 1 or 2, or a negative errno. */
static int session_expect2(struct session *s, const char *a, const char *b,
                           int timeout_ms)
{
    uint64_t deadline = session_now_ns() + (uint64_t)timeout_ms * 1000000u;

    for (;;) {
        uint8_t *ha = memmem(s->buf, s->len, a, strlen(a));
        uint8_t *hb = memmem(s->buf, s->len, b, strlen(b));
        int r;

        if (ha || hb) {
            int which = (ha && (!hb || ha < hb)) ? 1 : 2;
            uint8_t *h = which == 1 ? ha : hb;
            size_t end = (size_t)(h - s->buf) + strlen(which == 1 ? a : b);
            session_take(s, end, NULL, 0, NULL);
            return which;
        }
        if (s->len == sizeof(s->buf)) {
            session_take(s, s->len / 2, NULL, 0, NULL);
        }
        r = session_fill(s, deadline);
        if (r < 0) {
            return r;
        }
    }
}

int session_login(struct session *s, const char *user, const char *password,
                  int timeout_ms)
{
    char line[256];
    int r;

    /* A fresh getty shows "login:"; a shell left logged in shows its prompt. */
    r = session_send(s, "\r", 1);
    if (r < 0) {
        return r;
    }
    r = session_expect2(s, "login: ", "# ", timeout_ms);
    if (r < 0) {
        fprintf(stderr, "session: no login prompt or shell prompt: %s\n", strerror(-r));
        return r;
    }
    if (r == 2) {
        return 0;
    }
    snprintf(line, sizeof(line), "%s\r", user);
    if ((r = session_send(s, line, strlen(line))) < 0 ||
        (r = session_expect(s, "assword: ", timeout_ms, NULL, 0, NULL)) < 0) {
        fprintf(stderr, "session: no password prompt: %s\n", strerror(-r));
        return r;
    }
    snprintf(line, sizeof(line), "%s\r", password);
    if ((r = session_send(s, line, strlen(line))) < 0 ||
        (r = session_expect(s, "# ", timeout_ms, NULL, 0, NULL)) < 0) {
        fprintf(stderr, "session: no shell prompt after login: %s\n", strerror(-r));
        return r;
    }
    return 0;
}

int session_run(struct session *s, const char *command, int timeout_ms)
{
    char line[1024];
    int r;

    /* The marker is split in the typed line so its echo never matches. */
    snprintf(line, sizeof(line), "%s; echo NVSEC\"\"DONE\r", command);
    r = session_send(s, line, strlen(line));
    if (r == 0) {
        r = session_expect(s, "NVSECDONE", timeout_ms, NULL, 0, NULL);
    }
    if (r < 0) {
        fprintf(stderr, "session: command '%s' did not complete: %s\n", command, strerror(-r));
    }
    return r;
}

void session_close(struct session *s)
{
    int i;

    if (s->pid <= 0) {
        return;
    }
    close(s->fd);
    kill(s->pid, SIGTERM);
    for (i = 0; i < 200; i++) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}
