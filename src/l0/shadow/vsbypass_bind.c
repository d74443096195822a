/* User VM <-> shadow device binding table (vsbypass_bind.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsbypass_bind.h"

/*
 * The capacity to grow an array of cap elements of size elem to, so that it
 * holds need: doubling, or 0 on overflow.
 */
static size_t grown_cap(size_t cap, size_t need, size_t elem)
{
    size_t ncap = cap ? cap : 4;

    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) {
            return 0;
        }
        ncap *= 2;
    }
    return ncap;
}

static int grow_bindings(struct vsbypass_table *t)
{
    size_t ncap;
    struct vsbypass_binding **n;

    if (t->nb < t->capb) {
        return 0;
    }
    ncap = grown_cap(t->capb, t->nb + 1, sizeof(*n));
    n = ncap ? realloc(t->b, ncap * sizeof(*n)) : NULL;
    if (!n) {
        return -ENOMEM;
    }
    t->b = n;
    t->capb = ncap;
    return 0;
}

static int grow_pool(struct vsbypass_table *t)
{
    size_t ncap;
    void **n;

    if (t->npool < t->cappool) {
        return 0;
    }
    ncap = grown_cap(t->cappool, t->npool + 1, sizeof(*n));
    n = ncap ? realloc(t->pool, ncap * sizeof(*n)) : NULL;
    if (!n) {
        return -ENOMEM;
    }
    t->pool = n;
    t->cappool = ncap;
    return 0;
}

int vsbypass_table_init(struct vsbypass_table *t, int64_t stale_ns)
{
    memset(t, 0, sizeof(*t));
    if (stale_ns <= 0) {
        return -EINVAL;
    }
    t->stale_ns = stale_ns;
    t->next_id = 1;
    return 0;
}

void vsbypass_table_destroy(struct vsbypass_table *t)
{
    for (size_t i = 0; i < t->nb; i++) {
        free(t->b[i]);
    }
    free(t->b);
    free(t->pool);
    memset(t, 0, sizeof(*t));
}

int vsbypass_table_pool_put(struct vsbypass_table *t, void *dev)
{
    if (!dev) {
        return -EINVAL;
    }
    if (grow_pool(t)) {
        return -ENOMEM;
    }
    t->pool[t->npool++] = dev;
    return 0;
}

size_t vsbypass_table_pool_size(const struct vsbypass_table *t)
{
    return t->npool;
}

static size_t index_of(const struct vsbypass_table *t, uint64_t ncr3)
{
    size_t i;

    for (i = 0; i < t->nb; i++) {
        if (t->b[i]->ncr3 == ncr3) {
            break;
        }
    }
    return i;
}

struct vsbypass_binding *vsbypass_table_lookup(const struct vsbypass_table *t,
                                               uint64_t ncr3)
{
    size_t i = index_of(t, ncr3);

    return i < t->nb ? t->b[i] : NULL;
}

struct vsbypass_binding *vsbypass_table_find_tag(const struct vsbypass_table *t,
                                                 const char *tag)
{
    for (size_t i = 0; i < t->nb; i++) {
        if (t->b[i]->tag[0] &&
            strncmp(t->b[i]->tag, tag, ULTRACALL_VMTAG_SIZE) == 0) {
            return t->b[i];
        }
    }
    return NULL;
}

/* A new binding of ncr3 to dev, appended to the table; NULL when out of memory. */
static struct vsbypass_binding *binding_add(struct vsbypass_table *t, uint64_t ncr3, void *dev)
{
    struct vsbypass_binding *b;

    if (grow_bindings(t)) {
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        return NULL;
    }
    b->ncr3 = ncr3;
    b->id = t->next_id++;
    b->dev = dev;
    t->b[t->nb++] = b;
    return b;
}

int vsbypass_table_bind(struct vsbypass_table *t, uint64_t ncr3, int64_t now_ns,
                        struct vsbypass_binding **out, bool *created)
{
    struct vsbypass_binding *b = vsbypass_table_lookup(t, ncr3);

    *created = false;
    if (b) {
        *out = b;
        return 0;
    }
    if (t->npool == 0) {
        return -ENOSPC;
    }
    b = binding_add(t, ncr3, t->pool[t->npool - 1]);
    if (!b) {
        return -ENOMEM;
    }
    t->npool--;
    b->last_run_ns = now_ns;
    *out = b;
    *created = true;
    return 0;
}

static void remove_at(struct vsbypass_table *t, size_t i, uint64_t *ncr3, void **dev)
{
    struct vsbypass_binding *b = t->b[i];

    if (ncr3) {
        *ncr3 = b->ncr3;
    }
    *dev = b->dev;
    t->b[i] = t->b[--t->nb];
    free(b);
}

int vsbypass_table_unbind(struct vsbypass_table *t, uint64_t ncr3, void **dev)
{
    size_t i = index_of(t, ncr3);

    *dev = NULL;
    if (i == t->nb) {
        return -ENOENT;
    }
    remove_at(t, i, NULL, dev);
    return 0;
}

bool vsbypass_table_touch(struct vsbypass_table *t, uint64_t ncr3, int64_t now_ns)
{
    struct vsbypass_binding *b = vsbypass_table_lookup(t, ncr3);

    if (!b) {
        return false;
    }
    b->last_run_ns = now_ns;
    return true;
}

/* The slot of vmcb, or a free or least recently used one (vmcb not there). */
static struct vsbypass_vcpu *vcpu_slot(struct vsbypass_table *t, uint64_t vmcb,
                                       bool *found)
{
    struct vsbypass_vcpu *lru = &t->vcpu[0];

    for (size_t i = 0; i < VSBYPASS_VCPU_SLOTS; i++) {
        struct vsbypass_vcpu *c = &t->vcpu[i];

        if (c->seen_ns && c->vmcb == vmcb) {
            *found = true;
            return c;
        }
        if (c->seen_ns < lru->seen_ns) {
            lru = c;
        }
    }
    *found = false;
    return lru;
}

int vsbypass_table_vmrun(struct vsbypass_table *t, uint64_t vmcb, uint64_t ncr3,
                         bool reset, int64_t now_ns, void *dropped[2])
{
    bool found;
    struct vsbypass_vcpu *c = vcpu_slot(t, vmcb, &found);
    uint64_t prev = found ? c->ncr3 : ncr3;
    struct vsbypass_binding *b;
    int moved = 0;

    dropped[0] = dropped[1] = NULL;
    c->vmcb = vmcb;
    c->ncr3 = ncr3;
    c->seen_ns = now_ns;
    if (reset) {
        vsbypass_table_unbind(t, ncr3, &dropped[0]);
        if (prev != ncr3) {
            vsbypass_table_unbind(t, prev, &dropped[1]);
        }
        return 0;
    }
    if (prev != ncr3 && !vsbypass_table_lookup(t, ncr3)) {
        b = vsbypass_table_lookup(t, prev);
        if (b) {
            b->ncr3 = ncr3;
            moved = 1;
        }
    }
    vsbypass_table_touch(t, ncr3, now_ns);
    return moved;
}

static bool is_stale(const struct vsbypass_table *t,
                     const struct vsbypass_binding *b, int64_t now_ns)
{
    return now_ns - b->last_run_ns > t->stale_ns;
}

int vsbypass_table_set_tag(struct vsbypass_table *t, uint64_t ncr3,
                           const char *tag, int64_t now_ns,
                           uint64_t *evicted_ncr3, void **evicted_dev)
{
    struct vsbypass_binding *b, *holder;

    *evicted_dev = NULL;
    *evicted_ncr3 = 0;
    b = vsbypass_table_lookup(t, ncr3);
    if (!b) {
        return -ENOENT;
    }
    if (ultracall_vmtag_check(tag) != 0) {
        return -EINVAL;
    }
    if (b->tag[0]) {
        return strncmp(b->tag, tag, ULTRACALL_VMTAG_SIZE) == 0 ? 0 : -EBUSY;
    }
    holder = vsbypass_table_find_tag(t, tag);
    if (holder) {
        if (!is_stale(t, holder, now_ns)) {
            return -EEXIST;
        }
        remove_at(t, index_of(t, holder->ncr3), evicted_ncr3, evicted_dev);
    }
    memcpy(b->tag, tag, ULTRACALL_VMTAG_SIZE);
    return 0;
}

int vsbypass_table_reap_stale(struct vsbypass_table *t, int64_t now_ns,
                              uint64_t *ncr3, void **dev)
{
    size_t best = t->nb;

    *dev = NULL;
    for (size_t i = 0; i < t->nb; i++) {
        if (is_stale(t, t->b[i], now_ns) &&
            (best == t->nb || t->b[i]->last_run_ns < t->b[best]->last_run_ns)) {
            best = i;
        }
    }
    if (best == t->nb) {
        return -ENOENT;
    }
    remove_at(t, best, ncr3, dev);
    return 0;
}

int vsbypass_table_adopt(struct vsbypass_table *t, uint64_t ncr3, const char *tag,
                         void *dev, int64_t now_ns, void **replaced)
{
    struct vsbypass_binding *b;

    *replaced = NULL;
    if (!dev || ultracall_vmtag_check(tag) != 0) {
        return -EINVAL;
    }
    if (vsbypass_table_find_tag(t, tag)) {
        return -EEXIST;
    }
    b = vsbypass_table_lookup(t, ncr3);
    if (b) {
        if (b->tag[0]) {
            return -EBUSY;                  /* the VM holds another name already */
        }
        *replaced = b->dev;
        b->dev = dev;
    } else if (!(b = binding_add(t, ncr3, dev))) {
        return -ENOMEM;
    }
    b->last_run_ns = now_ns;
    memcpy(b->tag, tag, ULTRACALL_VMTAG_SIZE);
    return 0;
}
