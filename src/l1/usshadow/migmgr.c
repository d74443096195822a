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
 *       tcp:HOST:MIGPORT; once QEMU's MIGRATION event says it
 *       completed (the VM is stopped here), SHADOW_SAVE of TAG's state,
 *       send it to the destination manager, wait for its answer, then
 *       SHADOW_RELEASE here and exchange clock readings with that manager
 *       to time the VM's downtime across the two hosts. --no-shadow carries
 *       no state (the vsbypass configuration: the console stays behind).
 *       --dump writes the buffer the save returned to FILE: what any L1
 *       administrator can keep (the attack demo, attacks/migration-snoop,
 *       looks there).
 *
 * Output (source): one line
 *   "migmgr: ok total_ms=T qemu_downtime_ms=D save_us=S restore_us=R shadow_ms=X bytes=N"
 * (then QEMU's setup time, RAM sent, dirty-log syncs and the stop-and-copy
 * bytes: qemu_setup_ms ram_kib dirty_syncs stop_copy_kib), where shadow_ms is
 * the time from QEMU's completion to the destination's answer (the VM is
 * stopped throughout), then dest_wait_ms, cont_ms and query_ms, three parts of
 * that span (the destination's wait for its QEMU after the blob came, its
 * "cont", and the source's query-migrate until QEMU had stored its times);
 * then vm_downtime_ms, the VM's downtime as the paper measures it, from the
 * source QEMU's STOP event to the destination QEMU's RESUME, the two put on
 * one clock by the managers' link (clock_rtt_ms: the round trip that set
 * the offset, which is off by at most half of it), and cont_resume_ms, the
 * destination's "cont" sent until its QEMU's RESUME;
 * or "migmgr: error ..." and status 1.
 *
 * Peer protocol (TCP): source -> dest: "USM2", tag field (24 bytes), u32 LE
 * blob length (0: no state), blob; dest -> source: i32 LE restore result,
 * then u32 LE times in us: the restore, the wait from the blob's arrival
 * until its QEMU completed the incoming migration, the "cont", and from
 * "cont" sent to QEMU's RESUME; then u64 LE the RESUME event's timestamp
 * (us since the epoch on the destination's clock; 0: none came). Then, until
 * the source closes, clock exchanges: "PING" -> u64 LE received, u64 LE
 * answered (us on the destination's clock).
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
#include <time.h>
#include <unistd.h>

#include "../../common/nvsec_le.h"
#include "clocksync.h"
#include "fdio.h"
#include "qmp.h"
#include "uc_l1.h"

/* query-migrate's retry while QEMU stores its times after the event. */
#define POLL_NS (2 * 1000 * 1000)
#define SAVE_BUF_FIRST (128 * 1024)
#define PEER_MAGIC "USM2"     /* "USS1" before the RESUME time and the clock exchanges */
/* The destination's answer: result, restore, wait, cont, cont-to-RESUME (us), RESUME time. */
#define ANSWER_SIZE 28
#define ANSWER_NO_TIME UINT32_MAX
/* Clock exchanges after the answer: the shortest round trip of these sets the offset. */
#define CLOCK_EXCHANGES 16

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* QMP event timestamps are CLOCK_REALTIME (QEMU's g_get_real_time). */
static double real_s(void)
{
    return clock_s(CLOCK_REALTIME);
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

/* Answer the source's clock exchanges until it closes the link. */
static void dest_serve_clock(int fd)
{
    uint8_t ping[4], pong[16];

    while (fd_read_all(fd, ping, sizeof(ping)) == 0) {
        double t2 = real_s();

        if (memcmp(ping, "PING", 4)) {
            printf("migmgr: warning bad clock exchange from the source\n");
            return;
        }
        nvsec_put_le(pong, (uint64_t)(t2 * 1e6), 8);
        nvsec_put_le(pong + 8, (uint64_t)(real_s() * 1e6), 8);
        if (fd_write_all(fd, pong, sizeof(pong)) < 0) {
            return;
        }
    }
}

static int cmd_dest(const char *qmp_path, int port)
{
    static char reply[QMP_LINE_MAX];
    static struct qmp_conn qmp;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    uint8_t hdr[4 + ULTRACALL_VMTAG_SIZE + 4], ans[ANSWER_SIZE];
    int one = 1, lfd, fd;
    int64_t rc = 0;
    uint32_t len;
    uint8_t *buf;
    double t_got, t0, t1, t_cont_rt;

    open_qmp_with_events(&qmp, qmp_path);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0) {
        die("cannot listen");
    }
    printf("migmgr: dest listening on %d\n", port);
    dest_check_l0();
    fflush(stdout);
    fd = accept(lfd, NULL, NULL);
    /* The answer and the clock exchanges are small writes, each awaited. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fd < 0 || fd_read_all(fd, hdr, sizeof(hdr)) < 0 || memcmp(hdr, PEER_MAGIC, 4)) {
        die("bad peer header");
    }
    len = (uint32_t)nvsec_get_le(hdr + 4 + ULTRACALL_VMTAG_SIZE, 4);
    if (len > ULTRACALL_BUF_MAX - ULTRACALL_VMTAG_SIZE) {
        errno = E2BIG;
        die("peer blob too large");
    }
    buf = uc_l1_buf_alloc(ULTRACALL_VMTAG_SIZE + len);
    if (!buf || fd_read_all(fd, buf + ULTRACALL_VMTAG_SIZE, len) < 0) {
        die("cannot receive the state");
    }
    memcpy(buf, hdr + 4, ULTRACALL_VMTAG_SIZE);
    t_got = now_s();
    wait_incoming_done(&qmp);
    t0 = now_s();
    if (len > 0) {
        rc = uc_l1_call(ULTRACALL_OP_SHADOW_RESTORE, (uintptr_t)buf, ULTRACALL_VMTAG_SIZE + len);
    }
    t1 = now_s();
    uint32_t restore_us = (uint32_t)((t1 - t0) * 1e6);
    /* Run the VM whatever the restore said: its memory has moved already. */
    t_cont_rt = real_s();
    if (qmp_command(&qmp, "{\"execute\":\"cont\"}\n", reply, sizeof(reply)) < 0) {
        printf("migmgr: error cont: %s", reply);
    }
    nvsec_put_le(ans, (uint64_t)(uint32_t)(int32_t)rc, 4);
    nvsec_put_le(ans + 4, restore_us, 4);
    nvsec_put_le(ans + 8, (uint32_t)((t0 - t_got) * 1e6), 4);
    nvsec_put_le(ans + 12, (uint32_t)((now_s() - t1) * 1e6), 4);
    /* QEMU sends RESUME before its reply to "cont", so it has been read by now. */
    nvsec_put_le(ans + 16, qmp.resume_ts < 0 ? ANSWER_NO_TIME :
                 qmp.resume_ts > t_cont_rt ? (uint32_t)((qmp.resume_ts - t_cont_rt) * 1e6) : 0, 4);
    nvsec_put_le(ans + 20, qmp.resume_ts < 0 ? 0 : (uint64_t)(qmp.resume_ts * 1e6), 8);
    if (fd_write_all(fd, ans, sizeof(ans)) == 0) {
        dest_serve_clock(fd);
    }
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

/* us as ms into out, or "NA" for ANSWER_NO_TIME. */
static void ms_or_na(char *out, size_t cap, uint32_t us)
{
    if (us == ANSWER_NO_TIME) {
        snprintf(out, cap, "NA");
    } else {
        snprintf(out, cap, "%.2f", us / 1e3);
    }
}

/*
 * The VM's downtime as the paper takes it, from this QEMU's STOP to the
 * destination QEMU's RESUME (its time in ans), put on this host's clock by
 * CLOCK_EXCHANGES exchanges on the link (*sync). Into out as ms, or "NA" if
 * an event came without its time or no exchange went through.
 */
static void vm_downtime_ms(const struct qmp_conn *q, int pfd, const uint8_t *ans, char *out,
                           size_t cap, struct clocksync *sync)
{
    double resume = (double)nvsec_get_le(ans + 20, 8) / 1e6;

    clocksync_init(sync);
    for (int i = 0; i < CLOCK_EXCHANGES; i++) {
        uint8_t pong[16];
        double t1 = real_s();

        if (fd_write_all(pfd, "PING", 4) < 0 || fd_read_all(pfd, pong, sizeof(pong)) < 0) {
            break;
        }
        clocksync_add(sync, t1, (double)nvsec_get_le(pong, 8) / 1e6,
                      (double)nvsec_get_le(pong + 8, 8) / 1e6, real_s());
    }
    if (q->stop_ts < 0 || resume <= 0 || sync->n == 0) {
        snprintf(out, cap, "NA");
        return;
    }
    snprintf(out, cap, "%.2f", (resume - sync->offset - q->stop_ts) * 1e3);
}

static int cmd_source(const char *qmp_path, const char *tag, const char *to,
                      const char *peer, int shadow, const char *dump)
{
    static char reply[QMP_LINE_MAX];
    static struct qmp_conn qmp;
    char cmd[512], field[ULTRACALL_VMTAG_SIZE] = { 0 }, vm_ms[24], cont_resume[24], rtt[24];
    uint8_t hdr[4 + ULTRACALL_VMTAG_SIZE + 4], ans[ANSWER_SIZE];
    struct clocksync sync;
    int pfd;
    double t_start, t_done, t_save0, t_save1, t_back, total_ms, downtime_ms, setup_ms, ram_b,
        syncs, stop_b;
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
    open_qmp_with_events(&qmp, qmp_path);
    pfd = tcp_connect(peer);
    snprintf(cmd, sizeof(cmd),
             "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:%s\"}}\n", to);
    t_start = now_s();
    if (qmp_command(&qmp, cmd, reply, sizeof(reply)) < 0) {
        printf("migmgr: error migrate: %s", reply);
        return 1;
    }
    if (qmp_wait_migration(&qmp, MIGRATION_TIMEOUT_MS) < 0) {
        die("no end of the migration");
    }
    t_done = now_s();
    query_ended_migration(&qmp, reply, sizeof(reply));
    if (strcmp(qmp.migration, "completed")) {
        printf("migmgr: error migration %s: %s", qmp.migration, reply);
        return 1;
    }
    total_ms = qmp_json_number(reply, "total-time");
    downtime_ms = qmp_json_number(reply, "downtime");
    setup_ms = qmp_json_number(reply, "setup-time");
    ram_b = qmp_json_number(reply, "transferred");
    syncs = qmp_json_number(reply, "dirty-sync-count");
    stop_b = qmp_json_number(reply, "downtime-bytes");
    if (total_ms <= 0 || downtime_ms < 0) {
        /* QEMU stored no times within a second of its event. Kept for the record. */
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
    memcpy(hdr, PEER_MAGIC, 4);
    memcpy(hdr + 4, field, ULTRACALL_VMTAG_SIZE);
    nvsec_put_le(hdr + 4 + ULTRACALL_VMTAG_SIZE, (uint64_t)n, 4);
    if (fd_write_all(pfd, hdr, sizeof(hdr)) < 0 || fd_write_all(pfd, buf, (size_t)n) < 0 ||
        fd_read_all(pfd, ans, sizeof(ans)) < 0) {
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
    vm_downtime_ms(&qmp, pfd, ans, vm_ms, sizeof(vm_ms), &sync);
    ms_or_na(cont_resume, sizeof(cont_resume), (uint32_t)nvsec_get_le(ans + 16, 4));
    ms_or_na(rtt, sizeof(rtt), sync.n ? (uint32_t)(sync.rtt * 1e6) : ANSWER_NO_TIME);
    printf("migmgr: %s total_ms=%.1f qemu_total_ms=%.0f qemu_downtime_ms=%.0f save_us=%.0f "
           "restore_us=%u shadow_ms=%.2f bytes=%lld restore=%s qemu_setup_ms=%.0f ram_kib=%.0f "
           "dirty_syncs=%.0f stop_copy_kib=%.0f dest_wait_ms=%.2f cont_ms=%.2f query_ms=%.2f "
           "vm_downtime_ms=%s clock_rtt_ms=%s cont_resume_ms=%s\n",
           rc == 0 ? "ok" : "error", (t_back - t_start) * 1e3, total_ms, downtime_ms,
           (t_save1 - t_save0) * 1e6, (unsigned)nvsec_get_le(ans + 4, 4),
           (t_back - t_done) * 1e3, (long long)n, uc_l1_errname(rc), setup_ms, ram_b / 1024, syncs,
           stop_b / 1024, nvsec_get_le(ans + 8, 4) / 1e3, nvsec_get_le(ans + 12, 4) / 1e3,
           (t_save0 - t_done) * 1e3, vm_ms, rtt, cont_resume);
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
