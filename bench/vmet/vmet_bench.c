/*
 * vmet-bench: the IDS workload of papers/001 sec. 4 (fig. 5): obtain the
 * information of every process of a user VM (as ps aux does: the task list,
 * each process's fields and its command line), RUNS times, each from a cold
 * translation cache, timed. The same code runs in every configuration; only
 * the backend differs (struct vmet_config: L0 nested, L0 non-nested, in L1).
 *
 *   vmet-bench [CLI OPTIONS] -c CONFIG [-r RUNS] [-w WARMUP] VMNAME
 *
 * Prints one CSV line per timed run: CONFIG,RUN,NPROCS,MS (no header). The
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
    fprintf(stderr, "usage: vmet-bench " VMET_CLI_USAGE " -c CONFIG [-r RUNS] [-w WARMUP] VMNAME\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct vmet_config cfg;
    const char *config = NULL;
    int opt, runs = 10, warmup = 2;
    long first = -1;
    struct vmet_counters c0 = { 0 };
    vmet_t *h;

    vmet_cli_defaults(&cfg);
    while ((opt = getopt(argc, argv, VMET_CLI_OPTS "c:r:w:")) != -1) {
        if (opt == 'c') {
            config = optarg;
        } else if (opt == 'r') {
            runs = atoi(optarg);
        } else if (opt == 'w') {
            warmup = atoi(optarg);
        } else if (vmet_cli_option(&cfg, opt, optarg) < 0) {
            usage();
        }
    }
    if (!config || runs < 1 || warmup < 0 || optind != argc - 1) {
        usage();
    }
    cfg.vm_name = argv[optind];
    if (vmet_cli_open("vmet-bench", &cfg, &h) != VMET_OK) {
        return 1;
    }
    for (int run = -warmup; run < runs; run++) {
        double t0, ms;
        long n;

        if (run == 0) {
            vmet_get_counters(h, &c0);   /* the timed runs' costs start here */
        }
        t0 = now_ms();
        n = ids_pass(h);
        ms = now_ms() - t0;
        if (n < 0 || (first >= 0 && n != first)) {
            fprintf(stderr, "vmet-bench: %s run %d: %ld processes (first run: %ld)\n",
                    config, run, n, first);
            vmet_destroy(h);
            return 1;
        }
        first = n;
        if (run >= 0) {
            printf("%s,%d,%ld,%.3f\n", config, run, n, ms);
        }
    }
    report_costs(h, config, &c0, runs);
    vmet_destroy(h);
    return 0;
}
