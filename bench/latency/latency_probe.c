/*
 * Response time of out-of-band remote management, as the VSBypass paper
 * measures it (fig. 10): the time from a character typed at the client until
 * that character, echoed by the user VM, appears at the client.
 *
 * The client is the remote-management command (ssh ... vmN@127.0.0.1) given
 * after "--". The probe logs in, runs `cat >/dev/null` so the echo comes from
 * the user VM's tty line discipline, and types one character at a time,
 * waiting for each echo before the next (no pipelining). The first --warmup
 * samples are dropped. Output: CSV rows "config,run,sample,us" on stdout.
 */
#define _GNU_SOURCE
#include "../common/session.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ECHO_TIMEOUT_MS 20000
#define LOGIN_TIMEOUT_MS 60000
#define CHARS_PER_LINE 64

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --config NAME --run N --password-file F [--samples N] [--warmup N]\n"
            "          -- CLIENT-COMMAND...\n"
            "Types one character at a time on the user VM's console through CLIENT-COMMAND\n"
            "and prints 'config,run,sample,us' rows (microseconds until the echo arrived).\n",
            prog);
    exit(2);
}

static int read_password(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "latency-probe: cannot read password file %s: %s\n", path, strerror(errno));
        return -errno;
    }
    if (!fgets(buf, (int)cap, f)) {
        fclose(f);
        fprintf(stderr, "latency-probe: password file %s is empty\n", path);
        return -EINVAL;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

/* One timed keystroke; returns microseconds or a negative errno. */
static long sample_once(struct session *s)
{
    uint64_t t0 = session_now_ns();
    int r = session_send(s, "x", 1);

    if (r == 0) {
        r = session_expect(s, "x", ECHO_TIMEOUT_MS, NULL, 0, NULL);
    }
    if (r < 0) {
        return r;
    }
    return (long)((session_now_ns() - t0) / 1000);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "run", required_argument, NULL, 'r' },
        { "samples", required_argument, NULL, 'n' },
        { "warmup", required_argument, NULL, 'w' },
        { "password-file", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    static const char start_cat[] = "cat >/dev/null; echo NVSEC\"\"CAT\r";
    const char *config = NULL, *pwfile = NULL;
    int run = -1, samples = 200, warmup = 20, opt, i, rc = 1;
    char password[256];
    struct session s;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'r': run = atoi(optarg); break;
        case 'n': samples = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 'p': pwfile = optarg; break;
        default: usage(argv[0]);
        }
    }
    if (!config || run < 0 || !pwfile || samples <= 0 || warmup < 0 || optind >= argc) {
        usage(argv[0]);
    }
    if (read_password(pwfile, password, sizeof(password)) < 0) {
        return 1;
    }
    if (session_spawn(&s, &argv[optind]) < 0) {
        return 1;
    }
    if (session_login(&s, "root", password, LOGIN_TIMEOUT_MS) < 0 ||
        session_run(&s, "stty sane", LOGIN_TIMEOUT_MS) < 0) {
        goto out;
    }
    /* Echo of the typed line ends the shell's part; then cat owns the tty. */
    if (session_send(&s, start_cat, strlen(start_cat)) < 0 ||
        session_expect(&s, "\"\"CAT\r\n", LOGIN_TIMEOUT_MS, NULL, 0, NULL) < 0) {
        fprintf(stderr, "latency-probe: could not start cat on the console\n");
        goto out;
    }
    usleep(500000);
    for (i = 0; i < warmup + samples; i++) {
        long us = sample_once(&s);

        if (us < 0) {
            fprintf(stderr, "latency-probe: %s: sample %d: no echo: %s\n", config, i, strerror((int)-us));
            goto out;
        }
        if (i >= warmup) {
            printf("%s,%d,%d,%ld\n", config, run, i - warmup, us);
        }
        if ((i + 1) % CHARS_PER_LINE == 0 &&
            (session_send(&s, "\r", 1) < 0 ||
             session_expect(&s, "\n", ECHO_TIMEOUT_MS, NULL, 0, NULL) < 0)) {
            fprintf(stderr, "latency-probe: %s: newline not echoed\n", config);
            goto out;
        }
    }
    fflush(stdout);
    /* ^D ends cat; the marker confirms the console is back at the shell. */
    if (session_send(&s, "\r\x04", 2) < 0 ||
        session_expect(&s, "NVSECCAT", ECHO_TIMEOUT_MS, NULL, 0, NULL) < 0) {
        fprintf(stderr, "latency-probe: %s: cat did not end\n", config);
        goto out;
    }
    rc = 0;
out:
    session_close(&s);
    return rc;
}
