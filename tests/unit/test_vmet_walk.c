/* sources: src/ids/libvmet/vmet_walk.c src/ids/libvmet/vmet_tcache.c */
/*
 * V-Met's page walkers on hand-built tables: 4- and 5-level, 4 KiB / 2 MiB /
 * 1 GiB pages, not-present entries at each level, reserved PS bits, nested
 * (two-stage) walks and their faults, page-size composition, and hostile
 * tables (self-references, pointers outside memory, read budgets) that must
 * end with an error code after a bounded number of reads.
 */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "../../src/ids/libvmet/vmet_walk.h"

#define NPAGES 64
#define PAGE 4096ull
#define P VMET_PTE_P
#define PS VMET_PTE_PS

/* Fake physical memory: NPAGES pages at physical 0 .. NPAGES*4K. */
static uint8_t mem[NPAGES * PAGE];
static uint64_t reads;

static vmet_status_t fake_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
    (void)ctx;
    if (pa >= sizeof(mem) || len > sizeof(mem) - pa) {
        return VMET_E_OUT_OF_RANGE;
    }
    memcpy(buf, mem + pa, len);
    return VMET_OK;
}

static void set(unsigned page, unsigned idx, uint64_t v)
{
    memcpy(mem + page * PAGE + idx * 8, &v, 8);
}

static uint64_t pg(unsigned page)
{
    return page * PAGE;
}

/* Index of va at level (1 = PT .. 5 = PML5). */
static unsigned ix(uint64_t va, unsigned level)
{
    return (unsigned)((va >> (12 + 9 * (level - 1))) & 0x1ff);
}

/* Map va with 4 KiB pages: tables in pages t[levels-1..0] (t[0] the root), data page d. */
static void map4k(uint64_t va, unsigned levels, const unsigned *t, uint64_t data_pa)
{
    for (unsigned l = levels, i = 0; l >= 1; l--, i++) {
        uint64_t next = l == 1 ? data_pa : pg(t[i + 1]);

        set(t[i], ix(va, l), next | P);
    }
}

static void reset(void)
{
    memset(mem, 0, sizeof(mem));
    reads = 0;
}

struct result {
    vmet_status_t st;
    uint64_t pa;          /* one-stage: pa; two-stage: hpa */
    uint64_t gpa;
    uint64_t page_size;
    uint64_t max_reads;   /* 0: not checked */
};

static struct vmet_mem host = { .read = fake_read, .reads = &reads };

static struct result walk1(uint64_t root, unsigned levels, uint64_t va)
{
    struct vmet_walk_out o = { 0, 0 };
    struct result r = { 0 };

    r.st = vmet_walk(&host, root, levels, va, &o);
    r.pa = o.pa;
    r.page_size = o.page_size;
    return r;
}

/* --- one-stage cases ------------------------------------------------------------ */

#define VA1 0xffff888012345678ull   /* kernel direct-map style, canonical in 4 levels */
#define VA5 0xff11000012345678ull   /* canonical only in 5 levels */

static struct result c_4level_4k(void)
{
    const unsigned t[] = { 1, 2, 3, 4 };

    map4k(VA1, 4, t, pg(9));
    return walk1(pg(1), 4, VA1);
}

static struct result c_5level_4k(void)
{
    const unsigned t[] = { 1, 2, 3, 4, 5 };

    map4k(VA5, 5, t, pg(9));
    return walk1(pg(1) | 0x18 /* PCD|PWT ignored */, 5, VA5);
}

static struct result c_2m_page(void)
{
    set(1, ix(VA1, 4), pg(2) | P);
    set(2, ix(VA1, 3), pg(3) | P);
    /* 2 MiB page at 0x40000000, PAT (bit 12) set: not part of the address. */
    set(3, ix(VA1, 2), 0x40000000ull | (1ull << 12) | PS | P);
    return walk1(pg(1), 4, VA1);
}

static struct result c_1g_page(void)
{
    set(1, ix(VA1, 4), pg(2) | P);
    set(2, ix(VA1, 3), 0x1c0000000ull | (1ull << 12) | PS | P | (1ull << 63));
    return walk1(pg(1), 4, VA1);
}

static struct result c_pat_bit_in_pte(void)
{
    const unsigned t[] = { 1, 2, 3, 4 };

    map4k(VA1, 4, t, pg(9));
    set(4, ix(VA1, 1), pg(9) | PS | P);   /* bit 7 in a PTE is PAT */
    return walk1(pg(1), 4, VA1);
}

static struct result np_level(unsigned level)
{
    const unsigned t[] = { 1, 2, 3, 4 };

    map4k(VA1, 4, t, pg(9));
    set(t[4 - level], ix(VA1, level), 0);
    return walk1(pg(1), 4, VA1);
}

static struct result c_np_pml4(void) { return np_level(4); }
static struct result c_np_pdpt(void) { return np_level(3); }
static struct result c_np_pd(void) { return np_level(2); }
static struct result c_np_pt(void) { return np_level(1); }

static struct result c_ps_in_pml4(void)
{
    set(1, ix(VA1, 4), pg(2) | PS | P);
    return walk1(pg(1), 4, VA1);
}

static struct result c_ps_in_pml5(void)
{
    set(1, ix(VA5, 5), pg(2) | PS | P);
    return walk1(pg(1), 5, VA5);
}

static struct result c_noncanonical(void)
{
    return walk1(pg(1), 4, 0x0000900000000000ull);
}

static struct result c_va57_in_4level(void)
{
    return walk1(pg(1), 4, VA5);
}

static struct result c_three_levels(void)
{
    return walk1(pg(1), 3, 0x1000);
}

static struct result c_table_outside_memory(void)
{
    set(1, ix(VA1, 4), 0x7ffff000000ull | P);   /* far beyond the fake memory */
    return walk1(pg(1), 4, VA1);
}

static struct result c_root_outside_memory(void)
{
    return walk1(0xfffff000ull, 4, VA1);
}

/*
 * Every entry of page 1 points at page 1 (a recursive mapping): each level
 * re-reads the same table, so the walk ends after `levels` reads.
 */
static struct result c_self_loop_bounded(void)
{
    struct result r;

    for (unsigned i = 0; i < 512; i++) {
        set(1, i, pg(1) | P);
    }
    r = walk1(pg(1), 4, VA1);
    r.max_reads = 4;
    return r;
}

static struct result c_budget_stops_walk(void)
{
    uint32_t budget = 2;
    struct vmet_mem m = { .read = fake_read, .budget = &budget, .reads = &reads };
    struct vmet_walk_out o;
    const unsigned t[] = { 1, 2, 3, 4 };
    struct result r = { 0 };

    map4k(VA1, 4, t, pg(9));
    r.st = vmet_walk(&m, pg(1), 4, VA1, &o);
    r.max_reads = 2;
    return r;
}

/* A hostile scan: 512 translations over looping tables, budget 100 reads. */
static struct result c_budget_bounds_scan(void)
{
    uint32_t budget = 100;
    struct vmet_mem m = { .read = fake_read, .budget = &budget, .reads = &reads };
    struct vmet_walk_out o;
    struct result r = { 0 };

    for (unsigned i = 0; i < 512; i++) {
        set(1, i, pg(1) | P);
    }
    for (uint64_t va = 0xffffffff80000000ull; va < 0xffffffffc0000000ull; va += 1 << 21) {
        r.st = vmet_walk(&m, pg(1), 4, va, &o);
        if (r.st != VMET_OK) {
            break;
        }
    }
    r.max_reads = 100;
    return r;
}

/* --- two-stage cases -------------------------------------------------------------- */

/*
 * Nested layout: the NPT (root page 20, tables 21..23) maps guest-physical
 * page g to host page g + 30 for g in [0, 16) with 4 KiB pages unless a case
 * changes it. The guest's own tables live at guest pages 1..4.
 */
#define HOST_OFF 30u
static struct vmet_tcache cache;

static void npt_4k(unsigned npages)
{
    set(20, 0, pg(21) | P);
    set(21, 0, pg(22) | P);
    set(22, 0, pg(23) | P);
    for (unsigned g = 0; g < npages; g++) {
        set(23, g, pg(g + HOST_OFF) | P);
    }
}

/* Write a guest table entry: guest page gp lives at host page gp + HOST_OFF. */
static void gset(unsigned gp, unsigned idx, uint64_t v)
{
    set(gp + HOST_OFF, idx, v);
}

static void guest_map4k(uint64_t va, uint64_t data_gpa)
{
    gset(1, ix(va, 4), pg(2) | P);
    gset(2, ix(va, 3), pg(3) | P);
    gset(3, ix(va, 2), pg(4) | P);
    gset(4, ix(va, 1), data_gpa | P);
}

static struct result walk2(unsigned npt_levels, uint64_t va, struct vmet_tcache *c)
{
    struct vmet_stage2 s2 = { .host = &host, .ncr3 = pg(20), .levels = npt_levels, .cache = c };
    struct vmet_paddr o = { 0, 0, 0 };
    struct result r = { 0 };

    r.st = vmet_translate2(&s2, c, pg(1), 4, va, &o);
    r.pa = o.hpa;
    r.gpa = o.gpa;
    r.page_size = o.page_size;
    return r;
}

static struct result c_nested_4k(void)
{
    npt_4k(16);
    guest_map4k(VA1, pg(9));
    return walk2(4, VA1, NULL);
}

static struct result c_nested_guest2m_npt4k(void)
{
    npt_4k(16);
    gset(1, ix(VA1, 4), pg(2) | P);
    gset(2, ix(VA1, 3), pg(3) | P);
    gset(3, ix(VA1, 2), 0 | PS | P);           /* guest 2 MiB page at gpa 0 */
    return walk2(4, VA1 & ~0x1fffffull, NULL);  /* offset 0 in it: gpa 0 -> host page 30 */
}

static struct result c_nested_guest4k_npt1g(void)
{
    set(20, 0, pg(21) | P);
    set(21, 0, 0x80000000ull | PS | P);        /* gpa [0,1G) -> hpa [2G,3G) */
    guest_map4k(VA1, pg(9));
    /* Guest tables now live at hpa 2G + ...: outside the fake memory. */
    return walk2(4, VA1, NULL);
}

static struct result c_nested_guest4k_npt1g_identity(void)
{
    set(20, 0, pg(21) | P);
    set(21, 0, 0 | PS | P);                    /* gpa [0,1G) -> hpa [0,1G) */
    set(1, ix(VA1, 4), pg(2) | P);             /* guest tables at gpa == hpa */
    set(2, ix(VA1, 3), pg(3) | P);
    set(3, ix(VA1, 2), pg(4) | P);
    set(4, ix(VA1, 1), pg(9) | P);
    return walk2(4, VA1, NULL);
}

static struct result c_nested_guest1g_npt2m(void)
{
    set(20, 0, pg(21) | P);
    set(21, 0, pg(22) | P);
    set(22, 0, 0 | PS | P);                    /* gpa [0,2M) -> hpa [0,2M): identity */
    set(1, ix(VA1, 4), pg(2) | P);             /* guest tables at gpa == hpa */
    set(2, ix(VA1, 3), 0 | PS | P);            /* guest 1 GiB page at gpa 0 */
    return walk2(4, VA1 & ~0x3fffffffull, NULL);
}

static struct result c_nested_fault_on_table(void)
{
    npt_4k(16);
    guest_map4k(VA1, pg(9));
    set(23, 3, 0);                             /* guest page 3 (the PD) not mapped */
    return walk2(4, VA1, NULL);
}

static struct result c_nested_fault_on_data(void)
{
    npt_4k(16);
    guest_map4k(VA1, pg(40));                  /* gpa page 40: beyond the NPT's 16 */
    return walk2(4, VA1, NULL);
}

static struct result c_nested_guest_not_present(void)
{
    npt_4k(16);
    guest_map4k(VA1, pg(9));
    gset(4, ix(VA1, 1), 0);
    return walk2(4, VA1, NULL);
}

static struct result c_nested_5level_npt(void)
{
    set(19, 0, pg(20) | P);                    /* a PML5 above the 4-level NPT */
    npt_4k(16);
    guest_map4k(VA1, pg(9));
    {
        struct vmet_stage2 s2 = { .host = &host, .ncr3 = pg(19), .levels = 5 };
        struct vmet_paddr o;
        struct result r = { 0 };

        r.st = vmet_translate2(&s2, NULL, pg(1), 4, VA1, &o);
        r.pa = o.hpa;
        r.gpa = o.gpa;
        r.page_size = o.page_size;
        return r;
    }
}

static struct result c_nested_gpa_beyond_npt(void)
{
    struct vmet_stage2 s2 = { .host = &host, .ncr3 = pg(20), .levels = 4 };
    struct vmet_walk_out o;
    struct result r = { 0 };

    r.st = vmet_stage2_translate(&s2, 1ull << 48, &o);
    return r;
}

/* The NPT's root entry points back at the root: bounded, then a fault or a bogus page. */
static struct result c_nested_npt_loop_bounded(void)
{
    struct vmet_stage2 s2 = { .host = &host, .ncr3 = pg(20), .levels = 4 };
    struct vmet_walk_out o;
    struct result r = { 0 };

    for (unsigned i = 0; i < 512; i++) {
        set(20, i, pg(20) | P);
    }
    r.st = vmet_stage2_translate(&s2, pg(5), &o);
    r.pa = o.pa;
    r.max_reads = 4;
    return r;
}

static struct result c_nested_read_crosses_into_fault(void)
{
    struct vmet_stage2 s2 = { .host = &host, .ncr3 = pg(20), .levels = 4 };
    uint8_t buf[16];
    struct result r = { 0 };

    npt_4k(2);                                 /* gpa pages 0 and 1 only */
    r.st = vmet_stage2_read(&s2, pg(2) - 8, buf, sizeof(buf));
    return r;
}

static struct result c_nested_cache_hit(void)
{
    struct result r;
    uint64_t before;

    vmet_tcache_flush(&cache);
    npt_4k(16);
    guest_map4k(VA1, pg(9));
    walk2(4, VA1, &cache);
    before = reads;
    r = walk2(4, VA1 + 8, &cache);             /* same page: no read at all */
    r.max_reads = 0;
    if (reads != before) {
        r.st = VMET_E_INVAL;                   /* reported as a status mismatch */
    }
    return r;
}

static struct result c_nested_cache_flush(void)
{
    vmet_tcache_flush(&cache);
    npt_4k(16);
    guest_map4k(VA1, pg(9));
    walk2(4, VA1, &cache);
    gset(4, ix(VA1, 1), pg(10) | P);           /* the VM remaps the page */
    vmet_tcache_flush(&cache);                 /* roots changed: flushed */
    return walk2(4, VA1, &cache);
}


/* Guest 1 GiB page over a 2 MiB NPT page: one entry answers for the 2 MiB. */
static struct result c_nested_cache_large_page(void)
{
    struct result r;
    uint64_t base = VA1 & ~0x3fffffffull, before;

    vmet_tcache_flush(&cache);
    c_nested_guest1g_npt2m();
    walk2(4, base, &cache);
    before = reads;
    r = walk2(4, base + 0x12345, &cache);      /* another 4 KiB page of the same 2 MiB */
    r.max_reads = 0;
    if (reads != before) {
        r.st = VMET_E_INVAL;
    }
    return r;
}

/* The cached 2 MiB must not answer for the next 2 MiB, which the NPT does not map. */
static struct result c_nested_cache_large_page_bounded(void)
{
    uint64_t base = VA1 & ~0x3fffffffull;

    vmet_tcache_flush(&cache);
    c_nested_guest1g_npt2m();
    walk2(4, base, &cache);
    return walk2(4, base + (1ull << 21), &cache);
}

/* A 4 KiB entry answers for its page only: the neighbour maps elsewhere. */
static struct result c_nested_cache_4k_not_neighbour(void)
{
    vmet_tcache_flush(&cache);
    npt_4k(16);
    guest_map4k(VA1, pg(9));
    gset(4, ix(VA1 + PAGE, 1), pg(11) | P);
    walk2(4, VA1, &cache);
    return walk2(4, VA1 + PAGE, &cache);
}

/* Stage 2 alone: a 2 MiB NPT page is cached once for every gpa in it. */
static struct result c_stage2_cache_2m(void)
{
    struct vmet_stage2 s2 = { .host = &host, .ncr3 = pg(20), .levels = 4, .cache = &cache };
    struct vmet_walk_out o;
    struct result r = { 0 };
    uint64_t before;

    vmet_tcache_flush(&cache);
    set(20, 0, pg(21) | P);
    set(21, 0, pg(22) | P);
    set(22, 0, 0 | PS | P);                    /* gpa [0,2M) -> hpa [0,2M) */
    vmet_stage2_translate(&s2, pg(5), &o);
    before = reads;
    r.st = vmet_stage2_translate(&s2, pg(7) + 0x10, &o);
    r.pa = o.pa;
    r.page_size = o.page_size;
    if (reads != before) {
        r.st = VMET_E_INVAL;
    }
    return r;
}

/* --- the page-walk cache ------------------------------------------------------------ */

/* A one-stage walk with the walk cache; *n gets its reads. */
static struct result walkc(uint64_t root, uint64_t va, uint64_t *n)
{
    struct vmet_walk_out o = { 0, 0 };
    struct result r = { 0 };
    uint64_t before = reads;

    r.st = vmet_walk_cached(&host, &cache, VMET_TCACHE_PT_VA, root, 4, va, &o);
    r.pa = o.pa;
    r.page_size = o.page_size;
    *n = reads - before;
    return r;
}

/* The second walk into a 2 MiB region reads only its level-1 entry. */
static struct result c_pwc_one_read(void)
{
    const unsigned t[] = { 1, 2, 3, 4 };
    struct result r;
    uint64_t n1, n2;

    vmet_tcache_flush(&cache);
    map4k(VA1, 4, t, pg(9));
    set(4, ix(VA1 + PAGE, 1), pg(10) | P);
    walkc(pg(1), VA1, &n1);
    r = walkc(pg(1), VA1 + PAGE, &n2);
    if (n1 != 4 || n2 != 1) {
        r.st = VMET_E_INVAL;
    }
    return r;
}

/* A missing entry in a cached table is still not present, after one read. */
static struct result c_pwc_not_present(void)
{
    const unsigned t[] = { 1, 2, 3, 4 };
    struct result r;
    uint64_t n;

    vmet_tcache_flush(&cache);
    map4k(VA1, 4, t, pg(9));
    walkc(pg(1), VA1, &n);
    r = walkc(pg(1), VA1 + 2 * PAGE, &n);
    r.max_reads = n == 1 ? 0 : 1;
    return r;
}

/*
 * A 2 MiB page leaves its level-2 table cached (the next walk in the 1 GiB
 * region reads one entry); another root and a flush miss.
 */
static struct result c_pwc_no_false_hits(void)
{
    const unsigned t[] = { 1, 2, 3, 4 }, u[] = { 5, 2, 3, 4 };
    struct result r;
    uint64_t n1, n2, n3;

    vmet_tcache_flush(&cache);
    c_2m_page();
    walkc(pg(1), VA1, &n1);
    walkc(pg(1), VA1 + PAGE, &n2);                 /* the level-2 entry only */
    reset();
    map4k(VA1, 4, t, pg(9));
    map4k(VA1, 4, u, pg(9));
    walkc(pg(1), VA1, &n1);
    walkc(pg(5), VA1, &n3);                        /* same tables, other root */
    vmet_tcache_flush(&cache);
    r = walkc(pg(1), VA1, &n1);
    if (n2 != 1 || n3 != 4 || n1 != 4) {
        r.st = VMET_E_INVAL;
    }
    return r;
}

/* Stage 2 over 4 KiB NPT pages: the next gpa of the region costs one read. */
static struct result c_pwc_stage2(void)
{
    struct vmet_stage2 s2 = { .host = &host, .ncr3 = pg(20), .levels = 4, .cache = &cache };
    struct vmet_walk_out o;
    struct result r = { 0 };
    uint64_t before;

    vmet_tcache_flush(&cache);
    npt_4k(16);
    vmet_stage2_translate(&s2, pg(5), &o);
    before = reads;
    r.st = vmet_stage2_translate(&s2, pg(7) + 0x10, &o);
    r.pa = o.pa;
    r.page_size = o.page_size;
    if (reads - before != 1) {
        r.st = VMET_E_INVAL;
    }
    return r;
}


/* Another 2 MiB region of the same 1 GiB: the walk starts at the cached level-2 table. */
static struct result c_pwc_level2_two_reads(void)
{
    const unsigned t[] = { 1, 2, 3, 4 };
    const uint64_t va2 = VA1 + (1ull << 21);
    struct result r;
    uint64_t n1, n2;

    vmet_tcache_flush(&cache);
    map4k(VA1, 4, t, pg(9));
    set(3, ix(va2, 2), pg(6) | P);
    set(6, ix(va2, 1), pg(10) | P);
    walkc(pg(1), VA1, &n1);
    r = walkc(pg(1), va2, &n2);                    /* VA1's level-1 table must not answer */
    if (n1 != 4 || n2 != 2) {
        r.st = VMET_E_INVAL;
    }
    return r;
}

/* A flush hides every entry: translations and both levels of walk-cache tables. */
static struct result c_tcache_flush_hides_all(void)
{
    struct result r = { 0 };
    uint64_t g, h, s, table;

    vmet_tcache_flush(&cache);
    vmet_tcache_insert(&cache, pg(1), VMET_TCACHE_VA, VA1, 0x5000, 0x9000, PAGE);
    vmet_tcache_pt_insert(&cache, pg(1), VMET_TCACHE_PT_VA, VA1, 1, pg(4));
    vmet_tcache_pt_insert(&cache, pg(1), VMET_TCACHE_PT_VA, VA1 + (1ull << 21), 2, pg(3));
    if (!vmet_tcache_lookup(&cache, pg(1), VMET_TCACHE_VA, VA1, &g, &h, &s) ||
        vmet_tcache_pt_lookup(&cache, pg(1), VMET_TCACHE_PT_VA, VA1, &table) != 1 ||
        vmet_tcache_pt_lookup(&cache, pg(1), VMET_TCACHE_PT_VA, VA1 + (1ull << 21),
                              &table) != 2 || table != pg(3)) {
        r.st = VMET_E_INVAL;                       /* not even cached before the flush */
        return r;
    }
    vmet_tcache_flush(&cache);
    r.st = vmet_tcache_lookup(&cache, pg(1), VMET_TCACHE_VA, VA1, &g, &h, &s) ||
           vmet_tcache_pt_lookup(&cache, pg(1), VMET_TCACHE_PT_VA, VA1, &table) ?
           VMET_E_INVAL : VMET_E_NOT_PRESENT;
    return r;
}

/* After 2^32 flushes the generation is 0 again: generation-0 entries must stay gone. */
static struct result c_tcache_generation_wrap(void)
{
    struct result r = { 0 };
    uint64_t g, h, s, table;

    memset(&cache, 0, sizeof(cache));              /* generation 0 */
    vmet_tcache_insert(&cache, pg(1), VMET_TCACHE_VA, VA1, 0x5000, 0x9000, PAGE);
    vmet_tcache_pt_insert(&cache, pg(1), VMET_TCACHE_PT_VA, VA1, 1, pg(4));
    cache.gen = UINT32_MAX;                        /* as after 2^32 - 1 flushes */
    vmet_tcache_flush(&cache);
    r.st = cache.gen != 0 ? VMET_E_INVAL :
           vmet_tcache_lookup(&cache, pg(1), VMET_TCACHE_VA, VA1, &g, &h, &s) ||
           vmet_tcache_pt_lookup(&cache, pg(1), VMET_TCACHE_PT_VA, VA1, &table) ?
           VMET_E_INVAL : VMET_E_NOT_PRESENT;
    return r;
}
/* The last-used slot answers only for its own root, space and page. */
static struct result c_tcache_last_slot_exact(void)
{
    struct result r = { 0 };
    uint64_t g, h, s;
    int wrong = 0;

    vmet_tcache_flush(&cache);
    vmet_tcache_insert(&cache, pg(1), VMET_TCACHE_VA, VA1, 0x5000, 0x9000, PAGE);
    wrong += vmet_tcache_lookup(&cache, pg(2), VMET_TCACHE_VA, VA1, &g, &h, &s);
    wrong += vmet_tcache_lookup(&cache, pg(1), VMET_TCACHE_GPA, VA1, &g, &h, &s);
    wrong += vmet_tcache_lookup(&cache, pg(1), VMET_TCACHE_VA, VA1 + PAGE, &g, &h, &s);
    r.st = wrong ? VMET_E_INVAL :
           vmet_tcache_lookup(&cache, pg(1), VMET_TCACHE_VA, VA1 + 8, &g, &h, &s) ? VMET_OK :
           VMET_E_NOT_PRESENT;
    r.pa = h;
    r.gpa = g;
    r.page_size = s;
    return r;
}

static const struct {
    const char *name;
    struct result (*run)(void);
    vmet_status_t st;
    uint64_t pa, gpa, page_size;               /* checked when st is VMET_OK */
} cases[] = {
    { "walk_4level_4k", c_4level_4k, VMET_OK, 0x9000 + 0x678, 0, 4096 },
    { "walk_5level_4k", c_5level_4k, VMET_OK, 0x9000 + 0x678, 0, 4096 },
    { "walk_2m_page_pat_masked", c_2m_page, VMET_OK, 0x40000000ull + (VA1 & 0x1fffff), 0, 1 << 21 },
    { "walk_1g_page_nx_pat_masked", c_1g_page, VMET_OK, 0x1c0000000ull + (VA1 & 0x3fffffff), 0, 1 << 30 },
    { "walk_pte_bit7_is_pat", c_pat_bit_in_pte, VMET_OK, 0x9000 + 0x678, 0, 4096 },
    { "walk_not_present_pml4", c_np_pml4, VMET_E_NOT_PRESENT, 0, 0, 0 },
    { "walk_not_present_pdpt", c_np_pdpt, VMET_E_NOT_PRESENT, 0, 0, 0 },
    { "walk_not_present_pd", c_np_pd, VMET_E_NOT_PRESENT, 0, 0, 0 },
    { "walk_not_present_pt", c_np_pt, VMET_E_NOT_PRESENT, 0, 0, 0 },
    { "walk_ps_in_pml4_reserved", c_ps_in_pml4, VMET_E_BAD_ENTRY, 0, 0, 0 },
    { "walk_ps_in_pml5_reserved", c_ps_in_pml5, VMET_E_BAD_ENTRY, 0, 0, 0 },
    { "walk_noncanonical_va", c_noncanonical, VMET_E_INVAL, 0, 0, 0 },
    { "walk_57bit_va_in_4level", c_va57_in_4level, VMET_E_INVAL, 0, 0, 0 },
    { "walk_3_levels_unsupported", c_three_levels, VMET_E_UNSUPPORTED, 0, 0, 0 },
    { "walk_table_outside_memory", c_table_outside_memory, VMET_E_OUT_OF_RANGE, 0, 0, 0 },
    { "walk_root_outside_memory", c_root_outside_memory, VMET_E_OUT_OF_RANGE, 0, 0, 0 },
    { "walk_self_loop_bounded", c_self_loop_bounded, VMET_OK, 0x1000 + 0x678, 0, 4096 },
    { "walk_budget_stops", c_budget_stops_walk, VMET_E_BUDGET, 0, 0, 0 },
    { "walk_budget_bounds_hostile_scan", c_budget_bounds_scan, VMET_E_BUDGET, 0, 0, 0 },
    { "nested_4k_both", c_nested_4k, VMET_OK, (9 + HOST_OFF) * PAGE + 0x678, 0x9678, 4096 },
    { "nested_guest2m_npt4k_size4k", c_nested_guest2m_npt4k, VMET_OK, HOST_OFF * PAGE, 0, 4096 },
    { "nested_guest_tables_beyond_host", c_nested_guest4k_npt1g, VMET_E_OUT_OF_RANGE, 0, 0, 0 },
    { "nested_guest4k_npt1g_size4k", c_nested_guest4k_npt1g_identity, VMET_OK, 0x9678, 0x9678, 4096 },
    { "nested_guest1g_npt2m_size2m", c_nested_guest1g_npt2m, VMET_OK, 0, 0, 1 << 21 },
    { "nested_fault_on_guest_table", c_nested_fault_on_table, VMET_E_NESTED_FAULT, 0, 0, 0 },
    { "nested_fault_on_data_page", c_nested_fault_on_data, VMET_E_NESTED_FAULT, 0, 0, 0 },
    { "nested_guest_not_present", c_nested_guest_not_present, VMET_E_NOT_PRESENT, 0, 0, 0 },
    { "nested_5level_npt", c_nested_5level_npt, VMET_OK, (9 + HOST_OFF) * PAGE + 0x678, 0x9678, 4096 },
    { "nested_gpa_beyond_npt_reach", c_nested_gpa_beyond_npt, VMET_E_NESTED_FAULT, 0, 0, 0 },
    { "nested_npt_self_loop_bounded", c_nested_npt_loop_bounded, VMET_OK, 20 * PAGE, 0, 0 },
    { "nested_read_crosses_into_fault", c_nested_read_crosses_into_fault, VMET_E_NESTED_FAULT, 0, 0, 0 },
    { "nested_cache_hit_no_reads", c_nested_cache_hit, VMET_OK, (9 + HOST_OFF) * PAGE + 0x680, 0x9680, 4096 },
    { "nested_cache_flush_sees_remap", c_nested_cache_flush, VMET_OK, (10 + HOST_OFF) * PAGE + 0x678, 0xa678, 4096 },
    { "nested_cache_large_page_no_reads", c_nested_cache_large_page, VMET_OK, 0x12345, 0x12345, 1 << 21 },
    { "nested_cache_large_page_bounded", c_nested_cache_large_page_bounded, VMET_E_NESTED_FAULT, 0, 0, 0 },
    { "nested_cache_4k_not_neighbour", c_nested_cache_4k_not_neighbour, VMET_OK, (11 + HOST_OFF) * PAGE + 0x678, 0xb678, 4096 },
    { "stage2_cache_2m_no_reads", c_stage2_cache_2m, VMET_OK, 7 * PAGE + 0x10, 0, 1 << 21 },
    { "tcache_last_slot_exact", c_tcache_last_slot_exact, VMET_OK, 0x9000 + ((VA1 + 8) & 0xfff),
      0x5000 + ((VA1 + 8) & 0xfff), 4096 },
    { "pwc_second_walk_one_read", c_pwc_one_read, VMET_OK, 10 * PAGE + (VA1 & 0xfff), 0, 4096 },
    { "pwc_not_present_in_cached_table", c_pwc_not_present, VMET_E_NOT_PRESENT, 0, 0, 0 },
    { "pwc_large_page_level2_only_no_other_root_or_after_flush", c_pwc_no_false_hits, VMET_OK,
      0x9000 + 0x678, 0, 4096 },
    { "pwc_stage2_next_gpa_one_read", c_pwc_stage2, VMET_OK, (7 + HOST_OFF) * PAGE + 0x10, 0, 4096 },
    { "pwc_level2_table_two_reads", c_pwc_level2_two_reads, VMET_OK, 10 * PAGE + (VA1 & 0xfff), 0, 4096 },
    { "tcache_flush_hides_all", c_tcache_flush_hides_all, VMET_E_NOT_PRESENT, 0, 0, 0 },
    { "tcache_generation_wrap_clears", c_tcache_generation_wrap, VMET_E_NOT_PRESENT, 0, 0, 0 },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct result r;

        reset();
        r = cases[i].run();
        if (r.st != cases[i].st) {
            unit_check(cases[i].name, 0, "status %d (%s), want %d", r.st,
                       r.st == VMET_OK ? "ok" : "error", cases[i].st);
        } else if (r.max_reads && reads > r.max_reads) {
            unit_check(cases[i].name, 0, "%llu reads, bound %llu",
                       (unsigned long long)reads, (unsigned long long)r.max_reads);
        } else if (r.st == VMET_OK && (r.pa != cases[i].pa ||
                   (cases[i].gpa && r.gpa != cases[i].gpa) ||
                   (cases[i].page_size && r.page_size != cases[i].page_size))) {
            unit_check(cases[i].name, 0, "pa %#llx gpa %#llx size %#llx, want %#llx %#llx %#llx",
                       (unsigned long long)r.pa, (unsigned long long)r.gpa,
                       (unsigned long long)r.page_size, (unsigned long long)cases[i].pa,
                       (unsigned long long)cases[i].gpa, (unsigned long long)cases[i].page_size);
        } else {
            unit_check(cases[i].name, 1, "%s", "");
        }
    }
    return unit_exit();
}
