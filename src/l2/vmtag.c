/*
 * nvsec-vmtag [--keep] NAME: register this user VM's tag with the cloud hypervisor
 * (L0) by ultracall, so L0 offers its shadow serial console as NAME.sock and
 * routes its interrupts by NAME (VSBypass; ABI in src/common/ultracall_abi.h).
 * Run by L2's init (src/l2/rootfs/etc/init.d/rcS) before any login exists:
 * a tag is set once per VM instance.
 *
 * --keep: after registering, a background process registers the name again
 * every VMTAG_KEEP_MS, or up to VMTAG_KEEP_SLACK_MS later. On the same L0
 * that is a no-op; after a live migration (USShadow) it is how the VM
 * claims, on the destination L0, the console state restored there under its
 * name: the VM does not know it moved, so it simply keeps saying who it is.
 *
 * Output: one line, "nvsec-vmtag: NAME registered" or the error. Exit status
 * 0 on success, 1 if L0 refused, 2 on bad usage.
 *
 * If another VM still holds NAME (-EEXIST), it is retried for a while: when
 * a VM is recreated, L0 releases the old instance's name only once that
 * instance has stopped running for L0's stale-timeout (10 s by default).
 * Not an ultracall-capable L0 (VMMCALL reaches a guest hypervisor which
 * answers it as an unknown hypercall, or raises #UD, e.g. in a VM running
 * directly on L0): reported as an error, no harm.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ultracall_abi.h"

/* Longer than L0's default stale-timeout, so a recreated VM gets its name back. */
#define VMTAG_EEXIST_RETRY_S 15
/* Re-registration period of --keep: the longest a migrated VM runs unclaimed. */
#define VMTAG_KEEP_MS 100
/*
 * How much later than VMTAG_KEEP_MS the kernel may wake the keeper (its
 * timer slack): a VM that runs anyway re-registers on a wake-up it already
 * pays for. Under nested virtualization the wake-up from idle is the dear
 * part of the keeper.
 */
#define VMTAG_KEEP_SLACK_MS 100

static int64_t ultracall(unsigned op, const uint64_t args[3])
{
    uint64_t rax = ultracall_rax(op);

    /* VMMCALL (0f 01 d9), spelled as bytes for assemblers without SVM mnemonics. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd9"
                     : "+a"(rax)
                     : "b"(args[0]), "c"(args[1]), "d"(args[2]), "S"(0UL)
                     : "memory");
    return (int64_t)rax;
}

/*
 * VMMCALL faulted: no hypervisor below takes it (#UD, SIGILL, when not
 * nested; some hypervisors answer with #GP, SIGSEGV).
 */
static void on_fault(int sig)
{
    static const char msg[] = "nvsec-vmtag: VMMCALL is not available here "
                              "(not a user VM under an ultracall-capable L0)\n";

    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        _exit(1);
    }
    _exit(1);
}

static const char *describe(int64_t rc)
{
    switch (-rc) {
    case ULTRACALL_EINVAL:
        return "invalid name (1-23 of a-z 0-9 _ -)";
    case ULTRACALL_EEXIST:
        return "name held by another running VM";
    case ULTRACALL_EBUSY:
        return "this VM already has another name";
    case ULTRACALL_EOPNOTSUPP:
        return "the VM runs without nested paging";
    case ULTRACALL_ENODEV:
        return "L0 runs without VSBypass";
    case ULTRACALL_ENOMEM:
        return "L0 has no shadow device left";
    case ULTRACALL_ENOSYS:
        return "L0 does not know this ultracall";
    case ULTRACALL_EPERM:
        return "not allowed from a user VM";
    default:
        return "unexpected answer (no ultracall-capable L0?)";
    }
}

/* --keep: re-register forever in a detached child; the parent returns. */
static void keep_registering(const uint64_t args[3])
{
    struct timespec period = { 0, VMTAG_KEEP_MS * 1000000L };
    pid_t pid = fork();

    if (pid != 0) {
        return;                         /* parent (or fork failed: no keeper) */
    }
    setsid();
    if (prctl(PR_SET_TIMERSLACK, VMTAG_KEEP_SLACK_MS * 1000000UL, 0, 0, 0) != 0) {
        perror("nvsec-vmtag: timer slack (the keeper wakes on time)");
    }
    for (;;) {
        ultracall(ULTRACALL_OP_VMTAG_SET, args);
        nanosleep(&period, NULL);
    }
}

int main(int argc, char **argv)
{
    int keep = 0;
    char field[ULTRACALL_VMTAG_SIZE] = { 0 };
    uint64_t args[3];
    int64_t rc;
    size_t len;
    int tries;

    if (argc == 3 && strcmp(argv[1], "--keep") == 0) {
        keep = 1;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: nvsec-vmtag [--keep] NAME\n");
        return 2;
    }
    len = strlen(argv[1]);
    if (len > ULTRACALL_VMTAG_MAX) {
        fprintf(stderr, "nvsec-vmtag: %s: longer than %d characters\n",
                argv[1], ULTRACALL_VMTAG_MAX);
        return 2;
    }
    memcpy(field, argv[1], len);
    if (ultracall_vmtag_check(field) != 0) {
        fprintf(stderr, "nvsec-vmtag: %s: %s\n", argv[1],
                describe(-ULTRACALL_EINVAL));
        return 2;
    }
    ultracall_vmtag_pack(field, args);
    signal(SIGILL, on_fault);
    signal(SIGSEGV, on_fault);
    for (tries = 0;; tries++) {
        rc = ultracall(ULTRACALL_OP_VMTAG_SET, args);
        if (rc != -ULTRACALL_EEXIST || tries >= VMTAG_EEXIST_RETRY_S) {
            break;
        }
        sleep(1);
    }
    signal(SIGILL, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    if (rc != 0) {
        fprintf(stderr, "nvsec-vmtag: %s: %s (%lld)\n", argv[1], describe(rc),
                (long long)rc);
        return 1;
    }
    printf("nvsec-vmtag: %s registered\n", argv[1]);
    fflush(stdout);
    if (keep) {
        keep_registering(args);
    }
    return 0;
}
