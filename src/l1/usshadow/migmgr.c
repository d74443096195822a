/*
 * nvsec-migmgr: USShadow's migration manager in L1 (papers/002 sec. 4.1).
 * It drives the stock QEMU of L1 through QMP and carries the user VM's
 * sealed shadow-device state from the source L0 to the destination L0 by
 * ultracalls; it sees only sealed bytes.
 *
 *   nvsec-migmgr dest --qmp SOCK --listen PORT
 *       on the destination L1, whose QEMU waits with "-incoming ... -S":
 *       takes one connection from the source manager, restores the state it
 *       brings (SHADOW_RESTORE), lets the VM run (QMP "cont") and answers
 *       with the restore's result.
 *   nvsec-migmgr source --qmp SOCK --tag TAG --to HOST:MIGPORT --peer HOST:PORT
 *                      [--no-shadow] [--dump FILE]
 *       on the source L1: first SHADOW_QUERY (no shadow device bound to TAG
 *       on this L0: an error before anything moves), then QMP "migrate" to
 *       tcp:HOST:MIGPORT; once QEMU reports
 *       it completed (the VM is stopped here), SHADOW_SAVE of TAG's state,
 *       send it to the destination manager, wait for its answer, then
 *       SHADOW_RELEASE here. --no-shadow carries no state (the vsbypass
 *       configuration: the console stays behind). --dump writes the buffer
 *       the save returned to FILE: what any L1 administrator can keep (the
 *       attack demo, attacks/migration-snoop, looks there).
 *
 * Output (source): one line
 *   "migmgr: ok total_ms=T qemu_downtime_ms=D save_us=S restore_us=R shadow_ms=X bytes=N"
 * where shadow_ms is the time from QEMU's completion to the destination's
 * answer (the VM is stopped throughout); or "migmgr: error ..." and status 1.
 *
 * Peer protocol (TCP): source -> dest: "USS1", tag field (24 bytes), u32 LE
 * blob length (0: no state), blob; dest -> source: i32 LE restore result,
 * u32 LE restore time in us.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../common/nvsec_le.h"
#include "uc_l1.h"

#define QMP_REPLY_MAX 65536
#define POLL_NS (2 * 1000 * 1000)
#define SAVE_BUF_FIRST (128 * 1024)

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    printf("migmgr: error %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n) {
        ssize_t w = write(fd, b, n);

        if (w <= 0) {
            if (w < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;

    while (n) {
        ssize_t r = read(fd, b, n);

        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* --- QMP ------------------------------------------------------------------- */

/* One JSON line from QEMU that is not an asynchronous event. */
static int qmp_read_reply(int fd, char *buf, size_t cap)
{
    for (;;) {
        size_t n = 0;

        while (n + 1 < cap) {
            if (read(fd, buf + n, 1) != 1) {
                return -1;
            }
            if (buf[n++] == '\n') {
                break;
            }
        }
        buf[n] = '\0';
        if (!strstr(buf, "\"event\"")) {
            return 0;
        }
    }
}

static int qmp_cmd(int fd, const char *json, char *reply)
{
    if (write_all(fd, json, strlen(json)) < 0 || qmp_read_reply(fd, reply, QMP_REPLY_MAX) < 0) {
        return -1;
    }
    return strstr(reply, "\"error\"") ? -1 : 0;
}

static int qmp_open(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    static char reply[QMP_REPLY_MAX];
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), tries;

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    /* QEMU may still be starting (the manager starts with it): wait up to 60 s. */
    for (tries = 0; fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0; tries++) {
        if (tries == 600) {
            die("cannot connect to QMP");
        }
        nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
    }
    if (fd < 0 || qmp_read_reply(fd, reply, sizeof(reply)) < 0 ||   /* greeting */
        qmp_cmd(fd, "{\"execute\":\"qmp_capabilities\"}\n", reply) < 0) {
        die("cannot open QMP");
    }
    return fd;
}

/* The number after "key": in a QMP reply, or -1. */
static double json_number(const char *reply, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(reply, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

/* --- peer link ------------------------------------------------------------- */

static int tcp_connect(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
    int fd, one = 1;

    if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
        errno = EINVAL;
        die("bad HOST:PORT");
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        die("cannot resolve peer");
    }
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        die("cannot reach the destination manager");
    }
    freeaddrinfo(ai);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/*
 * QUERY: whether this host's L0 has a shadow device bound under field's
 * tag. 1 yes, 0 no, or the ultracall's negative result. Both managers call
 * it at their start, which also takes the first ultracall's one-time costs
 * in a fresh process (its code paged in, the fault handler installed: 0.3
 * to 0.6 ms in a nested L1) out of the timed save and restore.
 */
static int64_t shadow_bound(const char *field)
{
    const size_t size = 4096;
    struct ultracall_shadow_entry *e = uc_l1_buf_alloc(size);
    int64_t n, found = 0;

    if (!e) {
        die("no query buffer");
    }
    n = uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, (uintptr_t)e, size);
    for (int64_t i = 0; i < n; i++) {
        found |= !memcmp(e[i].tag, field, ULTRACALL_VMTAG_SIZE) &&
                 (e[i].flags & ULTRACALL_SHADOW_BOUND);
    }
    uc_l1_buf_free(e, size);
    return n < 0 ? n : found;
}

/* --- destination ----------------------------------------------------------- */

static void wait_incoming_done(int qmp, char *reply)
{
    for (;;) {
        if (qmp_cmd(qmp, "{\"execute\":\"query-status\"}\n", reply) < 0) {
            die("query-status failed");
        }
        if (!strstr(reply, "\"inmigrate\"")) {
            return;
        }
        nanosleep(&(struct timespec){ 0, POLL_NS }, NULL);
    }
}

/* No tag is bound here yet: asked to learn whether L0 answers, and to warm up. */
static void dest_check_l0(void)
{
    const char none[ULTRACALL_VMTAG_SIZE] = { 0 };
    int64_t q = shadow_bound(none);

    printf("migmgr: dest L0 ultracalls: %s\n", uc_l1_errname(q < 0 ? q : 0));
}

static int cmd_dest(const char *qmp_path, int port)
{
    static char reply[QMP_REPLY_MAX];
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    uint8_t hdr[4 + ULTRACALL_VMTAG_SIZE + 4], ans[8];
    int one = 1, lfd, fd, qmp = qmp_open(qmp_path);
    int64_t rc = 0;
    uint32_t len;
    uint8_t *buf;
    double t0;

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0) {
        die("cannot listen");
    }
    printf("migmgr: dest listening on %d\n", port);
    dest_check_l0();
    fflush(stdout);
    fd = accept(lfd, NULL, NULL);
    if (fd < 0 || read_all(fd, hdr, sizeof(hdr)) < 0 || memcmp(hdr, "USS1", 4)) {
        die("bad peer header");
    }
    len = (uint32_t)nvsec_get_le(hdr + 4 + ULTRACALL_VMTAG_SIZE, 4);
    if (len > ULTRACALL_BUF_MAX - ULTRACALL_VMTAG_SIZE) {
        errno = E2BIG;
        die("peer blob too large");
    }
    buf = uc_l1_buf_alloc(ULTRACALL_VMTAG_SIZE + len);
    if (!buf || read_all(fd, buf + ULTRACALL_VMTAG_SIZE, len) < 0) {
        die("cannot receive the state");
    }
    memcpy(buf, hdr + 4, ULTRACALL_VMTAG_SIZE);
    wait_incoming_done(qmp, reply);
    t0 = now_s();
    if (len > 0) {
        rc = uc_l1_call(ULTRACALL_OP_SHADOW_RESTORE, (uintptr_t)buf, ULTRACALL_VMTAG_SIZE + len);
    }
    uint32_t restore_us = (uint32_t)((now_s() - t0) * 1e6);
    /* Run the VM whatever the restore said: its memory has moved already. */
    if (qmp_cmd(qmp, "{\"execute\":\"cont\"}\n", reply) < 0) {
        printf("migmgr: error cont: %s", reply);
    }
    nvsec_put_le(ans, (uint64_t)(uint32_t)(int32_t)rc, 4);
    nvsec_put_le(ans + 4, restore_us, 4);
    write_all(fd, ans, sizeof(ans));
    printf("migmgr: dest restore %s (%lld) restore_us=%u bytes=%u\n", uc_l1_errname(rc),
           (long long)rc, restore_us, len);
    return rc < 0;
}

/* --- source ---------------------------------------------------------------- */

static void dump_buffer(const char *path, const uint8_t *buf, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
        printf("migmgr: warning cannot write %s\n", path);
    }
}

static int cmd_source(const char *qmp_path, const char *tag, const char *to,
                      const char *peer, int shadow, const char *dump)
{
    static char reply[QMP_REPLY_MAX];
    char cmd[512], field[ULTRACALL_VMTAG_SIZE] = { 0 };
    uint8_t hdr[4 + ULTRACALL_VMTAG_SIZE + 4], ans[8];
    int qmp = qmp_open(qmp_path), pfd;
    double t_start, t_done, t_save0, t_save1, t_back, total_ms, downtime_ms;
    uint8_t *buf = uc_l1_buf_alloc(ULTRACALL_BUF_MAX);
    int64_t n = 0, rc, bound;

    if (strlen(tag) > ULTRACALL_VMTAG_MAX || !buf) {
        die("bad tag or no buffer");
    }
    memcpy(field, tag, strlen(tag));
    if (shadow && (bound = shadow_bound(field)) != 1) {
        /* Before anything moves: the VM would arrive without its console. */
        printf("migmgr: error no shadow device bound to %s on this host's L0 (query: %s)\n",
               tag, bound < 0 ? uc_l1_errname(bound) : "not listed");
        return 1;
    }
    pfd = tcp_connect(peer);
    snprintf(cmd, sizeof(cmd),
             "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:%s\"}}\n", to);
    t_start = now_s();
    if (qmp_cmd(qmp, cmd, reply) < 0) {
        printf("migmgr: error migrate: %s", reply);
        return 1;
    }
    for (;;) {
        if (qmp_cmd(qmp, "{\"execute\":\"query-migrate\"}\n", reply) < 0) {
            die("query-migrate failed");
        }
        if (strstr(reply, "\"completed\"")) {
            break;
        }
        if (strstr(reply, "\"failed\"") || strstr(reply, "\"cancelled\"")) {
            printf("migmgr: error migration: %s", reply);
            return 1;
        }
        nanosleep(&(struct timespec){ 0, POLL_NS }, NULL);
    }
    t_done = now_s();
    total_ms = json_number(reply, "total-time");
    downtime_ms = json_number(reply, "downtime");
    if (total_ms <= 0 || downtime_ms < 0) {
        /* Seen once: a "completed" reply without usable times. Kept for the record. */
        printf("migmgr: warning no times in QEMU's reply: %s", reply);
    }
    /* The VM is stopped here now: its console state is final. */
    t_save0 = now_s();
    if (shadow) {
        /*
         * A quiet console's state is ~100 bytes, a full 64 KiB ring's ~66 KiB:
         * a 128 KiB buffer first (L0 walks every page of it), all 1 MiB only
         * if L0 says it does not fit.
         */
        memcpy(buf, field, ULTRACALL_VMTAG_SIZE);
        n = uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)buf, SAVE_BUF_FIRST);
        if (n == -ULTRACALL_ENOSPC) {
            memcpy(buf, field, ULTRACALL_VMTAG_SIZE);
            n = uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)buf, ULTRACALL_BUF_MAX);
        }
        if (n < 0) {
            printf("migmgr: error save %s: %s\n", tag, uc_l1_errname(n));
            n = 0;                      /* the destination runs the VM without state */
        }
    }
    t_save1 = now_s();
    if (dump) {
        dump_buffer(dump, buf, (size_t)n);
    }
    memcpy(hdr, "USS1", 4);
    memcpy(hdr + 4, field, ULTRACALL_VMTAG_SIZE);
    nvsec_put_le(hdr + 4 + ULTRACALL_VMTAG_SIZE, (uint64_t)n, 4);
    if (write_all(pfd, hdr, sizeof(hdr)) < 0 || write_all(pfd, buf, (size_t)n) < 0 ||
        read_all(pfd, ans, sizeof(ans)) < 0) {
        die("peer link");
    }
    t_back = now_s();
    rc = (int32_t)nvsec_get_le(ans, 4);
    if (shadow && rc == 0) {
        memcpy(buf, field, ULTRACALL_VMTAG_SIZE);
        int64_t r = uc_l1_call(ULTRACALL_OP_SHADOW_RELEASE, (uintptr_t)buf, ULTRACALL_VMTAG_SIZE);

        if (r < 0) {
            printf("migmgr: warning release %s: %s\n", tag, uc_l1_errname(r));
        }
    }
    printf("migmgr: %s total_ms=%.1f qemu_total_ms=%.0f qemu_downtime_ms=%.0f save_us=%.0f "
           "restore_us=%u shadow_ms=%.2f bytes=%lld restore=%s\n",
           rc == 0 ? "ok" : "error", (t_back - t_start) * 1e3, total_ms, downtime_ms,
           (t_save1 - t_save0) * 1e6, (unsigned)nvsec_get_le(ans + 4, 4),
           (t_back - t_done) * 1e3, (long long)n, uc_l1_errname(rc));
    return rc != 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: nvsec-migmgr dest --qmp SOCK --listen PORT\n"
                    "       nvsec-migmgr source --qmp SOCK --tag TAG --to HOST:PORT "
                    "--peer HOST:PORT [--no-shadow] [--dump FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *qmp = NULL, *tag = NULL, *to = NULL, *peer = NULL, *dump = NULL;
    int port = 0, shadow = 1;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        return usage();
    }
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(o, "--no-shadow")) {
            shadow = 0;
            continue;
        }
        if (!v) {
            return usage();
        }
        if (!strcmp(o, "--qmp")) {
            qmp = v;
        } else if (!strcmp(o, "--tag")) {
            tag = v;
        } else if (!strcmp(o, "--to")) {
            to = v;
        } else if (!strcmp(o, "--peer")) {
            peer = v;
        } else if (!strcmp(o, "--dump")) {
            dump = v;
        } else if (!strcmp(o, "--listen")) {
            port = atoi(v);
        } else {
            return usage();
        }
        i++;
    }
    if (!strcmp(argv[1], "dest") && qmp && port > 0) {
        return cmd_dest(qmp, port);
    }
    if (!strcmp(argv[1], "source") && qmp && tag && to && peer) {
        return cmd_source(qmp, tag, to, peer, shadow, dump);
    }
    return usage();
}
