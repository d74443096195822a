/* sources: src/l0/vmcrypt/vmcrypt_pv.c */
/*
 * Decoding of the user VM's paravirtual page registrations (WRMSR values as
 * KVM accepts or refuses them): the pages VMCrypt leaves in plaintext.
 * One table row per case: MSR, value, expected result and pages.
 */
#include <errno.h>
#include <stdio.h>

#include "unit.h"
#include "vmcrypt/vmcrypt_pv.h"

static const struct {
    const char *name;
    uint32_t msr;
    uint64_t value;
    int rc;
    int enable;
    uint64_t pfn, npages;
} cases[] = {
    { "kvmclock new, enabled", VMC_MSR_KVM_SYSTEM_TIME_NEW, 0x2a40001ull, 1, 1, 0x2a40, 1 },
    { "kvmclock new, disabled", VMC_MSR_KVM_SYSTEM_TIME_NEW, 0x2a40000ull, 1, 0, 0, 0 },
    { "kvmclock legacy MSR", VMC_MSR_KVM_SYSTEM_TIME, 0x1000001ull, 1, 1, 0x1000, 1 },
    { "kvmclock struct across a page end", VMC_MSR_KVM_SYSTEM_TIME_NEW, 0x1ff1ull, 1, 1, 0x1, 2 },
    { "wall clock: value is the address", VMC_MSR_KVM_WALL_CLOCK_NEW, 0x3000ull, 1, 1, 0x3, 1 },
    { "wall clock at a page's last bytes", VMC_MSR_KVM_WALL_CLOCK_NEW, 0x3ffcull, 1, 1, 0x3, 2 },
    { "wall clock legacy MSR", VMC_MSR_KVM_WALL_CLOCK, 0x5000ull, 1, 1, 0x5, 1 },
    { "steal time enabled", VMC_MSR_KVM_STEAL_TIME, 0x7fe0c0c1ull, 1, 1, 0x7fe0c, 1 },
    { "steal time reserved bits refused", VMC_MSR_KVM_STEAL_TIME, 0x7fe0c0c3ull, -EINVAL, 0, 0, 0 },
    { "steal time disabled", VMC_MSR_KVM_STEAL_TIME, 0ull, 1, 0, 0, 0 },
    { "async PF with flags", VMC_MSR_KVM_ASYNC_PF_EN, 0x12340c7ull, 1, 1, 0x1234, 1 },
    { "PV EOI enabled", VMC_MSR_KVM_PV_EOI_EN, 0x8000ff1ull, 1, 1, 0x8000, 1 },
    { "PV EOI misaligned refused", VMC_MSR_KVM_PV_EOI_EN, 0x8000ff3ull, -EINVAL, 0, 0, 0 },
    { "address beyond 52 bits refused", VMC_MSR_KVM_SYSTEM_TIME_NEW, (1ull << 60) | 1, -EINVAL, 0, 0, 0 },
    { "other MSR ignored", 0xc0000080u, 0x500ull, 0, 0, 0, 0 },
    { "poll control ignored", 0x4b564d05u, 1ull, 0, 0, 0, 0 },
};

int main(void)
{
    struct vmc_pv_reg r1, r2;
    char name[96];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vmc_pv_reg r;
        int rc = vmc_pv_decode(cases[i].msr, cases[i].value, 7, &r);
        int ok = rc == cases[i].rc;

        if (ok && rc == 1) {
            ok = r.enable == cases[i].enable &&
                 (!r.enable || (r.gpa_pfn == cases[i].pfn && r.npages == cases[i].npages));
        }
        snprintf(name, sizeof(name), "pv/%s", cases[i].name);
        unit_check(name, ok, "rc %d enable %d pfn %#llx npages %llu", rc, r.enable,
                   (unsigned long long)r.gpa_pfn, (unsigned long long)r.npages);
    }

    /* Slots: old and new MSR of a kind share one; vCPUs and kinds differ. */
    vmc_pv_decode(VMC_MSR_KVM_SYSTEM_TIME, 0x1001, 7, &r1);
    vmc_pv_decode(VMC_MSR_KVM_SYSTEM_TIME_NEW, 0x2001, 7, &r2);
    unit_check("pv/legacy and new kvmclock share a slot", r1.key == r2.key, "keys differ");
    vmc_pv_decode(VMC_MSR_KVM_SYSTEM_TIME_NEW, 0x2001, 8, &r2);
    unit_check("pv/each vCPU its own slot", r1.key != r2.key, "keys equal");
    vmc_pv_decode(VMC_MSR_KVM_STEAL_TIME, 0x2001, 7, &r2);
    unit_check("pv/each kind its own slot", r1.key != r2.key, "keys equal");
    return unit_exit();
}
