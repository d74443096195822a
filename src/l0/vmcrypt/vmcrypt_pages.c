/*
 * VMCrypt's page table (vmcrypt_pages.h): a dense index by L1-physical page
 * (one 32-bit slot per page of L1 RAM, so the hooks' "is this page ours?"
 * is one load), page records, and a hash from (instance, gpa) to the page
 * that backs that gpa now.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmcrypt/vmcrypt_pages.h"

/* Largest PV structure a VM registers spans 2 pages; allow some slack. */
#define VMC_EXC_MAX_PAGES 16
#define VMC_GPA_BITS 40

struct vmc_page {
    uint64_t hpa_pfn;
    uint64_t gpa_pfn;
    uint32_t inst;       /* 0: free record (next_free is valid) */
    uint32_t next_free;
    uint32_t lineage;    /* the owner's, kept after the owner ends */
    uint8_t view;        /* enum vmc_view */
    bool orphan;         /* a newer page backs (inst, gpa); kept to protect this one */
    bool shared;         /* L1 touched it as it is (shared, metadata, decode window)
                          * since the VM last did: its bytes may be L1's */
};

static uint64_t gkey(uint32_t inst, uint64_t gpa_pfn)
{
    return ((uint64_t)inst << VMC_GPA_BITS) | (gpa_pfn & ((1ull << VMC_GPA_BITS) - 1));
}

static uint32_t ghash(uint64_t k)
{
    /* splitmix64's finaliser: gpa runs must not cluster in the table */
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    k ^= k >> 31;
    return (uint32_t)k;
}

static uint64_t page_gkey(const struct vmc_table *t, uint32_t idx)
{
    return gkey(t->pages[idx].inst, t->pages[idx].gpa_pfn);
}

static uint32_t gpa_find_slot(const struct vmc_table *t, uint64_t k)
{
    uint32_t i = ghash(k) & t->gpa_mask;

    while (t->by_gpa[i] && page_gkey(t, t->by_gpa[i] - 1) != k) {
        i = (i + 1) & t->gpa_mask;
    }
    return i;
}

static uint32_t gpa_get(const struct vmc_table *t, uint32_t inst, uint64_t gpa_pfn)
{
    uint32_t slot = gpa_find_slot(t, gkey(inst, gpa_pfn));

    return t->by_gpa[slot] ? t->by_gpa[slot] - 1 : 0;
}

static int gpa_grow(struct vmc_table *t)
{
    uint32_t old_size = t->gpa_mask + 1, new_size = old_size * 2;
    uint32_t *old = t->by_gpa;

    if (new_size < old_size) {
        return -ENOMEM;
    }
    t->by_gpa = calloc(new_size, sizeof(*t->by_gpa));
    if (!t->by_gpa) {
        t->by_gpa = old;
        return -ENOMEM;
    }
    t->gpa_mask = new_size - 1;
    for (uint32_t i = 0; i < old_size; i++) {
        if (old[i]) {
            t->by_gpa[gpa_find_slot(t, page_gkey(t, old[i] - 1))] = old[i];
        }
    }
    free(old);
    return 0;
}

/* Point (inst, gpa) at page idx (replacing any previous page). */
static int gpa_put(struct vmc_table *t, uint32_t idx)
{
    uint32_t slot;
    int rc;

    if ((t->gpa_used + 1) * 2 > t->gpa_mask + 1) {
        rc = gpa_grow(t);
        if (rc < 0) {
            return rc;
        }
    }
    slot = gpa_find_slot(t, page_gkey(t, idx));
    if (!t->by_gpa[slot]) {
        t->gpa_used++;
    }
    t->by_gpa[slot] = idx + 1;
    return 0;
}

/* Remove the (inst, gpa) entry if it names page idx (backward-shift delete). */
static void gpa_del(struct vmc_table *t, uint32_t idx)
{
    uint32_t i = gpa_find_slot(t, page_gkey(t, idx)), j;

    if (t->by_gpa[i] != idx + 1) {
        return;
    }
    t->by_gpa[i] = 0;
    t->gpa_used--;
    for (j = (i + 1) & t->gpa_mask; t->by_gpa[j]; j = (j + 1) & t->gpa_mask) {
        uint32_t home = ghash(page_gkey(t, t->by_gpa[j] - 1)) & t->gpa_mask;

        /* Move j back into the hole at i unless its home lies in (i, j]. */
        if (((j - home) & t->gpa_mask) >= ((j - i) & t->gpa_mask)) {
            t->by_gpa[i] = t->by_gpa[j];
            t->by_gpa[j] = 0;
            i = j;
        }
    }
}

int vmc_table_init(struct vmc_table *t, uint64_t npfn)
{
    memset(t, 0, sizeof(*t));
    if (npfn == 0 || npfn > UINT32_MAX) {
        return -EINVAL;
    }
    t->npfn = npfn;
    t->by_hpa = calloc(npfn, sizeof(*t->by_hpa));
    t->cap = 1024;
    t->pages = calloc(t->cap, sizeof(*t->pages));
    t->gpa_mask = 2047;
    t->by_gpa = calloc(t->gpa_mask + 1, sizeof(*t->by_gpa));
    t->npages = 1;       /* record 0 stays unused: index 0 means "none" */
    t->next_id = 1;
    if (!t->by_hpa || !t->pages || !t->by_gpa) {
        vmc_table_destroy(t);
        return -ENOMEM;
    }
    return 0;
}

void vmc_table_destroy(struct vmc_table *t)
{
    free(t->by_hpa);
    free(t->pages);
    free(t->by_gpa);
    memset(t, 0, sizeof(*t));
}

/* --- instances ---------------------------------------------------------- */

int vmc_inst_add(struct vmc_table *t, struct vmc_inst *in)
{
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        if (!t->insts[i]) {
            if (t->next_id > VMC_INST_ID_MAX) {
                return -EOVERFLOW;
            }
            in->id = t->next_id++;
            t->insts[i] = in;
            return 0;
        }
    }
    return -ENOSPC;
}

static bool as_is(const struct vmc_inst *in, uint64_t gpa_pfn);

void vmc_inst_remove(struct vmc_table *t, struct vmc_inst *in)
{
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        if (t->insts[i] == in) {
            t->insts[i] = NULL;
        }
    }
    /*
     * Its shared pages hold nothing L1 may not see, and may hold what L1
     * keeps writing there (a kvmclock it still updates for a successor on
     * the same memory): they are not the remnants to encrypt.
     */
    for (uint32_t i = 1; i < t->npages; i++) {
        if (t->pages[i].inst == in->id && as_is(in, t->pages[i].gpa_pfn)) {
            t->pages[i].shared = true;
        }
    }
}

struct vmc_inst *vmc_inst_find(const struct vmc_table *t, uint32_t id)
{
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        if (t->insts[i] && t->insts[i]->id == id) {
            return t->insts[i];
        }
    }
    return NULL;
}

/* --- shared ranges ------------------------------------------------------- */

int vmc_exc_set(struct vmc_inst *in, uint64_t key, uint64_t gpa_pfn, uint64_t npages)
{
    unsigned i;

    if (npages > VMC_EXC_MAX_PAGES) {
        return -EINVAL;
    }
    for (i = 0; i < in->nexc && in->exc[i].key != key; i++) {
    }
    if (npages == 0) {
        if (i < in->nexc) {
            in->exc[i] = in->exc[--in->nexc];
        }
        return 0;
    }
    if (i == in->nexc) {
        if (in->nexc == VMC_MAX_EXC) {
            return -ENOSPC;
        }
        in->nexc++;
    }
    in->exc[i] = (struct vmc_exc){ .key = key, .gpa_pfn = gpa_pfn, .npages = npages };
    return 0;
}

bool vmc_exc_has(const struct vmc_inst *in, uint64_t gpa_pfn)
{
    for (unsigned i = 0; i < in->nexc; i++) {
        if (gpa_pfn - in->exc[i].gpa_pfn < in->exc[i].npages) {
            return true;
        }
    }
    return false;
}

bool vmc_expose(struct vmc_inst *in, uint64_t gpa_pfn)
{
    if (vmc_exposed(in, gpa_pfn)) {
        return true;
    }
    if (in->nexposed == VMC_MAX_EXPOSED) {
        return false;
    }
    in->exposed[in->nexposed++] = gpa_pfn;
    return true;
}

void vmc_expose_clear(struct vmc_inst *in)
{
    in->nexposed = 0;
}

bool vmc_exposed(const struct vmc_inst *in, uint64_t gpa_pfn)
{
    for (unsigned i = 0; i < in->nexposed; i++) {
        if (in->exposed[i] == gpa_pfn) {
            return true;
        }
    }
    return false;
}

/* Pages whose bytes L1 sees as they are. */
static bool as_is(const struct vmc_inst *in, uint64_t gpa_pfn)
{
    return vmc_is_meta(gpa_pfn) || vmc_exc_has(in, gpa_pfn) || vmc_exposed(in, gpa_pfn);
}

/* --- page records ------------------------------------------------------- */

static struct vmc_page *rec(const struct vmc_table *t, uint32_t idx)
{
    return &t->pages[idx];
}

static uint32_t page_new(struct vmc_table *t)
{
    uint32_t idx;

    if (t->free_head) {
        idx = t->free_head;
        t->free_head = t->pages[idx].next_free;
        return idx;
    }
    if (t->npages == t->cap) {
        uint32_t ncap = t->cap * 2;
        struct vmc_page *np;

        if (ncap < t->cap) {
            return 0;
        }
        np = realloc(t->pages, (size_t)ncap * sizeof(*np));
        if (!np) {
            return 0;
        }
        memset(np + t->cap, 0, (size_t)(ncap - t->cap) * sizeof(*np));
        t->pages = np;
        t->cap = ncap;
    }
    return t->npages++;
}

/* Forget page idx entirely. */
static void page_free(struct vmc_table *t, uint32_t idx)
{
    struct vmc_page *p = rec(t, idx);

    if (!p->orphan) {
        gpa_del(t, idx);
    }
    if (p->hpa_pfn < t->npfn && t->by_hpa[p->hpa_pfn] == idx + 1) {
        t->by_hpa[p->hpa_pfn] = 0;
    }
    memset(p, 0, sizeof(*p));
    p->next_free = t->free_head;
    t->free_head = idx;
}

static void add_op(struct vmc_action *a, enum vmc_op_kind kind, uint32_t inst,
                   uint64_t gpa_pfn, bool skip_zero)
{
    if (a->n < 2) {
        a->op[a->n++] = (struct vmc_op){
            .kind = kind, .inst = inst, .gpa_pfn = gpa_pfn, .skip_zero = skip_zero,
        };
    }
}

/*
 * Page idx no longer backs its (inst, gpa): a newer page does. If it still
 * holds that VM's plaintext it stays recorded, as an orphan, so that L1's
 * first touch encrypts it; otherwise it is forgotten.
 */
static void page_retire(struct vmc_table *t, uint32_t idx)
{
    struct vmc_page *p = rec(t, idx);

    if (p->view == VMC_PLAIN) {
        gpa_del(t, idx);
        p->orphan = true;
    } else {
        page_free(t, idx);
    }
}

static bool resume_take(struct vmc_inst *in, uint64_t gpa_pfn)
{
    uint8_t bit;

    if (!in->resume_bits || gpa_pfn >= in->resume_npfn) {
        return false;
    }
    bit = (uint8_t)(1u << (gpa_pfn & 7));
    if (!(in->resume_bits[gpa_pfn >> 3] & bit)) {
        return false;
    }
    in->resume_bits[gpa_pfn >> 3] &= (uint8_t)~bit;
    in->resume_left--;
    return true;
}

void vmc_l2_touch(struct vmc_table *t, struct vmc_inst *in, uint64_t gpa_pfn,
                  uint64_t hpa_pfn, struct vmc_action *a)
{
    uint32_t idx, old;
    struct vmc_page *p;
    bool decrypt = false;

    memset(a, 0, sizeof(*a));
    if (hpa_pfn >= t->npfn || gpa_pfn >= (1ull << VMC_GPA_BITS)) {
        return; /* not L1 RAM (or an absurd gpa): nothing to keep apart */
    }
    if (in->armed && !in->probing && vmc_is_meta(gpa_pfn) && !in->meta_violation) {
        in->meta_violation = true;
        a->meta_violation = true;
    }
    idx = t->by_hpa[hpa_pfn];
    if (idx) {
        idx--;
        p = rec(t, idx);
        if (p->inst == in->id) {
            /*
             * Ours. The same page seen at a second gpa is an alias (the
             * BIOS ROM at 0xe0000 and below 4 GiB, or L1's doing): the first
             * gpa stays its name, for the tweak and for the image.
             */
            if (p->orphan && p->gpa_pfn == gpa_pfn) {
                old = gpa_get(t, in->id, gpa_pfn);
                if (old) {
                    page_retire(t, old);
                }
                p->orphan = false;
                if (gpa_put(t, idx) < 0) {
                    p->orphan = true; /* out of memory: stays protected */
                }
            }
            if (p->view == VMC_CIPHER) {
                add_op(a, VMC_OP_DECRYPT, p->inst, p->gpa_pfn, false);
                p->view = VMC_PLAIN;
            }
            p->shared = false;
            return;
        }
        /*
         * Another instance's page (live or ended) is now this VM's: its old
         * owner's plaintext must not reach the new one, so it is encrypted
         * first, as an L1 touch would. Then it is a fresh page for us. The
         * same VM resumed (same lineage) may see its own plaintext, and a
         * page L1 already touched as it is holds nothing L1 may not see
         * (and may hold what L1 wrote there since: a kernel it loads).
         */
        if (p->view == VMC_PLAIN && p->lineage != in->lineage && !p->shared) {
            add_op(a, VMC_OP_ENCRYPT, p->inst, p->gpa_pfn, false);
        }
        page_free(t, idx);
    }

    /* Fresh page for (in, gpa). */
    if (resume_take(in, gpa_pfn)) {
        decrypt = true; /* the image's ciphertext, written back by L1 */
    }
    old = gpa_get(t, in->id, gpa_pfn);
    if (old) {
        /*
         * The gpa moved to another L1 page (L1 copied it: THP collapse,
         * compaction, swap). Since L1 had to read the old page to copy it,
         * that page was ciphertext, and so is the copy.
         */
        if (rec(t, old)->view == VMC_CIPHER) {
            decrypt = true;
        }
        page_retire(t, old);
    }
    idx = page_new(t);
    if (!idx) {
        return; /* out of memory: the page stays unprotected, never corrupted */
    }
    p = rec(t, idx);
    *p = (struct vmc_page){
        .hpa_pfn = hpa_pfn, .gpa_pfn = gpa_pfn, .inst = in->id, .view = VMC_PLAIN,
        .lineage = in->lineage,
    };
    t->by_hpa[hpa_pfn] = idx + 1;
    if (gpa_put(t, idx) < 0) {
        p->orphan = true;
    }
    if (decrypt) {
        /*
         * A page QEMU's restore never wrote (its zero-page encoding, or one
         * never sent) is all zeros: that is the content, not ciphertext.
         */
        add_op(a, VMC_OP_DECRYPT, in->id, gpa_pfn, true);
    }
}

void vmc_l1_touch(struct vmc_table *t, uint64_t hpa_pfn, struct vmc_action *a)
{
    uint32_t idx;
    struct vmc_page *p;
    struct vmc_inst *in;

    memset(a, 0, sizeof(*a));
    if (hpa_pfn >= t->npfn || !t->by_hpa[hpa_pfn]) {
        return;
    }
    idx = t->by_hpa[hpa_pfn] - 1;
    p = rec(t, idx);
    in = vmc_inst_find(t, p->inst);
    if (in && !p->orphan) {
        if (!in->armed) {
            return; /* boot: L1 builds the VM (paper sec. 4.3) */
        }
        if (vmc_is_meta(p->gpa_pfn)) {
            a->meta = true;
            p->shared = true;
            return;
        }
        if (vmc_exc_has(in, p->gpa_pfn) || vmc_exposed(in, p->gpa_pfn)) {
            p->shared = true;
            return;
        }
    }
    if (p->view == VMC_PLAIN && !(!in && p->shared)) {
        add_op(a, VMC_OP_ENCRYPT, p->inst, p->gpa_pfn, false);
        p->view = VMC_CIPHER;
    }
    if (!in || p->orphan) {
        /* Nobody will decrypt it: forget the page, it now holds nothing of ours. */
        page_free(t, idx);
    }
}

uint64_t vmc_cipher_set(const struct vmc_table *t, const struct vmc_inst *in,
                        uint8_t *bits, uint64_t npfn, uint64_t *dropped)
{
    uint64_t n = 0, drop = 0;

    for (uint32_t i = 1; i < t->npages; i++) {
        const struct vmc_page *p = rec(t, i);
        uint8_t bit;

        if (p->inst != in->id || p->orphan || as_is(in, p->gpa_pfn)) {
            continue;
        }
        if (p->gpa_pfn >= npfn) {
            drop++;
            continue;
        }
        bit = (uint8_t)(1u << (p->gpa_pfn & 7));
        if (!(bits[p->gpa_pfn >> 3] & bit)) {
            bits[p->gpa_pfn >> 3] |= bit;
            n++;
        }
    }
    /* Pages still waiting for their first touch since a resume: ciphertext. */
    for (uint64_t g = 0; in->resume_bits && g < in->resume_npfn; g++) {
        uint8_t bit = (uint8_t)(1u << (g & 7));

        if (!(in->resume_bits[g >> 3] & bit) || as_is(in, g)) {
            continue;
        }
        if (g >= npfn) {
            drop++;
        } else if (!(bits[g >> 3] & bit)) {
            bits[g >> 3] |= bit;
            n++;
        }
    }
    if (dropped) {
        *dropped = drop;
    }
    return n;
}

uint64_t vmc_inst_gpa_limit(const struct vmc_table *t, const struct vmc_inst *in)
{
    uint64_t lim = 0;

    for (uint32_t i = 1; i < t->npages; i++) {
        const struct vmc_page *p = rec(t, i);

        if (p->inst == in->id && !p->orphan && p->gpa_pfn + 1 > lim) {
            lim = p->gpa_pfn + 1;
        }
    }
    if (in->resume_bits && in->resume_left && in->resume_npfn > lim) {
        lim = in->resume_npfn;
    }
    return lim;
}

void vmc_inst_counts(const struct vmc_table *t, const struct vmc_inst *in,
                     struct vmc_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (uint32_t i = 1; i < t->npages; i++) {
        const struct vmc_page *p = rec(t, i);

        if (p->inst != in->id) {
            continue;
        }
        c->pages++;
        if (p->orphan) {
            c->orphans++;
        }
        if (p->view == VMC_CIPHER) {
            c->cipher++;
        } else {
            c->plain++;
        }
    }
}

bool vmc_gpa_lookup(const struct vmc_table *t, const struct vmc_inst *in, uint64_t gpa_pfn,
                    uint64_t *hpa_pfn)
{
    uint32_t idx = gpa_pfn < (1ull << VMC_GPA_BITS) ? gpa_get(t, in->id, gpa_pfn) : 0;

    if (!idx) {
        return false;
    }
    *hpa_pfn = rec(t, idx)->hpa_pfn;
    return true;
}

bool vmc_lookup(const struct vmc_table *t, uint64_t hpa_pfn, uint32_t *inst,
                uint64_t *gpa_pfn, enum vmc_view *view)
{
    const struct vmc_page *p;

    if (!vmc_tracked(t, hpa_pfn)) {
        return false;
    }
    p = rec(t, t->by_hpa[hpa_pfn] - 1);
    if (inst) {
        *inst = p->inst;
    }
    if (gpa_pfn) {
        *gpa_pfn = p->gpa_pfn;
    }
    if (view) {
        *view = (enum vmc_view)p->view;
    }
    return true;
}
