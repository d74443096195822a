#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "nvsec_log.h"

/* Allow a burst of this many lines, then one per second. */
#define NVSEC_LOG_BURST 10

void nvsec_log_ratelimited(int64_t *last_ns, unsigned *burst,
                           const char *module, const char *fmt, ...)
{
    int64_t now = get_clock_realtime();
    va_list ap;
    char *msg;

    if (now - *last_ns >= NANOSECONDS_PER_SECOND) {
        *burst = 0;
    }
    if (*burst >= NVSEC_LOG_BURST) {
        return;
    }
    (*burst)++;
    *last_ns = now;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("nvsec/%s: %s", module, msg);
    g_free(msg);
}
