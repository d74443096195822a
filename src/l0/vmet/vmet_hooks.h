/*
 * V-Met's entry points from QEMU's SVM emulation (the hook patch,
 * src/l0/patches/0004-vmet-capture.patch): where L0 learns a user VM's page
 * table roots without asking L1 (papers/001 sec. 3.2: the guest's CR3 at its
 * writes; sec. 3.3: the nested root from the VMCB at VM entry/exit). Every
 * hook returns at once when no "-object vmet" was given.
 *
 * Included by target/i386/tcg/sysemu/{svm,misc}_helper.c after "cpu.h".
 */
#ifndef NVSEC_VMET_HOOKS_H
#define NVSEC_VMET_HOOKS_H

/*
 * helper_vmrun(), once the guest state is loaded and checked: the user VM at
 * env->nested_cr3 runs on the VMCB at env->vm_vmcb with CR3 env->cr[3].
 */
void vmet_vmrun(CPUX86State *env);

/* do_vmexit(), first thing, while env still holds the user VM's state. */
void vmet_vmexit(CPUX86State *env);

/*
 * helper_write_crN(), after a MOV to CR3 took effect: in guest mode a user
 * VM's CR3 write (L1 with nested paging does not intercept it, so L0 is the
 * only one to see it); outside guest mode L0's own guest's.
 */
void vmet_cr3_write(CPUX86State *env);

/*
 * helper_vmmcall(), after an ultracall was answered: rax_in is RAX as the
 * caller set it. A VMTAG_SET that succeeded names the VM in V-Met's table
 * too (the tag's owner is VSBypass; V-Met only follows it).
 */
void vmet_ultracall(CPUX86State *env, uint64_t rax_in);

#endif
