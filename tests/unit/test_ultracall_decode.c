/* sources: src/l0/ultracall/ultracall_decode.c */
/*
 * Ultracall register decode: which RAX values are ultracalls, VMTAG_SET name
 * unpacking and validation from RBX/RCX/RDX, unknown ops, and the pack/unpack
 * pair the L2 tool uses.
 */
#include <errno.h>
#include <string.h>

#include "ultracall/ultracall_decode.h"
#include "unit.h"

/* Registers for VMTAG_SET with a name given as a 24-byte field. */
static struct ultracall_regs vmtag_regs(const char field[ULTRACALL_VMTAG_SIZE])
{
    struct ultracall_regs r = { .rax = ultracall_rax(ULTRACALL_OP_VMTAG_SET) };
    uint64_t a[3];

    ultracall_vmtag_pack(field, a);
    r.rbx = a[0];
    r.rcx = a[1];
    r.rdx = a[2];
    return r;
}

static const struct {
    const char *name;
    uint64_t rax;
    bool is;
} magic[] = {
    { "magic_vmtag_set", ULTRACALL_MAGIC | 1, true },
    { "magic_op0", ULTRACALL_MAGIC, true },
    { "magic_op_ffff", ULTRACALL_MAGIC | 0xffff, true },
    { "magic_kvm_hypercall_nr", 9, false },
    { "magic_zero", 0, false },
    { "magic_all_ones", ~0ull, false },
    { "magic_one_bit_off", ULTRACALL_MAGIC ^ (1ull << 40), false },
    { "magic_low32_only", ULTRACALL_MAGIC & 0xffffffffull, false },
};

/* Names as 24-byte fields (memcpy'd, so embedded NULs and full fields are possible). */
static const struct {
    const char *name;
    char field[ULTRACALL_VMTAG_SIZE];
    int rc;
} names[] = {
    { "vmtag_simple", "vm0", 0 },
    { "vmtag_all_classes", "a-z_0-9", 0 },
    { "vmtag_23_chars", "abcdefghijklmnopqrstuvw", 0 },
    { "vmtag_24_chars_unterminated",
      { 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l',
        'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x' }, -EINVAL },
    { "vmtag_empty", "", -EINVAL },
    { "vmtag_uppercase", "VM0", -EINVAL },
    { "vmtag_slash", "../etc", -EINVAL },
    { "vmtag_dot", "vm.0", -EINVAL },
    { "vmtag_space", "vm 0", -EINVAL },
    { "vmtag_newline", "vm0\n", -EINVAL },
    { "vmtag_garbage_after_nul", { 'v', 'm', 0, 'x' }, -EINVAL },
    { "vmtag_nul_then_last_byte", { 'v', 'm', [23] = 'z' }, -EINVAL },
    { "vmtag_high_bit", { 'v', (char)0xe9 }, -EINVAL },
};

/* Shadow-state ops: buffer address and size from RBX, RCX. */
static const struct {
    const char *name;
    unsigned op;
    uint64_t va, size;
    int rc;
} buffers[] = {
    { "buf_save_ok", ULTRACALL_OP_SHADOW_SAVE, 0x7f0000000000ull, 4096, 0 },
    { "buf_restore_max", ULTRACALL_OP_SHADOW_RESTORE, 0x10000, ULTRACALL_BUF_MAX, 0 },
    { "buf_query_one_byte", ULTRACALL_OP_SHADOW_QUERY, 0x10000, 1, 0 },
    { "buf_release_tag_only", ULTRACALL_OP_SHADOW_RELEASE, 0x10000, ULTRACALL_VMTAG_SIZE, 0 },
    { "buf_size_zero", ULTRACALL_OP_SHADOW_SAVE, 0x10000, 0, -EINVAL },
    { "buf_query_size_zero", ULTRACALL_OP_SHADOW_QUERY, 0x10000, 0, -EINVAL },
    { "buf_huge", ULTRACALL_OP_SHADOW_SAVE, 0x10000, ULTRACALL_BUF_MAX + 1ull, -E2BIG },
    { "buf_all_ones_size", ULTRACALL_OP_SHADOW_RESTORE, 0x10000, ~0ull, -E2BIG },
    { "buf_shorter_than_tag", ULTRACALL_OP_SHADOW_SAVE, 0x10000, ULTRACALL_VMTAG_SIZE - 1, -EINVAL },
    { "buf_wraps", ULTRACALL_OP_SHADOW_SAVE, ~0ull - 100, 4096, -EFAULT },
};

static void buffer_cases(void)
{
    struct ultracall_req req;

    for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); i++) {
        struct ultracall_regs r = { .rax = ultracall_rax(buffers[i].op),
                                    .rbx = buffers[i].va, .rcx = buffers[i].size };
        int rc = ultracall_decode(&r, &req);

        unit_check(buffers[i].name, rc == buffers[i].rc &&
                   (rc != 0 || (req.va == buffers[i].va && req.size == buffers[i].size &&
                                req.op == buffers[i].op)),
                   "rc %d want %d", rc, buffers[i].rc);
    }
}

static void caller_cases(void)
{
    unit_check("caller_vmtag_from_vm", ultracall_caller_check(ULTRACALL_OP_VMTAG_SET,
               ULTRACALL_FROM_USER_VM) == 0, "refused");
    unit_check("caller_vmtag_from_l1_refused", ultracall_caller_check(ULTRACALL_OP_VMTAG_SET,
               ULTRACALL_FROM_L1) == -EPERM, "allowed");
    for (unsigned op = ULTRACALL_OP_SHADOW_QUERY; op <= ULTRACALL_OP_SHADOW_RELEASE; op++) {
        char name[64];

        snprintf(name, sizeof(name), "caller_op%u_from_l1", op);
        unit_check(name, ultracall_caller_check(op, ULTRACALL_FROM_L1) == 0, "refused");
        snprintf(name, sizeof(name), "caller_op%u_from_vm_refused", op);
        unit_check(name, ultracall_caller_check(op, ULTRACALL_FROM_USER_VM) == -EPERM,
                   "allowed");
    }
}

int main(void)
{
    struct ultracall_req req;

    for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++) {
        unit_check(magic[i].name, ultracall_is_ultracall(magic[i].rax) == magic[i].is,
                   "rax %#llx misjudged", (unsigned long long)magic[i].rax);
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct ultracall_regs r = vmtag_regs(names[i].field);
        int rc = ultracall_decode(&r, &req);

        unit_check(names[i].name, rc == names[i].rc &&
                   (rc != 0 || (req.op == ULTRACALL_OP_VMTAG_SET &&
                                memcmp(req.tag, names[i].field, ULTRACALL_VMTAG_SIZE) == 0)),
                   "rc %d want %d", rc, names[i].rc);
    }
    /* Register byte order: "abcdefgh" + "ijklmnop" + "q" as three LE words. */
    {
        char field[ULTRACALL_VMTAG_SIZE] = "abcdefghijklmnopq";
        uint64_t a[3];
        char back[ULTRACALL_VMTAG_SIZE];

        ultracall_vmtag_pack(field, a);
        ultracall_vmtag_unpack(a, back);
        unit_check("pack_byte_order", a[0] == 0x6867666564636261ull &&
                   a[1] == 0x706f6e6d6c6b6a69ull && a[2] == 0x71ull &&
                   memcmp(back, field, sizeof(field)) == 0,
                   "rbx %#llx rcx %#llx rdx %#llx", (unsigned long long)a[0],
                   (unsigned long long)a[1], (unsigned long long)a[2]);
    }
    {
        struct ultracall_regs r = { .rax = ULTRACALL_MAGIC | 6 };

        unit_check("op_reserved_enosys", ultracall_decode(&r, &req) == -ENOSYS &&
                   req.op == 6, "reserved op decoded");
        r.rax = ULTRACALL_MAGIC | 0xffff;
        unit_check("op_ffff_enosys", ultracall_decode(&r, &req) == -ENOSYS,
                   "op 0xffff decoded");
        r.rax = ULTRACALL_MAGIC;
        unit_check("op0_enosys", ultracall_decode(&r, &req) == -ENOSYS,
                   "op 0 decoded");
    }
    buffer_cases();
    caller_cases();
    /* Hostile: random-looking register values never decode to an invalid tag. */
    {
        uint64_t x = 0x9e3779b97f4a7c15ull;
        unsigned bad = 0, ok = 0;

        for (int i = 0; i < 200000; i++) {
            struct ultracall_regs r = { .rax = ultracall_rax(ULTRACALL_OP_VMTAG_SET) };

            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            r.rbx = x & 0x7f7f7f7f7f7f7f7full;
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            r.rcx = (i & 1) ? 0 : x;
            r.rdx = (i & 2) ? 0 : x >> 8;
            if (ultracall_decode(&r, &req) == 0) {
                ok++;
                bad += ultracall_vmtag_check(req.tag) != 0;
            }
        }
        unit_check("decode_random_registers", bad == 0,
                   "%u of %u accepted tags are invalid", bad, ok);
    }
    return unit_exit();
}
