/*
 * Ultracall dispatch in L0 (ultracall_hooks.h): a VMMCALL from a user VM
 * whose RAX carries the magic is answered here, before L1's VMMCALL
 * intercept is consulted, so the guest hypervisor never sees it.
 */
#include "qemu/osdep.h"
#include "cpu.h"

#include "core/nvsec_log.h"
#include "shadow/vsbypass_hooks.h"
#include "ultracall/ultracall_decode.h"
#include "ultracall/ultracall_hooks.h"

/* The ABI spells Linux errno values out; this L0 returns its own errno values. */
_Static_assert(ULTRACALL_EPERM == EPERM && ULTRACALL_ENOMEM == ENOMEM &&
               ULTRACALL_EBUSY == EBUSY && ULTRACALL_EEXIST == EEXIST &&
               ULTRACALL_ENODEV == ENODEV && ULTRACALL_EINVAL == EINVAL &&
               ULTRACALL_ENOSYS == ENOSYS && ULTRACALL_EOPNOTSUPP == EOPNOTSUPP,
               "host errno numbering differs from the ultracall ABI's");

bool ultracall_vmmcall(CPUX86State *env)
{
    struct ultracall_regs regs = {
        .rax = env->regs[R_EAX], .rbx = env->regs[R_EBX],
        .rcx = env->regs[R_ECX], .rdx = env->regs[R_EDX],
        .rsi = env->regs[R_ESI],
    };
    struct ultracall_req req;
    int rc;

    /* Outside guest mode (L1 itself) VMMCALL is left as it was, for now. */
    if (!(env->hflags & HF_GUEST_MASK) || !ultracall_is_ultracall(regs.rax)) {
        return false;
    }
    rc = ultracall_decode(&regs, &req);
    if (rc < 0) {
        nvsec_log("ultracall", "op %u from a user VM refused: %s", req.op,
                  strerror(-rc));
    } else {
        switch (req.op) {
        case ULTRACALL_OP_VMTAG_SET:
            rc = vsbypass_vmtag_set(env, req.tag);
            break;
        default:
            /* Decoded but not callable from a user VM. */
            nvsec_log("ultracall", "op %u not allowed from a user VM", req.op);
            rc = -EPERM;
            break;
        }
    }
    env->regs[R_EAX] = (target_ulong)(int64_t)rc;
    return true;
}
