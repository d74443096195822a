/*
 * VMCrypt's page table: which L1-physical pages back which user VM (L2), and
 * which view each page's bytes hold now (papers/003 sec. 4.1, fig. 1).
 *
 * One copy of each page exists, rewritten in place as the paper does: the
 * bytes are the user VM's plaintext while it uses them, and AES ciphertext
 * from the moment L1 (its kernel, its QEMU, or a DMA it programs) touches
 * them until the user VM touches them again. A page is never encrypted twice
 * (its view says CIPHER) and never decrypted twice.
 *
 * Ownership is learnt from the nested page walk L0 itself performs for the
 * user VM: every L2 access goes through a stage-2 translation of its
 * L2-physical address (gpa) to an L1-physical one (hpa), and that pair is
 * what vmc_l2_touch() records. Nothing L1 says is consulted.
 *
 * Pure C (no QEMU): vmcrypt.c holds the lock, runs the cipher and calls in;
 * tests/unit/test_vmcrypt_pages.c drives it directly. Every function returns
 * what to do to the page's bytes (struct vmc_action) instead of doing it.
 *
 * Page numbers (pfn) are addresses >> 12 throughout.
 */
#ifndef NVSEC_VMCRYPT_PAGES_H
#define NVSEC_VMCRYPT_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMC_PAGE_SHIFT 12
#define VMC_PAGE_SIZE  4096u

/* Most user VM instances alive at once (each has its own key). */
#define VMC_MAX_INSTS 64
/* Most pages a user VM shares with its hypervisor at once (vmcrypt_pv.h). */
#define VMC_MAX_EXC   64
/* Most pages L1 may read in plaintext to decode one instruction. */
#define VMC_MAX_EXPOSED 24
/* Instance ids are < 2^24: they share a 64-bit hash key with the gpa pfn. */
#define VMC_INST_ID_MAX ((1u << 24) - 1)

/*
 * Where VMCrypt keeps its sealed metadata inside the user VM's memory, so
 * that L1's suspend writes it into the image with everything else (paper
 * sec. 4.4 reserves an e820 range for the same purpose). L2-physical
 * [VMC_META_GPA, + VMC_META_PAGES pages): inside the first MiB, which Linux
 * (since 5.13, arch/x86/kernel/setup.c "Always reserve the first 1M of RAM")
 * never allocates; the range is used only by the BIOS and the boot loader
 * before the kernel runs (linuxboot puts the real-mode kernel at 0x10000 and
 * the command line at 0x20000, below it).
 */
#define VMC_META_GPA   0x40000ull
#define VMC_META_PAGES 32u

enum vmc_view { VMC_PLAIN = 0, VMC_CIPHER = 1 };

enum vmc_op_kind { VMC_OP_ENCRYPT = 1, VMC_OP_DECRYPT = 2 };

/* One rewrite of the page's 4 KiB in place. */
struct vmc_op {
    uint8_t kind;          /* enum vmc_op_kind */
    bool skip_zero;        /* decrypt only if the page is not all zero bytes */
    uint32_t inst;         /* whose key: an instance id (dead ids: no key) */
    uint64_t gpa_pfn;      /* the XTS tweak: the page's L2-physical number */
};

/* What a touch asks of the caller, in order. */
struct vmc_action {
    unsigned n;
    struct vmc_op op[2];
    bool meta;             /* L1 reads a metadata page: write the sealed blob */
    bool meta_violation;   /* the user VM itself used the metadata range */
};

/* A range of the user VM's memory it shares with its hypervisor. */
struct vmc_exc {
    uint64_t key;          /* who registered it (vmcrypt_pv.h: kind and vCPU) */
    uint64_t gpa_pfn;
    uint64_t npages;
};

/* One user VM instance, from its boot (or resume) until it ends. */
struct vmc_inst {
    uint32_t id;           /* assigned by vmc_inst_add, never reused */
    /*
     * Names the VM's key (nonzero). Instances of one lineage are one VM
     * resumed from its images: a page passes between them without the
     * protective encryption a foreign VM's page gets.
     */
    uint32_t lineage;
    bool armed;            /* L1 touches encrypt (false during boot, sec. 4.3) */
    bool meta_violation;   /* the VM used the metadata range itself */
    bool probing;          /* L0 itself looks up the metadata range: no violation */
    unsigned nexc;
    struct vmc_exc exc[VMC_MAX_EXC];
    /*
     * The decode window: the page(s) holding the instruction L1's hypervisor
     * must decode for the #VMEXIT it is handling, and the VM's page-table
     * pages that map them (vmcrypt.c). L1 reads these in plaintext until the
     * VM runs again.
     */
    unsigned nexposed;
    uint64_t exposed[VMC_MAX_EXPOSED];
    /*
     * After a resume: the pages the image holds as ciphertext, decrypted at
     * the VM's first touch of each (sec. 4.5, lazily rather than at unpause).
     * Bit i of resume_bits is gpa pfn i; owned by the caller.
     */
    uint8_t *resume_bits;
    uint64_t resume_npfn;
    uint64_t resume_left;
};

struct vmc_page;

struct vmc_table {
    uint64_t npfn;          /* L1 RAM pfns tracked: [0, npfn) */
    uint32_t *by_hpa;       /* npfn slots: page index + 1, or 0 */
    struct vmc_page *pages; /* page records; [0] unused */
    uint32_t npages, cap, free_head;
    uint32_t *by_gpa;       /* open addressing: page index + 1, or 0 */
    uint32_t gpa_mask;      /* size - 1 (a power of two) */
    uint32_t gpa_used;
    struct vmc_inst *insts[VMC_MAX_INSTS];
    uint32_t next_id;
};

/* Track L1-physical pfns [0, npfn). Returns 0 or -ENOMEM / -EINVAL. */
int vmc_table_init(struct vmc_table *t, uint64_t npfn);
void vmc_table_destroy(struct vmc_table *t);

/*
 * Register a new instance (its id is assigned here; armed, exceptions and
 * resume set are the caller's to fill). Returns 0, -ENOSPC when
 * VMC_MAX_INSTS are alive, -EOVERFLOW when ids ran out.
 */
int vmc_inst_add(struct vmc_table *t, struct vmc_inst *in);

/*
 * The instance ended (its VM reset, or its slot was needed). Its pages stay
 * recorded: their plaintext is encrypted at L1's first touch all the same,
 * under a key nobody holds, and any other VM that gets them sees that;
 * except its shared pages, which pass as they are (call while in's
 * shared set is still filled in).
 */
void vmc_inst_remove(struct vmc_table *t, struct vmc_inst *in);

struct vmc_inst *vmc_inst_find(const struct vmc_table *t, uint32_t id);

/* Fast check for the hooks: is this L1-physical page recorded at all? */
static inline bool vmc_tracked(const struct vmc_table *t, uint64_t hpa_pfn)
{
    return hpa_pfn < t->npfn && t->by_hpa[hpa_pfn] != 0;
}

/*
 * The user VM instance in touches gpa_pfn, which its nested page tables map
 * to hpa_pfn. Fills *a with what to do before the access proceeds.
 * A page another instance holds becomes this one's: if that instance is of
 * another lineage and the page holds its plaintext, it is encrypted first.
 */
void vmc_l2_touch(struct vmc_table *t, struct vmc_inst *in, uint64_t gpa_pfn,
                  uint64_t hpa_pfn, struct vmc_action *a);

/* L1 (or a DMA L1 programmed) touches hpa_pfn. Fills *a. */
void vmc_l1_touch(struct vmc_table *t, uint64_t hpa_pfn, struct vmc_action *a);

/*
 * Register, replace (same key) or, with npages 0, remove a shared range.
 * Returns 0, -ENOSPC when VMC_MAX_EXC ranges are held, -EINVAL for a range
 * over 16 pages (no PV structure is that large).
 */
int vmc_exc_set(struct vmc_inst *in, uint64_t key, uint64_t gpa_pfn, uint64_t npages);
bool vmc_exc_has(const struct vmc_inst *in, uint64_t gpa_pfn);

/* Open the decode window on gpa_pfn (false: window full), or close it all. */
bool vmc_expose(struct vmc_inst *in, uint64_t gpa_pfn);
void vmc_expose_clear(struct vmc_inst *in);
bool vmc_exposed(const struct vmc_inst *in, uint64_t gpa_pfn);

static inline bool vmc_is_meta(uint64_t gpa_pfn)
{
    return gpa_pfn >= (VMC_META_GPA >> VMC_PAGE_SHIFT) &&
           gpa_pfn < (VMC_META_GPA >> VMC_PAGE_SHIFT) + VMC_META_PAGES;
}

/*
 * The pages an image of instance in holds as ciphertext when L1 reads every
 * page now: each gpa the instance owns that is neither shared, in the decode
 * window, nor metadata, plus those still waiting for their first touch
 * since a resume. Sets bit
 * gpa_pfn in bits (npfn bits, zeroed by the caller); pages at or above npfn
 * are counted in *dropped. Returns the number of bits set.
 */
uint64_t vmc_cipher_set(const struct vmc_table *t, const struct vmc_inst *in,
                        uint8_t *bits, uint64_t npfn, uint64_t *dropped);

/* The highest gpa pfn + 1 the instance owns (0 if none). */
uint64_t vmc_inst_gpa_limit(const struct vmc_table *t, const struct vmc_inst *in);

/* Counts for logs and tests. */
struct vmc_counts {
    uint64_t pages, plain, cipher, orphans;
};
void vmc_inst_counts(const struct vmc_table *t, const struct vmc_inst *in,
                     struct vmc_counts *c);

/* The page backing (in, gpa_pfn) now: false if none is known. */
bool vmc_gpa_lookup(const struct vmc_table *t, const struct vmc_inst *in, uint64_t gpa_pfn,
                    uint64_t *hpa_pfn);

/* The record of hpa_pfn, for tests and traces: false if none. */
bool vmc_lookup(const struct vmc_table *t, uint64_t hpa_pfn, uint32_t *inst,
                uint64_t *gpa_pfn, enum vmc_view *view);

#endif
