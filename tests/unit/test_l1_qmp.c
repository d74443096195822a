/* sources: src/l1/usshadow/qmp.c src/l1/usshadow/fdio.c */
/*
 * The migration manager's QMP client: lines out of its buffer, MIGRATION
 * events told from replies and from other events, and, over a socketpair
 * standing in for QEMU, commands whose replies come after events and a
 * wait that ends on "completed" or on its timeout; the STOP and RESUME
 * events that time the VM's downtime, and QEMU's event timestamps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/l1/usshadow/qmp.h"
#include "unit.h"

static struct qmp_conn q;
static char line[QMP_LINE_MAX];

static void fill(const char *s)
{
    q.len = strlen(s);
    memcpy(q.buf, s, q.len);
}

static void test_take_line(void)
{
    char small[8];

    fill("{\"a\": 1}\n{\"b\"");
    unit_check("take_line_first", qmp_take_line(&q, line, sizeof(line)) == 1 &&
               !strcmp(line, "{\"a\": 1}\n") && q.len == 4 && !memcmp(q.buf, "{\"b\"", 4),
               "line '%s', %zu left", line, q.len);
    unit_check("take_line_partial_waits", qmp_take_line(&q, line, sizeof(line)) == 0 && q.len == 4,
               "a line without its end was taken");
    fill("0123456789\n");
    unit_check("take_line_too_long_for_cap", qmp_take_line(&q, small, sizeof(small)) == -1,
               "an 11-byte line fit in 8");
    memset(q.buf, 'x', sizeof(q.buf));
    q.len = sizeof(q.buf);
    unit_check("take_line_full_buffer_without_end", qmp_take_line(&q, line, sizeof(line)) == -1,
               "a full buffer with no newline was not an error");
    q.len = 0;
}

static void test_migration_event(void)
{
    char st[QMP_STATUS_MAX];
    char longer[256];

    unit_check("event_completed",
               qmp_migration_event("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
                                   "\"event\": \"MIGRATION\", \"data\": {\"status\": "
                                   "\"completed\"}}\n", st, sizeof(st)) == 1 &&
               !strcmp(st, "completed"), "status '%s'", st);
    unit_check("event_pass_is_not_migration",
               qmp_migration_event("{\"event\": \"MIGRATION_PASS\", \"data\": {\"pass\": 2}}\n",
                                   st, sizeof(st)) == 0, "MIGRATION_PASS taken");
    unit_check("event_stop_is_not_migration",
               qmp_migration_event("{\"event\": \"STOP\"}\n", st, sizeof(st)) == 0, "STOP taken");
    unit_check("reply_is_not_event",
               qmp_migration_event("{\"return\": {\"status\": \"completed\"}}\n", st, sizeof(st)) == 0,
               "a query-migrate reply taken for an event");
    unit_check("event_without_status",
               qmp_migration_event("{\"event\": \"MIGRATION\", \"data\": {}}\n", st, sizeof(st)) == 0,
               "no status, yet taken");
    unit_check("event_unterminated_status",
               qmp_migration_event("{\"event\": \"MIGRATION\", \"data\": {\"status\": \"comp",
                                   st, sizeof(st)) == 0, "a cut status taken");
    snprintf(longer, sizeof(longer), "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"%0*d\"}}",
             QMP_STATUS_MAX, 0);
    unit_check("event_status_too_long", qmp_migration_event(longer, st, sizeof(st)) == 0,
               "a status longer than its field taken");
}

static void test_numbers_and_states(void)
{
    const char *r = "{\"return\": {\"status\": \"completed\", \"setup-time\": 12, "
                    "\"downtime\": 81, \"total-time\": 12964, \"ram\": {\"mbps\": 95.5}}}\n";

    unit_check("number_total_time", qmp_json_number(r, "total-time") == 12964, "wrong total-time");
    unit_check("number_fraction", qmp_json_number(r, "mbps") == 95.5, "wrong mbps");
    unit_check("number_missing_key", qmp_json_number(r, "dirty-sync-count") == -1,
               "a missing key gave a number");
    unit_check("over_states", qmp_migration_over("completed") && qmp_migration_over("failed") &&
               qmp_migration_over("cancelled") && !qmp_migration_over("active") &&
               !qmp_migration_over("setup") && !qmp_migration_over(""), "wrong terminal states");
}

static void test_events_noted(void)
{
    char name[32];

    unit_check("event_name_stop", qmp_event_name("{\"timestamp\": {\"seconds\": 5, "
                                                 "\"microseconds\": 7}, \"event\": \"STOP\"}\n",
                                                 name, sizeof(name)) == 1 && !strcmp(name, "STOP"),
               "name '%s'", name);
    unit_check("event_name_reply_is_none",
               qmp_event_name("{\"return\": {\"status\": \"running\"}}\n", name, sizeof(name)) == 0,
               "a reply named as an event");
    unit_check("event_time", qmp_event_time("{\"timestamp\": {\"seconds\": 1700000000, "
                                            "\"microseconds\": 250000}, \"event\": \"STOP\"}")
                                 == 1700000000.25, "wrong time");
    unit_check("event_time_missing", qmp_event_time("{\"event\": \"STOP\"}") == -1 &&
               qmp_event_time("{\"timestamp\": {\"seconds\": 3}, \"event\": \"STOP\"}") == -1,
               "a time without its parts");
    memset(&q, 0, sizeof(q));
    q.stop_ts = q.resume_ts = -1;
    qmp_note_event(&q, "{\"timestamp\": {\"seconds\": 9, \"microseconds\": 500000}, "
                       "\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}}\n");
    qmp_note_event(&q, "{\"timestamp\": {\"seconds\": 8, \"microseconds\": 1}, "
                       "\"event\": \"STOP\"}\n");
    qmp_note_event(&q, "{\"timestamp\": {\"seconds\": 10, \"microseconds\": 2}, "
                       "\"event\": \"RESUME\"}\n");
    qmp_note_event(&q, "{\"timestamp\": {\"seconds\": 11, \"microseconds\": 0}, "
                       "\"event\": \"STOPPED_ELSEWHERE\"}\n");
    qmp_note_event(&q, "{\"return\": {\"event\": 1}}\n");
    unit_check("note_event_times", !strcmp(q.migration, "completed") &&
               q.stop_ts == 8.000001 && q.resume_ts == 10.000002,
               "status '%s' stop %f resume %f", q.migration, q.stop_ts, q.resume_ts);
    q.migration[0] = '\0';
}

static void say(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
        perror("write");
        exit(2);
    }
}

static void test_over_socket(void)
{
    int sv[2];
    char got[256];
    int rc;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("socketpair");
        exit(2);
    }
    q.fd = sv[0];
    q.len = 0;
    q.migration[0] = '\0';
    /* QEMU's events may come before the reply to the command that caused them. */
    say(sv[1], "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"setup\"}}\n"
               "{\"return\": {}}\n");
    rc = qmp_command(&q, "{\"execute\":\"migrate\"}\n", line, sizeof(line));
    unit_check("command_reply_after_event", rc == 0 && !strcmp(line, "{\"return\": {}}\n") &&
               !strcmp(q.migration, "setup"), "rc %d reply '%s' status '%s'", rc, line, q.migration);
    rc = (int)read(sv[1], got, sizeof(got) - 1);
    got[rc > 0 ? rc : 0] = '\0';
    unit_check("command_sent", !strcmp(got, "{\"execute\":\"migrate\"}\n"), "QEMU got '%s'", got);
    say(sv[1], "{\"error\": {\"class\": \"GenericError\"}}\n");
    errno = 0;
    unit_check("command_error_reply",
               qmp_command(&q, "{}\n", line, sizeof(line)) == -1 && errno == EPROTO &&
               strstr(line, "GenericError"), "errno %d reply '%s'", errno, line);
    (void)read(sv[1], got, sizeof(got));
    errno = 0;
    unit_check("wait_times_out", qmp_wait_migration(&q, 50) == -1 && errno == ETIMEDOUT,
               "errno %d", errno);
    /* The event in two writes, with an unrelated event first. */
    say(sv[1], "{\"event\": \"STOP\"}\n{\"event\": \"MIGRATION\", \"data\": {\"status\": \"comp");
    say(sv[1], "leted\"}}\n");
    rc = qmp_wait_migration(&q, 5000);
    unit_check("wait_ends_on_completed", rc == 0 && !strcmp(q.migration, "completed"),
               "rc %d status '%s'", rc, q.migration);
    close(sv[1]);
    q.migration[0] = '\0';
    errno = 0;
    unit_check("wait_qemu_gone", qmp_wait_migration(&q, 5000) == -1 && errno == ECONNRESET,
               "errno %d", errno);
    close(sv[0]);
}

int main(void)
{
    test_take_line();
    test_migration_event();
    test_numbers_and_states();
    test_events_noted();
    test_over_socket();
    return unit_exit();
}
