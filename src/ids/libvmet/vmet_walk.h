/*
 * x86-64 long-mode page walks (AMD APM vol. 2, 5.3; the same format for the
 * guest's own tables and for SVM nested tables, 15.25.5), and their
 * two-stage composition (papers/001 fig. 3). Pure C: no syscalls, all memory
 * through the caller's read function, so tests/unit/test_vmet_walk.c runs
 * them on hand-built tables.
 *
 * Every physical read costs one unit of *budget; at 0 the walk ends with
 * VMET_E_BUDGET. A single walk reads at most `levels` entries (a table that
 * points at itself is only re-read as the next level down), so loops in
 * page tables cannot make a walk run away; the budget bounds the callers that
 * walk many addresses.
 */
#ifndef VMET_WALK_H
#define VMET_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "../vmet.h"
#include "vmet_tcache.h"

#define VMET_PAGE_SIZE   4096ull
#define VMET_PAGE_2M     (1ull << 21)
#define VMET_PAGE_1G     (1ull << 30)

/* Architectural entry bits (AMD APM vol. 2, fig. 5-18..5-25). */
#define VMET_PTE_P       (1ull << 0)
#define VMET_PTE_PS      (1ull << 7)
#define VMET_PTE_ADDR    0x000ffffffffff000ull   /* bits 51:12 */

/* Read len bytes at physical address pa into buf: VMET_OK or a status. */
typedef vmet_status_t (*vmet_phys_read_fn)(void *ctx, uint64_t pa, void *buf, size_t len);

/* A physical address space that can be read, with its read budget. */
struct vmet_mem {
    vmet_phys_read_fn read;
    void *ctx;
    uint32_t *budget;            /* NULL: unlimited */
    uint64_t *reads;             /* incremented per read; may be NULL */
};

struct vmet_walk_out {
    uint64_t pa;                 /* the translated address */
    uint64_t page_size;          /* size of the page that maps it */
};

/* Read through m, charging the budget. */
vmet_status_t vmet_mem_read(const struct vmet_mem *m, uint64_t pa, void *buf, size_t len);

/*
 * Walk the tables rooted at root (a CR3 or nested CR3 value: bits 51:12 are
 * the table's address, the rest is ignored) with levels 4 or 5 for address
 * va. Returns VMET_OK, VMET_E_UNSUPPORTED (levels), VMET_E_INVAL (va not
 * canonical for levels), VMET_E_NOT_PRESENT, VMET_E_BAD_ENTRY (PS set in a
 * PML5/PML4 entry), or what m's reads return.
 */
vmet_status_t vmet_walk(const struct vmet_mem *m, uint64_t root, unsigned levels,
                        uint64_t va, struct vmet_walk_out *out);

/*
 * vmet_walk with a page-walk cache: with pwc set, a walk into a 2 MiB
 * region whose level-1 table an earlier walk found (under the same root, in
 * space VMET_TCACHE_PT_VA or _GPA) reads only that table's entry, one into a
 * 1 GiB region whose level-2 table it found starts there, and every walk
 * records the level-2 and level-1 tables it passes. Results
 * are those of vmet_walk on the tables as they were when cached; the owner
 * flushes pwc with the translations.
 */
vmet_status_t vmet_walk_cached(const struct vmet_mem *m, struct vmet_tcache *pwc,
                               unsigned space, uint64_t root, unsigned levels,
                               uint64_t va, struct vmet_walk_out *out);

/*
 * The nested stage: VM-physical -> L1-physical through L1's nested tables.
 * levels 0 means no nested stage (one-stage backends: identity).
 */
struct vmet_stage2 {
    const struct vmet_mem *host;  /* L1-physical memory */
    uint64_t ncr3;
    unsigned levels;
    struct vmet_tcache *cache;    /* NULL: no caching */
};

/*
 * VM-physical gpa to L1-physical. VMET_E_NESTED_FAULT where the nested tables
 * do not map gpa (also for a gpa beyond what `levels` can address); other
 * statuses as vmet_walk.
 */
vmet_status_t vmet_stage2_translate(const struct vmet_stage2 *s2, uint64_t gpa,
                                    struct vmet_walk_out *out);

/* Read VM-physical memory (len may cross pages). */
vmet_status_t vmet_stage2_read(const struct vmet_stage2 *s2, uint64_t gpa, void *buf,
                               size_t len);

/*
 * The full translation of a VM virtual address: its tables (root cr3, levels
 * 4/5) are VM-physical, every entry read through s2. Statuses: vmet_walk's
 * for the VM's tables, vmet_stage2_translate's for each table and the final
 * page. cache (may be NULL) holds whole translations keyed by cr3's table.
 */
vmet_status_t vmet_translate2(const struct vmet_stage2 *s2, struct vmet_tcache *cache,
                              uint64_t cr3, unsigned levels, uint64_t va,
                              struct vmet_paddr *out);

/* True if va is canonical for levels (4: 48-bit, 5: 57-bit). */
int vmet_va_canonical(uint64_t va, unsigned levels);

#endif
