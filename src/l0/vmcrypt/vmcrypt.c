/*
 * VMCrypt in L0 (papers/003): a user VM's (L2's) memory is plaintext to the
 * VM and AES-256 ciphertext to L1, its guest hypervisor and management stack
 * ("-object vmcrypt,id=vmc0,mode=aes[,key-file=PATH]").
 *
 * The paper's Xen watches dom0 map and unmap domU pages and rewrites each
 * page in place: encrypted when dom0 maps it, decrypted when unmapped. Here
 * the CPU is emulated, so L0 watches the MMU instead (vmcrypt_hooks.h): a
 * page is encrypted at L1's first touch and decrypted at the user VM's next
 * touch, in place, with per-page state so it is never transformed twice
 * (vmcrypt_pages.h). Ownership comes from the stage-2 walk L0 performs for
 * the VM, never from L1.
 *
 * Cipher: AES-256-XTS (QEMU's crypto API, nettle with AES-NI: two AES-256
 * ECB ciphers, XTS's whitening done in vmcrypt_xts.c, one ECB call per page
 * instead of nettle's one call per block: 2 us per page against 11), one key per
 * VM lineage (a fresh boot creates it; resumed images carry its nonce), the
 * page's L2-physical number as tweak, so a page that lands on another L1
 * page after a resume or a copy still decrypts. Keys derive from a master
 * key that never leaves L0: key-file (32 bytes, raw or hex), else random per
 * L0 run (then images resume only under the same L0 process).
 *
 * Which VMs: all user VMs under this L0. A VM without nested paging cannot
 * be told apart from L1 and is refused (VMRUN fails with VMEXIT_INVALID).
 *
 * Phases of a VM instance (VmcInst):
 *   boot     from a reset-state VMRUN until the VM's kernel runs in long mode
 *            (paper sec. 4.3: the domain is built in plaintext; here the
 *            BIOS and loader pull the kernel and initrd through L1's fw_cfg
 *            DMA and L1 emulates the boot devices);
 *   armed    L1 touches encrypt; shared pages (vmcrypt_pv.h) and the
 *            metadata pages stay as they are; when L1 reads the metadata
 *            pages (a suspend) L0 seals the metadata there (vmcrypt_meta.h);
 *   resuming a VMRUN of a vCPU L0 does not know, not at the reset vector:
 *            L0 maps the metadata pages (making L1 map them by a nested page
 *            fault if needed), authenticates the metadata and checks that the
 *            vCPU state is the one sealed and the seal the newest of the VM
 *            (under this L0), then arms the VM with the image's
 *            cipher set, decrypted page by page at first touch; if anything
 *            fails the VM is refused and nothing of it is ever decrypted.
 *
 * Threads and locks: the hooks run on the vCPU thread, the DMA hook also on
 * the main loop (devices, BQL held). v->lock guards all state; it is never
 * held across a TLB probe, a #VMEXIT or QEMU's memory API (whose DMA hook
 * would re-enter). A decryption also holds the BQL, so it never interleaves
 * with a device's BQL-held read of the same page (hook, then copy). One vCPU
 * only: the dual view needs one world at a time (checked at start).
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/int128.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qom/object_interfaces.h"
#include "crypto/cipher.h"
#include "crypto/hmac.h"
#include "crypto/random.h"
#include "exec/address-spaces.h"
#include "exec/exec-all.h"
#include "exec/memory.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "sysemu/sysemu.h"
#include "cpu.h"
#include "tcg/helper-tcg.h"

#include "core/nvsec_bql.h"
#include "core/nvsec_log.h"
#include "vmcrypt/vmcrypt_dma.h"
#include "vmcrypt/vmcrypt_hooks.h"
#include "vmcrypt/vmcrypt_meta.h"
#include "vmcrypt/vmcrypt_pages.h"
#include "vmcrypt/vmcrypt_pv.h"
#include "vmcrypt/vmcrypt_xts.h"

#define TYPE_VMCRYPT "vmcrypt"
OBJECT_DECLARE_SIMPLE_TYPE(VmcryptState, VMCRYPT)

#define VMC_KEY_SIZE     32
#define VMC_XTS_KEY_SIZE 64
/* Nested roots and vCPUs remembered per instance. */
#define VMC_NCR3S        4
#define VMC_VCPUS        VMC_META_MAX_REGS
/* The metadata pages are re-checked in the NPT this often while a VM runs. */
#define VMC_META_CHECK_NS (2 * NANOSECONDS_PER_SECOND)
/* Lineages whose newest sealed metadata L0 remembers (rollback guard). */
#define VMC_MAX_NEWEST   64
/* An instance not run for this long may give its slot to a new VM. */
#define VMC_IDLE_EVICT_NS (60 * NANOSECONDS_PER_SECOND)
/* Pages a device read while their VM ran (re-encrypted at its #VMEXIT). */
#define VMC_MAX_TORN     64
/* x86 instructions are at most 15 bytes (AMD APM vol. 3, 1.1). */
#define VMC_INSN_MAX     15
/* The reset vector as VM creation leaves it (AMD APM vol. 2, 14.1.3). */
#define VMC_RESET_CS_SELECTOR 0xf000
#define VMC_RESET_CS_BASE     0xffff0000
#define VMC_RESET_RIP         0xfff0

enum vmc_mode { VMC_MODE_OFF, VMC_MODE_NOOP, VMC_MODE_AES };
enum vmc_phase { VMC_BOOT, VMC_ARMED, VMC_RESUMING, VMC_REFUSED };

/* A page key: XTS's data key and tweak key, each an AES-256 ECB cipher. */
typedef struct VmcPageKey {
    QCryptoCipher *data, *tweak;
} VmcPageKey;

typedef struct VmcVcpu {
    uint64_t vmcb;
    bool exited;            /* cr3/rsp hold the state at its last #VMEXIT */
    uint64_t cr3, rsp;
} VmcVcpu;

typedef struct VmcInst {
    struct vmc_inst core;
    enum vmc_phase phase;
    uint8_t lineage[VMC_NONCE_SIZE];
    VmcPageKey *xts;
    uint64_t ncr3[VMC_NCR3S];      /* most recent first */
    unsigned nncr3;
    VmcVcpu vcpu[VMC_VCPUS];
    unsigned nvcpu;
    unsigned npt_levels;           /* 4 or 5 (AMD APM vol. 2, 15.25.4) */
    uint64_t meta_hpa[VMC_META_PAGES]; /* L1-physical pfn + 1, 0 unknown */
    uint64_t sealed_period;        /* L1 period of the last blob write */
    bool sealed_since_run;         /* a blob was written after the last #VMEXIT */
    uint64_t seq;
    int64_t last_run_ns, meta_check_ns;
    uint64_t n_enc, n_dec;
    uint8_t *resume_bits;
} VmcInst;

struct VmcryptState {
    Object parent_obj;

    /* properties */
    char *mode_str;
    char *key_file;
    char *trace_path;
    enum vmc_mode mode;

    QemuMutex lock;
    struct vmc_table table;
    VmcInst *insts[VMC_MAX_INSTS];
    VmcInst *cur;                  /* the VM in guest mode now (vCPU thread) */
    bool in_l2;
    bool l2_saw_l1_page;           /* this L2 period's NPT walk hit a VM page */
    uint64_t l1_period;            /* counts #VMEXITs */
    uint64_t torn[VMC_MAX_TORN];
    unsigned ntorn;
    unsigned phys_bits;

    uint8_t master[VMC_KEY_SIZE];
    VmcPageKey *dead_xts;          /* random key nobody holds: ended VMs */
    QCryptoCipher *meta_cbc;
    QCryptoHmac *meta_mac;
    struct vmc_meta_crypto meta_ops;
    uint8_t *meta_buf;

    MemoryRegion *ram;             /* L0's guest RAM (L1's physical memory) */
    struct { uint64_t gpa, size, offset; } ranges[8];
    unsigned nranges;

    /*
     * The newest metadata sequence number sealed per VM lineage while this
     * L0 runs: a resume may not present an older one. An idle VM stops at
     * the same CR3/RSP every time (its idle loop), so the vCPU-state check
     * alone does not tell two saves apart.
     */
    struct { uint8_t lineage[VMC_NONCE_SIZE]; uint64_t seq; } newest[VMC_MAX_NEWEST];
    unsigned nnewest, newest_next;

    FILE *trace;
    Notifier machine_done;
    uint64_t n_enc, n_dec, n_zero, n_dma, n_torn, n_windows;
};

/* The one configured instance; NULL (hooks do nothing) without an active -object vmcrypt. */
static VmcryptState *vmc_global;

/* The linear address of this vCPU thread's last TLB miss in guest mode. */
static __thread uint64_t vmc_last_la;

/* --- small helpers ---------------------------------------------------------- */

G_GNUC_PRINTF(2, 3)
static void vmc_trace(VmcryptState *v, const char *fmt, ...)
{
    va_list ap;

    if (!v->trace) {
        return;
    }
    fprintf(v->trace, "%" PRId64 " ", get_clock());
    va_start(ap, fmt);
    vfprintf(v->trace, fmt, ap);
    va_end(ap);
    fputc('\n', v->trace);
}

static VmcInst *vmc_inst_of(VmcryptState *v, uint32_t id)
{
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        if (v->insts[i] && v->insts[i]->core.id == id) {
            return v->insts[i];
        }
    }
    return NULL;
}

/* The host address of an L1-physical page of RAM, and its ram_addr. */
static uint8_t *vmc_page_host(hwaddr hpa, ram_addr_t *ra)
{
    MemoryRegion *mr;
    hwaddr xlat, len = VMC_PAGE_SIZE;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(&address_space_memory, hpa & ~(hwaddr)(VMC_PAGE_SIZE - 1),
                                 &xlat, &len, false, MEMTXATTRS_UNSPECIFIED);
    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) || len < VMC_PAGE_SIZE) {
        return NULL;
    }
    if (ra) {
        *ra = memory_region_get_ram_addr(mr) + xlat;
    }
    return (uint8_t *)memory_region_get_ram_ptr(mr) + xlat;
}

/*
 * The L1-physical page an instance's nested page tables map gpa to, walked
 * in memory (long-mode format, AMD APM vol. 2, 15.25.5) without the TLB, for
 * checks made outside guest mode. False if not mapped.
 */
static bool vmc_npt_lookup(VmcryptState *v, VmcInst *in, uint64_t gpa, uint64_t *hpa)
{
    /* Address bits beyond MAXPHYADDR are reserved: KVM marks MMIO that way. */
    uint64_t rsvd = PG_ADDRESS_MASK & ~((1ull << v->phys_bits) - 1);
    uint64_t table, pte = 0;

    if (!in->nncr3) {
        return false;
    }
    table = in->ncr3[0] & PG_ADDRESS_MASK;
    for (int level = in->npt_levels; level >= 1; level--) {
        uint8_t *host = vmc_page_host(table, NULL);
        unsigned shift = 12 + 9 * (level - 1);

        if (!host) {
            return false;
        }
        pte = ldq_le_p(host + ((gpa >> shift) & 0x1ff) * 8);
        if (!(pte & PG_PRESENT_MASK) || (pte & rsvd)) {
            return false;
        }
        if (level > 1 && level <= 3 && (pte & PG_PSE_MASK)) {
            uint64_t size = 1ull << shift;

            *hpa = (pte & PG_ADDRESS_MASK & ~(size - 1)) | (gpa & (size - 1));
            return true;
        }
        table = pte & PG_ADDRESS_MASK;
    }
    *hpa = table | (gpa & (VMC_PAGE_SIZE - 1));
    return true;
}

/* --- keys and the cipher ----------------------------------------------------- */

/* HMAC-SHA256(master, label || nonce): every key L0 uses comes from here. */
static int vmc_derive(VmcryptState *v, const char *label, const uint8_t *nonce,
                      uint8_t out[32], Error **errp)
{
    g_autoptr(QCryptoHmac) h = qcrypto_hmac_new(QCRYPTO_HASH_ALG_SHA256, v->master,
                                                VMC_KEY_SIZE, errp);
    struct iovec iov[2] = {
        { .iov_base = (void *)label, .iov_len = strlen(label) },
        { .iov_base = (void *)nonce, .iov_len = nonce ? VMC_NONCE_SIZE : 0 },
    };
    size_t len = 32;

    if (!h || qcrypto_hmac_bytesv(h, iov, 2, &out, &len, errp) < 0) {
        return -1;
    }
    return 0;
}

static void vmc_page_key_free(VmcPageKey *k)
{
    if (k) {
        qcrypto_cipher_free(k->data);
        qcrypto_cipher_free(k->tweak);
        g_free(k);
    }
}

/* key: 64 bytes, XTS's data key then its tweak key (IEEE 1619 order). */
static VmcPageKey *vmc_page_key_new(const uint8_t *key, Error **errp)
{
    VmcPageKey *k = g_new0(VmcPageKey, 1);

    k->data = qcrypto_cipher_new(QCRYPTO_CIPHER_ALG_AES_256, QCRYPTO_CIPHER_MODE_ECB,
                                 key, 32, errp);
    k->tweak = k->data ? qcrypto_cipher_new(QCRYPTO_CIPHER_ALG_AES_256,
                                            QCRYPTO_CIPHER_MODE_ECB, key + 32, 32, errp)
                       : NULL;
    if (!k->tweak) {
        vmc_page_key_free(k);
        return NULL;
    }
    return k;
}

static int vmc_ecb_encrypt(void *o, uint8_t *buf, size_t len)
{
    return qcrypto_cipher_encrypt(o, buf, buf, len, NULL) < 0 ? -EIO : 0;
}

static int vmc_ecb_decrypt(void *o, uint8_t *buf, size_t len)
{
    return qcrypto_cipher_decrypt(o, buf, buf, len, NULL) < 0 ? -EIO : 0;
}

/* AES-256-XTS of one page in place, the L2-physical page number as tweak. */
static int vmc_page_crypt(VmcPageKey *k, uint64_t gpa_pfn, uint8_t *page, bool encrypt)
{
    uint8_t t0[VMC_XTS_BLOCK] = { 0 };

    stq_le_p(t0, gpa_pfn);
    if (qcrypto_cipher_encrypt(k->tweak, t0, t0, sizeof(t0), NULL) < 0) {
        return -EIO;
    }
    return vmc_xts_crypt(encrypt ? vmc_ecb_encrypt : vmc_ecb_decrypt, k->data, t0, page,
                         VMC_PAGE_SIZE);
}

static VmcPageKey *vmc_lineage_cipher(VmcryptState *v, const uint8_t *lineage)
{
    uint8_t key[VMC_XTS_KEY_SIZE];
    Error *err = NULL;
    VmcPageKey *c = NULL;

    if (vmc_derive(v, "nvsec vmcrypt xts data", lineage, key, &err) == 0 &&
        vmc_derive(v, "nvsec vmcrypt xts tweak", lineage, key + 32, &err) == 0) {
        c = vmc_page_key_new(key, &err);
    }
    memset(key, 0, sizeof(key));
    if (!c) {
        nvsec_log("vmcrypt", "cannot set up the page cipher: %s", error_get_pretty(err));
        error_free(err);
    }
    return c;
}

/* A 32-bit name of a lineage for the page records (vmcrypt_pages.h). */
static uint32_t vmc_lineage_tag(const uint8_t *lineage)
{
    return ldl_le_p(lineage) | 1; /* never 0 */
}

static void vmc_set_lineage(VmcryptState *v, VmcInst *in, const uint8_t *lineage)
{
    memcpy(in->lineage, lineage, VMC_NONCE_SIZE);
    in->core.lineage = vmc_lineage_tag(lineage);
    vmc_page_key_free(in->xts);
    in->xts = v->mode == VMC_MODE_AES ? vmc_lineage_cipher(v, lineage) : NULL;
}

/* Rewrite one page as act says (v->lock held). Returns whether bytes changed. */
static bool vmc_apply(VmcryptState *v, uint64_t hpa_pfn, const struct vmc_action *act)
{
    ram_addr_t ra;
    uint8_t *host;
    bool changed = false;

    if (!act->n) {
        return false;
    }
    host = vmc_page_host(hpa_pfn << VMC_PAGE_SHIFT, &ra);
    if (!host) {
        nvsec_log("vmcrypt", "page %#" PRIx64 " is not RAM: left as is",
                  hpa_pfn << VMC_PAGE_SHIFT);
        return false;
    }
    for (unsigned i = 0; i < act->n; i++) {
        const struct vmc_op *op = &act->op[i];
        VmcInst *in = vmc_inst_of(v, op->inst);
        VmcPageKey *c = in ? in->xts : v->dead_xts;
        int rc;

        if (op->kind == VMC_OP_DECRYPT && op->skip_zero &&
            buffer_is_zero(host, VMC_PAGE_SIZE)) {
            v->n_zero++;
            continue;
        }
        if (op->kind == VMC_OP_ENCRYPT) {
            v->n_enc++;
            if (in) {
                in->n_enc++;
            }
        } else {
            v->n_dec++;
            if (in) {
                in->n_dec++;
            }
        }
        vmc_trace(v, "%s inst=%u gpa=%#" PRIx64 " hpa=%#" PRIx64,
                  op->kind == VMC_OP_ENCRYPT ? "enc" : "dec", op->inst,
                  op->gpa_pfn << VMC_PAGE_SHIFT, hpa_pfn << VMC_PAGE_SHIFT);
        if (v->mode != VMC_MODE_AES) {
            continue; /* noop: all the bookkeeping, no cipher */
        }
        if (!c) {
            continue;
        }
        rc = vmc_page_crypt(c, op->gpa_pfn, host, op->kind == VMC_OP_ENCRYPT);
        if (rc < 0) {
            nvsec_log("vmcrypt", "cipher failed on page %#" PRIx64 ": %s",
                      hpa_pfn << VMC_PAGE_SHIFT, strerror(-rc));
            continue;
        }
        changed = true;
    }
    if (changed) {
        /*
         * Translated code of this page was made from the other view: both
         * views are a bijection of each other, so it stays right as long as
         * nobody writes, but a zero page left undecrypted breaks that; and
         * our in-place write bypasses the TLB's dirty tracking that would
         * otherwise invalidate it.
         */
        tb_invalidate_phys_range(ra, ra + VMC_PAGE_SIZE);
    }
    return changed;
}

/* --- the metadata blob -------------------------------------------------------- */

/* The newest sequence number sealed for lineage (0: none). v->lock held. */
static uint64_t vmc_newest_get(VmcryptState *v, const uint8_t *lineage)
{
    for (unsigned i = 0; i < v->nnewest; i++) {
        if (!memcmp(v->newest[i].lineage, lineage, VMC_NONCE_SIZE)) {
            return v->newest[i].seq;
        }
    }
    return 0;
}

/* Remember seq as sealed for lineage (the oldest entry goes when full). */
static void vmc_newest_note(VmcryptState *v, const uint8_t *lineage, uint64_t seq)
{
    unsigned i;

    for (i = 0; i < v->nnewest; i++) {
        if (!memcmp(v->newest[i].lineage, lineage, VMC_NONCE_SIZE)) {
            v->newest[i].seq = MAX(v->newest[i].seq, seq);
            return;
        }
    }
    if (v->nnewest < VMC_MAX_NEWEST) {
        i = v->nnewest++;
    } else {
        i = v->newest_next;
        v->newest_next = (v->newest_next + 1) % VMC_MAX_NEWEST;
    }
    memcpy(v->newest[i].lineage, lineage, VMC_NONCE_SIZE);
    v->newest[i].seq = seq;
}

static int vmc_meta_encrypt(void *o, const uint8_t iv[16], uint8_t *buf, size_t len)
{
    VmcryptState *v = o;

    if (qcrypto_cipher_setiv(v->meta_cbc, iv, 16, NULL) < 0 ||
        qcrypto_cipher_encrypt(v->meta_cbc, buf, buf, len, NULL) < 0) {
        return -EIO;
    }
    return 0;
}

static int vmc_meta_decrypt(void *o, const uint8_t iv[16], uint8_t *buf, size_t len)
{
    VmcryptState *v = o;

    if (qcrypto_cipher_setiv(v->meta_cbc, iv, 16, NULL) < 0 ||
        qcrypto_cipher_decrypt(v->meta_cbc, buf, buf, len, NULL) < 0) {
        return -EIO;
    }
    return 0;
}

static int vmc_meta_hmac(void *o, const uint8_t *buf, size_t len, uint8_t out[32])
{
    VmcryptState *v = o;
    size_t n = 32;

    return qcrypto_hmac_bytes(v->meta_mac, (const char *)buf, len, &out, &n, NULL) < 0
               ? -EIO : 0;
}

static int vmc_meta_random(void *o, uint8_t *buf, size_t len)
{
    return qcrypto_random_bytes(buf, len, NULL) < 0 ? -EIO : 0;
}

/*
 * The host address of metadata page i of in, if L0 knows where it is and the
 * VM's nested tables still map it there.
 */
static uint8_t *vmc_meta_page(VmcryptState *v, VmcInst *in, unsigned i)
{
    uint64_t hpa;

    if (!in->meta_hpa[i] ||
        !vmc_npt_lookup(v, in, VMC_META_GPA + (uint64_t)i * VMC_PAGE_SIZE, &hpa) ||
        (hpa >> VMC_PAGE_SHIFT) != in->meta_hpa[i] - 1) {
        return NULL;
    }
    return vmc_page_host(hpa, NULL);
}

/*
 * L1 reads a metadata page of in (a suspend, paper sec. 4.4): seal the
 * current metadata into the metadata pages first. Once per L1 period.
 * v->lock held.
 */
static void vmc_meta_write(VmcryptState *v, VmcInst *in, uint64_t hpa_pfn)
{
    struct vmc_meta m = { .seq = in->seq + 1 };
    uint8_t *bits = NULL, *page;
    uint64_t dropped = 0, limit, ncipher;
    int size;
    unsigned npages;
    const char *why = NULL;

    if (in->phase != VMC_ARMED || in->sealed_period == v->l1_period) {
        return;
    }
    in->sealed_period = v->l1_period;
    page = vmc_meta_page(v, in, 0);
    if (!page) {
        nvsec_log("vmcrypt", "user VM %u: L1 touches a metadata page its nested tables "
                  "no longer map (VM gone, or page moved): nothing sealed", in->core.id);
        return;
    }
    if (in->core.meta_violation) {
        why = "the VM itself used the metadata range";
        goto invalid;
    }
    memcpy(m.lineage, in->lineage, VMC_NONCE_SIZE);
    m.nexc = in->core.nexc;
    memcpy(m.exc, in->core.exc, sizeof(m.exc[0]) * m.nexc);
    for (unsigned i = 0; i < in->nvcpu; i++) {
        if (in->vcpu[i].exited) {
            m.regs[m.nregs++] = (struct vmc_meta_regs){ in->vcpu[i].cr3, in->vcpu[i].rsp };
        }
    }
    limit = vmc_inst_gpa_limit(&v->table, &in->core);
    m.npfn = MIN(limit, VMC_META_MAX_NPFN);
    bits = g_malloc0(m.npfn / 8 + 1);
    m.bits = bits;
    ncipher = vmc_cipher_set(&v->table, &in->core, bits, m.npfn, &dropped);
    if (dropped) {
        why = "memory beyond the metadata's range";
        goto invalid;
    }
    size = vmc_meta_seal(&m, &v->meta_ops, v->meta_buf, VMC_META_MAX_SIZE);
    if (size < 0) {
        why = size == -ENOSPC ? "metadata does not fit its pages" : "sealing failed";
        goto invalid;
    }
    npages = DIV_ROUND_UP(size, VMC_PAGE_SIZE);
    for (unsigned i = 0; i < npages; i++) {
        uint8_t *p = vmc_meta_page(v, in, i);

        if (!p) {
            why = "a metadata page is not mapped";
            goto invalid;
        }
        memcpy(p, v->meta_buf + (size_t)i * VMC_PAGE_SIZE,
               MIN(VMC_PAGE_SIZE, (unsigned)size - i * VMC_PAGE_SIZE));
    }
    in->seq = m.seq;
    vmc_newest_note(v, in->lineage, m.seq);
    in->sealed_since_run = true;
    vmc_trace(v, "meta-write inst=%u size=%d cipher=%" PRIu64 " exc=%u regs=%u", in->core.id,
              size, ncipher, m.nexc, m.nregs);
    g_free(bits);
    return;

invalid:
    /* Better no metadata than wrong metadata: a resume is then refused. */
    memset(page, 0, VMC_META_HDR_SIZE);
    in->sealed_since_run = true;
    nvsec_log("vmcrypt", "user VM %u: no metadata sealed (%s); its image will not resume",
              in->core.id, why);
    g_free(bits);
}

/* --- instances --------------------------------------------------------------- */

static void vmc_inst_end(VmcryptState *v, VmcInst *in, const char *why)
{
    struct vmc_counts c;

    vmc_inst_counts(&v->table, &in->core, &c);
    nvsec_log("vmcrypt", "user VM %u ended (%s): %" PRIu64 " pages, %" PRIu64
              " encryptions, %" PRIu64 " decryptions", in->core.id, why, c.pages,
              in->n_enc, in->n_dec);
    vmc_trace(v, "end inst=%u why=%s", in->core.id, why);
    vmc_inst_remove(&v->table, &in->core);
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        if (v->insts[i] == in) {
            v->insts[i] = NULL;
        }
    }
    if (v->cur == in) {
        v->cur = NULL;
    }
    vmc_page_key_free(in->xts);
    g_free(in->resume_bits);
    g_free(in);
}

static VmcInst *vmc_inst_new(VmcryptState *v, enum vmc_phase phase)
{
    VmcInst *in = g_new0(VmcInst, 1);
    VmcInst *idle = NULL;
    int64_t now = get_clock();
    uint8_t lineage[VMC_NONCE_SIZE];
    unsigned slot = VMC_MAX_INSTS;

    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        if (!v->insts[i]) {
            slot = i;
            break;
        }
        if (!idle || v->insts[i]->last_run_ns < idle->last_run_ns) {
            idle = v->insts[i];
        }
    }
    if (slot == VMC_MAX_INSTS && idle && now - idle->last_run_ns > VMC_IDLE_EVICT_NS) {
        vmc_inst_end(v, idle, "idle, slot needed");
        return vmc_inst_new(v, phase);
    }
    if (slot == VMC_MAX_INSTS || vmc_inst_add(&v->table, &in->core) < 0) {
        g_free(in);
        return NULL;
    }
    v->insts[slot] = in;
    in->phase = phase;
    in->last_run_ns = now;
    if (phase == VMC_BOOT) {
        if (qcrypto_random_bytes(lineage, sizeof(lineage), NULL) < 0) {
            vmc_inst_end(v, in, "no random bytes");
            return NULL;
        }
        vmc_set_lineage(v, in, lineage);
    }
    return in;
}

static VmcInst *vmc_find_ncr3(VmcryptState *v, uint64_t ncr3)
{
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        VmcInst *in = v->insts[i];

        for (unsigned j = 0; in && j < in->nncr3; j++) {
            if (in->ncr3[j] == ncr3) {
                return in;
            }
        }
    }
    return NULL;
}

static VmcInst *vmc_find_vmcb(VmcryptState *v, uint64_t vmcb, VmcVcpu **vc)
{
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        VmcInst *in = v->insts[i];

        for (unsigned j = 0; in && j < in->nvcpu; j++) {
            if (in->vcpu[j].vmcb == vmcb) {
                *vc = &in->vcpu[j];
                return in;
            }
        }
    }
    return NULL;
}

/* ncr3 and vmcb now belong to in alone; an instance left without vCPUs ended. */
static void vmc_bind(VmcryptState *v, VmcInst *in, uint64_t ncr3, uint64_t vmcb)
{
    for (unsigned i = 0; i < VMC_MAX_INSTS; i++) {
        VmcInst *o = v->insts[i];
        bool lost_vcpu = false;

        if (!o || o == in) {
            continue;
        }
        for (unsigned j = 0; j < o->nncr3; j++) {
            if (o->ncr3[j] == ncr3) {
                memmove(&o->ncr3[j], &o->ncr3[j + 1], (o->nncr3 - j - 1) * sizeof(o->ncr3[0]));
                o->nncr3--;
                break;
            }
        }
        for (unsigned j = 0; j < o->nvcpu; j++) {
            if (o->vcpu[j].vmcb == vmcb) {
                memmove(&o->vcpu[j], &o->vcpu[j + 1], (o->nvcpu - j - 1) * sizeof(o->vcpu[0]));
                o->nvcpu--;
                lost_vcpu = true;
                break;
            }
        }
        if (lost_vcpu && o->nvcpu == 0) {
            /* Its vCPU's VMCB is another VM's now: that VM is gone. */
            vmc_inst_end(v, o, "its vCPU was reused");
        }
    }
    for (unsigned j = 0; j < in->nncr3; j++) {
        if (in->ncr3[j] == ncr3) {
            memmove(&in->ncr3[1], &in->ncr3[0], j * sizeof(in->ncr3[0]));
            in->ncr3[0] = ncr3;
            goto vcpu;
        }
    }
    memmove(&in->ncr3[1], &in->ncr3[0],
            MIN(in->nncr3, VMC_NCR3S - 1) * sizeof(in->ncr3[0]));
    in->ncr3[0] = ncr3;
    in->nncr3 = MIN(in->nncr3 + 1, VMC_NCR3S);
vcpu:
    for (unsigned j = 0; j < in->nvcpu; j++) {
        if (in->vcpu[j].vmcb == vmcb) {
            return;
        }
    }
    if (in->nvcpu == VMC_VCPUS) {
        memmove(&in->vcpu[0], &in->vcpu[1], (VMC_VCPUS - 1) * sizeof(in->vcpu[0]));
        in->nvcpu--;
    }
    in->vcpu[in->nvcpu++] = (VmcVcpu){ .vmcb = vmcb };
}

static bool vmc_is_reset_state(CPUX86State *env)
{
    return !(env->cr[0] & CR0_PE_MASK) &&
           env->segs[R_CS].selector == VMC_RESET_CS_SELECTOR &&
           env->segs[R_CS].base == VMC_RESET_CS_BASE &&
           env->eip == VMC_RESET_RIP;
}

/*
 * After a suspend, is this still the memory L0 knew? The page holding the
 * VM's page-table root must be mapped where L0 recorded it; a restored VM
 * runs on fresh L1 pages. 1 yes, 0 no, -EAGAIN if the nested tables do not
 * map it now (KVM drops mappings when dirty logging ends): *gpa is then the
 * page to fault in before asking again.
 */
static int vmc_same_memory(VmcryptState *v, VmcInst *in, CPUX86State *env, uint64_t *gpa)
{
    uint64_t hpa, rec;

    *gpa = env->cr[3] & PG_ADDRESS_MASK;
    if (!(env->cr[0] & CR0_PG_MASK) ||
        !vmc_gpa_lookup(&v->table, &in->core, *gpa >> VMC_PAGE_SHIFT, &rec)) {
        return 1; /* no root L0 knows to compare: let it continue */
    }
    if (!vmc_npt_lookup(v, in, *gpa, &hpa)) {
        return -EAGAIN;
    }
    return rec == hpa >> VMC_PAGE_SHIFT;
}

/*
 * Which instance runs this VMRUN (v->lock held). A vCPU at the reset vector
 * starts a new boot; a vCPU L0 knows continues its VM (on a new nested root,
 * if KVM moved it), unless a suspend sealed the VM and its memory is not
 * the memory L0 knew; any other vCPU is a resumed VM (or a second vCPU of a
 * known VM coming out of INIT/SIPI, in real mode). NULL: no slot left.
 * *fault_gpa nonzero: fault that page in first, then ask again.
 */
static VmcInst *vmc_identify(VmcryptState *v, CPUX86State *env, uint64_t *fault_gpa)
{
    uint64_t ncr3 = env->nested_cr3, vmcb = env->vm_vmcb;
    VmcVcpu *vc = NULL;
    VmcInst *by_root = vmc_find_ncr3(v, ncr3), *by_vmcb = vmc_find_vmcb(v, vmcb, &vc);
    VmcInst *in;

    if (vmc_is_reset_state(env) && by_vmcb && by_vmcb->phase == VMC_BOOT) {
        /*
         * Still booting (the reset vector re-entered after an exit, or a
         * reset before the kernel ran): the same boot goes on. Ending it
         * would make its pages another VM's, encrypted under the new one.
         */
        in = by_vmcb;
    } else if (vmc_is_reset_state(env)) {
        /*
         * A reboot (or a new VM at a reused root): a new boot with a new key.
         * The old one's pages stay protected: its plaintext is encrypted at
         * the first touch by L1 or by the new boot, and what the new boot
         * needs L1 writes anew (QEMU reloads its ROMs at reset).
         */
        if (by_root) {
            vmc_inst_end(v, by_root, "reset");
        }
        if (by_vmcb && by_vmcb != by_root) {
            vmc_inst_end(v, by_vmcb, "reset");
        }
        in = vmc_inst_new(v, VMC_BOOT);
        if (in) {
            nvsec_log("vmcrypt", "user VM %u: new boot at ncr3 %#" PRIx64, in->core.id, ncr3);
        }
    } else if (by_vmcb) {
        in = by_vmcb;
        if (in->phase == VMC_ARMED && in->sealed_since_run) {
            uint64_t gpa;
            int same;

            vmc_bind(v, in, ncr3, vmcb); /* its root is ncr3 now */
            in->npt_levels = env->nested_pg_mode & PG_MODE_LA57 ? 5 : 4;
            same = vmc_same_memory(v, in, env, &gpa);
            if (same == -EAGAIN) {
                *fault_gpa = gpa;
                return in; /* still sealed: asked again after the fault */
            }
            if (!same) {
                in = vmc_inst_new(v, VMC_RESUMING);
                if (in) {
                    nvsec_log("vmcrypt", "user VM %u: vCPU of a suspended VM runs on new "
                              "memory: a resume", in->core.id);
                }
            }
        }
    } else if (by_root && !(env->cr[0] & CR0_PE_MASK)) {
        in = by_root; /* an application processor's first VMRUN after SIPI */
    } else {
        in = vmc_inst_new(v, VMC_RESUMING);
        if (in) {
            nvsec_log("vmcrypt", "user VM %u: unknown vCPU not at the reset vector "
                      "(ncr3 %#" PRIx64 "): a resume", in->core.id, ncr3);
        }
    }
    if (in) {
        vmc_bind(v, in, ncr3, vmcb);
        in->npt_levels = env->nested_pg_mode & PG_MODE_LA57 ? 5 : 4;
        in->sealed_since_run = false;
        vmc_expose_clear(&in->core); /* the VM runs: L1's decoding is done */
        in->last_run_ns = get_clock();
    }
    return in;
}

/*
 * Make L1 map gpa (an L2 RAM page) in the running VM's nested tables, as the
 * hardware would on the VM's own access: a nested page fault #VMEXIT that
 * KVM answers by mapping the page and re-entering. retaddr 0 keeps the VM's
 * state as loaded (the fault is "before its first instruction").
 */
static G_NORETURN void vmc_fault_in(CPUX86State *env, uint64_t gpa)
{
    x86_stq_phys(env_cpu(env), env->vm_vmcb + offsetof(struct vmcb, control.exit_info_2),
                 gpa);
    cpu_vmexit(env, SVM_EXIT_NPF, SVM_NPTEXIT_GPA, 0);
}

/*
 * Where metadata page i of the running VM is (L1-physical pfn), looking it
 * up as the VM would (which records it, vmcrypt_tlb_fill), or faulting it in.
 */
static uint64_t vmc_meta_map(VmcryptState *v, VmcInst *in, CPUX86State *env, unsigned i)
{
    uint64_t gpa = VMC_META_GPA + (uint64_t)i * VMC_PAGE_SIZE;
    CPUTLBEntryFull *full;
    void *host;
    int flags;

    in->core.probing = true;
    flags = probe_access_full(env, gpa, MMU_DATA_LOAD, MMU_NESTED_IDX, true, &host, &full, 0);
    in->core.probing = false;
    if (flags & TLB_INVALID_MASK) {
        vmc_trace(v, "fault-in inst=%u gpa=%#" PRIx64, in->core.id, gpa);
        vmc_fault_in(env, gpa);
    }
    in->meta_hpa[i] = (full->phys_addr >> VMC_PAGE_SHIFT) + 1;
    return full->phys_addr >> VMC_PAGE_SHIFT;
}

static void vmc_refuse(VmcryptState *v, VmcInst *in, int err, const char *why)
{
    in->phase = VMC_REFUSED;
    error_report("nvsec/vmcrypt: resume of user VM %u refused: %s (%s); its memory "
                 "stays encrypted", in->core.id, why, strerror(-err));
    vmc_trace(v, "refuse inst=%u why=%s", in->core.id, why);
}

/* A resumed VM's first VMRUN: open its metadata (paper sec. 4.5). */
static void vmc_resume(VmcryptState *v, VmcInst *in, CPUX86State *env)
{
    g_autofree uint8_t *buf = g_malloc(VMC_META_MAX_SIZE);
    uint8_t *host;
    struct vmc_meta m;
    int size, rc;
    unsigned npages;
    uint64_t newest;
    bool match = false;

    host = vmc_page_host(vmc_meta_map(v, in, env, 0) << VMC_PAGE_SHIFT, NULL);
    size = host ? vmc_meta_size(host, VMC_PAGE_SIZE) : -EINVAL;
    if (size < 0) {
        vmc_refuse(v, in, size, "no VMCrypt metadata in the image");
        return;
    }
    npages = DIV_ROUND_UP(size, VMC_PAGE_SIZE);
    for (unsigned i = 0; i < npages; i++) {
        host = vmc_page_host(vmc_meta_map(v, in, env, i) << VMC_PAGE_SHIFT, NULL);
        if (!host) {
            vmc_refuse(v, in, -EFAULT, "metadata page not in RAM");
            return;
        }
        memcpy(buf + (size_t)i * VMC_PAGE_SIZE, host,
               MIN(VMC_PAGE_SIZE, (unsigned)size - i * VMC_PAGE_SIZE));
    }
    qemu_mutex_lock(&v->lock);
    rc = vmc_meta_open(buf, size, &v->meta_ops, &m);
    qemu_mutex_unlock(&v->lock);
    if (rc < 0) {
        vmc_refuse(v, in, rc, rc == -EBADMSG ? "metadata fails authentication (tampered, "
                   "or sealed under another key)" : "metadata malformed");
        return;
    }
    for (unsigned i = 0; i < m.nregs; i++) {
        match |= m.regs[i].cr3 == env->cr[3] && m.regs[i].rsp == env->regs[R_ESP];
    }
    if (!match) {
        vmc_meta_free(&m);
        vmc_refuse(v, in, -ESTALE, "metadata belongs to another save of this VM");
        return;
    }
    qemu_mutex_lock(&v->lock);
    newest = vmc_newest_get(v, m.lineage);
    qemu_mutex_unlock(&v->lock);
    if (m.seq < newest) {
        g_autofree char *why = g_strdup_printf("metadata belongs to another save of this VM "
                                               "(#%" PRIu64 ", but #%" PRIu64 " was sealed "
                                               "since)", m.seq, newest);

        vmc_meta_free(&m);
        vmc_refuse(v, in, -ESTALE, why);
        return;
    }
    qemu_mutex_lock(&v->lock);
    vmc_set_lineage(v, in, m.lineage);
    in->core.nexc = m.nexc;
    memcpy(in->core.exc, m.exc, sizeof(m.exc[0]) * m.nexc);
    in->resume_bits = m.bits;      /* ours now */
    in->core.resume_bits = m.bits;
    in->core.resume_npfn = m.npfn;
    in->core.resume_left = m.nset;
    in->seq = m.seq;
    in->core.armed = true;
    in->phase = VMC_ARMED;
    qemu_mutex_unlock(&v->lock);
    nvsec_log("vmcrypt", "user VM %u resumed: metadata #%" PRIu64 " authenticated, %" PRIu64
              " ciphertext pages, %u shared ranges", in->core.id, m.seq, m.nset, m.nexc);
    vmc_trace(v, "resume inst=%u seq=%" PRIu64 " cipher=%" PRIu64 " exc=%u", in->core.id,
              m.seq, m.nset, m.nexc);
}

/*
 * Boot is over when the VM's own kernel runs: 64-bit code in the upper half
 * of the address space (Linux's decompressor and trampolines run identity
 * mapped below; the BIOS and loader in real and 32-bit mode), the point
 * where the paper's domain leaves the hands of its builder (sec. 4.3).
 */
static bool vmc_boot_done(CPUX86State *env)
{
    return (env->hflags & HF_CS64_MASK) && (env->cr[0] & CR0_PG_MASK) &&
           (int64_t)env->eip < 0;
}

/* --- the decode window ------------------------------------------------------ */

/*
 * Without NRIP save and decode assists (QEMU's SVM offers neither), L1's
 * KVM reads the VM's instruction at RIP to skip or emulate it on nearly
 * every intercept, walking the VM's page tables to find it; for MMIO it
 * also walks them for the operand's address. Measured under noop with the
 * trace: after boot every L1 touch of a VM page other than its shared pages
 * followed a CPUID, MSR, HLT, CR or MMIO nested-page-fault exit, and was a
 * kernel page-table page or the code page at RIP. So at such an exit L1 may
 * read, until the VM runs again: the page-table pages of the walks for the
 * instruction (and, for a nested page fault, for the faulting access) and
 * the instruction's page(s), the latter only if the VM's page tables let it
 * execute there (an L1 that points RIP at the kernel's data, mapped
 * no-execute, gets nothing). This is what AMD's decode assists would hand
 * L1 without any memory access.
 */
static bool vmc_exit_decodes(VmcryptState *v, VmcInst *in, uint64_t code,
                             uint64_t info1, uint64_t info2)
{
    uint64_t hpa;

    if (code == (uint64_t)SVM_EXIT_ERR) {
        return false;
    }
    switch (code) {
    case SVM_EXIT_INTR:
    case SVM_EXIT_NMI:
    case SVM_EXIT_SMI:
    case SVM_EXIT_INIT:
    case SVM_EXIT_VINTR:
    case SVM_EXIT_SHUTDOWN:
        return false;
    case SVM_EXIT_IOIO:
        /* exit_info_2 holds the next RIP: only string I/O is emulated */
        return info1 & SVM_IOIO_STR_MASK;
    case SVM_EXIT_NPF:
        /* A RAM page the VM used is just mapped; MMIO is emulated. */
        return (info1 & PG_ERROR_RSVD_MASK) ||
               !vmc_gpa_lookup(&v->table, &in->core, info2 >> VMC_PAGE_SHIFT, &hpa);
    default:
        return true;
    }
}

/*
 * Open the window on (in, gpa): make it plaintext (decrypting as the VM's
 * own touch would) and let L1 read it. Returns its host page, NULL if it is
 * not the VM's RAM or the window is full. v->lock and the BQL held.
 */
static uint8_t *vmc_window_page(VmcryptState *v, VmcInst *in, uint64_t gpa)
{
    struct vmc_action a;
    uint64_t hpa;

    if (!vmc_npt_lookup(v, in, gpa, &hpa) || (hpa >> VMC_PAGE_SHIFT) >= v->table.npfn) {
        return NULL;
    }
    vmc_l2_touch(&v->table, &in->core, gpa >> VMC_PAGE_SHIFT, hpa >> VMC_PAGE_SHIFT, &a);
    vmc_apply(v, hpa >> VMC_PAGE_SHIFT, &a);
    if (!vmc_expose(&in->core, gpa >> VMC_PAGE_SHIFT)) {
        return NULL;
    }
    return vmc_page_host(hpa, NULL);
}

/*
 * Walk the VM's page tables for la (long mode, 4 or 5 levels, or no paging;
 * 32-bit paging is only met during boot, before VMCrypt is armed), opening
 * the window on each table page, and on the final page if code is set and
 * the tables let the VM execute it at its current privilege (AMD APM vol. 2,
 * 5.6: NX and U/S combine over all levels). Each table page is made
 * plaintext before it is read.
 */
static void vmc_window_walk(VmcryptState *v, VmcInst *in, CPUX86State *env, uint64_t la,
                            bool code)
{
    bool nx = false, user = true;
    uint64_t table, pte;

    if (!(env->cr[0] & CR0_PG_MASK)) {
        table = la & ~(uint64_t)(VMC_PAGE_SIZE - 1);
    } else if (env->efer & MSR_EFER_LMA) {
        int levels = env->cr[4] & CR4_LA57_MASK ? 5 : 4;

        table = env->cr[3] & PG_ADDRESS_MASK;
        for (int level = levels; level >= 1; level--) {
            unsigned shift = 12 + 9 * (level - 1);
            uint8_t *host = vmc_window_page(v, in, table);

            if (!host) {
                return;
            }
            pte = ldq_le_p(host + ((la >> shift) & 0x1ff) * 8);
            if (!(pte & PG_PRESENT_MASK)) {
                return;
            }
            nx |= (env->efer & MSR_EFER_NXE) && (pte & PG_NX_MASK);
            user &= !!(pte & PG_USER_MASK);
            if (level > 1 && level <= 3 && (pte & PG_PSE_MASK)) {
                uint64_t size = 1ull << shift;

                table = (pte & PG_ADDRESS_MASK & ~(size - 1)) |
                        (la & (size - 1) & ~(uint64_t)(VMC_PAGE_SIZE - 1));
                break;
            }
            table = pte & PG_ADDRESS_MASK;
        }
    } else {
        return;
    }
    if (code && !nx && (user || (env->hflags & HF_CPL_MASK) != 3)) {
        vmc_window_page(v, in, table);
    }
}

/* At a #VMEXIT of an armed VM, before L1 runs. */
static void vmc_window(VmcryptState *v, VmcInst *in, CPUX86State *env, uint64_t code,
                       uint64_t info1, uint64_t info2)
{
    uint64_t la = env->segs[R_CS].base + env->eip;
    bool bql;

    if (!(env->hflags & HF_CS64_MASK)) {
        la = (uint32_t)la;
    }
    bql = nvsec_bql_lock();
    qemu_mutex_lock(&v->lock);
    if (vmc_exit_decodes(v, in, code, info1, info2)) {
        vmc_window_walk(v, in, env, la, true);
        if ((la ^ (la + VMC_INSN_MAX - 1)) >> VMC_PAGE_SHIFT) {
            vmc_window_walk(v, in, env, la + VMC_INSN_MAX - 1, true);
        }
        if (code == SVM_EXIT_NPF) {
            vmc_window_walk(v, in, env, vmc_last_la, false);
        }
        v->n_windows++;
    }
    qemu_mutex_unlock(&v->lock);
    nvsec_bql_unlock(bql);
}

/* --- hooks ----------------------------------------------------------------- */

void vmcrypt_vmrun(CPUX86State *env, uintptr_t retaddr)
{
    VmcryptState *v = qatomic_read(&vmc_global);
    uint64_t fault_gpa = 0;
    VmcInst *in;
    int64_t now;

    if (!v) {
        return;
    }
    if (!(env->hflags2 & HF2_NPT_MASK)) {
        nvsec_log("vmcrypt", "user VM without nested paging refused (VMCrypt protects "
                  "every user VM, and tells them apart by their nested tables)");
        cpu_vmexit(env, SVM_EXIT_ERR, 0, retaddr);
    }
    qemu_mutex_lock(&v->lock);
    in = vmc_identify(v, env, &fault_gpa);
    v->cur = in;
    v->in_l2 = true;
    v->l2_saw_l1_page = false;
    qemu_mutex_unlock(&v->lock);
    if (!in) {
        nvsec_log("vmcrypt", "more than %d user VMs: VMRUN refused", VMC_MAX_INSTS);
        cpu_vmexit(env, SVM_EXIT_ERR, 0, retaddr);
    }
    if (fault_gpa) {
        vmc_fault_in(env, fault_gpa);
    }
    if (in->phase == VMC_RESUMING) {
        vmc_resume(v, in, env);
    }
    if (in->phase == VMC_REFUSED) {
        cpu_vmexit(env, SVM_EXIT_ERR, 0, retaddr);
    }
    now = get_clock();
    if (in->phase == VMC_BOOT && vmc_boot_done(env)) {
        for (unsigned i = 0; i < VMC_META_PAGES; i++) {
            vmc_meta_map(v, in, env, i);
        }
        qemu_mutex_lock(&v->lock);
        in->core.armed = true;
        in->phase = VMC_ARMED;
        in->meta_check_ns = now;
        qemu_mutex_unlock(&v->lock);
        nvsec_log("vmcrypt", "user VM %u armed: its kernel runs, L1 sees ciphertext from now",
                  in->core.id);
        vmc_trace(v, "arm inst=%u", in->core.id);
    } else if (in->phase == VMC_ARMED && now - in->meta_check_ns > VMC_META_CHECK_NS) {
        /* L1 may have moved the pages (THP collapse): follow them. */
        for (unsigned i = 0; i < VMC_META_PAGES; i++) {
            vmc_meta_map(v, in, env, i);
        }
        in->meta_check_ns = now;
    }
}

void vmcrypt_vmexit(CPUX86State *env)
{
    VmcryptState *v = qatomic_read(&vmc_global);
    CPUState *cs = env_cpu(env);
    uint64_t code, info1, info2;
    VmcInst *in;

    if (!v || !(env->hflags & HF_GUEST_MASK)) {
        return;
    }
    code = x86_ldq_phys(cs, env->vm_vmcb + offsetof(struct vmcb, control.exit_code));
    info1 = x86_ldq_phys(cs, env->vm_vmcb + offsetof(struct vmcb, control.exit_info_1));
    info2 = x86_ldq_phys(cs, env->vm_vmcb + offsetof(struct vmcb, control.exit_info_2));
    in = v->cur; /* only this thread changes it */
    if (in && in->phase == VMC_ARMED) {
        vmc_window(v, in, env, code, info1, info2);
    }
    qemu_mutex_lock(&v->lock);
    for (unsigned i = 0; in && i < in->nvcpu; i++) {
        if (in->vcpu[i].vmcb == env->vm_vmcb) {
            in->vcpu[i].exited = true;
            in->vcpu[i].cr3 = env->cr[3];
            in->vcpu[i].rsp = env->regs[R_ESP];
        }
    }
    /*
     * Pages a device read while this VM ran were encrypted under its feet:
     * it may have written plaintext into them through TLB entries made
     * before. Encrypt again whatever they hold, so none of it reaches L1.
     */
    for (unsigned i = 0; i < v->ntorn; i++) {
        uint32_t id;
        enum vmc_view view;

        if (vmc_lookup(&v->table, v->torn[i], &id, NULL, &view) && view == VMC_CIPHER) {
            uint64_t gpa;
            struct vmc_action a = { .n = 1 };

            vmc_lookup(&v->table, v->torn[i], NULL, &gpa, NULL);
            a.op[0] = (struct vmc_op){ .kind = VMC_OP_ENCRYPT, .inst = id, .gpa_pfn = gpa };
            vmc_apply(v, v->torn[i], &a);
            v->n_torn++;
        }
    }
    v->ntorn = 0;
    v->cur = NULL;
    v->in_l2 = false;
    v->l1_period++;
    qemu_mutex_unlock(&v->lock);
    if (v->trace && in) {
        vmc_trace(v, "exit inst=%u code=%#" PRIx64 " rip=%#" PRIx64 " window=%u", in->core.id,
                  code, (uint64_t)env->eip, in->core.nexposed);
    }
}

/* L2's side: a stage-2 fill of gpa_pfn -> hpa_pfn by the running VM. */
static void vmc_l2_fill(VmcryptState *v, CPUX86State *env, uint64_t gpa_pfn, uint64_t hpa_pfn)
{
    VmcInst *in = v->cur;
    struct vmc_action a;
    uint32_t id;
    enum vmc_view view;
    bool bql, quiet;

    if (!in || in->phase == VMC_REFUSED) {
        return;
    }
    qemu_mutex_lock(&v->lock);
    quiet = vmc_lookup(&v->table, hpa_pfn, &id, NULL, &view) && id == in->core.id &&
            view == VMC_PLAIN;
    if (quiet) {
        vmc_l2_touch(&v->table, &in->core, gpa_pfn, hpa_pfn, &a);
        qemu_mutex_unlock(&v->lock);
        if (a.meta_violation) {
            nvsec_log("vmcrypt", "user VM %u uses L2-physical %#" PRIx64 ", VMCrypt's "
                      "metadata range: its images will not resume", in->core.id,
                      gpa_pfn << VMC_PAGE_SHIFT);
        }
        return;
    }
    qemu_mutex_unlock(&v->lock);
    /* A rewrite may follow: exclude BQL-held device reads (see the top). */
    bql = nvsec_bql_lock();
    qemu_mutex_lock(&v->lock);
    vmc_l2_touch(&v->table, &in->core, gpa_pfn, hpa_pfn, &a);
    if (vmc_apply(v, hpa_pfn, &a) && v->l2_saw_l1_page) {
        /* The NPT walker may hold L1-view entries of this page: drop them. */
        tlb_flush(env_cpu(env));
    }
    qemu_mutex_unlock(&v->lock);
    nvsec_bql_unlock(bql);
    if (a.meta_violation) {
        nvsec_log("vmcrypt", "user VM %u uses L2-physical %#" PRIx64 ", VMCrypt's metadata "
                  "range: its images will not resume", in->core.id, gpa_pfn << VMC_PAGE_SHIFT);
    }
}

/* L1's side (CPU or DMA on the vCPU thread): hpa_pfn is a VM's page. */
static void vmc_l1_access(VmcryptState *v, CPUX86State *env, uint64_t hpa_pfn, bool dma)
{
    struct vmc_action a;
    bool guest = env->hflags & HF_GUEST_MASK;

    qemu_mutex_lock(&v->lock);
    if (v->trace) {
        uint32_t id = 0;
        uint64_t gpa = 0;
        enum vmc_view view = VMC_PLAIN;

        vmc_lookup(&v->table, hpa_pfn, &id, &gpa, &view);
        vmc_trace(v, "l1 inst=%u gpa=%#" PRIx64 " hpa=%#" PRIx64 " view=%d cpl=%d rip=%#"
                  PRIx64 " cr3=%#" PRIx64 " guest=%d dma=%d", id, gpa << VMC_PAGE_SHIFT,
                  hpa_pfn << VMC_PAGE_SHIFT, view, (int)(env->hflags & HF_CPL_MASK),
                  (uint64_t)env->eip, (uint64_t)env->cr[3], guest, dma);
    }
    vmc_l1_touch(&v->table, hpa_pfn, &a);
    if (a.meta) {
        uint32_t id;

        if (vmc_lookup(&v->table, hpa_pfn, &id, NULL, NULL) && vmc_inst_of(v, id)) {
            vmc_meta_write(v, vmc_inst_of(v, id), hpa_pfn);
        }
    }
    if (vmc_apply(v, hpa_pfn, &a) && guest) {
        /* In guest mode the VM may hold entries of this page: drop them. */
        tlb_flush(env_cpu(env));
    }
    if (guest) {
        v->l2_saw_l1_page = true;
    }
    qemu_mutex_unlock(&v->lock);
}

void vmcrypt_tlb_miss(CPUX86State *env, vaddr addr, int mmu_idx)
{
    if (qatomic_read(&vmc_global) && (env->hflags & HF_GUEST_MASK) &&
        mmu_idx != MMU_NESTED_IDX && mmu_idx != MMU_PHYS_IDX) {
        vmc_last_la = addr;
    }
}

void vmcrypt_tlb_fill(CPUX86State *env, vaddr addr, hwaddr paddr, int mmu_idx)
{
    VmcryptState *v = qatomic_read(&vmc_global);
    uint64_t hpa_pfn = paddr >> VMC_PAGE_SHIFT;
    bool guest;

    if (likely(!v)) {
        return;
    }
    guest = env->hflags & HF_GUEST_MASK;
    if (mmu_idx == MMU_NESTED_IDX) {
        if (guest && (env->hflags2 & HF2_NPT_MASK)) {
            vmc_l2_fill(v, env, (uint64_t)addr >> VMC_PAGE_SHIFT, hpa_pfn);
        }
        return;
    }
    if (guest && mmu_idx != MMU_PHYS_IDX) {
        return; /* the VM's final mapping: its stage-2 fill did the work */
    }
    if (vmc_tracked(&v->table, hpa_pfn)) {
        vmc_l1_access(v, env, hpa_pfn, false);
    }
}

/*
 * A DMA-style read of L1-physical page hpa_pfn. On the vCPU thread (SVM
 * helpers' x86_ld*_phys, a device's MMIO handler) it is an L1 access like a
 * CPU one. On another thread the VM may be running: the page is encrypted
 * all the same, and noted to be encrypted again at the VM's #VMEXIT.
 */
static void vmc_dma_page(VmcryptState *v, uint64_t hpa_pfn)
{
    CPUState *cs = current_cpu;
    struct vmc_action a;

    if (!vmc_tracked(&v->table, hpa_pfn)) {
        return;
    }
    v->n_dma++;
    if (cs) {
        vmc_l1_access(v, cs->env_ptr, hpa_pfn, true);
        return;
    }
    qemu_mutex_lock(&v->lock);
    vmc_l1_touch(&v->table, hpa_pfn, &a);
    if (a.meta) {
        uint32_t id;

        if (vmc_lookup(&v->table, hpa_pfn, &id, NULL, NULL) && vmc_inst_of(v, id)) {
            vmc_meta_write(v, vmc_inst_of(v, id), hpa_pfn);
        }
    }
    if (vmc_apply(v, hpa_pfn, &a) && v->in_l2 && v->ntorn < VMC_MAX_TORN) {
        v->torn[v->ntorn++] = hpa_pfn;
    }
    qemu_mutex_unlock(&v->lock);
}

static void vmc_dma_read(MemoryRegion *mr, hwaddr offset, hwaddr len)
{
    VmcryptState *v = qatomic_read(&vmc_global);

    if (!v || mr != v->ram || !len) {
        return; /* user VMs live in L0's RAM region only */
    }
    /* The region offset to L1-physical: the RAM's (at most two) linear pieces. */
    for (unsigned i = 0; i < v->nranges; i++) {
        uint64_t lo = MAX(offset, v->ranges[i].offset);
        uint64_t hi = MIN(offset + len, v->ranges[i].offset + v->ranges[i].size);

        for (uint64_t o = lo & ~(uint64_t)(VMC_PAGE_SIZE - 1); o < hi; o += VMC_PAGE_SIZE) {
            uint64_t pfn = (v->ranges[i].gpa + (o - v->ranges[i].offset)) >> VMC_PAGE_SHIFT;

            if (pfn < v->table.npfn) {
                vmc_dma_page(v, pfn);
            }
        }
    }
}

void vmcrypt_wrmsr(CPUX86State *env)
{
    VmcryptState *v = qatomic_read(&vmc_global);
    uint64_t val = (uint32_t)env->regs[R_EAX] | ((uint64_t)(uint32_t)env->regs[R_EDX] << 32);
    uint32_t msr = (uint32_t)env->regs[R_ECX];
    struct vmc_pv_reg r;
    VmcInst *in;
    int rc;

    if (!v || !(env->hflags & HF_GUEST_MASK) || !(env->hflags2 & HF2_NPT_MASK)) {
        return;
    }
    if (vmc_pv_decode(msr, val, env->vm_vmcb >> VMC_PAGE_SHIFT, &r) <= 0) {
        return;
    }
    qemu_mutex_lock(&v->lock);
    in = v->cur;
    rc = in ? vmc_exc_set(&in->core, r.key, r.enable ? r.gpa_pfn : 0,
                          r.enable ? r.npages : 0) : -ENOENT;
    qemu_mutex_unlock(&v->lock);
    if (rc < 0) {
        nvsec_log("vmcrypt", "user VM's shared page (MSR %#x) not recorded: %s; L1 will "
                  "read it encrypted", msr, strerror(-rc));
        return;
    }
    vmc_trace(v, "shared inst=%u msr=%#x gpa=%#" PRIx64 " pages=%" PRIu64 " on=%d",
              in->core.id, msr, r.gpa_pfn << VMC_PAGE_SHIFT, r.npages, r.enable);
    /* Its hypervisor reads it from now: make sure it holds plaintext. */
    for (uint64_t i = 0; r.enable && i < r.npages; i++) {
        CPUTLBEntryFull *full;
        void *host;

        probe_access_full(env, (r.gpa_pfn + i) << VMC_PAGE_SHIFT, MMU_DATA_LOAD,
                          MMU_NESTED_IDX, true, &host, &full, 0);
    }
}

/* --- set-up ---------------------------------------------------------------- */

typedef struct VmcRangeCtx {
    VmcryptState *v;
    const MemoryRegion *ram;
    uint64_t end;
} VmcRangeCtx;

static bool vmc_range_cb(Int128 start, Int128 len, const MemoryRegion *mr,
                         hwaddr offset_in_region, void *opaque)
{
    VmcRangeCtx *ctx = opaque;
    VmcryptState *v = ctx->v;
    uint64_t gpa = int128_get64(start), size = int128_get64(len);

    if (mr != ctx->ram) {
        return false;
    }
    ctx->end = MAX(ctx->end, gpa + size);
    /*
     * The PC maps its RAM region linearly below and above 4 GiB; the holes
     * in between (VGA, PAM, SMRAM) move at run time. One piece per distinct
     * gpa - offset, grown over the holes.
     */
    for (unsigned i = 0; i < v->nranges; i++) {
        if (v->ranges[i].gpa - v->ranges[i].offset == gpa - offset_in_region) {
            uint64_t lo = MIN(v->ranges[i].offset, offset_in_region);
            uint64_t hi = MAX(v->ranges[i].offset + v->ranges[i].size, offset_in_region + size);

            v->ranges[i].gpa += lo - v->ranges[i].offset;
            v->ranges[i].offset = lo;
            v->ranges[i].size = hi - lo;
            return false;
        }
    }
    if (v->nranges < ARRAY_SIZE(v->ranges)) {
        v->ranges[v->nranges].gpa = gpa;
        v->ranges[v->nranges].size = size;
        v->ranges[v->nranges].offset = offset_in_region;
        v->nranges++;
    }
    return false;
}

static void vmc_machine_done(Notifier *n, void *data)
{
    VmcryptState *v = container_of(n, VmcryptState, machine_done);
    MachineState *ms = MACHINE(qdev_get_machine());
    VmcRangeCtx ctx = { .v = v, .ram = ms->ram };
    int rc;

    if (ms->smp.cpus != 1) {
        error_report("vmcrypt: L0 must run one vCPU (-smp 1): the dual view keeps one "
                     "copy of each page and needs one world at a time");
        exit(1);
    }
    if (!ms->ram) {
        error_report("vmcrypt: the machine has no RAM region");
        exit(1);
    }
    WITH_RCU_READ_LOCK_GUARD() {
        flatview_for_each_range(address_space_to_flatview(&address_space_memory),
                                vmc_range_cb, &ctx);
    }
    v->ram = ms->ram;
    v->phys_bits = X86_CPU(first_cpu)->phys_bits;
    rc = vmc_table_init(&v->table, ctx.end >> VMC_PAGE_SHIFT);
    if (rc < 0) {
        error_report("vmcrypt: page table for %" PRIu64 " MiB: %s", ctx.end >> 20,
                     strerror(-rc));
        exit(1);
    }
    nvsec_dma_read_hook = vmc_dma_read;
    qatomic_set(&vmc_global, v);
    info_report("vmcrypt: mode %s, %" PRIu64 " MiB of L1 RAM watched, metadata at "
                "L2-physical %#llx (%u pages)", v->mode_str, ctx.end >> 20,
                VMC_META_GPA, VMC_META_PAGES);
}

/* The master key: 32 bytes raw, or 64 hex digits (and an optional newline). */
static int vmc_load_key(VmcryptState *v, Error **errp)
{
    g_autofree char *data = NULL;
    gsize len;
    struct stat st;

    if (!v->key_file) {
        return qcrypto_random_bytes(v->master, VMC_KEY_SIZE, errp);
    }
    if (stat(v->key_file, &st) == 0 && (st.st_mode & 077)) {
        warn_report("vmcrypt: key file %s is readable by others", v->key_file);
    }
    if (!g_file_get_contents(v->key_file, &data, &len, NULL)) {
        error_setg(errp, "vmcrypt: cannot read key-file %s", v->key_file);
        return -1;
    }
    if (len == VMC_KEY_SIZE) {
        memcpy(v->master, data, VMC_KEY_SIZE);
    } else if (len == 2 * VMC_KEY_SIZE || (len == 2 * VMC_KEY_SIZE + 1 && data[len - 1] == '\n')) {
        for (unsigned i = 0; i < VMC_KEY_SIZE; i++) {
            char hex[3] = { data[2 * i], data[2 * i + 1], 0 };
            char *end;
            unsigned long b = strtoul(hex, &end, 16);

            if (*end || !g_ascii_isxdigit(hex[0]) || !g_ascii_isxdigit(hex[1])) {
                error_setg(errp, "vmcrypt: key-file %s: not 64 hex digits", v->key_file);
                return -1;
            }
            v->master[i] = (uint8_t)b;
        }
    } else {
        error_setg(errp, "vmcrypt: key-file %s must hold 32 bytes or 64 hex digits",
                   v->key_file);
        return -1;
    }
    memset(data, 0, len);
    return 0;
}

static void vmc_complete(UserCreatable *uc, Error **errp)
{
    VmcryptState *v = VMCRYPT(uc);
    uint8_t key[VMC_XTS_KEY_SIZE];

    if (qatomic_read(&vmc_global)) {
        error_setg(errp, "vmcrypt: only one vmcrypt object may exist");
        return;
    }
    if (v->mode == VMC_MODE_OFF) {
        return; /* vanilla: no hook does anything */
    }
    if (vmc_load_key(v, errp) < 0) {
        return;
    }
    if (vmc_derive(v, "nvsec vmcrypt meta enc", NULL, key, errp) < 0 ||
        !(v->meta_cbc = qcrypto_cipher_new(QCRYPTO_CIPHER_ALG_AES_256,
                                           QCRYPTO_CIPHER_MODE_CBC, key, 32, errp))) {
        return;
    }
    if (vmc_derive(v, "nvsec vmcrypt meta mac", NULL, key, errp) < 0 ||
        !(v->meta_mac = qcrypto_hmac_new(QCRYPTO_HASH_ALG_SHA256, key, 32, errp))) {
        return;
    }
    if (qcrypto_random_bytes(key, sizeof(key), errp) < 0 ||
        !(v->dead_xts = vmc_page_key_new(key, errp))) {
        return;
    }
    memset(key, 0, sizeof(key));
    v->meta_ops = (struct vmc_meta_crypto){
        .opaque = v, .encrypt = vmc_meta_encrypt, .decrypt = vmc_meta_decrypt,
        .mac = vmc_meta_hmac, .random = vmc_meta_random,
    };
    v->meta_buf = g_malloc0(VMC_META_MAX_SIZE);
    if (v->trace_path) {
        v->trace = fopen(v->trace_path, "w");
        if (!v->trace) {
            error_setg_errno(errp, errno, "vmcrypt: cannot open trace %s", v->trace_path);
            return;
        }
        setvbuf(v->trace, NULL, _IOLBF, 0);
    }
    qemu_mutex_init(&v->lock);
    v->machine_done.notify = vmc_machine_done;
    qemu_add_machine_init_done_notifier(&v->machine_done);
}

static bool vmc_can_be_deleted(UserCreatable *uc)
{
    return false; /* the hooks hold no reference; the object lives as long as L0 */
}

static char *vmc_get_mode(Object *obj, Error **errp)
{
    return g_strdup(VMCRYPT(obj)->mode_str);
}

static void vmc_set_mode(Object *obj, const char *value, Error **errp)
{
    VmcryptState *v = VMCRYPT(obj);
    static const char *const names[] = {
        [VMC_MODE_OFF] = "off", [VMC_MODE_NOOP] = "noop", [VMC_MODE_AES] = "aes",
    };

    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        if (!strcmp(value, names[i])) {
            v->mode = i;
            g_free(v->mode_str);
            v->mode_str = g_strdup(value);
            return;
        }
    }
    error_setg(errp, "vmcrypt: mode must be off, noop or aes");
}

static char *vmc_get_key_file(Object *obj, Error **errp)
{
    return g_strdup(VMCRYPT(obj)->key_file);
}

static void vmc_set_key_file(Object *obj, const char *value, Error **errp)
{
    VmcryptState *v = VMCRYPT(obj);

    g_free(v->key_file);
    v->key_file = g_strdup(value);
}

static char *vmc_get_trace(Object *obj, Error **errp)
{
    return g_strdup(VMCRYPT(obj)->trace_path);
}

static void vmc_set_trace(Object *obj, const char *value, Error **errp)
{
    VmcryptState *v = VMCRYPT(obj);

    g_free(v->trace_path);
    v->trace_path = g_strdup(value);
}

static void vmc_instance_init(Object *obj)
{
    VmcryptState *v = VMCRYPT(obj);

    v->mode = VMC_MODE_AES;
    v->mode_str = g_strdup("aes");
}

static void vmc_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = vmc_complete;
    ucc->can_be_deleted = vmc_can_be_deleted;
    object_class_property_add_str(oc, "mode", vmc_get_mode, vmc_set_mode);
    object_class_property_set_description(oc, "mode",
        "off (vanilla), noop (bookkeeping, no cipher) or aes (default)");
    object_class_property_add_str(oc, "key-file", vmc_get_key_file, vmc_set_key_file);
    object_class_property_set_description(oc, "key-file",
        "master key: 32 bytes or 64 hex digits (default: random per L0 run)");
    object_class_property_add_str(oc, "trace", vmc_get_trace, vmc_set_trace);
    object_class_property_set_description(oc, "trace",
        "file for one line per L1 touch of a user VM page, rewrite, exit (diagnostics)");
}

static const TypeInfo vmc_type = {
    .name = TYPE_VMCRYPT,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VmcryptState),
    .instance_init = vmc_instance_init,
    .class_init = vmc_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void vmc_register_types(void)
{
    type_register_static(&vmc_type);
}

type_init(vmc_register_types)
