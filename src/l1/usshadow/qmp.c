#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nanosleep, clock_gettime, SOCK_CLOEXEC under -std=c11 */
#endif
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

/* How long one command may take: QEMU answers within milliseconds. */
#define QMP_COMMAND_TIMEOUT_MS 60000

int qmp_take_line(struct qmp_conn *q, char *line, size_t cap)
{
    const char *nl = memchr(q->buf, '\n', q->len);
    size_t n;

    if (!nl) {
        return q->len == sizeof(q->buf) ? -1 : 0;
    }
    n = (size_t)(nl - q->buf) + 1;
    if (n >= cap) {
        return -1;
    }
    memcpy(line, q->buf, n);
    line[n] = '\0';
    q->len -= n;
    memmove(q->buf, q->buf + n, q->len);
    return 1;
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ') {
        p++;
    }
    return p;
}

/* Where the value after "key": in line begins, or NULL if the key is not there. */
static const char *qmp_json_value(const char *line, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(line, pat);
    return p ? skip_spaces(p + strlen(pat)) : NULL;
}

/* The string after "key": in line, into out: 1, or 0 if absent, cut or longer than cap. */
static int qmp_json_string(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = qmp_json_value(line, key), *end;

    if (!p || *p != '"' || !(end = strchr(p + 1, '"')) ||
        (size_t)(end - p - 1) >= cap) {
        return 0;
    }
    memcpy(out, p + 1, (size_t)(end - p - 1));
    out[end - p - 1] = '\0';
    return 1;
}

int qmp_event_name(const char *line, char *name, size_t cap)
{
    return qmp_json_string(line, "event", name, cap);
}

int qmp_migration_event(const char *line, char *status, size_t cap)
{
    char name[16];

    return qmp_event_name(line, name, sizeof(name)) && !strcmp(name, "MIGRATION") &&
           qmp_json_string(line, "status", status, cap);
}

double qmp_json_number(const char *line, const char *key)
{
    const char *p = qmp_json_value(line, key);

    return p ? strtod(p, NULL) : -1;
}

double qmp_event_time(const char *line)
{
    const char *t = strstr(line, "\"timestamp\":");
    double s, us;

    if (!t) {
        return -1;
    }
    s = qmp_json_number(t, "seconds");
    us = qmp_json_number(t, "microseconds");
    return s < 0 || us < 0 ? -1 : s + us / 1e6;
}

void qmp_note_event(struct qmp_conn *q, const char *line)
{
    char name[32];

    if (!qmp_event_name(line, name, sizeof(name))) {
        return;
    }
    if (!strcmp(name, "MIGRATION")) {
        (void)qmp_json_string(line, "status", q->migration, sizeof(q->migration));
    } else if (!strcmp(name, "STOP")) {
        q->stop_ts = qmp_event_time(line);
    } else if (!strcmp(name, "RESUME")) {
        q->resume_ts = qmp_event_time(line);
    }
}

int qmp_migration_over(const char *status)
{
    return !strcmp(status, "completed") || !strcmp(status, "failed") ||
           !strcmp(status, "cancelled");
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next line from QEMU, reading as needed until deadline (monotonic ms). */
static int qmp_next_line(struct qmp_conn *q, char *line, size_t cap, long long deadline)
{
    for (;;) {
        int r = qmp_take_line(q, line, cap);
        struct pollfd p = { .fd = q->fd, .events = POLLIN };
        long long left = deadline - now_ms();
        ssize_t got;

        if (r) {
            errno = r < 0 ? EMSGSIZE : 0;
            return r < 0 ? -1 : 0;
        }
        if (left <= 0 || (r = poll(&p, 1, (int)left)) == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        got = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
        if (got == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (got < 0 && errno != EINTR) {
            return -1;
        }
        q->len += got > 0 ? (size_t)got : 0;
    }
}

/* The next line that is not an event; events are noted on the way. */
static int qmp_next_reply(struct qmp_conn *q, char *reply, size_t cap, long long deadline)
{
    for (;;) {
        if (qmp_next_line(q, reply, cap, deadline) < 0) {
            return -1;
        }
        if (strstr(reply, "\"event\"")) {
            qmp_note_event(q, reply);
            continue;
        }
        return 0;
    }
}

int qmp_command(struct qmp_conn *q, const char *json, char *reply, size_t cap)
{
    if (fd_write_all(q->fd, json, strlen(json)) < 0 ||
        qmp_next_reply(q, reply, cap, now_ms() + QMP_COMMAND_TIMEOUT_MS) < 0) {
        return -1;
    }
    if (strstr(reply, "\"error\"")) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int qmp_wait_migration(struct qmp_conn *q, int timeout_ms)
{
    static char line[QMP_LINE_MAX];
    long long deadline = now_ms() + timeout_ms;

    while (!qmp_migration_over(q->migration)) {
        if (qmp_next_line(q, line, sizeof(line), deadline) < 0) {
            return -1;
        }
        qmp_note_event(q, line);
    }
    return 0;
}

int qmp_connect(struct qmp_conn *q, const char *path)
{
    static char line[QMP_LINE_MAX];
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int tries;

    q->len = 0;
    q->migration[0] = '\0';
    q->stop_ts = q->resume_ts = -1;
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    for (tries = 0; q->fd >= 0 && connect(q->fd, (struct sockaddr *)&a, sizeof(a)) < 0; tries++) {
        if (tries == 600) {
            return -1;
        }
        nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
    }
    if (q->fd < 0 ||
        qmp_next_reply(q, line, sizeof(line), now_ms() + QMP_COMMAND_TIMEOUT_MS) < 0) {
        return -1;                      /* no greeting */
    }
    return qmp_command(q, "{\"execute\":\"qmp_capabilities\"}\n", line, sizeof(line));
}
