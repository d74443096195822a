/* Ultracalls from L1 (uc_l1.h). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uc_l1.h"

static sigjmp_buf uc_l1_fault_jmp;

static void uc_l1_on_fault(int sig)
{
    siglongjmp(uc_l1_fault_jmp, sig);
}

int64_t uc_l1_call_raw(uint64_t rax, uint64_t rbx, uint64_t rcx)
{
    struct sigaction sa = { .sa_handler = uc_l1_on_fault }, old_ill, old_segv;
    volatile int64_t rc = UC_L1_NO_L0;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, &old_ill);
    sigaction(SIGSEGV, &sa, &old_segv);
    if (sigsetjmp(uc_l1_fault_jmp, 1) == 0) {
        /* VMMCALL (0f 01 d9) as bytes, for assemblers without SVM mnemonics. */
        __asm__ volatile(".byte 0x0f, 0x01, 0xd9"
                         : "+a"(rax)
                         : "b"(rbx), "c"(rcx), "d"(0UL), "S"(0UL)
                         : "memory");
        rc = (int64_t)rax;
    }
    sigaction(SIGILL, &old_ill, NULL);
    sigaction(SIGSEGV, &old_segv, NULL);
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
