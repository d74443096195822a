/* Ultracalls from L1 (uc_l1.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_ANONYMOUS, SA_NODEFER, sigsetjmp under -std=c11 */
#endif
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uc_l1.h"

static sigjmp_buf uc_l1_fault_jmp;
static volatile sig_atomic_t uc_l1_in_call;

/*
 * Installed once, for the process's life: two sigaction calls around each
 * VMMCALL cost four system calls, each two full soft-TLB flushes in a
 * nested L1 under TCG with PTI, which showed in the timed save and restore.
 * A fault outside a call gets the default action, as if no handler were there.
 */
static void uc_l1_on_fault(int sig)
{
    if (!uc_l1_in_call) {
        signal(sig, SIG_DFL);
        return;                         /* the faulting instruction runs again */
    }
    uc_l1_in_call = 0;
    siglongjmp(uc_l1_fault_jmp, sig);
}

static void uc_l1_handlers_once(void)
{
    static int done;
    /* SA_NODEFER: the handler leaves by siglongjmp without restoring a mask. */
    struct sigaction sa = { .sa_handler = uc_l1_on_fault, .sa_flags = SA_NODEFER };

    if (done) {
        return;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    done = 1;
}

int64_t uc_l1_call_raw(uint64_t rax, uint64_t rbx, uint64_t rcx)
{
    volatile int64_t rc = UC_L1_NO_L0;

    uc_l1_handlers_once();
    /* savemask 0: no sigprocmask call; SA_NODEFER left nothing blocked. */
    if (sigsetjmp(uc_l1_fault_jmp, 0) == 0) {
        uc_l1_in_call = 1;
        /* VMMCALL (0f 01 d9) as bytes, for assemblers without SVM mnemonics. */
        __asm__ volatile(".byte 0x0f, 0x01, 0xd9"
                         : "+a"(rax)
                         : "b"(rbx), "c"(rcx), "d"(0UL), "S"(0UL)
                         : "memory");
        uc_l1_in_call = 0;
        rc = (int64_t)rax;
    }
    return rc;
}

int64_t uc_l1_call(unsigned op, uint64_t va, uint64_t size)
{
    return uc_l1_call_raw(ultracall_rax(op), va, size);
}

static size_t uc_l1_round(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return (size + page - 1) / page * page;
}

void *uc_l1_buf_alloc(size_t size)
{
    size_t len = uc_l1_round(size ? size : 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);

    if (p == MAP_FAILED) {
        return NULL;
    }
    /* Present and pinned: L0 refuses pages that are not mapped. */
    if (mlock(p, len) < 0) {
        int e = errno;

        munmap(p, len);
        errno = e;
        return NULL;
    }
    return p;
}

void uc_l1_buf_free(void *p, size_t size)
{
    if (p) {
        munlock(p, uc_l1_round(size ? size : 1));
        munmap(p, uc_l1_round(size ? size : 1));
    }
}

const char *uc_l1_errname(int64_t rc)
{
    switch (-rc) {
    case ULTRACALL_EPERM: return "EPERM";
    case ULTRACALL_ENOENT: return "ENOENT";
    case ULTRACALL_E2BIG: return "E2BIG";
    case ULTRACALL_ENOMEM: return "ENOMEM";
    case ULTRACALL_EACCES: return "EACCES";
    case ULTRACALL_EFAULT: return "EFAULT";
    case ULTRACALL_EBUSY: return "EBUSY";
    case ULTRACALL_EEXIST: return "EEXIST";
    case ULTRACALL_ENODEV: return "ENODEV";
    case ULTRACALL_EINVAL: return "EINVAL";
    case ULTRACALL_ENOSPC: return "ENOSPC";
    case ULTRACALL_ENOSYS: return "ENOSYS";
    case ULTRACALL_EBADMSG: return "EBADMSG";
    case ULTRACALL_EOPNOTSUPP: return "EOPNOTSUPP";
    case ULTRACALL_ESTALE: return "ESTALE";
    default:
        return rc == UC_L1_NO_L0 ? "NO-L0 (VMMCALL faulted)" : rc >= 0 ? "OK" : "E?";
    }
}
