/*
 * V-Met roots protocol: what L0 (the trusted cloud hypervisor) learned about
 * each user VM without asking L1, served to the IDS in the provider's domain
 * over a unix socket (L0's "-object vmet,socket=PATH"; papers/001 sec. 3.2-3.3:
 * "when the IDS calls the host hypervisor it returns the saved CR3 / the EPT
 * root from the saved VMCS").
 *
 * A user VM is keyed by its nested CR3 (the L1-physical root of the nested
 * page table L1 handed to VMRUN), the key VSBypass binds consoles with. Key
 * VMET_KEY_NONNESTED (0) is L0's own guest outside guest mode: the user VM of
 * the non-nested configuration (or L1 itself in a nested one).
 *
 * Every field is little-endian, no padding; a client sends one request and
 * reads one reply, any number of times on one connection.
 *
 * Request, VMET_REQ_SIZE bytes:
 *   offset size  field
 *    0      4    magic     VMET_REQ_MAGIC ("VMRQ" as bytes)
 *    4      2    version   VMET_PROTO_VERSION
 *    6      2    op        VMET_OP_*
 *    8      8    key       VMET_OP_GET_VM: the VM's nested CR3; else 0
 *   16     16    reserved  0
 *
 * Reply: a VMET_REPLY_HDR_SIZE header, then body_len bytes of records:
 *    0      4    magic     VMET_REPLY_MAGIC ("VMRP")
 *    4      2    version   VMET_PROTO_VERSION
 *    6      2    op        the request's op (0 if the request was unreadable)
 *    8      4    status    0, or a negative errno (Linux numbering):
 *                          -ENOENT no such key, -EPROTO/-EINVAL bad request
 *   12      4    count     records in the body (see below)
 *   16      4    body_len  bytes after the header (<= VMET_REPLY_MAX - header)
 *   20      4    reserved  0
 *
 * Bodies (only when status is 0):
 *   VMET_OP_INFO     one info record (VMET_INFO_SIZE), count 1:
 *      0  8  ram_size    bytes of L0's guest RAM = size of the memory file
 *      8  4  nranges     valid entries in ranges (<= VMET_MAX_RANGES)
 *     12  4  flags       VMET_INFO_* (0 so far)
 *     16  VMET_MAX_RANGES x { 8 gpa, 8 size, 8 file_offset }: where the memory
 *                        file appears in L0's guest-physical space (L1's
 *                        physical addresses); gpa not in a range is not RAM
 *    400 256 mem_path    the memory file, NUL-terminated ("" if none)
 *   VMET_OP_LIST_VMS count VM records (VMET_VM_SIZE each), in order of
 *                    first appearance
 *   VMET_OP_GET_VM   one VM record, then count vCPU records (VMET_VCPU_SIZE)
 *   VMET_OP_ROOTS    no body, count 0; the reply carries one file descriptor
 *                    (SCM_RIGHTS, on its first byte): L0's roots page, a
 *                    sealed memfd that can only be mapped read-only
 *                    (src/common/vmet_roots.h), which holds what GET_VM
 *                    answers, kept current by L0 without a round trip
 *
 * VM record:
 *      0  8  key         nested CR3 (0: L0's own guest, non-nested)
 *      8  8  generation  +1 when the VM's identity changes (new instance at
 *                        this key, nested root moved); a client's cached
 *                        translations are void when it changes
 *     16  8  seq         order of first appearance, from 1
 *     24  8  idle_ns     since L0 last saw the VM run (VMRUN, CR3 write)
 *     32  4  nvcpus
 *     36  4  flags       VMET_VM_*
 *     40 24  tag         VM tag (src/common/ultracall_abi.h) or all NULs
 *     64 16  reserved    0
 * vCPU record:
 *      0  8  vmcb        L1-physical address of its VMCB (0: non-nested)
 *      8  8  cr3         the VM's CR3 as L0 last saw it (VMRUN, MOV CR3,
 *                        #VMEXIT): the root of its own page tables
 *     16  8  cr0
 *     24  8  cr4
 *     32  8  efer
 *     40  8  captures    how many times cr3 was captured
 *     48  8  idle_ns     since the last capture
 *     56  4  l0_cpu      index of the L0 vCPU that last ran it
 *     60  4  npt_levels  levels of its nested page table (4, 5; 0: none)
 *     64  4  flags       VMET_VCPU_*
 *     68  4  reserved    0
 */
#ifndef NVSEC_VMET_PROTO_H
#define NVSEC_VMET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define VMET_REQ_MAGIC      0x51524d56u /* "VMRQ" little-endian */
#define VMET_REPLY_MAGIC    0x50524d56u /* "VMRP" little-endian */
#define VMET_PROTO_VERSION  1u

#define VMET_OP_INFO        1u
#define VMET_OP_LIST_VMS    2u
#define VMET_OP_GET_VM      3u
#define VMET_OP_ROOTS       4u

#define VMET_KEY_NONNESTED  0ull

#define VMET_REQ_SIZE       32u
#define VMET_REPLY_HDR_SIZE 24u
#define VMET_INFO_SIZE      656u
#define VMET_VM_SIZE        80u
#define VMET_VCPU_SIZE      72u
#define VMET_TAG_SIZE       24u
#define VMET_PATH_SIZE      256u
#define VMET_MAX_RANGES     16u
#define VMET_MAX_VMS        64u
#define VMET_MAX_VCPUS      16u
/* The largest reply: a full VM list. */
#define VMET_REPLY_MAX      (VMET_REPLY_HDR_SIZE + VMET_MAX_VMS * VMET_VM_SIZE)

#define VMET_VM_NONNESTED   0x1u  /* key 0: L0's own guest */
#define VMET_VM_TAGGED      0x2u  /* tag holds the VM's registered name */
#define VMET_VCPU_IN_GUEST  0x1u  /* running in guest mode right now */

struct vmet_req {
    uint16_t op;
    uint64_t key;
};

struct vmet_range {
    uint64_t gpa;
    uint64_t size;
    uint64_t file_offset;
};

struct vmet_info {
    uint64_t ram_size;
    uint32_t nranges;
    uint32_t flags;
    struct vmet_range ranges[VMET_MAX_RANGES];
    char mem_path[VMET_PATH_SIZE];
};

struct vmet_vm {
    uint64_t key;
    uint64_t generation;
    uint64_t seq;
    uint64_t idle_ns;
    uint32_t nvcpus;
    uint32_t flags;
    char tag[VMET_TAG_SIZE];
};

struct vmet_vcpu {
    uint64_t vmcb;
    uint64_t cr3;
    uint64_t cr0;
    uint64_t cr4;
    uint64_t efer;
    uint64_t captures;
    uint64_t idle_ns;
    uint32_t l0_cpu;
    uint32_t npt_levels;
    uint32_t flags;
};

/* A decoded reply; which member of u is valid follows op (status 0 only). */
struct vmet_reply {
    uint16_t op;
    int32_t status;
    uint32_t count;
    union {
        struct vmet_info info;
        struct vmet_vm vms[VMET_MAX_VMS];
        struct {
            struct vmet_vm vm;
            struct vmet_vcpu vcpus[VMET_MAX_VCPUS];
        } one;
    } u;
};

/*
 * Encode a request into out[0..VMET_REQ_SIZE). Returns VMET_REQ_SIZE, or
 * -ENOSPC if cap < VMET_REQ_SIZE, -EINVAL for an unknown op (out untouched).
 */
int vmet_req_encode(const struct vmet_req *r, uint8_t *out, size_t cap);

/*
 * Decode one request from buf[0..len): the one parser of what a client of
 * L0's socket sends (a fuzz target: tests/unit/test_vmet_proto.c). Returns 0
 * and fills *r, or -EMSGSIZE if len != VMET_REQ_SIZE, -EPROTO for a bad
 * magic, version or non-zero reserved byte, -EINVAL for an unknown op or a
 * key on an op that takes none (*r untouched on error).
 */
int vmet_req_decode(const uint8_t *buf, size_t len, struct vmet_req *r);

/*
 * Encode a reply into out[0..cap). A non-zero status encodes no body.
 * Returns the bytes written, -ENOSPC if cap is too small, -EINVAL if count
 * exceeds the op's maximum or a record is invalid (nranges, tag, mem_path
 * unterminated).
 */
int vmet_reply_encode(const struct vmet_reply *r, uint8_t *out, size_t cap);

/*
 * From the first VMET_REPLY_HDR_SIZE bytes of a reply, the length of the whole
 * reply. Returns it (VMET_REPLY_HDR_SIZE..VMET_REPLY_MAX), -EMSGSIZE if len <
 * VMET_REPLY_HDR_SIZE, -EPROTO for a bad magic, version, reserved field or a
 * body_len over the maximum.
 */
int vmet_reply_frame_len(const uint8_t *buf, size_t len);

/*
 * Decode a whole reply. Returns 0 and fills *r, -EMSGSIZE if len is not the
 * frame length, -EPROTO for a header or body that breaks the rules above
 * (body_len != what op and count imply, count over the maximum, nranges over
 * VMET_MAX_RANGES, unterminated mem_path or tag, reserved bytes non-zero).
 */
int vmet_reply_decode(const uint8_t *buf, size_t len, struct vmet_reply *r);

#endif
