/*
 * VMCrypt's entry points from QEMU (src/l0/patches/0005-vmcrypt-hooks.patch):
 * the places where L0 sees which side, L1 or a user VM (L2), touches which
 * page of memory, and where a user VM starts, stops and shares pages with its
 * hypervisor. Every hook returns at once unless L0 runs with
 * "-object vmcrypt,mode=noop|aes".
 *
 * Why these places (papers/003 sec. 4.1 watches dom0's page-table updates;
 * here the CPU is emulated, so the MMU itself is watched):
 *   - VMRUN and #VMEXIT load the other side's CR3 through
 *     cpu_x86_update_cr3(), which flushes the whole soft TLB (and the TB
 *     jump cache), so after every world switch each page's first access goes
 *     through x86_cpu_tlb_fill(): one call per page per side per switch, with
 *     the final physical address and the mode known;
 *   - in guest mode with nested paging every L2 access, its page-table reads
 *     included, needs a stage-2 entry (MMU_NESTED_IDX) whose fill carries the
 *     gpa -> hpa pair;
 *   - physical accesses that bypass the TLB (device DMA, the SVM helpers'
 *     x86_ld*_phys of VMCB, IOPM, MSRPM) all pass QEMU's DMA-read callback
 *     (fuzz_dma_read_cb in include/exec/memory.h), which the patch routes to
 *     nvsec_dma_read_hook.
 *
 * Included by target/i386/tcg/sysemu/{excp,svm,misc}_helper.c after "cpu.h".
 */
#ifndef NVSEC_VMCRYPT_HOOKS_H
#define NVSEC_VMCRYPT_HOOKS_H

/*
 * x86_cpu_tlb_fill(), first thing: the address a TLB miss is for. If the
 * fill ends in a nested page fault, this is the access L1 must emulate.
 */
void vmcrypt_tlb_miss(CPUX86State *env, vaddr addr, int mmu_idx);

/*
 * x86_cpu_tlb_fill(), after a successful translation of addr for mmu_idx to
 * the L1-physical paddr, before the TLB entry is made. May rewrite the page
 * (and flush the TLB) before the access it serves proceeds.
 */
void vmcrypt_tlb_fill(CPUX86State *env, vaddr addr, hwaddr paddr, int mmu_idx);

/*
 * helper_vmrun(), once the guest state is loaded and checked, before event
 * injection. May end the VMRUN with a #VMEXIT (cpu_vmexit, using retaddr):
 * VMEXIT_INVALID for a user VM it refuses to run, or a nested page fault
 * that makes L1 map the metadata pages.
 */
void vmcrypt_vmrun(CPUX86State *env, uintptr_t retaddr);

/* do_vmexit(), first thing, while env still holds the user VM's state. */
void vmcrypt_vmexit(CPUX86State *env);

/*
 * helper_wrmsr(), before the intercept check: a user VM's WRMSR that hands a
 * page to its hypervisor (vmcrypt_pv.h) is seen here before L1 sees it.
 */
void vmcrypt_wrmsr(CPUX86State *env);

#endif
