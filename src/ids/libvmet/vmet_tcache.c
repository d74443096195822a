/* Translation cache (vmet_tcache.h). */
#include <string.h>

#include "vmet_tcache.h"

/* The sizes an entry can have, largest first. */
static const uint64_t tcache_sizes[] = { 1ull << 30, 1ull << 21, 1ull << 12 };
#define NSIZES (sizeof(tcache_sizes) / sizeof(tcache_sizes[0]))

void vmet_tcache_flush(struct vmet_tcache *c)
{
    memset(c->e, 0, sizeof(c->e));
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

int vmet_tcache_lookup(struct vmet_tcache *c, uint64_t root, unsigned space,
                       uint64_t addr, uint64_t *gpa, uint64_t *hpa, uint64_t *page_size)
{
    uint64_t tag = tag_of(root, space);

    for (unsigned i = 0; i < NSIZES; i++) {
        uint64_t size = tcache_sizes[i], vpage = addr & ~(size - 1);
        struct vmet_tcache_entry *e = slot(c, tag, vpage, size);

        if (e->tag == tag && e->vpage == vpage && e->page_size == size) {
            c->hits++;
            *gpa = e->gpage | (addr & (size - 1));
            *hpa = e->hpage | (addr & (size - 1));
            *page_size = size;
            return 1;
        }
    }
    c->misses++;
    return 0;
}

void vmet_tcache_insert(struct vmet_tcache *c, uint64_t root, unsigned space,
                        uint64_t addr, uint64_t gpa, uint64_t hpa, uint64_t page_size)
{
    uint64_t tag = tag_of(root, space), size = tcache_sizes[NSIZES - 1];
    struct vmet_tcache_entry *e;

    for (unsigned i = 0; i < NSIZES; i++) {
        if (page_size >= tcache_sizes[i]) {
            size = tcache_sizes[i];
            break;
        }
    }
    e = slot(c, tag, addr & ~(size - 1), size);
    e->tag = tag;
    e->vpage = addr & ~(size - 1);
    e->gpage = gpa & ~(size - 1);
    e->hpage = hpa & ~(size - 1);
    e->page_size = size;
}
