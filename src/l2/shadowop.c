/*
 * nvsec-shadowop: from inside a user VM, try each shadow-state ultracall
 * (USShadow's save/restore/query/release, which only L1 may make) with a
 * valid, locked buffer naming this VM's own tag, and print L0's answer, one
 * line per op: "op N: -ERRNO". L0 must refuse them all with -EPERM (1): a
 * user VM cannot read or replace any VM's console state. Test helper
 * (tests/integration/46-usshadow-ultracall.sh); exit status 0 if every op
 * was refused with -EPERM, else 1.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "ultracall_abi.h"

static int64_t ultracall(unsigned op, uint64_t a0, uint64_t a1)
{
    uint64_t rax = ultracall_rax(op);

    /* VMMCALL (0f 01 d9) as bytes, as in vmtag.c. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd9"
                     : "+a"(rax)
                     : "b"(a0), "c"(a1), "d"(0UL), "S"(0UL)
                     : "memory");
    return (int64_t)rax;
}

int main(int argc, char **argv)
{
    size_t size = 65536;
    char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int bad = 0;

    if (buf == MAP_FAILED || mlock(buf, size) < 0) {
        perror("nvsec-shadowop: buffer");
        return 1;
    }
    memset(buf, 0, size);
    strncpy(buf, argc > 1 ? argv[1] : "vm0", ULTRACALL_VMTAG_MAX);
    signal(SIGILL, SIG_DFL);
    for (unsigned op = ULTRACALL_OP_SHADOW_QUERY; op <= ULTRACALL_OP_SHADOW_RELEASE; op++) {
        int64_t rc = ultracall(op, (uintptr_t)buf, size);

        printf("op %u: %lld\n", op, (long long)rc);
        bad |= rc != -ULTRACALL_EPERM;
    }
    return bad;
}
