/*
 * cpu-sampler: CPU use of one host process and one of its threads, sampled
 * every INTERVAL_MS from /proc (sysstat's pidstat cannot sample faster than
 * once a second; the issue asks for 100 ms), for the migration benchmark's
 * CPU figures (papers/002 figs. 9-11).
 *
 *   cpu-sampler INTERVAL_MS PID TID     until PID exits or SIGTERM
 *
 * Output lines: "T_S PROC_PCT THREAD_PCT", T_S seconds since start, the
 * percentages of one CPU over the last interval (PROC: every thread of PID;
 * THREAD: TID alone, e.g. L0's vCPU thread that runs L1).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* utime + stime (fields 14, 15) of a /proc stat file, in clock ticks; -1 if gone. */
static long long ticks(const char *path)
{
    char buf[1024], *p;
    unsigned long long ut, st;
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');              /* the command name may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                     &ut, &st) != 2) {
        return -1;
    }
    return (long long)(ut + st);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char ppath[64], tpath[96];
    double hz = (double)sysconf(_SC_CLK_TCK), t0, tprev;
    long long p0, q0;
    struct timespec iv;

    if (argc != 4) {
        fprintf(stderr, "usage: cpu-sampler INTERVAL_MS PID TID\n");
        return 2;
    }
    iv.tv_sec = atoi(argv[1]) / 1000;
    iv.tv_nsec = (atoi(argv[1]) % 1000) * 1000000L;
    snprintf(ppath, sizeof(ppath), "/proc/%s/stat", argv[2]);
    snprintf(tpath, sizeof(tpath), "/proc/%s/task/%s/stat", argv[2], argv[3]);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    setvbuf(stdout, NULL, _IOLBF, 0);
    p0 = ticks(ppath);
    q0 = ticks(tpath);
    t0 = tprev = now_s();
    while (!stop && p0 >= 0) {
        nanosleep(&iv, NULL);
        long long p1 = ticks(ppath), q1 = ticks(tpath);
        double t = now_s();

        if (p1 < 0) {
            break;
        }
        printf("%.2f %.1f %.1f\n", t - t0, 100.0 * (p1 - p0) / hz / (t - tprev),
               q1 >= 0 && q0 >= 0 ? 100.0 * (q1 - q0) / hz / (t - tprev) : 0.0);
        p0 = p1;
        q0 = q1;
        tprev = t;
    }
    return 0;
}
