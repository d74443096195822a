/*
 * Ultracall entry point from QEMU's SVM emulation (the hook patch,
 * src/l0/patches/0002-vsbypass-hooks.patch). Included by
 * target/i386/tcg/sysemu/svm_helper.c after "cpu.h".
 */
#ifndef NVSEC_ULTRACALL_HOOKS_H
#define NVSEC_ULTRACALL_HOOKS_H

/*
 * helper_vmmcall(), before the VMMCALL intercept check: true if this was an
 * ultracall from a user VM (guest mode, RAX carrying the magic) and has been
 * answered in RAX (src/common/ultracall_abi.h); false: VMMCALL keeps its
 * normal behaviour (exit to L1's hypervisor, or #UD).
 */
bool ultracall_vmmcall(CPUX86State *env);

#endif
