/*
 * One-line error reports from L0 mechanisms. Untrusted L1/L2 input must never
 * crash L0; when it is refused, the cause goes to L0's log, rate-limited so a
 * hostile guest cannot flood the provider's log either.
 */
#ifndef NVSEC_LOG_H
#define NVSEC_LOG_H

/* Report "nvsec/MODULE: message" on L0's stderr; at most a few per second per call site. */
#define nvsec_log(module, ...)                                          \
    do {                                                                \
        static int64_t nvsec_log_last_ns_;                              \
        static unsigned nvsec_log_burst_;                               \
        nvsec_log_ratelimited(&nvsec_log_last_ns_, &nvsec_log_burst_,   \
                              (module), __VA_ARGS__);                   \
    } while (0)

void nvsec_log_ratelimited(int64_t *last_ns, unsigned *burst,
                           const char *module, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

#endif
