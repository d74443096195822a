/*
 * nvsec-migmgr: USShadow's migration manager in L1 (papers/002 sec. 4.1).
 * It drives the stock QEMU of L1 through QMP and carries the user VM's
 * sealed shadow-device state from the source L0 to the destination L0 by
 * ultracalls; it sees only sealed bytes.
 *
 *   nvsec-migmgr dest --qmp SOCK --listen PORT
 *       on the destination L1, whose QEMU waits with "-incoming ... -S":
 *       takes one connection from the source manager, and once its QEMU
 *       completed the incoming migration and the source committed the state
 *       it brought, restores it (SHADOW_RESTORE), lets the VM run (QMP
 *       "cont") and answers with the restore's result.
 *   nvsec-migmgr source --qmp SOCK --tag TAG --to HOST:MIGPORT --peer HOST:PORT
 *                      [--no-shadow] [--dump FILE]
 *       on the source L1: first SHADOW_QUERY (no shadow device bound to TAG
 *       on this L0: an error before anything moves), then QMP "migrate" to
 *       tcp:HOST:MIGPORT. Once QEMU stopped the VM for the switchover (its
 *       STOP event) the console state is final: SHADOW_SAVE of TAG's state
 *       and send it to the destination manager while QEMU sends the rest of
 *       the VM, so the state is there when the VM is. At QEMU's "completed"
 *       the source commits it (withdraws it if the migration failed or the
 *       VM ran here again since: a RESUME event), waits for the answer, then
 *       SHADOW_RELEASE here. --no-shadow carries no state (the vsbypass
 *       configuration: the console stays behind). --dump writes the buffer
 *       the save returned to FILE: what any L1 administrator can keep (the
 *       attack demo, attacks/migration-snoop, looks there).
 *
 * Output (source): one line
 *   "migmgr: ok total_ms=T qemu_downtime_ms=D save_us=S restore_us=R shadow_ms=X bytes=N"
 * (then QEMU's setup time, RAM sent, dirty-log syncs and the stop-and-copy
 * bytes: qemu_setup_ms ram_kib dirty_syncs stop_copy_kib), where shadow_ms is
 * the time from QEMU's "completed" to the destination's answer reaching
 * this L1 (the VM is stopped throughout), then dest_wait_ms and cont_ms, two
 * parts of that span at the destination (from its QEMU's "completed" to the
 * restore: the wait for the source's state and commit; its "cont"), query_ms
 * (from "completed" until QEMU had stored its times, which its downtime
 * figure holds) and state_lead_ms (how long before "completed" the state was
 * sent); or "migmgr: error ..." and status 1.
 *
 * Peer protocol (TCP): source -> dest: "USM2", tag field (24 bytes), u32 LE
 * blob length (0: no state), blob, then u32 LE commit (COMMIT_RESTORE or
 * COMMIT_WITHDRAW); dest -> source: i32 LE result (0, the restore's negative
 * result, or ANSWER_WITHDRAWN), then u32 LE times in us: the restore, the
 * wait (ANSWER_NO_TIME: QEMU's event had no timestamp) and the "cont".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../common/nvsec_le.h"
#include "fdio.h"
#include "qmp.h"
#include "uc_l1.h"

/* query-migrate's retry while QEMU stores its times after the event. */
#define POLL_NS (2 * 1000 * 1000)
#define SAVE_BUF_FIRST (128 * 1024)
#define PEER_MAGIC "USM2"     /* "USS1" before the commit word */
/* The source's last word: the state it sent is final, or not to be used. */
#define COMMIT_RESTORE 0u
#define COMMIT_WITHDRAW 1u
/* The destination's answer: result, then restore, wait and cont times in us. */
#define ANSWER_SIZE 16
#define ANSWER_WITHDRAWN 1
#define ANSWER_NO_TIME UINT32_MAX

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* QMP event timestamps are CLOCK_REALTIME (QEMU's g_get_real_time). */
static double real_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *answer_name(int64_t rc)
{
    return rc == ANSWER_WITHDRAWN ? "withdrawn" : uc_l1_errname(rc);
}

static void die(const char *what)
{
    printf("migmgr: error %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
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
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
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

/* How long a migration may take before the manager gives up (the stack's own limit is 300 s). */
#define MIGRATION_TIMEOUT_MS (240 * 1000)
#define EVENTS_ON "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":" \
                  "[{\"capability\":\"events\",\"state\":true}]}}\n"

/* QEMU's MIGRATION events are how the manager learns that a migration ended. */
static void open_qmp_with_events(struct qmp_conn *q, const char *path)
{
    static char reply[QMP_LINE_MAX];

    if (qmp_connect(q, path) < 0) {
        die("cannot open QMP");
    }
    if (qmp_command(q, EVENTS_ON, reply, sizeof(reply)) < 0) {
        die("cannot turn on QEMU's migration events");
    }
}

/* --- destination ----------------------------------------------------------- */

/*
 * The incoming migration has ended: QEMU sends "completed" after it left
 * "inmigrate" (paused, -S); on a failed load it exits, which ends QMP.
 */
static void wait_incoming_done(struct qmp_conn *q)
{
    if (qmp_wait_migration(q, MIGRATION_TIMEOUT_MS) < 0) {
        die("no end of the incoming migration");
    }
    if (strcmp(q->migration, "completed")) {
        errno = 0;
        die("the incoming migration did not complete");
    }
}

/* No tag is bound here yet: asked to learn whether L0 answers, and to warm up. */
static void dest_check_l0(void)
{
    const char none[ULTRACALL_VMTAG_SIZE] = { 0 };
    int64_t q = shadow_bound(none);

    printf("migmgr: dest L0 ultracalls: %s\n", uc_l1_errname(q < 0 ? q : 0));
}

/* One connection from the source manager: its header (tag, length) and blob, in buf. */
static uint8_t *dest_receive_state(int lfd, int *fd, uint32_t *len)
{
    uint8_t hdr[4 + ULTRACALL_VMTAG_SIZE + 4], *buf;

    *fd = accept(lfd, NULL, NULL);
    if (*fd < 0 || fd_read_all(*fd, hdr, sizeof(hdr)) < 0 || memcmp(hdr, PEER_MAGIC, 4)) {
        die("bad peer header");
    }
    *len = (uint32_t)nvsec_get_le(hdr + 4 + ULTRACALL_VMTAG_SIZE, 4);
    if (*len > ULTRACALL_BUF_MAX - ULTRACALL_VMTAG_SIZE) {
        errno = E2BIG;
        die("peer blob too large");
    }
    buf = uc_l1_buf_alloc(ULTRACALL_VMTAG_SIZE + *len);
    if (!buf || fd_read_all(*fd, buf + ULTRACALL_VMTAG_SIZE, *len) < 0) {
        die("cannot receive the state");
    }
    memcpy(buf, hdr + 4, ULTRACALL_VMTAG_SIZE);
    return buf;
}

static int cmd_dest(const char *qmp_path, int port)
{
    static char reply[QMP_LINE_MAX];
    static struct qmp_conn qmp;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    uint8_t word[4], ans[ANSWER_SIZE];
    int one = 1, lfd, fd;
    int64_t rc = 0;
    uint32_t len, wait_us = ANSWER_NO_TIME;
    uint8_t *buf;
    double t0, t0_rt, t1;

    open_qmp_with_events(&qmp, qmp_path);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0) {
        die("cannot listen");
    }
    printf("migmgr: dest listening on %d\n", port);
    dest_check_l0();
    fflush(stdout);
    buf = dest_receive_state(lfd, &fd, &len);
    wait_incoming_done(&qmp);
    if (fd_read_all(fd, word, sizeof(word)) < 0) {
        die("no commit from the source");
    }
    t0 = now_s();
    t0_rt = real_s();
    if (qmp.migration_ts > 0) {
        wait_us = t0_rt > qmp.migration_ts ? (uint32_t)((t0_rt - qmp.migration_ts) * 1e6) : 0;
    }
    if (nvsec_get_le(word, 4) != COMMIT_RESTORE) {
        rc = ANSWER_WITHDRAWN;
    } else if (len > 0) {
        rc = uc_l1_call(ULTRACALL_OP_SHADOW_RESTORE, (uintptr_t)buf, ULTRACALL_VMTAG_SIZE + len);
    }
    t1 = now_s();
    uint32_t restore_us = (uint32_t)((t1 - t0) * 1e6);
    /* Run the VM whatever the restore said: its memory has moved already. */
    if (qmp_command(&qmp, "{\"execute\":\"cont\"}\n", reply, sizeof(reply)) < 0) {
        printf("migmgr: error cont: %s", reply);
    }
    nvsec_put_le(ans, (uint64_t)(uint32_t)(int32_t)rc, 4);
    nvsec_put_le(ans + 4, restore_us, 4);
    nvsec_put_le(ans + 8, wait_us, 4);
    nvsec_put_le(ans + 12, (uint32_t)((now_s() - t1) * 1e6), 4);
    fd_write_all(fd, ans, sizeof(ans));
    printf("migmgr: dest restore %s (%lld) restore_us=%u bytes=%u\n", answer_name(rc),
           (long long)rc, restore_us, len);
    return rc != 0;
}

/* --- source ---------------------------------------------------------------- */

static void dump_buffer(const char *path, const uint8_t *buf, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
        printf("migmgr: warning cannot write %s\n", path);
    }
}

/*
 * QEMU's own account of the migration that ended. QEMU 7.2 sends
 * "completed" before it stores the times (migration_completion, then
 * migration_calculate_complete): until then query-migrate says total-time 0.
 */
static void query_ended_migration(struct qmp_conn *q, char *reply, size_t cap)
{
    for (int i = 0; i < 500; i++) {
        if (qmp_command(q, "{\"execute\":\"query-migrate\"}\n", reply, cap) < 0) {
            die("query-migrate failed");
        }
        if (strcmp(q->migration, "completed") || qmp_json_number(reply, "total-time") > 0) {
            return;
        }
        nanosleep(&(struct timespec){ 0, POLL_NS }, NULL);
    }
}

struct source_run {
    struct qmp_conn qmp;
    const char *tag, *dump;
    char field[ULTRACALL_VMTAG_SIZE];
    int pfd, shadow, sent;
    uint8_t *buf;
    int64_t n;                  /* sealed bytes sent (0: none) */
    unsigned resumes_at_save;   /* QEMU's RESUME events when the state was taken */
    double save_us, t_sent;
};

/* TAG's sealed state into s->buf: its length, or 0 if L0 refused (said why). */
static int64_t source_save(struct source_run *s)
{
    int64_t n;

    /*
     * A quiet console's state is ~100 bytes, a full 64 KiB ring's ~66 KiB:
     * a 128 KiB buffer first (L0 walks every page of it), all 1 MiB only
     * if L0 says it does not fit.
     */
    memcpy(s->buf, s->field, ULTRACALL_VMTAG_SIZE);
    n = uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)s->buf, SAVE_BUF_FIRST);
    if (n == -ULTRACALL_ENOSPC) {
        memcpy(s->buf, s->field, ULTRACALL_VMTAG_SIZE);
        n = uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)s->buf, ULTRACALL_BUF_MAX);
    }
    if (n < 0) {
        printf("migmgr: error save %s: %s\n", s->tag, uc_l1_errname(n));
        return 0;               /* the destination runs the VM without state */
    }
    return n;
}

/* The VM is stopped here: take its console state and send it on its way. */
static void source_send_state(struct source_run *s)
{
    uint8_t hdr[4 + ULTRACALL_VMTAG_SIZE + 4];
    double t0 = now_s();

    s->resumes_at_save = s->qmp.resumes;
    s->n = s->shadow ? source_save(s) : 0;
    s->save_us = (now_s() - t0) * 1e6;
    memcpy(hdr, PEER_MAGIC, 4);
    memcpy(hdr + 4, s->field, ULTRACALL_VMTAG_SIZE);
    nvsec_put_le(hdr + 4 + ULTRACALL_VMTAG_SIZE, (uint64_t)s->n, 4);
    if (fd_write_all(s->pfd, hdr, sizeof(hdr)) < 0 ||
        fd_write_all(s->pfd, s->buf, (size_t)s->n) < 0) {
        die("peer link");
    }
    s->t_sent = now_s();
    s->sent = 1;
    if (s->dump) {
        dump_buffer(s->dump, s->buf, (size_t)s->n);
    }
}

/*
 * The destination's answer, and when it reached this L1 (SO_TIMESTAMPNS,
 * CLOCK_REALTIME s; -1 if the kernel gave none): the source is asking QEMU
 * for its times meanwhile, so the read itself may come later.
 */
static int read_answer(int fd, uint8_t *ans, size_t size, double *arrived)
{
    size_t got = 0;

    *arrived = -1;
    while (got < size) {
        char ctl[CMSG_SPACE(sizeof(struct timespec))];
        struct iovec iov = { .iov_base = ans + got, .iov_len = size - got };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                            .msg_controllen = sizeof(ctl) };
        ssize_t r = recvmsg(fd, &m, 0);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            errno = r == 0 ? ECONNRESET : errno;
            return -1;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c && *arrived < 0; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;

                memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                *arrived = (double)ts.tv_sec + ts.tv_nsec / 1e9;
            }
        }
        got += (size_t)r;
    }
    return 0;
}

/*
 * Start the migration; once QEMU stopped the VM for the switchover (its
 * STOP event), send the state while QEMU sends the rest of the VM. Returns
 * at the migration's end, whether the state was final: sent, and no RESUME
 * since (the VM did not run on here after it was taken).
 */
static int source_migrate(struct source_run *s, const char *to)
{
    static char reply[QMP_LINE_MAX];
    char cmd[512];
    unsigned stops = s->qmp.stops;

    snprintf(cmd, sizeof(cmd),
             "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:%s\"}}\n", to);
    if (qmp_command(&s->qmp, cmd, reply, sizeof(reply)) < 0) {
        printf("migmgr: error migrate: %s", reply);
        exit(1);
    }
    if (qmp_wait_stop_or_end(&s->qmp, stops, MIGRATION_TIMEOUT_MS) < 0) {
        die("no stop and no end of the migration");
    }
    if (!qmp_migration_over(s->qmp.migration)) {
        source_send_state(s);
    }
    if (qmp_wait_migration(&s->qmp, MIGRATION_TIMEOUT_MS) < 0) {
        die("no end of the migration");
    }
    if (!strcmp(s->qmp.migration, "completed") && !s->sent) {
        source_send_state(s);   /* paused before the migration: no STOP came */
    }
    return !strcmp(s->qmp.migration, "completed") && s->sent &&
           s->qmp.resumes == s->resumes_at_save;
}

static int cmd_source(const char *qmp_path, const char *tag, const char *to,
                      const char *peer, int shadow, const char *dump)
{
    static char reply[QMP_LINE_MAX];
    static struct source_run s;
    uint8_t ans[ANSWER_SIZE], word[4];
    double t_start, t_done, t_done_rt, t_queried, t_back_rt, total_ms, downtime_ms;
    int64_t rc, bound;
    int final;

    s.tag = tag;
    s.dump = dump;
    s.shadow = shadow;
    s.buf = uc_l1_buf_alloc(ULTRACALL_BUF_MAX);
    if (strlen(tag) > ULTRACALL_VMTAG_MAX || !s.buf) {
        die("bad tag or no buffer");
    }
    memcpy(s.field, tag, strlen(tag));
    if (shadow && (bound = shadow_bound(s.field)) != 1) {
        /* Before anything moves: the VM would arrive without its console. */
        printf("migmgr: error no shadow device bound to %s on this host's L0 (query: %s)\n",
               tag, bound < 0 ? uc_l1_errname(bound) : "not listed");
        return 1;
    }
    open_qmp_with_events(&s.qmp, qmp_path);
    s.pfd = tcp_connect(peer);
    t_start = now_s();
    final = source_migrate(&s, to);
    t_done = now_s();
    t_done_rt = real_s();
    nvsec_put_le(word, final ? COMMIT_RESTORE : COMMIT_WITHDRAW, 4);
    if (s.sent && fd_write_all(s.pfd, word, sizeof(word)) < 0) {
        die("peer link");
    }
    query_ended_migration(&s.qmp, reply, sizeof(reply));
    t_queried = now_s();
    if (strcmp(s.qmp.migration, "completed")) {
        /* The VM runs on here; L0 reopens its console when it sees it run. */
        printf("migmgr: error migration %s: %s", s.qmp.migration, reply);
        return 1;
    }
    total_ms = qmp_json_number(reply, "total-time");
    downtime_ms = qmp_json_number(reply, "downtime");
    if (total_ms <= 0 || downtime_ms < 0) {
        /* QEMU stored no times within a second of its event. Kept for the record. */
        printf("migmgr: warning no times in QEMU's reply: %s", reply);
    }
    if (read_answer(s.pfd, ans, sizeof(ans), &t_back_rt) < 0) {
        die("peer link");
    }
    if (t_back_rt < 0) {
        printf("migmgr: warning no arrival time on the answer: timed at its read\n");
        t_back_rt = real_s();
    }
    rc = (int32_t)nvsec_get_le(ans, 4);
    if (shadow && rc == 0) {
        memcpy(s.buf, s.field, ULTRACALL_VMTAG_SIZE);
        int64_t r = uc_l1_call(ULTRACALL_OP_SHADOW_RELEASE, (uintptr_t)s.buf, ULTRACALL_VMTAG_SIZE);

        if (r < 0) {
            printf("migmgr: warning release %s: %s\n", tag, uc_l1_errname(r));
        }
    }
    if (!final) {
        printf("migmgr: error the VM ran on here after its state was taken: "
               "the destination did not restore it\n");
    }
    uint32_t wait_us = (uint32_t)nvsec_get_le(ans + 8, 4);
    char wait_ms[24] = "NA";

    if (wait_us != ANSWER_NO_TIME) {
        snprintf(wait_ms, sizeof(wait_ms), "%.2f", wait_us / 1e3);
    }
    printf("migmgr: %s total_ms=%.1f qemu_total_ms=%.0f qemu_downtime_ms=%.0f save_us=%.0f "
           "restore_us=%u shadow_ms=%.2f bytes=%lld restore=%s qemu_setup_ms=%.0f ram_kib=%.0f "
           "dirty_syncs=%.0f stop_copy_kib=%.0f dest_wait_ms=%s cont_ms=%.2f query_ms=%.2f "
           "state_lead_ms=%.2f\n",
           rc == 0 ? "ok" : "error", (t_done - t_start + t_back_rt - t_done_rt) * 1e3, total_ms,
           downtime_ms, s.save_us, (unsigned)nvsec_get_le(ans + 4, 4), (t_back_rt - t_done_rt) * 1e3,
           (long long)s.n, answer_name(rc), qmp_json_number(reply, "setup-time"),
           qmp_json_number(reply, "transferred") / 1024, qmp_json_number(reply, "dirty-sync-count"),
           qmp_json_number(reply, "downtime-bytes") / 1024, wait_ms, nvsec_get_le(ans + 12, 4) / 1e3,
           (t_queried - t_done) * 1e3, (t_done - s.t_sent) * 1e3);
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
