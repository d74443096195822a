/*
 * The pages a KVM guest hands to its hypervisor by paravirtual MSRs, which
 * the hypervisor (L1's KVM) then reads and writes while the guest runs and
 * which L1's QEMU reads when it stops the guest: VMCrypt's counterpart of
 * the paper's shared info page (papers/003 sec. 4.2.1) for a KVM guest.
 * L0 sees the guest's WRMSR before it is reflected to L1, so the set comes
 * from the user VM, never from L1.
 *
 * MSR numbers and layouts: Linux Documentation/virt/kvm/x86/msr.rst and
 * arch/x86/include/uapi/asm/kvm_para.h. The guest keeps these structures in
 * its ".data..decrypted" / ".bss..decrypted" sections, which Linux already
 * page-aligns to share them with an AMD SEV hypervisor: the pages hold
 * nothing else.
 *
 * Pure C; tests/unit/test_vmcrypt_pv.c.
 */
#ifndef NVSEC_VMCRYPT_PV_H
#define NVSEC_VMCRYPT_PV_H

#include <stdbool.h>
#include <stdint.h>

#define VMC_MSR_KVM_WALL_CLOCK      0x00000011u
#define VMC_MSR_KVM_SYSTEM_TIME     0x00000012u
#define VMC_MSR_KVM_WALL_CLOCK_NEW  0x4b564d00u
#define VMC_MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define VMC_MSR_KVM_ASYNC_PF_EN     0x4b564d02u
#define VMC_MSR_KVM_STEAL_TIME      0x4b564d03u
#define VMC_MSR_KVM_PV_EOI_EN       0x4b564d04u

/* Sizes of the structures (kvm_para.h, pvclock-abi.h). */
#define VMC_PV_WALL_CLOCK_SIZE  12u   /* struct pvclock_wall_clock */
#define VMC_PV_TIME_INFO_SIZE   32u   /* struct pvclock_vcpu_time_info */
#define VMC_PV_APF_SIZE         64u   /* struct kvm_vcpu_pv_apf_data */
#define VMC_PV_STEAL_SIZE       64u   /* struct kvm_steal_time */
#define VMC_PV_EOI_SIZE         4u

/* What a WRMSR means for the shared set. */
struct vmc_pv_reg {
    uint64_t key;        /* one registration slot per (MSR, vCPU): a rewrite replaces it */
    bool enable;         /* false: the slot is released */
    uint64_t gpa_pfn;    /* first page */
    uint64_t npages;     /* pages the structure spans (1 or 2) */
};

/*
 * Decode a WRMSR of value to msr by the guest vCPU named vcpu (any stable
 * per-vCPU number, e.g. its VMCB's page number). Returns 1 and fills *r if
 * msr registers or releases a shared structure, 0 if msr is not one of
 * these, -EINVAL if the value is one KVM refuses (misaligned, reserved bits),
 * which then changes nothing.
 */
int vmc_pv_decode(uint32_t msr, uint64_t value, uint64_t vcpu, struct vmc_pv_reg *r);

#endif
