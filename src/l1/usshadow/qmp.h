/*
 * A QMP client for the migration manager: commands, their replies, and
 * the MIGRATION, STOP and RESUME events of L1's QEMU, with their timestamps.
 *
 * The manager waits for QEMU's MIGRATION event instead of polling
 * query-migrate: in a one-vCPU L1 every poll is QEMU main-loop and system
 * call work on the same CPU as the migration it drives. QEMU's lines are
 * read through a buffer, not a read() per byte, for the same reason.
 */
#ifndef NVSEC_L1_QMP_H
#define NVSEC_L1_QMP_H

#include <stddef.h>

#define QMP_LINE_MAX 65536
#define QMP_STATUS_MAX 24

struct qmp_conn {
    int fd;
    size_t len;                         /* bytes in buf not yet taken */
    char buf[QMP_LINE_MAX];
    char migration[QMP_STATUS_MAX];     /* the last MIGRATION event's status, or "" */
    double stop_ts, resume_ts;          /* the last STOP and RESUME events' timestamps, or -1 */
};

/*
 * Pure parts (tests/unit/test_l1_qmp.c).
 * qmp_take_line: move the first whole line (with its '\n') out of q->buf
 * into line as a string: 1 done, 0 no whole line yet, -1 it cannot fit in
 * cap (or q->buf is full without one): the stream is unusable.
 */
int qmp_take_line(struct qmp_conn *q, char *line, size_t cap);
/* Whether line is a MIGRATION event: 1 with its status in status, else 0. */
int qmp_migration_event(const char *line, char *status, size_t cap);
/* The number after "key": in a QMP line, or -1 if the key is not there. */
double qmp_json_number(const char *line, const char *key);
/* completed, failed or cancelled: the migration will not move on. */
int qmp_migration_over(const char *status);
/* Whether line is an event: 1 with its name in name, else 0. */
int qmp_event_name(const char *line, char *name, size_t cap);
/* An event's timestamp (QEMU's g_get_real_time: CLOCK_REALTIME, s), or -1. */
double qmp_event_time(const char *line);
/* Note what q's user waits on from line: the MIGRATION status, STOP, RESUME. */
void qmp_note_event(struct qmp_conn *q, const char *line);

/*
 * I/O. Each returns 0 or -1 (errno says why; ETIMEDOUT for a timeout,
 * EPROTO for an "error" reply, which is still in reply).
 * qmp_connect waits up to 60 s for QEMU's socket (the manager may start
 * with QEMU) and negotiates capabilities. qmp_command sends json and reads
 * its reply, noting events on the way. qmp_wait_migration reads until a
 * MIGRATION event says the migration is over, at most timeout_ms.
 */
int qmp_connect(struct qmp_conn *q, const char *path);
int qmp_command(struct qmp_conn *q, const char *json, char *reply, size_t cap);
int qmp_wait_migration(struct qmp_conn *q, int timeout_ms);

#endif
