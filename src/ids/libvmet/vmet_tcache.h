/*
 * Translation cache: a direct-mapped table of translations, each at the size
 * of the mapping it came from (4 KiB, 2 MiB or 1 GiB: one entry answers for a
 * whole large page, as a TLB's large-page entries do) and tagged with the
 * root (and space) it was made under. The owner flushes it whenever the roots
 * it was filled under change (vmet_refresh), so a stale root never answers;
 * within one root it is a snapshot, as a TLB is. Pure C.
 */
#ifndef VMET_TCACHE_H
#define VMET_TCACHE_H

#include <stdint.h>

#define VMET_TCACHE_SLOTS 4096u      /* power of two */

/* Spaces sharing the cache: root values are page-aligned, so tags can use bit 0. */
#define VMET_TCACHE_VA   0u          /* VM virtual -> L1 physical, root = CR3 table */
#define VMET_TCACHE_GPA  1u          /* VM physical -> L1 physical, root = nested CR3 table */
/*
 * Paging-structure entries, as a CPU's page-walk caches keep them (Intel SDM
 * vol. 3 4.10.3, PDE and PDPTE caches; AMD's PWC): for the 2 MiB region of
 * an address under a root, the level-1 table that maps it; for its 1 GiB
 * region, the level-2 table. The next walk there reads one entry instead of
 * four (or three). Bit 1 of a tag marks a used slot, so these spaces use bit 2.
 */
#define VMET_TCACHE_PT_VA  4u        /* the VM's own tables (VM-physical table) */
#define VMET_TCACHE_PT_GPA 5u        /* the nested tables (L1-physical table) */

struct vmet_tcache_entry {
    uint64_t tag;                    /* root | space | 2 (bit 1: in use); 0 = empty */
    uint64_t vpage;                  /* the input address's page of size page_size */
    uint64_t gpage;                  /* VM-physical page (VA space only) */
    uint64_t hpage;                  /* L1-physical page */
    uint64_t page_size;              /* 4 KiB, 2 MiB or 1 GiB */
    uint32_t gen;                    /* valid only while equal to the cache's gen */
};

struct vmet_tcache {
    struct vmet_tcache_entry e[VMET_TCACHE_SLOTS];
    /*
     * Flushing bumps gen instead of clearing e: the benchmark's cold passes
     * flush once per pass, and clearing 4096 entries (160 KiB) was 8 % of a
     * pass in both configurations. Cleared only when gen wraps.
     */
    uint32_t gen;
    uint64_t hits, misses, flushes;
    uint64_t pt_hits;                /* walks that started at a cached table */
    /*
     * Per space (VA, GPA), the slot of the last hit or insert, tried before
     * any hashing: walks and reads touch runs of addresses in one page, as a
     * CPU's small first-level TLB exploits. A slot reused since answers only
     * if it still matches.
     */
    uint32_t last[2];
    uint8_t sizes[2];                /* per space (VA, GPA): which sizes were inserted since the flush */
};

void vmet_tcache_flush(struct vmet_tcache *c);

/*
 * Look up addr in space under root. On a hit returns 1 and sets *gpa, *hpa
 * (addr's own byte) and *page_size (the cached page's size); else 0.
 */
int vmet_tcache_lookup(struct vmet_tcache *c, uint64_t root, unsigned space,
                       uint64_t addr, uint64_t *gpa, uint64_t *hpa, uint64_t *page_size);

/*
 * Cache the translation of addr (to gpa and hpa) made by a mapping of
 * page_size bytes: it is kept at the largest of 4 KiB, 2 MiB, 1 GiB that is
 * no larger than page_size, so it answers for that whole page.
 */
void vmet_tcache_insert(struct vmet_tcache *c, uint64_t root, unsigned space,
                        uint64_t addr, uint64_t gpa, uint64_t hpa, uint64_t page_size);

/*
 * The lowest cached table on addr's walk under root (space VMET_TCACHE_PT_*):
 * returns its level (1: the level-1 table of addr's 2 MiB region; 2: the
 * level-2 table of its 1 GiB region) and sets *table, or returns 0.
 */
unsigned vmet_tcache_pt_lookup(struct vmet_tcache *c, uint64_t root, unsigned space,
                               uint64_t addr, uint64_t *table);

/*
 * Remember that table, a table of level 1 or 2, maps addr's 2 MiB (level 1)
 * or 1 GiB (level 2) region under root. Other levels are ignored.
 */
void vmet_tcache_pt_insert(struct vmet_tcache *c, uint64_t root, unsigned space,
                           uint64_t addr, unsigned level, uint64_t table);

#endif
