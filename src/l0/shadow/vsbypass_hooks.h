/*
 * VSBypass's entry points from QEMU's SVM emulation (the hook patch,
 * src/l0/patches/0002-vsbypass-hooks.patch). Forced passthrough (papers/000
 * sec. 4.2): a user VM's (L2's) port I/O on COM1 is taken by L0 before L1's
 * I/O intercept is consulted and runs on a shadow 16550 in L0, so L1 never
 * sees console bytes. Every hook returns at once when no "-object vsbypass"
 * was given, so an L0 without it behaves exactly as stock QEMU.
 *
 * Included by target/i386/tcg/sysemu/{svm,misc}_helper.c after "cpu.h".
 */
#ifndef NVSEC_VSBYPASS_HOOKS_H
#define NVSEC_VSBYPASS_HOOKS_H

/*
 * helper_svm_check_io(), before the IOIO intercept check: true if this
 * access (port, SVM IOIO info word param) is taken by forced passthrough;
 * the caller then must not exit to L1, and the port helper that follows
 * must be routed by vsbypass_io_read/write.
 */
bool vsbypass_io_claim(CPUX86State *env, uint32_t port, uint32_t param);

/*
 * helper_in{b,w,l}/helper_out{b,w,l}: true if the access was claimed by
 * vsbypass_io_claim and has been done on the user VM's shadow UART (*val
 * holds what a read returned); false: do the normal port access.
 */
bool vsbypass_io_read(CPUX86State *env, uint32_t port, unsigned size,
                      uint32_t *val);
bool vsbypass_io_write(CPUX86State *env, uint32_t port, unsigned size,
                       uint32_t val);

/*
 * helper_vmrun(), once the guest state is loaded and checked: notes that the
 * user VM at env->nested_cr3 runs (its binding follows it when L1 gave it a
 * new NPT root), and ends its binding if this VMRUN starts a new VM instance
 * (see vsbypass.c).
 */
void vsbypass_vmrun(CPUX86State *env);

/*
 * do_vmexit(), on every #VMEXIT from a user VM to L1: L1 is about to run, so
 * the rises of shadow UART lines that L0 held back inside guest accesses
 * (vsbypass_edge.h) go now, costing no exit of their own. Returns at once
 * when none waits.
 */
void vsbypass_vmexit(CPUX86State *env);

/*
 * The ultracall VMTAG_SET (src/common/ultracall_abi.h) from the user VM
 * running on env; tag is a checked ULTRACALL_VMTAG_SIZE field. Returns 0 or
 * the negative errno the ABI lists.
 */
int vsbypass_vmtag_set(CPUX86State *env, const char *tag);

#endif
