/* sources: src/l1/usshadow/uc_l1.c */
/*
 * uc_l1's fault handling on a machine without an ultracall L0 (this host):
 * VMMCALL faults and each call says UC_L1_NO_L0, again and again (the
 * handler is installed once and leaves by siglongjmp without a saved mask);
 * a fault outside a call still kills the process with its own signal, as if
 * no handler were there.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/l1/usshadow/uc_l1.h"
#include "unit.h"

/* Run fn in a child after one ultracall; the signal that ended it, or 0. */
static int child_dies_of(void (*fn)(void))
{
    pid_t pid = fork();
    int st;

    if (pid == 0) {
        /* The child must die of the signal itself, not of ASan's report. */
        (void)uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, 0, 0);
        fn();
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
        return -1;
    }
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void write_to_prot_none(void)
{
    volatile char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    p[0] = 1;
}

static void undefined_instruction(void)
{
    __asm__ volatile("ud2");
}

int main(void)
{
    int64_t a = uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, 0, 0);
    int64_t b = uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, 0, 0);
    int64_t c = uc_l1_call_raw(ULTRACALL_MAGIC | 0x77, 0, 0);
    int sig;

    unit_check("no_l0_first_call", a == UC_L1_NO_L0, "got %lld", (long long)a);
    unit_check("no_l0_again", b == UC_L1_NO_L0, "got %lld", (long long)b);
    unit_check("no_l0_raw", c == UC_L1_NO_L0, "got %lld", (long long)c);
    sig = child_dies_of(write_to_prot_none);
    unit_check("segv_outside_a_call_kills", sig == SIGSEGV, "child ended with signal %d (%s)",
               sig, sig > 0 ? strsignal(sig) : "none");
    sig = child_dies_of(undefined_instruction);
    unit_check("sigill_outside_a_call_kills", sig == SIGILL, "child ended with signal %d (%s)",
               sig, sig > 0 ? strsignal(sig) : "none");
    return unit_exit();
}
