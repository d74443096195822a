/* Translation cache (vmet_tcache.h). */
#include <string.h>

#include "vmet_tcache.h"

#define PAGE_MASK 0xfffull

void vmet_tcache_flush(struct vmet_tcache *c)
{
    memset(c->e, 0, sizeof(c->e));
    c->flushes++;
}

static uint64_t tag_of(uint64_t root, unsigned space)
{
    /* Root 0 is a legal table address: bit 1 marks a used slot. */
    return (root & ~PAGE_MASK) | space | 2u;
}

static struct vmet_tcache_entry *slot(struct vmet_tcache *c, uint64_t tag, uint64_t vpage)
{
    uint64_t h = (vpage >> 12) ^ (tag >> 12) * 0x9e3779b97f4a7c15ull;

    return &c->e[(h ^ (h >> 29)) & (VMET_TCACHE_SLOTS - 1)];
}

int vmet_tcache_lookup(struct vmet_tcache *c, uint64_t root, unsigned space,
                       uint64_t addr, uint64_t *gpa, uint64_t *hpa, uint64_t *page_size)
{
    uint64_t tag = tag_of(root, space), vpage = addr & ~PAGE_MASK;
    struct vmet_tcache_entry *e = slot(c, tag, vpage);

    if (e->tag != tag || e->vpage != vpage) {
        c->misses++;
        return 0;
    }
    c->hits++;
    *gpa = e->gpage | (addr & PAGE_MASK);
    *hpa = e->hpage | (addr & PAGE_MASK);
    *page_size = e->page_size;
    return 1;
}

void vmet_tcache_insert(struct vmet_tcache *c, uint64_t root, unsigned space,
                        uint64_t addr, uint64_t gpa, uint64_t hpa, uint64_t page_size)
{
    uint64_t tag = tag_of(root, space), vpage = addr & ~PAGE_MASK;
    struct vmet_tcache_entry *e = slot(c, tag, vpage);

    e->tag = tag;
    e->vpage = vpage;
    e->gpage = gpa & ~PAGE_MASK;
    e->hpage = hpa & ~PAGE_MASK;
    e->page_size = page_size;
}
