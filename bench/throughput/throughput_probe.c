/*
 * Console throughput as the VSBypass paper measures it (fig. 11): the time from
 * running `cat FILE` on the user VM's console (the Enter key after the typed
 * command; see transfer_once) until the whole file has arrived at the
 * remote-management client, checked byte-exact (length and SHA-256).
 *
 * The user VM's tty is put in raw mode first, so the file's bytes cross the
 * console unchanged. Output: CSV rows "config,file_bytes,run,seconds,kib_per_s".
 * With --irq-csv FILE it also appends "config,file_bytes,run,com1_irqs,seconds"
 * rows there: the user VM's COM1 interrupts during each run, read from its
 * /proc/interrupts on the same console just before and after the run, less
 * what one such read costs (typed characters interrupt too), measured once
 * after login.
 */
#define _GNU_SOURCE
#include "../common/session.h"

#include <errno.h>
#include <getopt.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_TIMEOUT_MS 60000
#define CMD_TIMEOUT_MS 60000
/* The echo of the typed transfer command's end (its output never has it). */
#define TYPED_TAIL "%sEND' X"

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --config NAME --file PATH-IN-VM --bytes N --sha256 HEX --password-file F\n"
            "          [--runs N] [--first-run K] [--timeout-s S] [--irq-csv FILE] -- CLIENT-COMMAND...\n"
            "Prints 'config,file_bytes,run,seconds,kib_per_s' rows; exits 1 if a transfer\n"
            "is not byte-exact or does not finish in time.\n",
            prog);
    exit(2);
}

static int read_line_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");

    if (!f || !fgets(buf, (int)cap, f)) {
        fprintf(stderr, "throughput-probe: cannot read %s: %s\n", path, f ? "empty" : strerror(errno));
        if (f) {
            fclose(f);
        }
        return -EINVAL;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static void sha256_hex(const uint8_t *data, size_t len, char hex[2 * SHA256_DIGEST_SIZE + 1])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    int i;

    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, sizeof(digest), digest);
    for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
        sprintf(hex + 2 * i, "%02x", digest[i]);
    }
}

/*
 * The VM's COM1 (IRQ 4) interrupt count. The tty is raw and does not echo;
 * printf's %s still splits the marker from anything typed.
 */
static int read_com1_irqs(struct session *s, unsigned long long *count)
{
    static const char cmd[] =
        "awk '$1 == \"4:\" { printf \"NVSEC%sIRQ%s\\n\", \"X\", $2 }' /proc/interrupts\r";
    uint8_t digits[32];
    size_t n = 0;
    char *end;
    int r;

    r = session_send(s, cmd, strlen(cmd));
    if (r == 0) {
        r = session_expect(s, "NVSECXIRQ", CMD_TIMEOUT_MS, NULL, 0, NULL);
    }
    if (r == 0) {
        r = session_expect(s, "\n", CMD_TIMEOUT_MS, digits, sizeof(digits) - 1, &n);
    }
    if (r < 0) {
        fprintf(stderr, "throughput-probe: reading /proc/interrupts: %s\n", strerror(-r));
        return r;
    }
    digits[n] = '\0';
    errno = 0;
    *count = strtoull((char *)digits, &end, 10);
    if (errno || end == (char *)digits || (*end != '\0' && *end != '\r')) {
        fprintf(stderr, "throughput-probe: no IRQ 4 count in /proc/interrupts\n");
        return -EBADMSG;
    }
    return 0;
}

/* Two reads in a row: the interrupts one read itself causes. */
static int measure_read_cost(struct session *s, unsigned long long *cost)
{
    unsigned long long a, b;

    if (read_com1_irqs(s, &a) < 0 || read_com1_irqs(s, &b) < 0) {
        return -EIO;
    }
    *cost = b > a ? b - a : 0;
    fprintf(stderr, "throughput-probe: one /proc/interrupts read costs %llu COM1 interrupts\n", *cost);
    return 0;
}

/*
 * One timed transfer; returns 0 and the seconds, or a negative errno.
 *
 * The command is typed first and the clock starts at its Enter key, as the
 * paper times "from running the command" (papers/000 sec. 5.3). Typing is
 * not part of it: busybox ash's line editor echoes each typed character
 * itself even on a raw -echo tty, one write and so one UART interrupt per
 * character, and a 70-character line then costs 70 interrupt round trips,
 * which the latency probe already measures one at a time. The echo of the
 * line's last characters says the shell has taken all of it.
 */
static int transfer_once(struct session *s, const char *file, size_t bytes,
                         const char *want_sha, int timeout_ms, uint8_t *buf,
                         size_t cap, double *seconds)
{
    char cmd[512], hex[2 * SHA256_DIGEST_SIZE + 1];
    size_t got = 0;
    uint64_t t0;
    int r;

    /* printf's %s splits the markers in the echoed line from the output. */
    snprintf(cmd, sizeof(cmd), "printf 'NVSEC%%sBEGIN\\n' X; cat %s; printf 'NVSEC%%sEND' X", file);
    r = session_send(s, cmd, strlen(cmd));
    if (r == 0) {
        r = session_expect(s, TYPED_TAIL, timeout_ms, NULL, 0, NULL);
    }
    t0 = session_now_ns();
    if (r == 0) {
        r = session_send(s, "\r", 1);
    }
    if (r == 0) {
        r = session_expect(s, "NVSECXBEGIN\n", timeout_ms, NULL, 0, NULL);
    }
    if (r == 0) {
        r = session_expect(s, "NVSECXEND", timeout_ms, buf, cap, &got);
    }
    *seconds = (double)(session_now_ns() - t0) / 1e9;
    if (r < 0) {
        fprintf(stderr, "throughput-probe: cat %s: %s (after %zu bytes)\n", file, strerror(-r), got);
        return r;
    }
    if (got != bytes) {
        fprintf(stderr, "throughput-probe: cat %s: %zu bytes arrived, expected %zu\n", file, got, bytes);
        return -EBADMSG;
    }
    sha256_hex(buf, got, hex);
    if (strcmp(hex, want_sha) != 0) {
        fprintf(stderr, "throughput-probe: cat %s: sha256 %s, expected %s\n", file, hex, want_sha);
        return -EBADMSG;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "file", required_argument, NULL, 'f' },
        { "bytes", required_argument, NULL, 'b' },
        { "sha256", required_argument, NULL, 's' },
        { "runs", required_argument, NULL, 'n' },
        { "first-run", required_argument, NULL, 'k' },
        { "timeout-s", required_argument, NULL, 't' },
        { "password-file", required_argument, NULL, 'p' },
        { "irq-csv", required_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *file = NULL, *sha = NULL, *pwfile = NULL;
    const char *irq_path = NULL;
    unsigned long long read_cost = 0;
    FILE *irq_csv = NULL;
    long bytes = -1;
    int runs = 10, first = 0, timeout_s = 600, opt, i, rc = 1;
    char password[256];
    struct session s;
    uint8_t *buf;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'f': file = optarg; break;
        case 'b': bytes = atol(optarg); break;
        case 's': sha = optarg; break;
        case 'n': runs = atoi(optarg); break;
        case 'k': first = atoi(optarg); break;
        case 't': timeout_s = atoi(optarg); break;
        case 'p': pwfile = optarg; break;
        case 'i': irq_path = optarg; break;
        default: usage(argv[0]);
        }
    }
    if (!config || !file || bytes < 0 || !sha || strlen(sha) != 64 || !pwfile ||
        runs <= 0 || timeout_s <= 0 || optind >= argc) {
        usage(argv[0]);
    }
    if (read_line_file(pwfile, password, sizeof(password)) < 0) {
        return 1;
    }
    if (irq_path && !(irq_csv = fopen(irq_path, "a"))) {
        fprintf(stderr, "throughput-probe: %s: %s\n", irq_path, strerror(errno));
        return 1;
    }
    buf = malloc((size_t)bytes + 1);
    if (!buf) {
        fprintf(stderr, "throughput-probe: out of memory for %ld bytes\n", bytes);
        return 1;
    }
    if (session_spawn(&s, &argv[optind]) < 0) {
        free(buf);
        return 1;
    }
    if (session_login(&s, "root", password, LOGIN_TIMEOUT_MS) < 0 ||
        session_run(&s, "stty raw -echo", CMD_TIMEOUT_MS) < 0) {
        goto out;
    }
    if (irq_csv && measure_read_cost(&s, &read_cost) < 0) {
        goto out;
    }
    for (i = 0; i < runs; i++) {
        unsigned long long irq0 = 0, irq1 = 0;
        double sec;

        if (irq_csv && read_com1_irqs(&s, &irq0) < 0) {
            goto out;
        }
        if (transfer_once(&s, file, (size_t)bytes, sha, timeout_s * 1000, buf,
                          (size_t)bytes + 1, &sec) < 0) {
            goto out;
        }
        if (irq_csv) {
            if (read_com1_irqs(&s, &irq1) < 0) {
                goto out;
            }
            fprintf(irq_csv, "%s,%ld,%d,%llu,%.6f\n", config, bytes, first + i,
                    irq1 - irq0 > read_cost ? irq1 - irq0 - read_cost : 0, sec);
            fflush(irq_csv);
        }
        printf("%s,%ld,%d,%.6f,%.3f\n", config, bytes, first + i, sec,
               (double)bytes / 1024.0 / sec);
        fflush(stdout);
    }
    rc = 0;
out:
    session_run(&s, "stty sane", CMD_TIMEOUT_MS);
    session_close(&s);
    free(buf);
    if (irq_csv) {
        fclose(irq_csv);
    }
    return rc;
}
