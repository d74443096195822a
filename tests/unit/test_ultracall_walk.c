/* sources: src/l0/ultracall/ultracall_walk.c */
/*
 * Walking the caller's page tables for an ultracall buffer: a fake physical
 * memory holds 4-level tables built per case; the walker must find mapped
 * user pages (4 KiB, 2 MiB, 1 GiB), and refuse unmapped pages, supervisor
 * (kernel) pages, read-only pages for a write, non-canonical and upper-half
 * addresses, PS set where reserved and tables pointing outside RAM; a range
 * is all or nothing.
 */
#include <errno.h>
#include <string.h>

#include "ultracall/ultracall_walk.h"
#include "unit.h"

#define RAM_PAGES 64
static uint64_t ram[RAM_PAGES * 512];           /* 256 KiB of "physical" memory */
static unsigned next_page;

static int fake_read_pte(void *opaque, uint64_t pa, uint64_t *pte)
{
    (void)opaque;
    if (pa % 8 || pa >= sizeof(ram)) {
        return -EFAULT;                          /* not RAM */
    }
    *pte = ram[pa / 8];
    return 0;
}

static uint64_t new_table(void)
{
    uint64_t pa = (uint64_t)next_page++ * 4096;

    memset(&ram[pa / 8], 0, 4096);
    return pa;
}

static uint64_t cr3;
static const uint64_t UF = ULTRACALL_PTE_P | ULTRACALL_PTE_RW | ULTRACALL_PTE_US;

/* Map va -> pa as a 4 KiB page with leaf flags; upper levels get UF. */
static void map4k(uint64_t va, uint64_t pa, uint64_t leaf_flags)
{
    uint64_t table = cr3;

    for (int level = 3; level >= 1; level--) {
        uint64_t *e = &ram[table / 8 + ((va >> (12 + 9 * level)) & 511)];

        if (!(*e & ULTRACALL_PTE_P)) {
            *e = new_table() | UF;
        }
        table = *e & ULTRACALL_PTE_ADDR;
    }
    ram[table / 8 + ((va >> 12) & 511)] = pa | leaf_flags;
}

/* Map a large page at level (1: 2 MiB in the PD, 2: 1 GiB in the PDPT). */
static void map_large(uint64_t va, uint64_t pa, int leaf_level, uint64_t flags)
{
    uint64_t table = cr3;

    for (int level = 3; level > leaf_level; level--) {
        uint64_t *e = &ram[table / 8 + ((va >> (12 + 9 * level)) & 511)];

        if (!(*e & ULTRACALL_PTE_P)) {
            *e = new_table() | UF;
        }
        table = *e & ULTRACALL_PTE_ADDR;
    }
    ram[table / 8 + ((va >> (12 + 9 * leaf_level)) & 511)] = pa | flags | ULTRACALL_PTE_PS;
}

static void reset_tables(void)
{
    next_page = 0;
    cr3 = new_table();
}

static struct ultracall_walk_ops ops(void)
{
    return (struct ultracall_walk_ops){ .read_pte = fake_read_pte, .cr3 = cr3 | 0x5 /* PCID bits */ };
}

static void single_cases(void)
{
    struct ultracall_walk_ops o;
    uint64_t pa, run;
    int rc;

    reset_tables();
    map4k(0x400000, 0x123000, UF);
    map4k(0x401000, 0x200000, ULTRACALL_PTE_P | ULTRACALL_PTE_US);      /* read-only */
    map4k(0x402000, 0x300000, ULTRACALL_PTE_P | ULTRACALL_PTE_RW);      /* kernel page */
    map4k(0x403000, 0x301000, UF & ~ULTRACALL_PTE_P);                   /* not present */
    map_large(0x40000000ull, 0x80000000ull, 2, UF);                     /* 1 GiB */
    map_large(0x600000, 0xa00000, 1, UF);                                /* 2 MiB */
    o = ops();

    rc = ultracall_walk_va(&o, 0x400123, true, &pa, &run);
    unit_check("walk_4k_user_page", rc == 0 && pa == 0x123123 && run == 0x1000 - 0x123,
               "rc %d pa %#llx run %#llx", rc, (unsigned long long)pa, (unsigned long long)run);
    rc = ultracall_walk_va(&o, 0x401000, false, &pa, &run);
    unit_check("walk_readonly_read_ok", rc == 0 && pa == 0x200000, "rc %d", rc);
    rc = ultracall_walk_va(&o, 0x401000, true, &pa, &run);
    unit_check("walk_readonly_write_refused", rc == -EFAULT, "rc %d", rc);
    rc = ultracall_walk_va(&o, 0x402000, false, &pa, &run);
    unit_check("walk_supervisor_page_refused", rc == -EFAULT, "rc %d", rc);
    rc = ultracall_walk_va(&o, 0x403000, false, &pa, &run);
    unit_check("walk_not_present_refused", rc == -EFAULT, "rc %d", rc);
    rc = ultracall_walk_va(&o, 0x7000000000ull, false, &pa, &run);
    unit_check("walk_unmapped_refused", rc == -EFAULT, "rc %d", rc);
    rc = ultracall_walk_va(&o, 0x40000000ull + 0x12345678, true, &pa, &run);
    unit_check("walk_1g_page", rc == 0 && pa == 0x80000000ull + 0x12345678 &&
               run == 0x40000000ull - 0x12345678, "rc %d pa %#llx", rc, (unsigned long long)pa);
    rc = ultracall_walk_va(&o, 0x600000 + 0x1234, true, &pa, &run);
    unit_check("walk_2m_page", rc == 0 && pa == 0xa01234 && run == 0x200000 - 0x1234,
               "rc %d pa %#llx", rc, (unsigned long long)pa);
    rc = ultracall_walk_va(&o, 0xffff888000000000ull, false, &pa, &run);
    unit_check("walk_kernel_half_refused", rc == -EFAULT, "rc %d", rc);
    rc = ultracall_walk_va(&o, 0x0000800000000000ull, false, &pa, &run);
    unit_check("walk_noncanonical_refused", rc == -EFAULT, "rc %d", rc);

    /* A user mapping under a supervisor-only upper level is not user memory. */
    ram[cr3 / 8 + 0] &= ~ULTRACALL_PTE_US;
    rc = ultracall_walk_va(&o, 0x400000, false, &pa, &run);
    unit_check("walk_supervisor_upper_level_refused", rc == -EFAULT, "rc %d", rc);
    ram[cr3 / 8 + 0] |= ULTRACALL_PTE_US;

    /* PS in a PML4 entry is reserved. */
    uint64_t saved = ram[cr3 / 8 + 0];
    ram[cr3 / 8 + 0] |= ULTRACALL_PTE_PS;
    rc = ultracall_walk_va(&o, 0x400000, false, &pa, &run);
    unit_check("walk_ps_in_pml4_refused", rc == -EFAULT, "rc %d", rc);
    ram[cr3 / 8 + 0] = saved;

    /* A table pointer outside RAM (device memory): refused, never read. */
    map4k(0x404000, 0x302000, UF);
    uint64_t pdpt = ram[cr3 / 8] & ULTRACALL_PTE_ADDR;
    uint64_t pd = ram[pdpt / 8] & ULTRACALL_PTE_ADDR;
    uint64_t *pde = &ram[pd / 8 + 2];
    uint64_t keep = *pde;
    *pde = 0xfee00000ull | UF;
    rc = ultracall_walk_va(&o, 0x404000, false, &pa, &run);
    unit_check("walk_table_outside_ram_refused", rc == -EFAULT, "rc %d", rc);
    *pde = keep;
}

static void range_cases(void)
{
    struct ultracall_seg segs[8];
    struct ultracall_walk_ops o;
    int n;

    reset_tables();
    map4k(0x10000, 0x5000, UF);
    map4k(0x11000, 0x6000, UF);             /* contiguous with the previous */
    map4k(0x12000, 0x9000, UF);             /* not contiguous */
    map4k(0x14000, 0xa000, UF);             /* after a hole at 0x13000 */
    o = ops();

    n = ultracall_walk_range(&o, 0x10800, 0x2000, true, segs, 8);
    unit_check("range_merges_contiguous", n == 2 && segs[0].pa == 0x5800 &&
               segs[0].len == 0x1800 && segs[1].pa == 0x9000 && segs[1].len == 0x800,
               "n %d", n);
    n = ultracall_walk_range(&o, 0x10000, 0x5000, true, segs, 8);
    unit_check("range_with_hole_refused", n == -EFAULT, "n %d", n);
    n = ultracall_walk_range(&o, 0x12fff, 2, true, segs, 8);
    unit_check("range_last_byte_in_hole_refused", n == -EFAULT, "n %d", n);
    n = ultracall_walk_range(&o, 0x10000, 0, true, segs, 8);
    unit_check("range_size_zero_refused", n == -EINVAL, "n %d", n);
    n = ultracall_walk_range(&o, ~0ull - 10, 100, true, segs, 8);
    unit_check("range_wrap_refused", n == -EINVAL, "n %d", n);
    n = ultracall_walk_range(&o, 0x11000, 0x2000, true, segs, 1);
    unit_check("range_too_few_segments_refused", n == -EINVAL, "n %d", n);
    n = ultracall_walk_range(&o, 0x7ffffffff000ull, 0x2000, false, segs, 8);
    unit_check("range_crossing_into_kernel_half_refused", n == -EFAULT, "n %d", n);
}

int main(void)
{
    single_cases();
    range_cases();
    return unit_exit();
}
