/* Walking the caller's page tables for an ultracall buffer (ultracall_walk.h). */
#include <errno.h>

#include "ultracall_walk.h"

/* Bits of va that index each level, from the top: PML5, PML4, PDPT, PD, PT. */
static unsigned level_shift(int level)
{
    return 12 + 9 * (unsigned)level;        /* level 0 = PT ... 4 = PML5 */
}

/* Lower-half canonical: every bit above the top index bit is 0. */
static bool va_is_user_canonical(uint64_t va, bool la57)
{
    unsigned top = la57 ? 57 : 48;

    return (va >> (top - 1)) == 0;
}

static bool entry_allows(uint64_t pte, bool write)
{
    if (!(pte & ULTRACALL_PTE_P) || !(pte & ULTRACALL_PTE_US)) {
        return false;
    }
    return !write || (pte & ULTRACALL_PTE_RW);
}

int ultracall_walk_va(const struct ultracall_walk_ops *ops, uint64_t va,
                      bool write, uint64_t *pa, uint64_t *run)
{
    uint64_t table = ops->cr3 & ULTRACALL_PTE_ADDR;
    int level = ops->la57 ? 4 : 3;

    if (!va_is_user_canonical(va, ops->la57)) {
        return -EFAULT;
    }
    for (; level >= 0; level--) {
        unsigned shift = level_shift(level);
        uint64_t pte;

        if (ops->read_pte(ops->opaque, table + ((va >> shift) & 511) * 8, &pte) < 0 ||
            !entry_allows(pte, write)) {
            return -EFAULT;
        }
        /* PS is a leaf at the PDPT (1 GiB) and PD (2 MiB) levels only. */
        if (level == 0 || ((level == 1 || level == 2) && (pte & ULTRACALL_PTE_PS))) {
            uint64_t page = 1ull << shift;
            uint64_t off = va & (page - 1);

            *pa = ((pte & ULTRACALL_PTE_ADDR) & ~(page - 1)) + off;
            *run = page - off;
            return 0;
        }
        if (pte & ULTRACALL_PTE_PS) {
            return -EFAULT;                 /* PS set where it is reserved */
        }
        table = pte & ULTRACALL_PTE_ADDR;
    }
    return -EFAULT;
}

int ultracall_walk_range(const struct ultracall_walk_ops *ops, uint64_t va,
                         uint64_t size, bool write, struct ultracall_seg *segs,
                         size_t max_segs)
{
    size_t n = 0;

    if (size == 0 || va + size < va) {
        return -EINVAL;
    }
    while (size > 0) {
        uint64_t pa, run;
        int rc = ultracall_walk_va(ops, va, write, &pa, &run);

        if (rc < 0) {
            return rc;
        }
        if (run > size) {
            run = size;
        }
        if (n > 0 && segs[n - 1].pa + segs[n - 1].len == pa) {
            segs[n - 1].len += run;         /* physically contiguous: merge */
        } else {
            if (n == max_segs) {
                return -EINVAL;
            }
            segs[n++] = (struct ultracall_seg){ .pa = pa, .len = run };
        }
        va += run;
        size -= run;
    }
    return (int)n;
}
