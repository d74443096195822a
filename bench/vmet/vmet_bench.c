/*
 * vmet-bench: the IDS workload of papers/001 sec. 4 (fig. 5): obtain the
 * information of every process of a user VM (as ps aux does: the task list,
 * each process's fields and its command line), RUNS times, each from a cold
 * translation cache, timed. The same code runs in every configuration; only
 * the backend differs (struct vmet_config: L0 nested, L0 non-nested, in L1).
 *
 *   vmet-bench [CLI OPTIONS] -c CONFIG [-a SOCKET] [-r RUNS] [-w WARMUP] VMNAME
 *
 * -a SOCKET: also the non-nested VM of the L0 at SOCKET, alternating (see
 * main). Prints one CSV line per timed run and configuration:
 * CONFIG,RUN,NPROCS,MS (no header). The
 * result is checked inside the timed loop: every run must see the same
 * number of processes as the first, with init as pid 1; else exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmet_cli.h"

#define CMDLINE_MAX 4096

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One IDS pass: the process list and every command line. Returns the count or -1. */
static long ids_pass(vmet_t *h)
{
    struct vmet_process *procs;
    char cmd[CMDLINE_MAX];
    size_t n, len;
    long count;

    vmet_drop_cache(h);
    if (vmet_cli_processes(h, &procs, &n) != VMET_OK) {
        return -1;
    }
    count = (long)n;
    for (size_t i = 0; i < n; i++) {
        if (vmet_process_cmdline(h, &procs[i], cmd, sizeof(cmd), &len) != VMET_OK) {
            count = -1;
        }
    }
    if (n == 0 || procs[0].pid != 1) {
        count = -1;
    }
    free(procs);
    return count;
}

/*
 * Where a run's time goes, on stderr (the CSV stays as it is): the reads,
 * cache hits and misses and root queries of one run, and the median time of
 * the root query alone (a round trip to L0's endpoint, or to L1's KVM).
 */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report_costs(vmet_t *h, const char *config, const struct vmet_counters *c0,
                         int runs)
{
    struct vmet_counters c1;
    double us[21];
    int n = (int)(sizeof(us) / sizeof(us[0]));

    if (vmet_get_counters(h, &c1) != VMET_OK) {
        return;
    }
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();

        vmet_refresh(h);
        us[i] = (now_ms() - t0) * 1e3;
    }
    qsort(us, (size_t)n, sizeof(us[0]), cmp_double);
    fprintf(stderr, "vmet-bench: %s: per run %.0f reads, %.0f cache hits, %.0f misses, "
            "%.1f root queries; one root query %.1f us (median of %d)\n", config,
            (double)(c1.phys_reads - c0->phys_reads) / runs,
            (double)(c1.cache_hits - c0->cache_hits) / runs,
            (double)(c1.cache_misses - c0->cache_misses) / runs,
            (double)(c1.refreshes - c0->refreshes) / runs, us[n / 2], n);
}

static void usage(void)
{
    fprintf(stderr, "usage: vmet-bench " VMET_CLI_USAGE
            " -c CONFIG [-a SOCKET] [-r RUNS] [-w WARMUP] VMNAME\n");
    exit(2);
}

/* One configuration measured by this process: its handle and what it saw. */
struct side {
    const char *config;
    vmet_t *h;
    long first;                   /* processes in the first listing */
    struct vmet_counters c0;      /* counters when the timed runs began */
};

/* One listing of s, timed; printed as run RUN if RUN >= 0. Returns 0, or 1 on failure. */
static int timed_pass(struct side *s, int run)
{
    double t0 = now_ms(), ms;
    long n = ids_pass(s->h);

    ms = now_ms() - t0;
    if (n < 0 || (s->first >= 0 && n != s->first)) {
        fprintf(stderr, "vmet-bench: %s run %d: %ld processes (first run: %ld)\n",
                s->config, run, n, s->first);
        return 1;
    }
    s->first = n;
    if (run >= 0) {
        printf("%s,%d,%ld,%.3f\n", s->config, run, n, ms);
    }
    return 0;
}

/*
 * With -a SOCKET the same process also lists the non-nested VM that the L0
 * at SOCKET serves (config "nonnested"), alternating with CONFIG listing by
 * listing, the order swapped each run: both sides share the process, its
 * caches and the machine's moment, which single-configuration processes do
 * not (on a 2-core VM the same listing's time moved by 1.6x from one
 * process to the next).
 */
int main(int argc, char **argv)
{
    struct vmet_config cfg, alt;
    struct side sides[2] = { { .first = -1 }, { .config = "nonnested", .first = -1 } };
    const char *alt_socket = NULL;
    int opt, runs = 10, warmup = 2, nsides = 1, rc = 0;

    vmet_cli_defaults(&cfg);
    while ((opt = getopt(argc, argv, VMET_CLI_OPTS "a:c:r:w:")) != -1) {
        if (opt == 'a') {
            alt_socket = optarg;
        } else if (opt == 'c') {
            sides[0].config = optarg;
        } else if (opt == 'r') {
            runs = atoi(optarg);
        } else if (opt == 'w') {
            warmup = atoi(optarg);
        } else if (vmet_cli_option(&cfg, opt, optarg) < 0) {
            usage();
        }
    }
    if (!sides[0].config || runs < 1 || warmup < 0 || optind != argc - 1 ||
        (alt_socket && cfg.backend != VMET_BACKEND_L0_NESTED)) {
        usage();
    }
    cfg.vm_name = argv[optind];
    if (vmet_cli_open("vmet-bench", &cfg, &sides[0].h) != VMET_OK) {
        return 1;
    }
    if (alt_socket) {
        alt = cfg;
        alt.backend = VMET_BACKEND_L0_NONNESTED;
        alt.socket_path = alt_socket;
        alt.mem_path = NULL;
        if (vmet_cli_open("vmet-bench", &alt, &sides[1].h) != VMET_OK) {
            vmet_destroy(sides[0].h);
            return 1;
        }
        nsides = 2;
    }
    for (int run = -warmup; run < runs && rc == 0; run++) {
        for (int k = 0; k < nsides && rc == 0; k++) {
            struct side *s = &sides[(k + (run & 1)) % nsides];

            if (run == 0) {
                vmet_get_counters(s->h, &s->c0);   /* the timed runs' costs start here */
            }
            rc = timed_pass(s, run);
        }
    }
    for (int k = 0; k < nsides; k++) {
        if (rc == 0) {
            report_costs(sides[k].h, sides[k].config, &sides[k].c0, runs);
        }
        vmet_destroy(sides[k].h);
    }
    return rc;
}
