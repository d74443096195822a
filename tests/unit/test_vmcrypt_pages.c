/* sources: src/l0/vmcrypt/vmcrypt_pages.c */
/*
 * VMCrypt's dual-view state machine: a page is encrypted at L1's first touch
 * and decrypted at the user VM's next one, never twice; boot is not
 * encrypted; shared and metadata pages stay as they are; pages that L1
 * moves, gives to another VM, or leaves behind when a VM ends never show
 * one VM's plaintext to L1 or to another VM; a resume decrypts exactly the
 * image's ciphertext pages; and the image's cipher set is what L1 will read.
 * Each case is a script of touches and the actions they must produce.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vmcrypt/vmcrypt_pages.h"

#define NPFN 4096u
#define META (VMC_META_GPA >> VMC_PAGE_SHIFT)

static struct vmc_table t;
static struct vmc_inst a, b;

static void reset(void)
{
    vmc_table_destroy(&t);
    if (vmc_table_init(&t, NPFN) != 0) {
        abort();
    }
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.lineage = 1;
    b.lineage = 2;
    vmc_inst_add(&t, &a);
    vmc_inst_add(&t, &b);
}

/* Expected action: up to two ops as (kind, inst, gpa, skip_zero). */
struct want {
    unsigned n;
    struct vmc_op op[2];
};

#define NONE ((struct want){ 0 })
#define ENC(in, g) ((struct want){ 1, { { VMC_OP_ENCRYPT, false, (in).id, (g) } } })
#define DEC(in, g) ((struct want){ 1, { { VMC_OP_DECRYPT, false, (in).id, (g) } } })
#define DECZ(in, g) ((struct want){ 1, { { VMC_OP_DECRYPT, true, (in).id, (g) } } })

static const char *why;
static char whybuf[160];

static int same(const struct vmc_action *x, struct want w, const char *step)
{
    if (x->n != w.n) {
        snprintf(whybuf, sizeof(whybuf), "%s: %u ops, want %u", step, x->n, w.n);
        why = whybuf;
        return 0;
    }
    for (unsigned i = 0; i < w.n; i++) {
        if (x->op[i].kind != w.op[i].kind || x->op[i].inst != w.op[i].inst ||
            x->op[i].gpa_pfn != w.op[i].gpa_pfn || x->op[i].skip_zero != w.op[i].skip_zero) {
            snprintf(whybuf, sizeof(whybuf),
                     "%s: op %u is kind %u inst %u gpa %#llx zero %d", step, i,
                     x->op[i].kind, x->op[i].inst, (unsigned long long)x->op[i].gpa_pfn,
                     x->op[i].skip_zero);
            why = whybuf;
            return 0;
        }
    }
    return 1;
}

static int l2(struct vmc_inst *in, uint64_t g, uint64_t h, struct want w, const char *step)
{
    struct vmc_action x;

    vmc_l2_touch(&t, in, g, h, &x);
    return same(&x, w, step);
}

static int l1(uint64_t h, struct want w, const char *step)
{
    struct vmc_action x;

    vmc_l1_touch(&t, h, &x);
    return same(&x, w, step);
}

#define STEP(e) do { if (!(e)) return why; } while (0)
#define CHECK(c, msg) do { if (!(c)) return (msg); } while (0)

/* Each case returns NULL on success or what went wrong. */

static const char *c_fresh_no_op(void)
{
    uint32_t inst;
    uint64_t g;
    enum vmc_view v;

    STEP(l2(&a, 0x100, 7, NONE, "first L2 touch"));
    CHECK(vmc_lookup(&t, 7, &inst, &g, &v) && inst == a.id && g == 0x100 && v == VMC_PLAIN,
          "page not recorded as a's plaintext");
    CHECK(!vmc_tracked(&t, 8), "untouched page tracked");
    return NULL;
}

static const char *c_boot_not_encrypted(void)
{
    STEP(l2(&a, 0x100, 7, NONE, "L2"));
    STEP(l1(7, NONE, "L1 during boot"));
    return NULL;
}

static const char *c_encrypt_once_decrypt_once(void)
{
    a.armed = true;
    STEP(l2(&a, 0x100, 7, NONE, "L2"));
    STEP(l1(7, ENC(a, 0x100), "first L1 touch"));
    STEP(l1(7, NONE, "second L1 touch"));
    STEP(l2(&a, 0x100, 7, DEC(a, 0x100), "L2 again"));
    STEP(l2(&a, 0x100, 7, NONE, "L2 twice"));
    STEP(l1(7, ENC(a, 0x100), "L1 again"));
    return NULL;
}

static const char *c_unknown_page_untouched(void)
{
    STEP(l1(9, NONE, "L1 on a page no VM owns"));
    STEP(l1(NPFN + 5, NONE, "L1 beyond RAM"));
    STEP(l2(&a, 0x1, NPFN + 5, NONE, "L2 beyond RAM"));
    CHECK(!vmc_tracked(&t, NPFN + 5), "page beyond RAM tracked");
    return NULL;
}

static const char *c_shared_pages_plain(void)
{
    a.armed = true;
    CHECK(vmc_exc_set(&a, 1, 0x200, 1) == 0, "exc_set");
    STEP(l2(&a, 0x200, 8, NONE, "L2 on shared"));
    STEP(l1(8, NONE, "L1 on shared"));
    CHECK(vmc_exc_set(&a, 1, 0, 0) == 0, "exc release");
    STEP(l1(8, ENC(a, 0x200), "L1 after release"));
    return NULL;
}

static const char *c_exc_slots(void)
{
    CHECK(vmc_exc_set(&a, 1, 0x10, 1) == 0 && vmc_exc_set(&a, 1, 0x20, 2) == 0, "set");
    CHECK(a.nexc == 1 && !vmc_exc_has(&a, 0x10) && vmc_exc_has(&a, 0x21), "same key replaces");
    CHECK(vmc_exc_set(&a, 2, 0x30, 17) == -EINVAL, "17 pages accepted");
    for (unsigned i = 2; i < VMC_MAX_EXC + 1; i++) {
        CHECK(vmc_exc_set(&a, i, 0x100 + i, 1) == 0, "fill");
    }
    CHECK(vmc_exc_set(&a, 999, 0x999, 1) == -ENOSPC, "over capacity accepted");
    CHECK(vmc_exc_set(&a, 5, 0, 0) == 0 && !vmc_exc_has(&a, 0x105), "remove");
    CHECK(vmc_exc_set(&a, 999, 0x999, 1) == 0, "slot not freed");
    CHECK(vmc_exc_set(&a, 12345, 0, 0) == 0, "removing an unknown key");
    return NULL;
}

static const char *c_meta_pages(void)
{
    struct vmc_action x;

    STEP(l2(&a, META + 1, 20, NONE, "pre-touch before arming"));
    a.armed = true;
    vmc_l1_touch(&t, 20, &x);
    CHECK(x.meta && x.n == 0, "L1 on metadata: not flagged, or transformed");
    vmc_l2_touch(&t, &a, META + 1, 20, &x);
    CHECK(x.meta_violation && a.meta_violation, "VM's own use of metadata not flagged");
    vmc_l2_touch(&t, &a, META + 1, 20, &x);
    CHECK(!x.meta_violation, "violation reported twice");
    return NULL;
}

static const char *c_moved_cipher_page(void)
{
    a.armed = true;
    STEP(l2(&a, 0x300, 30, NONE, "L2 at A"));
    STEP(l1(30, ENC(a, 0x300), "L1 copies A"));
    STEP(l2(&a, 0x300, 31, DECZ(a, 0x300), "L2 at B"));
    CHECK(!vmc_tracked(&t, 30), "old ciphertext page still tracked");
    STEP(l1(30, NONE, "L1 reuses A"));
    STEP(l1(31, ENC(a, 0x300), "L1 on B"));
    return NULL;
}

static const char *c_moved_plain_page_orphaned(void)
{
    a.armed = true;
    STEP(l2(&a, 0x300, 30, NONE, "L2 at A"));
    STEP(l2(&a, 0x300, 31, NONE, "L2 at B without L1 reading A"));
    STEP(l1(30, ENC(a, 0x300), "L1 on the left-behind plaintext"));
    CHECK(!vmc_tracked(&t, 30), "orphan kept after encryption");
    STEP(l1(31, ENC(a, 0x300), "L1 on B"));
    return NULL;
}

static const char *c_orphan_reclaimed(void)
{
    a.armed = true;
    STEP(l2(&a, 0x300, 30, NONE, "L2 at A"));
    STEP(l2(&a, 0x300, 31, NONE, "L2 at B"));
    STEP(l2(&a, 0x300, 30, NONE, "L2 back at A"));
    STEP(l1(31, ENC(a, 0x300), "B is now the orphan"));
    STEP(l1(30, ENC(a, 0x300), "A is current"));
    STEP(l2(&a, 0x300, 30, DEC(a, 0x300), "L2 at A"));
    return NULL;
}

static const char *c_foreign_vm(void)
{
    struct vmc_action x;

    a.armed = b.armed = true;
    STEP(l2(&a, 0x400, 40, NONE, "a"));
    vmc_l2_touch(&t, &b, 0x500, 40, &x);
    CHECK(x.n == 1 && x.op[0].kind == VMC_OP_ENCRYPT && x.op[0].inst == a.id &&
          x.op[0].gpa_pfn == 0x400, "b saw a's plaintext");
    STEP(l1(40, ENC(b, 0x500), "L1 on b's page"));
    return NULL;
}

static const char *c_shared_page_handed_over_as_is(void)
{
    a.armed = b.armed = true;
    CHECK(vmc_exc_set(&a, 1, 0x410, 1) == 0, "exc");
    STEP(l2(&a, 0x410, 41, NONE, "a's shared page"));
    STEP(l1(41, NONE, "L1 reads (and may write) it as it is"));
    STEP(l2(&b, 0x510, 41, NONE, "b gets it as L1 left it"));
    STEP(l2(&a, 0x411, 42, NONE, "a's data page"));
    STEP(l1(42, ENC(a, 0x411), "L1"));
    STEP(l2(&a, 0x411, 42, DEC(a, 0x411), "a touches it again: its own once more"));
    CHECK(vmc_exc_set(&a, 2, 0x411, 1) == 0, "exc");
    STEP(l1(42, NONE, "L1 on the now-shared page"));
    STEP(l2(&a, 0x411, 42, NONE, "a again: no longer touched by L1 since"));
    CHECK(vmc_exc_set(&a, 2, 0, 0) == 0, "exc release");
    {
        struct vmc_action x;

        vmc_l2_touch(&t, &b, 0x511, 42, &x);
        CHECK(x.n == 1 && x.op[0].kind == VMC_OP_ENCRYPT, "a page the VM touched after L1 "
              "did was handed over in plaintext");
    }
    return NULL;
}

static const char *c_foreign_cipher_page_as_is(void)
{
    a.armed = b.armed = true;
    STEP(l2(&a, 0x400, 40, NONE, "a"));
    STEP(l1(40, ENC(a, 0x400), "L1"));
    STEP(l2(&b, 0x500, 40, NONE, "b gets a's ciphertext, no decrypt with a's key"));
    return NULL;
}

static const char *c_dead_instance(void)
{
    a.armed = true;
    STEP(l2(&a, 0x600, 60, NONE, "a"));
    STEP(l2(&a, 0x601, 61, NONE, "a"));
    STEP(l1(61, ENC(a, 0x601), "L1"));
    vmc_inst_remove(&t, &a);
    STEP(l1(60, ENC(a, 0x600), "L1 on a dead VM's plaintext"));
    CHECK(!vmc_tracked(&t, 60), "dead page kept after encryption");
    STEP(l1(61, NONE, "L1 on a dead VM's ciphertext"));
    CHECK(!vmc_tracked(&t, 61), "dead ciphertext page kept");
    return NULL;
}

static const char *c_ended_vm_shared_pages_as_is(void)
{
    struct vmc_inst a2;

    a.armed = true;
    CHECK(vmc_exc_set(&a, 1, 0x620, 1) == 0, "exc");
    STEP(l2(&a, 0x620, 62, NONE, "a's kvmclock page"));
    vmc_inst_remove(&t, &a);
    STEP(l1(62, NONE, "L1 (KVM) writes the clock of an ended VM's shared page"));
    CHECK(!vmc_tracked(&t, 62), "record kept");
    memset(&a2, 0, sizeof(a2));
    a2.lineage = a.lineage;
    a2.armed = true;
    CHECK(vmc_inst_add(&t, &a2) == 0, "add");
    STEP(l2(&a2, 0x620, 62, NONE, "its successor reads the clock as L1 wrote it"));
    vmc_inst_remove(&t, &a2);
    return NULL;
}

static const char *c_reset_leaves_old_plaintext_protected(void)
{
    struct vmc_inst a2;

    a.armed = true;
    STEP(l2(&a, 0x700, 70, NONE, "a"));
    vmc_inst_remove(&t, &a);
    memset(&a2, 0, sizeof(a2));
    CHECK(vmc_inst_add(&t, &a2) == 0, "add");
    /* The rebooted VM's BIOS runs before anything is armed. */
    STEP(l1(70, ENC(a, 0x700), "L1 (e.g. QEMU's ROM reload) on the old boot's page"));
    STEP(l2(&a2, 0x700, 70, NONE, "new boot gets it fresh"));
    vmc_inst_remove(&t, &a2);
    return NULL;
}

static const char *c_resume_set(void)
{
    uint8_t bits[16] = { 0 };
    uint8_t set[16] = { 0 };
    uint64_t dropped;

    bits[1] = 0x01; /* gpa pfn 8 */
    bits[2] = 0x80; /* gpa pfn 23 */
    a.resume_bits = bits;
    a.resume_npfn = 128;
    a.resume_left = 2;
    a.armed = true;
    STEP(l2(&a, 8, 80, DECZ(a, 8), "first touch of an image page"));
    STEP(l2(&a, 8, 80, NONE, "second touch"));
    STEP(l2(&a, 9, 81, NONE, "a plaintext page of the image"));
    CHECK(a.resume_left == 1, "resume_left not counted down");
    CHECK(vmc_cipher_set(&t, &a, set, 128, &dropped) == 3 && dropped == 0, "cipher set count");
    CHECK(set[1] == 0x03 && set[2] == 0x80, "cipher set: owned pages and pending image pages");
    a.resume_bits = NULL;
    return NULL;
}

static const char *c_cipher_set(void)
{
    uint8_t set[64] = { 0 };
    uint64_t dropped;

    a.armed = true;
    STEP(l2(&a, 3, 100, NONE, "data"));
    STEP(l2(&a, 4, 101, NONE, "shared"));
    STEP(l2(&a, META, 102, NONE, "metadata"));
    STEP(l2(&a, 5000, 103, NONE, "beyond the set's range"));
    STEP(l2(&b, 6, 104, NONE, "another VM"));
    STEP(l2(&a, 7, 105, NONE, "moved page, old copy"));
    STEP(l2(&a, 7, 106, NONE, "moved page, new copy"));
    CHECK(vmc_exc_set(&a, 1, 4, 1) == 0, "exc");
    CHECK(vmc_cipher_set(&t, &a, set, 512, &dropped) == 2, "count");
    CHECK(set[0] == ((1 << 3) | (1 << 7)) && dropped == 1, "set wrong");
    CHECK(vmc_inst_gpa_limit(&t, &a) == 5001, "gpa limit");
    return NULL;
}

static const char *c_same_lineage_passes_as_is(void)
{
    struct vmc_inst a2;
    uint8_t bits[1] = { 0x02 }; /* gpa pfn 1 is ciphertext in the image */

    a.armed = true;
    STEP(l2(&a, 0, 90, NONE, "a: shared-like page, plaintext"));
    STEP(l2(&a, 1, 91, NONE, "a: data page"));
    STEP(l1(91, ENC(a, 1), "suspend reads the data page"));
    memset(&a2, 0, sizeof(a2));
    a2.lineage = a.lineage;
    a2.armed = true;
    a2.resume_bits = bits;
    a2.resume_npfn = 8;
    a2.resume_left = 1;
    CHECK(vmc_inst_add(&t, &a2) == 0, "add");
    STEP(l2(&a2, 0, 90, NONE, "resumed on the same memory: own plaintext kept"));
    STEP(l2(&a2, 1, 91, DECZ(a2, 1), "own ciphertext decrypted once, by the image's set"));
    vmc_inst_remove(&t, &a2);
    return NULL;
}

static const char *c_probe_not_a_violation(void)
{
    struct vmc_action x;

    a.armed = true;
    a.probing = true;
    vmc_l2_touch(&t, &a, META + 3, 21, &x);
    a.probing = false;
    CHECK(!x.meta_violation && !a.meta_violation, "L0's own lookup counted as the VM's use");
    return NULL;
}

static const char *c_gpa_lookup(void)
{
    uint64_t h = 0;

    STEP(l2(&a, 0x123, 44, NONE, "a"));
    CHECK(vmc_gpa_lookup(&t, &a, 0x123, &h) && h == 44, "current page not found");
    STEP(l2(&a, 0x123, 45, NONE, "moved"));
    CHECK(vmc_gpa_lookup(&t, &a, 0x123, &h) && h == 45, "moved page not followed");
    CHECK(!vmc_gpa_lookup(&t, &b, 0x123, &h), "another VM's gpa found");
    CHECK(!vmc_gpa_lookup(&t, &a, 1ull << 50, &h), "absurd gpa found");
    return NULL;
}

static const char *c_alias_keeps_first_name(void)
{
    a.armed = true;
    STEP(l2(&a, 0xfffff, 200, NONE, "reset vector page"));
    STEP(l2(&a, 0xff, 200, NONE, "its alias below 1 MiB"));
    STEP(l1(200, ENC(a, 0xfffff), "L1 on the page"));
    STEP(l2(&a, 0xff, 200, DEC(a, 0xfffff), "L2 via the alias"));
    return NULL;
}

static const char *c_instances_bounded(void)
{
    static struct vmc_inst many[VMC_MAX_INSTS];
    struct vmc_table t2;
    unsigned i;

    if (vmc_table_init(&t2, 16) != 0) {
        return "init";
    }
    for (i = 0; i < VMC_MAX_INSTS; i++) {
        if (vmc_inst_add(&t2, &many[i]) != 0) {
            vmc_table_destroy(&t2);
            return "could not add up to the limit";
        }
    }
    i = vmc_inst_add(&t2, &a) == -ENOSPC && vmc_inst_find(&t2, many[3].id) == &many[3];
    vmc_inst_remove(&t2, &many[3]);
    i = i && vmc_inst_add(&t2, &a) == 0 && a.id == VMC_MAX_INSTS + 1 &&
        !vmc_inst_find(&t2, many[3].id);
    vmc_table_destroy(&t2);
    return i ? NULL : "limit, reuse of a slot, or id reuse wrong";
}

static const char *c_init_bounds(void)
{
    struct vmc_table t2;

    CHECK(vmc_table_init(&t2, 0) == -EINVAL, "0 pages accepted");
    CHECK(vmc_table_init(&t2, 1ull << 33) == -EINVAL, "2^33 pages accepted");
    return NULL;
}

/* Many pages, then half taken over by b: the gpa hash grows and deletes. */
static const char *c_many_pages(void)
{
    struct vmc_action x;
    uint32_t inst;
    uint64_t g;
    const unsigned n = 3000;

    a.armed = b.armed = true;
    for (unsigned i = 0; i < n; i++) {
        vmc_l2_touch(&t, &a, 0x10000 + i * 7, i, &x);
    }
    for (unsigned i = 0; i < n; i += 2) {
        vmc_l2_touch(&t, &b, 0x20000 + i, i, &x);
        CHECK(x.n == 1 && x.op[0].inst == a.id && x.op[0].gpa_pfn == 0x10000 + i * 7,
              "takeover did not encrypt a's page");
    }
    for (unsigned i = 0; i < n; i++) {
        CHECK(vmc_lookup(&t, i, &inst, &g, NULL), "page lost");
        if (i % 2 ? inst != a.id || g != 0x10000 + i * 7 : inst != b.id || g != 0x20000 + i) {
            return "wrong owner after takeovers";
        }
    }
    /* a's remaining pages still resolve by gpa: moving one decrypts nothing. */
    for (unsigned i = 1; i < n; i += 2) {
        vmc_l2_touch(&t, &a, 0x10000 + i * 7, i, &x);
        CHECK(x.n == 0, "touching an owned page acted");
    }
    return NULL;
}

int main(void)
{
    static const struct {
        const char *name;
        const char *(*fn)(void);
    } cases[] = {
        { "pages/fresh L2 touch records plaintext", c_fresh_no_op },
        { "pages/boot is not encrypted", c_boot_not_encrypted },
        { "pages/encrypt at L1 touch, decrypt at L2 touch, never twice", c_encrypt_once_decrypt_once },
        { "pages/pages no VM owns are left alone", c_unknown_page_untouched },
        { "pages/shared pages stay plaintext", c_shared_pages_plain },
        { "pages/shared-range slots", c_exc_slots },
        { "pages/metadata pages: blob on L1 read, VM use flagged", c_meta_pages },
        { "pages/page moved by L1 as ciphertext is decrypted", c_moved_cipher_page },
        { "pages/left-behind plaintext is encrypted at L1 touch", c_moved_plain_page_orphaned },
        { "pages/orphan reclaimed when the VM maps it back", c_orphan_reclaimed },
        { "pages/another VM never sees plaintext", c_foreign_vm },
        { "pages/another VM's ciphertext passes as is", c_foreign_cipher_page_as_is },
        { "pages/a page L1 touched as it is passes as is", c_shared_page_handed_over_as_is },
        { "pages/ended VM's pages encrypted at L1 touch", c_dead_instance },
        { "pages/reset leaves old plaintext protected", c_reset_leaves_old_plaintext_protected },
        { "pages/an ended VM's shared pages pass as they are", c_ended_vm_shared_pages_as_is },
        { "pages/resume decrypts the image's ciphertext pages once", c_resume_set },
        { "pages/cipher set of an image", c_cipher_set },
        { "pages/alias keeps the first gpa", c_alias_keeps_first_name },
        { "pages/same VM resumed on its old pages: no protective encryption", c_same_lineage_passes_as_is },
        { "pages/L0's own metadata lookup is no violation", c_probe_not_a_violation },
        { "pages/gpa lookup follows moves", c_gpa_lookup },
        { "pages/instances bounded, ids never reused", c_instances_bounded },
        { "pages/table bounds", c_init_bounds },
        { "pages/many pages, takeovers", c_many_pages },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err;

        reset();
        err = cases[i].fn();
        unit_check(cases[i].name, err == NULL, "%s", err ? err : "");
    }
    vmc_table_destroy(&t);
    return unit_exit();
}
