/*
 * Page walks (vmet_walk.h), mirroring the long-mode walk of QEMU's
 * target/i386/tcg/sysemu/excp_helper.c (mmu_translate), read-only: no
 * accessed/dirty bits are set, the VM never notices the IDS.
 */
#include <string.h>

#include "vmet_walk.h"

/* Bits 11:0 of a page, and of the index of each level: 9 bits per level. */
#define PAGE_OFFSET_MASK 0xfffull
#define LEVEL_BITS       9
#define LEVEL_MASK       0x1ffull

vmet_status_t vmet_mem_read(const struct vmet_mem *m, uint64_t pa, void *buf, size_t len)
{
    if (m->budget) {
        if (*m->budget == 0) {
            return VMET_E_BUDGET;
        }
        (*m->budget)--;
    }
    if (m->reads) {
        (*m->reads)++;
    }
    return m->read(m->ctx, pa, buf, len);
}

int vmet_va_canonical(uint64_t va, unsigned levels)
{
    unsigned bits = 12 + LEVEL_BITS * levels;          /* 48 or 57 */
    int64_t sign_extended = (int64_t)(va << (64 - bits)) >> (64 - bits);

    return (uint64_t)sign_extended == va;
}

static unsigned level_shift(unsigned level)
{
    return 12 + LEVEL_BITS * (level - 1);
}

/* Page size mapped by a PS entry at level: 1 GiB at 3, 2 MiB at 2. */
static uint64_t large_size(unsigned level)
{
    return 1ull << level_shift(level);
}

vmet_status_t vmet_walk_cached(const struct vmet_mem *m, struct vmet_tcache *pwc,
                               unsigned space, uint64_t root, unsigned levels,
                               uint64_t va, struct vmet_walk_out *out)
{
    uint64_t table = root & VMET_PTE_ADDR;
    unsigned level = levels;
    vmet_status_t st;

    if (levels != 4 && levels != 5) {
        return VMET_E_UNSUPPORTED;
    }
    if (!vmet_va_canonical(va, levels)) {
        return VMET_E_INVAL;
    }
    if (pwc) {
        /* The lowest table an earlier walk of this region passed through. */
        unsigned cached = vmet_tcache_pt_lookup(pwc, root, space, va, &table);

        if (cached) {
            level = cached;
        }
    }
    for (; level >= 1; level--) {
        uint64_t idx = (va >> level_shift(level)) & LEVEL_MASK;
        uint64_t pte;

        st = vmet_mem_read(m, table + idx * 8, &pte, sizeof(pte));
        if (st != VMET_OK) {
            return st;
        }
        if (!(pte & VMET_PTE_P)) {
            return VMET_E_NOT_PRESENT;
        }
        if (pte & VMET_PTE_PS) {
            if (level > 3) {
                return VMET_E_BAD_ENTRY;   /* PS is reserved in PML5E/PML4E */
            }
            if (level > 1) {
                /* A 1 GiB or 2 MiB page; bit 12 there is PAT, not address. */
                uint64_t size = large_size(level);

                out->pa = (pte & VMET_PTE_ADDR & ~(size - 1)) | (va & (size - 1));
                out->page_size = size;
                return VMET_OK;
            }
            /* Level 1: bit 7 is PAT, an ordinary 4 KiB entry. */
        }
        if (pwc && (level == 2 || level == 3)) {
            /* pte points to the table below, which maps va's 2 MiB or 1 GiB region. */
            vmet_tcache_pt_insert(pwc, root, space, va, level - 1, pte & VMET_PTE_ADDR);
        }
        table = pte & VMET_PTE_ADDR;
    }
    out->pa = table | (va & PAGE_OFFSET_MASK);
    out->page_size = VMET_PAGE_SIZE;
    return VMET_OK;
}

vmet_status_t vmet_walk(const struct vmet_mem *m, uint64_t root, unsigned levels,
                        uint64_t va, struct vmet_walk_out *out)
{
    return vmet_walk_cached(m, NULL, 0, root, levels, va, out);
}

/* --- the nested stage ------------------------------------------------------ */

vmet_status_t vmet_stage2_translate(const struct vmet_stage2 *s2, uint64_t gpa,
                                    struct vmet_walk_out *out)
{
    uint64_t g, h, size;
    vmet_status_t st;

    if (s2->levels == 0) {
        out->pa = gpa;
        out->page_size = VMET_PAGE_1G;  /* no nested stage: no splitting */
        return VMET_OK;
    }
    /* A guest-physical address is an unsigned index into the nested tables. */
    if (gpa >> (12 + LEVEL_BITS * s2->levels)) {
        return VMET_E_NESTED_FAULT;
    }
    if (s2->cache && vmet_tcache_lookup(s2->cache, s2->ncr3, VMET_TCACHE_GPA, gpa,
                                        &g, &h, &size)) {
        out->pa = h;
        out->page_size = size;
        return VMET_OK;
    }
    st = vmet_walk_cached(s2->host, s2->cache, VMET_TCACHE_PT_GPA, s2->ncr3, s2->levels,
                          gpa, out);
    if (st == VMET_E_NOT_PRESENT) {
        return VMET_E_NESTED_FAULT;
    }
    if (st == VMET_OK && s2->cache) {
        vmet_tcache_insert(s2->cache, s2->ncr3, VMET_TCACHE_GPA, gpa, gpa, out->pa,
                           out->page_size);
    }
    return st;
}

/* Bytes from addr to the end of its page of size page_size. */
static uint64_t left_in_page(uint64_t addr, uint64_t page_size)
{
    return page_size - (addr & (page_size - 1));
}

vmet_status_t vmet_stage2_read(const struct vmet_stage2 *s2, uint64_t gpa, void *buf,
                               size_t len)
{
    uint8_t *p = buf;

    while (len) {
        struct vmet_walk_out w;
        vmet_status_t st = vmet_stage2_translate(s2, gpa, &w);
        uint64_t n;

        if (st != VMET_OK) {
            return st;
        }
        n = left_in_page(gpa, w.page_size < VMET_PAGE_SIZE ? VMET_PAGE_SIZE : w.page_size);
        if (n > len) {
            n = len;
        }
        st = vmet_mem_read(s2->host, w.pa, p, (size_t)n);
        if (st != VMET_OK) {
            return st;
        }
        p += n;
        gpa += n;
        len -= (size_t)n;
    }
    return VMET_OK;
}

/* The VM's tables live in VM-physical memory: read them through stage 2. */
static vmet_status_t read_through_s2(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return vmet_stage2_read(ctx, gpa, buf, len);
}

vmet_status_t vmet_translate2(const struct vmet_stage2 *s2, struct vmet_tcache *cache,
                              uint64_t cr3, unsigned levels, uint64_t va,
                              struct vmet_paddr *out)
{
    /* Budget and counters are charged by the host reads underneath. */
    struct vmet_mem guest = { .read = read_through_s2, .ctx = (void *)s2 };
    struct vmet_walk_out g, h;
    uint64_t root = cr3 & VMET_PTE_ADDR;
    vmet_status_t st;

    if (cache && vmet_tcache_lookup(cache, root, VMET_TCACHE_VA, va, &out->gpa,
                                    &out->hpa, &out->page_size)) {
        return VMET_OK;
    }
    st = vmet_walk_cached(&guest, cache, VMET_TCACHE_PT_VA, root, levels, va, &g);
    if (st != VMET_OK) {
        return st;
    }
    st = vmet_stage2_translate(s2, g.pa, &h);
    if (st != VMET_OK) {
        return st;
    }
    out->gpa = g.pa;
    out->hpa = h.pa;
    /* Contiguous in both stages only as far as the smaller page reaches. */
    out->page_size = g.page_size < h.page_size ? g.page_size : h.page_size;
    if (cache) {
        vmet_tcache_insert(cache, root, VMET_TCACHE_VA, va, out->gpa, out->hpa,
                           out->page_size);
    }
    return VMET_OK;
}
