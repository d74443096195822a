/*
 * memcrypt-map-probe: the cost for L1 to map and unmap one page of a user
 * VM's memory (papers/003 sec. 5.1, fig. 4(a)), run inside L1 by
 * bench/memcrypt/run.
 *
 * The paper's probe maps one domU page into a dom0 process with
 * xc_map_foreign_range() and unmaps it, 100 000 times. A KVM L1 reaches a
 * user VM's memory through the VM's QEMU process, where the VM's RAM is an
 * anonymous mapping; a process of L1 maps one page of it into L1's kernel
 * and copies it out by pread() on /proc/PID/mem (access_remote_vm():
 * get_user_pages, kmap, copy, kunmap, put_page), which is the "map, read,
 * unmap" of one page. Each iteration takes the next page, so every map is
 * the first L1 touch of a page since the VM last used it: under VMCrypt's
 * aes mode each iteration pays one page encryption (the paper's map), and
 * the matching decryption falls on the VM's next touch of the page, outside
 * this probe (see PAPER.md).
 *
 * Correctness is checked inside the timed loop: each page read is searched
 * for the fill pattern the VM wrote (bench/memcrypt/run fills the VM's
 * memory with it first). The count of pages that show it is printed:
 * nonzero under off and noop (L1 sees plaintext), zero under aes.
 *
 *   memcrypt-map-probe -p PID [-n PAGES] [-o FIRST] [-c MODE] [-r RUN] [-P PATTERN]
 *
 * Prints one CSV line "MODE,RUN,us_per_op" on stdout and one line
 * "pages=N plain=N first=N" on stderr. Exit status 0, or 1 with a message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
/* Every page of the fill holds the pattern within its first bytes: the fill
 * is the pattern line repeated, and a line is shorter than this window. */
#define WINDOW 64u

static void usage(void)
{
    fprintf(stderr, "usage: memcrypt-map-probe -p PID [-n PAGES] [-o FIRST] [-c MODE] "
                    "[-r RUN] [-P PATTERN]\n");
    exit(2);
}

/* The VM's RAM: the largest private anonymous read-write mapping of QEMU. */
static int find_ram(long pid, uint64_t *start, uint64_t *len)
{
    char path[64], line[512];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
    f = fopen(path, "r");
    if (!f) {
        return -errno;
    }
    *len = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long s, e, off;
        char perms[8];
        int name = 0;

        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &name) < 4) {
            continue;
        }
        if (strcmp(perms, "rw-p") != 0 || (name && line[name] != '\0' && line[name] != '\n')) {
            continue;
        }
        if (e - s > *len) {
            *start = s;
            *len = e - s;
        }
    }
    fclose(f);
    return *len ? 0 : -ENOENT;
}

int main(int argc, char **argv)
{
    long pid = 0, run = 1;
    uint64_t pages = 100000, first = 0, start = 0, len = 0, plain = 0;
    const char *mode = "unknown", *pattern = "NVSECFILL";
    static uint8_t buf[PAGE];
    struct timespec t0, t1;
    char path[64];
    double us;
    int fd, opt, rc;

    while ((opt = getopt(argc, argv, "p:n:o:c:r:P:")) != -1) {
        switch (opt) {
        case 'p': pid = strtol(optarg, NULL, 10); break;
        case 'n': pages = strtoull(optarg, NULL, 10); break;
        case 'o': first = strtoull(optarg, NULL, 10); break;
        case 'c': mode = optarg; break;
        case 'r': run = strtol(optarg, NULL, 10); break;
        case 'P': pattern = optarg; break;
        default: usage();
        }
    }
    if (pid <= 0 || pages == 0 || strlen(pattern) >= WINDOW / 2) {
        usage();
    }
    rc = find_ram(pid, &start, &len);
    if (rc < 0) {
        fprintf(stderr, "memcrypt-map-probe: no RAM mapping in process %ld: %s\n", pid,
                strerror(-rc));
        return 1;
    }
    if ((first + pages) * PAGE > len) {
        fprintf(stderr, "memcrypt-map-probe: %" PRIu64 " pages from page %" PRIu64
                " do not fit the VM's %" PRIu64 " MiB\n", pages, first, len >> 20);
        return 1;
    }
    snprintf(path, sizeof(path), "/proc/%ld/mem", pid);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "memcrypt-map-probe: %s: %s\n", path, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < pages; i++) {
        if (pread(fd, buf, PAGE, (off_t)(start + (first + i) * PAGE)) != PAGE) {
            fprintf(stderr, "memcrypt-map-probe: read of page %" PRIu64 " failed: %s\n",
                    first + i, strerror(errno));
            return 1;
        }
        plain += memmem(buf, WINDOW, pattern, strlen(pattern)) != NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
         (double)pages;
    printf("%s,%ld,%.3f\n", mode, run, us);
    fprintf(stderr, "pages=%" PRIu64 " plain=%" PRIu64 " first=%" PRIu64 "\n", pages, plain,
            first);
    return 0;
}
