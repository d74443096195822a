/*
 * A console session for the benchmark probes: runs the remote-management
 * client (the ssh command a `scripts/stack start` ready line prints) on a
 * pseudo-terminal, as a person's terminal would, and reads what arrives.
 *
 * Every function returns 0 on success or a negative errno:
 *   -ETIMEDOUT  the awaited bytes did not arrive in time
 *   -EPIPE      the client exited or closed the terminal
 *   -EIO        a read or write on the terminal failed
 * The caller owns struct session; session_close() always reaps the child.
 */
#ifndef NVSEC_BENCH_SESSION_H
#define NVSEC_BENCH_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SESSION_BUF 65536

struct session {
    int fd;                    /* master side of the client's terminal */
    pid_t pid;                 /* the client (ssh) */
    size_t len;                /* bytes read but not yet consumed */
    uint8_t buf[SESSION_BUF];
};

/* Start argv[0] with argv on a new pseudo-terminal. */
int session_spawn(struct session *s, char *const argv[]);

/* Write all of buf. */
int session_send(struct session *s, const void *buf, size_t len);

/*
 * Read until `needle` has arrived, at most timeout_ms. Bytes before and
 * including the needle are consumed. If out is not NULL, up to out_cap bytes
 * that arrived before the needle are stored there and *out_len says how many
 * (more than out_cap arriving is -ENOBUFS, after consuming through the needle).
 */
int session_expect(struct session *s, const char *needle, int timeout_ms,
                   uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Bring the console to a root shell prompt: answer a `login:` prompt with
 * user/password, or accept a shell that is already logged in.
 */
int session_login(struct session *s, const char *user, const char *password,
                  int timeout_ms);

/* Run a shell command and wait for it to finish (marker-delimited). */
int session_run(struct session *s, const char *command, int timeout_ms);

/* End the client: SIGTERM, then SIGKILL after 2 s; always reaps it. */
void session_close(struct session *s);

/* Monotonic clock in nanoseconds. */
uint64_t session_now_ns(void);

#endif
