/*
 * Decoding of KVM's paravirtual page registrations (vmcrypt_pv.h). The
 * alignment and enable-bit rules follow KVM's own checks
 * (arch/x86/kvm/x86.c kvm_set_msr_common, lapic.c kvm_lapic_set_pv_eoi), so
 * a value KVM rejects registers nothing here either.
 */
#include <errno.h>
#include <string.h>

#include "vmcrypt/vmcrypt_pv.h"

#define PV_PAGE_SHIFT 12
#define PV_ENABLED    1ull
/* Physical addresses the guest can name (MAXPHYADDR <= 52). */
#define PV_GPA_MASK   ((1ull << 52) - 1)

static void span(struct vmc_pv_reg *r, uint64_t gpa, uint64_t size)
{
    r->gpa_pfn = gpa >> PV_PAGE_SHIFT;
    r->npages = ((gpa + size - 1) >> PV_PAGE_SHIFT) - r->gpa_pfn + 1;
}

int vmc_pv_decode(uint32_t msr, uint64_t value, uint64_t vcpu, struct vmc_pv_reg *r)
{
    uint64_t gpa, size, align;
    bool has_enable = true;

    memset(r, 0, sizeof(*r));
    switch (msr) {
    case VMC_MSR_KVM_WALL_CLOCK:
    case VMC_MSR_KVM_WALL_CLOCK_NEW:
        /* The value is the address; KVM writes the wall clock there once, now. */
        has_enable = false;
        size = VMC_PV_WALL_CLOCK_SIZE;
        align = 1;
        msr = VMC_MSR_KVM_WALL_CLOCK_NEW; /* old and new name one slot */
        break;
    case VMC_MSR_KVM_SYSTEM_TIME:
    case VMC_MSR_KVM_SYSTEM_TIME_NEW:
        size = VMC_PV_TIME_INFO_SIZE;
        align = 2;   /* bit 0 enables; KVM ignores no other low bit */
        msr = VMC_MSR_KVM_SYSTEM_TIME_NEW;
        break;
    case VMC_MSR_KVM_ASYNC_PF_EN:
        size = VMC_PV_APF_SIZE;
        align = 64;  /* bits 5:1 are flags */
        break;
    case VMC_MSR_KVM_STEAL_TIME:
        size = VMC_PV_STEAL_SIZE;
        align = 64;  /* bits 5:1 reserved, KVM refuses them */
        if (value & 0x3eull) {
            return -EINVAL;
        }
        break;
    case VMC_MSR_KVM_PV_EOI_EN:
        size = VMC_PV_EOI_SIZE;
        align = 4;
        if (value & 0x2ull) {
            return -EINVAL;
        }
        break;
    default:
        return 0;
    }
    /* The normalised MSRs differ in their low byte: it names the slot kind. */
    r->key = ((uint64_t)(msr & 0xff) << 56) | (vcpu & ((1ull << 56) - 1));
    if (has_enable) {
        r->enable = value & PV_ENABLED;
        gpa = value & ~(align - 1);
    } else {
        r->enable = true;
        gpa = value;
    }
    if (!r->enable) {
        return 1;
    }
    if (gpa & ~PV_GPA_MASK) {
        memset(r, 0, sizeof(*r));
        return -EINVAL;
    }
    span(r, gpa, size);
    return 1;
}
