/*
 * Taking QEMU's big lock from code that runs both on vCPU threads (TCG
 * helpers, which do not hold it) and on the main loop (which does): QEMU 7.2
 * has no recursive form or guard for it. Needs "qemu/main-loop.h".
 */
#ifndef NVSEC_BQL_H
#define NVSEC_BQL_H

/* Take the BQL unless this thread holds it; returns whether it was taken. */
static inline bool nvsec_bql_lock(void)
{
    if (qemu_mutex_iothread_locked()) {
        return false;
    }
    qemu_mutex_lock_iothread();
    return true;
}

/* Undo nvsec_bql_lock(): release only what it took. */
static inline void nvsec_bql_unlock(bool taken)
{
    if (taken) {
        qemu_mutex_unlock_iothread();
    }
}

#endif
