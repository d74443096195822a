/* Translation cache (vmet_tcache.h). */
#include <string.h>

#include "vmet_tcache.h"

/* The sizes an entry can have, largest first. */
static const uint64_t tcache_sizes[] = { 1ull << 30, 1ull << 21, 1ull << 12 };
#define NSIZES (sizeof(tcache_sizes) / sizeof(tcache_sizes[0]))

void vmet_tcache_flush(struct vmet_tcache *c)
{
    if (++c->gen == 0) {
        /* 2^32 flushes: entries of the first generation would answer again. */
        memset(c->e, 0, sizeof(c->e));
    }
    memset(c->sizes, 0, sizeof(c->sizes));
    c->flushes++;
}

static uint64_t tag_of(uint64_t root, unsigned space)
{
    /* Root 0 is a legal table address: bit 1 marks a used slot. */
    return (root & ~0xfffull) | space | 2u;
}

static struct vmet_tcache_entry *slot(struct vmet_tcache *c, uint64_t tag, uint64_t vpage,
                                      uint64_t size)
{
    uint64_t h = (vpage >> 12) ^ (tag >> 12) * 0x9e3779b97f4a7c15ull ^ size;

    return &c->e[(h ^ (h >> 29)) & (VMET_TCACHE_SLOTS - 1)];
}

/* e holds the page of size size that contains addr under tag, in this generation. */
static int holds(const struct vmet_tcache *c, const struct vmet_tcache_entry *e,
                 uint64_t tag, uint64_t addr, uint64_t size)
{
    return e->tag == tag && e->gen == c->gen && e->page_size == size &&
           e->vpage == (addr & ~(size - 1));
}

static void fill(struct vmet_tcache *c, struct vmet_tcache_entry *e, uint64_t tag,
                 uint64_t vpage, uint64_t gpage, uint64_t hpage, uint64_t size)
{
    e->tag = tag;
    e->vpage = vpage;
    e->gpage = gpage;
    e->hpage = hpage;
    e->page_size = size;
    e->gen = c->gen;
}

/* The entry answers for addr under tag: give the translation. */
static int answer(struct vmet_tcache *c, const struct vmet_tcache_entry *e, uint64_t tag,
                  uint64_t addr, uint64_t *gpa, uint64_t *hpa, uint64_t *page_size)
{
    uint64_t size = e->page_size;

    if (size == 0 || !holds(c, e, tag, addr, size)) {
        return 0;
    }
    c->hits++;
    *gpa = e->gpage | (addr & (size - 1));
    *hpa = e->hpage | (addr & (size - 1));
    *page_size = size;
    return 1;
}

int vmet_tcache_lookup(struct vmet_tcache *c, uint64_t root, unsigned space,
                       uint64_t addr, uint64_t *gpa, uint64_t *hpa, uint64_t *page_size)
{
    uint64_t tag = tag_of(root, space);
    uint32_t *last = &c->last[space & 1];

    if (answer(c, &c->e[*last], tag, addr, gpa, hpa, page_size)) {
        return 1;
    }
    for (unsigned i = 0; i < NSIZES; i++) {
        uint64_t size = tcache_sizes[i];
        struct vmet_tcache_entry *e;

        if (!(c->sizes[space & 1] & (1u << i))) {
            continue;           /* no entry of this size to find */
        }
        e = slot(c, tag, addr & ~(size - 1), size);
        if (e->page_size == size && answer(c, e, tag, addr, gpa, hpa, page_size)) {
            *last = (uint32_t)(e - c->e);
            return 1;
        }
    }
    c->misses++;
    return 0;
}

void vmet_tcache_insert(struct vmet_tcache *c, uint64_t root, unsigned space,
                        uint64_t addr, uint64_t gpa, uint64_t hpa, uint64_t page_size)
{
    uint64_t tag = tag_of(root, space), size;
    struct vmet_tcache_entry *e;
    unsigned i = 0;

    while (i < NSIZES - 1 && page_size < tcache_sizes[i]) {
        i++;
    }
    size = tcache_sizes[i];
    c->sizes[space & 1] |= (uint8_t)(1u << i);
    e = slot(c, tag, addr & ~(size - 1), size);
    fill(c, e, tag, addr & ~(size - 1), gpa & ~(size - 1), hpa & ~(size - 1), size);
    c->last[space & 1] = (uint32_t)(e - c->e);
}

/* Walk-cache entries: vpage = the region a table maps, gpage = the table. */
static uint64_t pt_region(unsigned level)
{
    return level == 1 ? 1ull << 21 : 1ull << 30;
}

unsigned vmet_tcache_pt_lookup(struct vmet_tcache *c, uint64_t root, unsigned space,
                               uint64_t addr, uint64_t *table)
{
    uint64_t tag = tag_of(root, space);

    for (unsigned level = 1; level <= 2; level++) {
        uint64_t size = pt_region(level);
        const struct vmet_tcache_entry *e = slot(c, tag, addr & ~(size - 1), size);

        if (holds(c, e, tag, addr, size)) {
            c->pt_hits++;
            *table = e->gpage;
            return level;
        }
    }
    return 0;
}

void vmet_tcache_pt_insert(struct vmet_tcache *c, uint64_t root, unsigned space,
                           uint64_t addr, unsigned level, uint64_t table)
{
    uint64_t tag = tag_of(root, space), size;

    if (level != 1 && level != 2) {
        return;
    }
    size = pt_region(level);
    fill(c, slot(c, tag, addr & ~(size - 1), size), tag, addr & ~(size - 1), table, 0, size);
}
