/* sources: src/common/vmet_proto.c */
/*
 * The roots protocol between L0 and the IDS: requests and replies round-trip,
 * every malformed request is refused with its errno (L0 parses what any
 * local client sends), replies that break the layout are refused by the
 * client, and a seeded mutation loop (the fuzz target's body, run on the
 * host under ASan) never crashes and only accepts canonical requests.
 */
#include <errno.h>
#include <string.h>

#include "unit.h"
#include "vmet_proto.h"

static uint8_t valid_req[VMET_REQ_SIZE];

static void make_valid(uint16_t op, uint64_t key)
{
    struct vmet_req r = { .op = op, .key = key };

    vmet_req_encode(&r, valid_req, sizeof(valid_req));
}

struct req_case {
    const char *name;
    uint16_t op;
    uint64_t key;
    int offset;             /* byte to set, -1 none */
    uint8_t value;
    size_t len;
    int want;
};

static const struct req_case req_cases[] = {
    { "req_info", VMET_OP_INFO, 0, -1, 0, VMET_REQ_SIZE, 0 },
    { "req_list", VMET_OP_LIST_VMS, 0, -1, 0, VMET_REQ_SIZE, 0 },
    { "req_get_vm_key", VMET_OP_GET_VM, 0x1234567000ull, -1, 0, VMET_REQ_SIZE, 0 },
    { "req_get_vm_key0_nonnested", VMET_OP_GET_VM, 0, -1, 0, VMET_REQ_SIZE, 0 },
    { "req_short", VMET_OP_INFO, 0, -1, 0, VMET_REQ_SIZE - 1, -EMSGSIZE },
    { "req_long", VMET_OP_INFO, 0, -1, 0, VMET_REQ_SIZE + 1, -EMSGSIZE },
    { "req_empty", VMET_OP_INFO, 0, -1, 0, 0, -EMSGSIZE },
    { "req_bad_magic", VMET_OP_INFO, 0, 0, 'X', VMET_REQ_SIZE, -EPROTO },
    { "req_reply_magic", VMET_OP_INFO, 0, 2, 'P', VMET_REQ_SIZE, -EPROTO },
    { "req_bad_version", VMET_OP_INFO, 0, 4, 2, VMET_REQ_SIZE, -EPROTO },
    { "req_reserved_first", VMET_OP_INFO, 0, 16, 1, VMET_REQ_SIZE, -EPROTO },
    { "req_reserved_last", VMET_OP_INFO, 0, 31, 0x80, VMET_REQ_SIZE, -EPROTO },
    { "req_op_zero", VMET_OP_INFO, 0, 6, 0, VMET_REQ_SIZE, -EINVAL },
    { "req_roots", VMET_OP_ROOTS, 0, -1, 0, VMET_REQ_SIZE, 0 },
    { "req_op_unknown", VMET_OP_INFO, 0, 6, 5, VMET_REQ_SIZE, -EINVAL },
    { "req_key_on_roots", VMET_OP_ROOTS, 0, 8, 1, VMET_REQ_SIZE, -EINVAL },
    { "req_op_high_byte", VMET_OP_INFO, 0, 7, 1, VMET_REQ_SIZE, -EINVAL },
    { "req_key_on_info", VMET_OP_INFO, 0, 8, 1, VMET_REQ_SIZE, -EINVAL },
    { "req_key_on_list", VMET_OP_LIST_VMS, 0, 15, 1, VMET_REQ_SIZE, -EINVAL },
};

static void test_requests(void)
{
    for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
        const struct req_case *c = &req_cases[i];
        struct vmet_req r = { .op = 0xffff, .key = 42 };
        uint8_t buf[VMET_REQ_SIZE + 1] = { 0 };
        uint8_t *exact;
        int rc;

        make_valid(c->op, c->key);
        memcpy(buf, valid_req, VMET_REQ_SIZE);
        if (c->offset >= 0) {
            buf[c->offset] = c->value;
        }
        exact = unit_exact(buf, c->len);   /* any over-read hits ASan */
        rc = vmet_req_decode(exact, c->len, &r);
        free(exact);
        if (rc != c->want) {
            unit_check(c->name, 0, "decode %d, want %d", rc, c->want);
        } else if (rc == 0 && (r.op != c->op || r.key != c->key)) {
            unit_check(c->name, 0, "decoded op %u key %#llx", r.op, (unsigned long long)r.key);
        } else if (rc < 0 && (r.op != 0xffff || r.key != 42)) {
            unit_check(c->name, 0, "output touched on error");
        } else {
            unit_check(c->name, 1, "%s", "");
        }
    }
}

static void test_request_encode(void)
{
    struct vmet_req bad = { .op = 9 }, key_on_info = { .op = VMET_OP_INFO, .key = 1 };
    struct vmet_req ok = { .op = VMET_OP_INFO };
    uint8_t out[VMET_REQ_SIZE];

    unit_check("req_encode_refuses_unknown_op",
               vmet_req_encode(&bad, out, sizeof(out)) == -EINVAL &&
               vmet_req_encode(&key_on_info, out, sizeof(out)) == -EINVAL, "accepted");
    unit_check("req_encode_small_buffer",
               vmet_req_encode(&ok, out, sizeof(out) - 1) == -ENOSPC, "accepted");
}

/* --- replies ------------------------------------------------------------------------ */

static struct vmet_reply rep, back;
static uint8_t wire[VMET_REPLY_MAX];

static int roundtrip(const char **why)
{
    int len = vmet_reply_encode(&rep, wire, sizeof(wire));
    uint8_t *exact;
    int rc;

    if (len < 0) {
        *why = "encode failed";
        return -1;
    }
    if (vmet_reply_frame_len(wire, VMET_REPLY_HDR_SIZE) != len) {
        *why = "frame length differs from the encoded length";
        return -1;
    }
    exact = unit_exact(wire, (size_t)len);
    memset(&back, 0x5a, sizeof(back));
    rc = vmet_reply_decode(exact, (size_t)len, &back);
    free(exact);
    if (rc < 0) {
        *why = "decode refused its own encoding";
        return -1;
    }
    return len;
}

static void test_reply_info(void)
{
    const char *why = "";
    int ok;

    memset(&rep, 0, sizeof(rep));
    rep.op = VMET_OP_INFO;
    rep.count = 1;
    rep.u.info.ram_size = 0x4c000000;
    rep.u.info.nranges = 2;
    rep.u.info.ranges[0] = (struct vmet_range){ 0, 0xa0000, 0 };
    rep.u.info.ranges[1] = (struct vmet_range){ 0xc0000, 0x4bf40000, 0xc0000 };
    strcpy(rep.u.info.mem_path, "/dev/shm/nvsec-l1.ram");
    ok = roundtrip(&why) == VMET_REPLY_HDR_SIZE + VMET_INFO_SIZE &&
         back.u.info.nranges == 2 && back.u.info.ranges[1].file_offset == 0xc0000 &&
         !strcmp(back.u.info.mem_path, "/dev/shm/nvsec-l1.ram");
    unit_check("reply_info_roundtrip", ok, "%s", why);

    rep.u.info.nranges = VMET_MAX_RANGES + 1;
    unit_check("reply_info_too_many_ranges_refused",
               vmet_reply_encode(&rep, wire, sizeof(wire)) == -EINVAL, "encoded");
    rep.u.info.nranges = 1;
    memset(rep.u.info.mem_path, 'a', VMET_PATH_SIZE);
    unit_check("reply_info_unterminated_path_refused",
               vmet_reply_encode(&rep, wire, sizeof(wire)) == -EINVAL, "encoded");
}

static void fill_vm(struct vmet_vm *vm, uint64_t key, const char *tag, uint32_t nvcpus)
{
    memset(vm, 0, sizeof(*vm));
    vm->key = key;
    vm->generation = 3;
    vm->seq = 7;
    vm->idle_ns = 12345;
    vm->nvcpus = nvcpus;
    vm->flags = tag ? VMET_VM_TAGGED : 0;
    if (tag) {
        strcpy(vm->tag, tag);
    }
}

static void test_reply_vms(void)
{
    const char *why = "";
    int ok;

    memset(&rep, 0, sizeof(rep));
    rep.op = VMET_OP_LIST_VMS;
    rep.count = VMET_MAX_VMS;
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        fill_vm(&rep.u.vms[i], 0x1000 * (i + 1), i == 5 ? "web-1" : NULL, 1);
    }
    ok = roundtrip(&why) == (int)VMET_REPLY_MAX && back.count == VMET_MAX_VMS &&
         back.u.vms[63].key == 0x40000 && !strcmp(back.u.vms[5].tag, "web-1");
    unit_check("reply_list_full_roundtrip", ok, "%s", why);

    rep.count = 0;
    ok = roundtrip(&why) == VMET_REPLY_HDR_SIZE && back.count == 0;
    unit_check("reply_list_empty_roundtrip", ok, "%s", why);

    rep.count = VMET_MAX_VMS + 1;
    unit_check("reply_list_over_max_refused",
               vmet_reply_encode(&rep, wire, sizeof(wire)) == -EINVAL, "encoded");
    rep.count = 1;
    strcpy(rep.u.vms[0].tag, "UPPER");
    unit_check("reply_list_bad_tag_refused",
               vmet_reply_encode(&rep, wire, sizeof(wire)) == -EINVAL, "encoded");
}

static void test_reply_vm(void)
{
    const char *why = "";
    int ok;

    memset(&rep, 0, sizeof(rep));
    rep.op = VMET_OP_GET_VM;
    rep.count = 2;
    fill_vm(&rep.u.one.vm, 0x4bef3000, "vm0", 2);
    rep.u.one.vcpus[1].cr3 = 0x61f6000;
    rep.u.one.vcpus[1].npt_levels = 5;
    rep.u.one.vcpus[1].flags = VMET_VCPU_IN_GUEST;
    ok = roundtrip(&why) > 0 && back.u.one.vm.key == 0x4bef3000 &&
         back.u.one.vcpus[1].cr3 == 0x61f6000 && back.u.one.vcpus[1].npt_levels == 5;
    unit_check("reply_vm_roundtrip", ok, "%s", why);

    rep.u.one.vm.nvcpus = 1;
    unit_check("reply_vm_count_mismatch_refused",
               vmet_reply_encode(&rep, wire, sizeof(wire)) == -EINVAL, "encoded");

    memset(&rep, 0, sizeof(rep));
    rep.op = VMET_OP_GET_VM;
    rep.status = -ENOENT;
    ok = roundtrip(&why) == VMET_REPLY_HDR_SIZE && back.status == -ENOENT && back.count == 0;
    unit_check("reply_error_status_roundtrip", ok, "%s", why);
}

/* ROOTS: a bare header (the page travels as a descriptor beside it). */
static void test_reply_roots(void)
{
    const char *why = "";
    int ok;

    memset(&rep, 0, sizeof(rep));
    rep.op = VMET_OP_ROOTS;
    ok = roundtrip(&why) == VMET_REPLY_HDR_SIZE && back.op == VMET_OP_ROOTS &&
         back.status == 0 && back.count == 0;
    unit_check("reply_roots_roundtrip", ok, "%s", why);

    rep.count = 1;
    unit_check("reply_roots_count_refused",
               vmet_reply_encode(&rep, wire, sizeof(wire)) == -EINVAL, "encoded");

    rep.count = 0;
    vmet_reply_encode(&rep, wire, sizeof(wire));
    wire[12] = 1;                                   /* count 1, no body */
    unit_check("reply_roots_decode_count_refused",
               vmet_reply_decode(wire, VMET_REPLY_HDR_SIZE, &back) == -EPROTO, "accepted");
    wire[12] = 0;
    wire[16] = 8;                                   /* a body it never has */
    memset(wire + VMET_REPLY_HDR_SIZE, 0, 8);
    unit_check("reply_roots_decode_body_refused",
               vmet_reply_decode(wire, VMET_REPLY_HDR_SIZE + 8, &back) == -EPROTO, "accepted");
}

/* Reply decode: one valid GET_VM reply (1 vCPU), one byte changed. */
struct rdec_case {
    const char *name;
    int offset;
    uint8_t value;
    int len_delta;
    int want;
};

static const struct rdec_case rdec_cases[] = {
    { "reply_decode_valid", -1, 0, 0, 0 },
    { "reply_decode_truncated", -1, 0, -1, -EMSGSIZE },
    { "reply_decode_trailing_byte", -1, 0, 1, -EMSGSIZE },
    { "reply_decode_bad_magic", 0, 'x', 0, -EPROTO },
    { "reply_decode_bad_version", 4, 9, 0, -EPROTO },
    { "reply_decode_positive_status", 8, 1, 0, -EPROTO },
    { "reply_decode_count_vs_body", 12, 2, 0, -EPROTO },
    { "reply_decode_body_len_huge", 19, 0x7f, 0, -EPROTO },
    { "reply_decode_header_reserved", 20, 1, 0, -EPROTO },
    { "reply_decode_vm_reserved", VMET_REPLY_HDR_SIZE + 70, 1, 0, -EPROTO },
    { "reply_decode_vm_bad_tag", VMET_REPLY_HDR_SIZE + 41, '!', 0, -EPROTO },
    { "reply_decode_nvcpus_mismatch", VMET_REPLY_HDR_SIZE + 32, 3, 0, -EPROTO },
    { "reply_decode_vcpu_reserved", VMET_REPLY_HDR_SIZE + VMET_VM_SIZE + 70, 1, 0, -EPROTO },
    { "reply_decode_unknown_op", 6, 9, 0, -EPROTO },
};

static void test_reply_decode(void)
{
    int len;

    memset(&rep, 0, sizeof(rep));
    rep.op = VMET_OP_GET_VM;
    rep.count = 1;
    fill_vm(&rep.u.one.vm, 0x1000, "vm0", 1);
    len = vmet_reply_encode(&rep, wire, sizeof(wire));
    for (size_t i = 0; i < sizeof(rdec_cases) / sizeof(rdec_cases[0]); i++) {
        const struct rdec_case *c = &rdec_cases[i];
        uint8_t buf[VMET_REPLY_MAX + 1];
        size_t n = (size_t)(len + c->len_delta);
        uint8_t *exact;
        int rc;

        memcpy(buf, wire, (size_t)len);
        buf[len] = 0;
        if (c->offset >= 0) {
            buf[c->offset] = c->value;
        }
        exact = unit_exact(buf, n);
        rc = vmet_reply_decode(exact, n, &back);
        free(exact);
        unit_check(c->name, rc == c->want, "decode %d, want %d", rc, c->want);
    }
}

/* --- the fuzz loop ------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/*
 * 100000 mutated requests and replies: decoders never crash (ASan/UBSan
 * abort the test), and an accepted request re-encodes to the same bytes.
 */
static void test_fuzz(void)
{
    int noncanonical = 0;

    for (int i = 0; i < 100000; i++) {
        uint8_t buf[VMET_REPLY_MAX], again[VMET_REQ_SIZE];
        size_t n = i & 1 ? VMET_REQ_SIZE : next_rand() % sizeof(buf);
        struct vmet_req r;

        make_valid((uint16_t)(1 + next_rand() % 3), next_rand() & 1 ? 0 : next_rand());
        memcpy(buf, valid_req, VMET_REQ_SIZE);
        for (unsigned k = VMET_REQ_SIZE; k < sizeof(buf); k++) {
            buf[k] = (uint8_t)next_rand();
        }
        for (int flips = next_rand() % 4; flips > 0; flips--) {
            buf[next_rand() % VMET_REQ_SIZE] ^= (uint8_t)(1u << (next_rand() % 8));
        }
        if (vmet_req_decode(buf, n, &r) == 0 &&
            (vmet_req_encode(&r, again, sizeof(again)) != VMET_REQ_SIZE ||
             memcmp(again, buf, VMET_REQ_SIZE))) {
            noncanonical++;
        }
        if (i % 4 == 0) {
            /* A random header, then random bodies of the announced length. */
            int frame = vmet_reply_frame_len(buf, n);

            if (frame > 0 && (size_t)frame <= sizeof(buf)) {
                vmet_reply_decode(buf, (size_t)frame, &back);
            }
            vmet_reply_decode(buf, n, &back);
        }
    }
    unit_check("fuzz_100k_no_crash_canonical", noncanonical == 0,
               "%d accepted requests did not re-encode identically", noncanonical);
}

int main(void)
{
    test_requests();
    test_request_encode();
    test_reply_info();
    test_reply_vms();
    test_reply_vm();
    test_reply_roots();
    test_reply_decode();
    test_fuzz();
    return unit_exit();
}
