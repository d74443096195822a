/*
 * Encode/decode of the V-Met roots protocol (vmet_proto.h). Pure C11, no
 * host byte-order assumptions: every field goes through put/get helpers.
 * Compiled into L0 (the server side) and into libvmet (the client side).
 */
#include <errno.h>
#include <string.h>

#include "ultracall_abi.h"
#include "nvsec_le.h"
#include "vmet_proto.h"

_Static_assert(VMET_TAG_SIZE == ULTRACALL_VMTAG_SIZE,
               "a VM record carries the ultracall's VM tag field as is");

/* Request layout. */
enum { RQ_MAGIC = 0, RQ_VERSION = 4, RQ_OP = 6, RQ_KEY = 8, RQ_RESERVED = 16 };
_Static_assert(RQ_RESERVED + 16 == VMET_REQ_SIZE, "request adds up");

/* Reply header layout. */
enum {
    RP_MAGIC = 0, RP_VERSION = 4, RP_OP = 6, RP_STATUS = 8, RP_COUNT = 12,
    RP_BODY_LEN = 16, RP_RESERVED = 20,
};
_Static_assert(RP_RESERVED + 4 == VMET_REPLY_HDR_SIZE, "reply header adds up");

/* Info record layout. */
enum {
    IN_RAM_SIZE = 0, IN_NRANGES = 8, IN_FLAGS = 12, IN_RANGES = 16,
    IN_RANGE_SIZE = 24, IN_PATH = IN_RANGES + VMET_MAX_RANGES * IN_RANGE_SIZE,
};
_Static_assert(IN_PATH + VMET_PATH_SIZE == VMET_INFO_SIZE, "info adds up");

/* VM record layout. */
enum {
    VM_KEY = 0, VM_GEN = 8, VM_SEQ = 16, VM_IDLE = 24, VM_NVCPUS = 32,
    VM_FLAGS = 36, VM_TAG = 40, VM_RESERVED = 64,
};
_Static_assert(VM_RESERVED + 16 == VMET_VM_SIZE, "VM record adds up");

/* vCPU record layout. */
enum {
    VC_VMCB = 0, VC_CR3 = 8, VC_CR0 = 16, VC_CR4 = 24, VC_EFER = 32,
    VC_CAPTURES = 40, VC_IDLE = 48, VC_L0_CPU = 56, VC_NPT = 60, VC_FLAGS = 64,
    VC_RESERVED = 68,
};
_Static_assert(VC_RESERVED + 4 == VMET_VCPU_SIZE, "vCPU record adds up");
_Static_assert(VMET_REPLY_HDR_SIZE + VMET_INFO_SIZE <= VMET_REPLY_MAX &&
               VMET_REPLY_HDR_SIZE + VMET_VM_SIZE +
               VMET_MAX_VCPUS * VMET_VCPU_SIZE <= VMET_REPLY_MAX,
               "every reply fits VMET_REPLY_MAX");

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return 0;
        }
    }
    return 1;
}

/* A tag field is either unset (all NULs) or a valid VM tag. */
static int tag_ok(const char tag[VMET_TAG_SIZE])
{
    return all_zero((const uint8_t *)tag, VMET_TAG_SIZE) ||
           ultracall_vmtag_check(tag) == 0;
}

static int op_known(uint32_t op)
{
    return op == VMET_OP_INFO || op == VMET_OP_LIST_VMS || op == VMET_OP_GET_VM ||
           op == VMET_OP_ROOTS;
}

int vmet_req_encode(const struct vmet_req *r, uint8_t *out, size_t cap)
{
    if (cap < VMET_REQ_SIZE) {
        return -ENOSPC;
    }
    if (!op_known(r->op) || (r->op != VMET_OP_GET_VM && r->key)) {
        return -EINVAL;
    }
    memset(out, 0, VMET_REQ_SIZE);
    nvsec_put_le(out + RQ_MAGIC, VMET_REQ_MAGIC, 4);
    nvsec_put_le(out + RQ_VERSION, VMET_PROTO_VERSION, 2);
    nvsec_put_le(out + RQ_OP, r->op, 2);
    nvsec_put_le(out + RQ_KEY, r->key, 8);
    return VMET_REQ_SIZE;
}

int vmet_req_decode(const uint8_t *buf, size_t len, struct vmet_req *r)
{
    uint16_t op;
    uint64_t key;

    if (len != VMET_REQ_SIZE) {
        return -EMSGSIZE;
    }
    if (nvsec_get_le(buf + RQ_MAGIC, 4) != VMET_REQ_MAGIC ||
        nvsec_get_le(buf + RQ_VERSION, 2) != VMET_PROTO_VERSION ||
        !all_zero(buf + RQ_RESERVED, VMET_REQ_SIZE - RQ_RESERVED)) {
        return -EPROTO;
    }
    op = (uint16_t)nvsec_get_le(buf + RQ_OP, 2);
    key = nvsec_get_le(buf + RQ_KEY, 8);
    if (!op_known(op) || (op != VMET_OP_GET_VM && key)) {
        return -EINVAL;
    }
    r->op = op;
    r->key = key;
    return 0;
}

/* --- records ---------------------------------------------------------------- */

static int info_encode(const struct vmet_info *in, uint8_t *p)
{
    if (in->nranges > VMET_MAX_RANGES ||
        !memchr(in->mem_path, '\0', VMET_PATH_SIZE)) {
        return -EINVAL;
    }
    memset(p, 0, VMET_INFO_SIZE);
    nvsec_put_le(p + IN_RAM_SIZE, in->ram_size, 8);
    nvsec_put_le(p + IN_NRANGES, in->nranges, 4);
    nvsec_put_le(p + IN_FLAGS, in->flags, 4);
    for (uint32_t i = 0; i < in->nranges; i++) {
        uint8_t *q = p + IN_RANGES + i * IN_RANGE_SIZE;

        nvsec_put_le(q, in->ranges[i].gpa, 8);
        nvsec_put_le(q + 8, in->ranges[i].size, 8);
        nvsec_put_le(q + 16, in->ranges[i].file_offset, 8);
    }
    strcpy((char *)p + IN_PATH, in->mem_path);
    return 0;
}

static int info_decode(const uint8_t *p, struct vmet_info *in)
{
    uint32_t n = (uint32_t)nvsec_get_le(p + IN_NRANGES, 4);
    const uint8_t *path = p + IN_PATH;
    const uint8_t *nul = memchr(path, '\0', VMET_PATH_SIZE);

    if (n > VMET_MAX_RANGES || !nul ||
        !all_zero(p + IN_RANGES + n * IN_RANGE_SIZE,
                  (VMET_MAX_RANGES - n) * IN_RANGE_SIZE) ||
        !all_zero(nul, (size_t)(path + VMET_PATH_SIZE - nul))) {
        return -EPROTO;
    }
    memset(in, 0, sizeof(*in));
    in->ram_size = nvsec_get_le(p + IN_RAM_SIZE, 8);
    in->nranges = n;
    in->flags = (uint32_t)nvsec_get_le(p + IN_FLAGS, 4);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *q = p + IN_RANGES + i * IN_RANGE_SIZE;

        in->ranges[i].gpa = nvsec_get_le(q, 8);
        in->ranges[i].size = nvsec_get_le(q + 8, 8);
        in->ranges[i].file_offset = nvsec_get_le(q + 16, 8);
    }
    memcpy(in->mem_path, path, VMET_PATH_SIZE);
    return 0;
}

static int vm_encode(const struct vmet_vm *vm, uint8_t *p)
{
    if (!tag_ok(vm->tag)) {
        return -EINVAL;
    }
    memset(p, 0, VMET_VM_SIZE);
    nvsec_put_le(p + VM_KEY, vm->key, 8);
    nvsec_put_le(p + VM_GEN, vm->generation, 8);
    nvsec_put_le(p + VM_SEQ, vm->seq, 8);
    nvsec_put_le(p + VM_IDLE, vm->idle_ns, 8);
    nvsec_put_le(p + VM_NVCPUS, vm->nvcpus, 4);
    nvsec_put_le(p + VM_FLAGS, vm->flags, 4);
    memcpy(p + VM_TAG, vm->tag, VMET_TAG_SIZE);
    return 0;
}

static int vm_decode(const uint8_t *p, struct vmet_vm *vm)
{
    struct vmet_vm v;

    memcpy(v.tag, p + VM_TAG, VMET_TAG_SIZE);
    v.nvcpus = (uint32_t)nvsec_get_le(p + VM_NVCPUS, 4);
    if (!tag_ok(v.tag) || v.nvcpus > VMET_MAX_VCPUS ||
        !all_zero(p + VM_RESERVED, VMET_VM_SIZE - VM_RESERVED)) {
        return -EPROTO;
    }
    v.key = nvsec_get_le(p + VM_KEY, 8);
    v.generation = nvsec_get_le(p + VM_GEN, 8);
    v.seq = nvsec_get_le(p + VM_SEQ, 8);
    v.idle_ns = nvsec_get_le(p + VM_IDLE, 8);
    v.flags = (uint32_t)nvsec_get_le(p + VM_FLAGS, 4);
    *vm = v;
    return 0;
}

static void vcpu_encode(const struct vmet_vcpu *c, uint8_t *p)
{
    memset(p, 0, VMET_VCPU_SIZE);
    nvsec_put_le(p + VC_VMCB, c->vmcb, 8);
    nvsec_put_le(p + VC_CR3, c->cr3, 8);
    nvsec_put_le(p + VC_CR0, c->cr0, 8);
    nvsec_put_le(p + VC_CR4, c->cr4, 8);
    nvsec_put_le(p + VC_EFER, c->efer, 8);
    nvsec_put_le(p + VC_CAPTURES, c->captures, 8);
    nvsec_put_le(p + VC_IDLE, c->idle_ns, 8);
    nvsec_put_le(p + VC_L0_CPU, c->l0_cpu, 4);
    nvsec_put_le(p + VC_NPT, c->npt_levels, 4);
    nvsec_put_le(p + VC_FLAGS, c->flags, 4);
}

static int vcpu_decode(const uint8_t *p, struct vmet_vcpu *c)
{
    if (!all_zero(p + VC_RESERVED, VMET_VCPU_SIZE - VC_RESERVED)) {
        return -EPROTO;
    }
    c->vmcb = nvsec_get_le(p + VC_VMCB, 8);
    c->cr3 = nvsec_get_le(p + VC_CR3, 8);
    c->cr0 = nvsec_get_le(p + VC_CR0, 8);
    c->cr4 = nvsec_get_le(p + VC_CR4, 8);
    c->efer = nvsec_get_le(p + VC_EFER, 8);
    c->captures = nvsec_get_le(p + VC_CAPTURES, 8);
    c->idle_ns = nvsec_get_le(p + VC_IDLE, 8);
    c->l0_cpu = (uint32_t)nvsec_get_le(p + VC_L0_CPU, 4);
    c->npt_levels = (uint32_t)nvsec_get_le(p + VC_NPT, 4);
    c->flags = (uint32_t)nvsec_get_le(p + VC_FLAGS, 4);
    return 0;
}

/* --- replies ---------------------------------------------------------------- */

/* The body length op and count imply, or -1 if count is over the maximum. */
static long body_len_for(uint32_t op, uint32_t count)
{
    switch (op) {
    case VMET_OP_INFO:
        return count == 1 ? (long)VMET_INFO_SIZE : -1;
    case VMET_OP_LIST_VMS:
        return count <= VMET_MAX_VMS ? (long)count * VMET_VM_SIZE : -1;
    case VMET_OP_GET_VM:
        return count <= VMET_MAX_VCPUS ?
               VMET_VM_SIZE + (long)count * VMET_VCPU_SIZE : -1;
    case VMET_OP_ROOTS:
        return count == 0 ? 0 : -1;   /* the answer is the descriptor */
    default:
        return -1;
    }
}

static int body_encode(const struct vmet_reply *r, uint8_t *p)
{
    int rc = 0;

    switch (r->op) {
    case VMET_OP_INFO:
        return info_encode(&r->u.info, p);
    case VMET_OP_LIST_VMS:
        for (uint32_t i = 0; i < r->count && rc == 0; i++) {
            rc = vm_encode(&r->u.vms[i], p + i * VMET_VM_SIZE);
        }
        return rc;
    case VMET_OP_GET_VM:
        if (r->u.one.vm.nvcpus != r->count) {
            return -EINVAL;
        }
        rc = vm_encode(&r->u.one.vm, p);
        for (uint32_t i = 0; i < r->count && rc == 0; i++) {
            vcpu_encode(&r->u.one.vcpus[i], p + VMET_VM_SIZE + i * VMET_VCPU_SIZE);
        }
        return rc;
    default:
        return -EINVAL;
    }
}

int vmet_reply_encode(const struct vmet_reply *r, uint8_t *out, size_t cap)
{
    long body = 0;
    int rc;

    if (r->status > 0) {
        return -EINVAL;
    }
    if (r->status == 0) {
        body = body_len_for(r->op, r->count);
        if (body < 0) {
            return -EINVAL;
        }
    }
    if (cap < VMET_REPLY_HDR_SIZE + (size_t)body) {
        return -ENOSPC;
    }
    if (body > 0) {
        rc = body_encode(r, out + VMET_REPLY_HDR_SIZE);
        if (rc < 0) {
            return rc;
        }
    }
    memset(out, 0, VMET_REPLY_HDR_SIZE);
    nvsec_put_le(out + RP_MAGIC, VMET_REPLY_MAGIC, 4);
    nvsec_put_le(out + RP_VERSION, VMET_PROTO_VERSION, 2);
    nvsec_put_le(out + RP_OP, r->op, 2);
    nvsec_put_le(out + RP_STATUS, (uint32_t)r->status, 4);
    nvsec_put_le(out + RP_COUNT, r->status ? 0 : r->count, 4);
    nvsec_put_le(out + RP_BODY_LEN, (uint64_t)body, 4);
    return VMET_REPLY_HDR_SIZE + (int)body;
}

int vmet_reply_frame_len(const uint8_t *buf, size_t len)
{
    uint32_t body;

    if (len < VMET_REPLY_HDR_SIZE) {
        return -EMSGSIZE;
    }
    body = (uint32_t)nvsec_get_le(buf + RP_BODY_LEN, 4);
    if (nvsec_get_le(buf + RP_MAGIC, 4) != VMET_REPLY_MAGIC ||
        nvsec_get_le(buf + RP_VERSION, 2) != VMET_PROTO_VERSION ||
        nvsec_get_le(buf + RP_RESERVED, 4) != 0 ||
        body > VMET_REPLY_MAX - VMET_REPLY_HDR_SIZE) {
        return -EPROTO;
    }
    return (int)(VMET_REPLY_HDR_SIZE + body);
}

static int body_decode(const uint8_t *p, struct vmet_reply *r)
{
    int rc = 0;

    switch (r->op) {
    case VMET_OP_INFO:
        return info_decode(p, &r->u.info);
    case VMET_OP_LIST_VMS:
        for (uint32_t i = 0; i < r->count && rc == 0; i++) {
            rc = vm_decode(p + i * VMET_VM_SIZE, &r->u.vms[i]);
        }
        return rc;
    default: /* VMET_OP_GET_VM: body_len_for() admitted no other op */
        rc = vm_decode(p, &r->u.one.vm);
        if (rc == 0 && r->u.one.vm.nvcpus != r->count) {
            return -EPROTO;
        }
        for (uint32_t i = 0; i < r->count && rc == 0; i++) {
            rc = vcpu_decode(p + VMET_VM_SIZE + i * VMET_VCPU_SIZE,
                             &r->u.one.vcpus[i]);
        }
        return rc;
    }
}

int vmet_reply_decode(const uint8_t *buf, size_t len, struct vmet_reply *r)
{
    int frame = vmet_reply_frame_len(buf, len);
    uint32_t body, count;
    int32_t status;
    uint16_t op;

    if (frame < 0) {
        return frame;
    }
    if ((size_t)frame != len) {
        return -EMSGSIZE;
    }
    op = (uint16_t)nvsec_get_le(buf + RP_OP, 2);
    status = (int32_t)(uint32_t)nvsec_get_le(buf + RP_STATUS, 4);
    count = (uint32_t)nvsec_get_le(buf + RP_COUNT, 4);
    body = (uint32_t)(len - VMET_REPLY_HDR_SIZE);
    if (status > 0) {
        return -EPROTO;
    }
    if (status < 0) {
        if (count || body) {
            return -EPROTO;
        }
    } else if (body_len_for(op, count) != (long)body) {
        return -EPROTO;
    }
    r->op = op;
    r->status = status;
    r->count = count;
    return status || body == 0 ? 0 : body_decode(buf + VMET_REPLY_HDR_SIZE, r);
}
