/*
 * Minimal harness for the host unit tests: one line per case, "PASS name" or
 * "FAIL name: reason", and unit_exit() gives status 0 iff every case passed.
 */
#ifndef NVSEC_TEST_UNIT_H
#define NVSEC_TEST_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int unit_failed;

/* Report case name: passed if ok, else failed with the printf-style reason. */
__attribute__((format(printf, 3, 4)))
static inline void unit_check(const char *name, int ok, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        printf("PASS %s\n", name);
        return;
    }
    unit_failed++;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Copy n bytes into an exactly-sized heap block so ASan catches any over-read. */
static inline void *unit_exact(const void *src, size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    const unsigned char *s = src;

    if (!p) {
        perror("malloc");
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        p[i] = s[i];
    }
    return p;
}

static inline int unit_exit(void)
{
    fflush(stdout);
    return unit_failed ? 1 : 0;
}

#endif
