/*
 * Ultracall dispatch in L0 (ultracall_hooks.h): a VMMCALL whose RAX carries
 * the magic is answered here, before L1's VMMCALL intercept is consulted
 * (from a user VM) or #UD is raised (from L1 itself), so the guest
 * hypervisor never sees it. Who may call what: ultracall_caller_check.
 *
 * Buffers of the shadow-state ops (USShadow) live in the calling L1
 * process: they are translated through the caller's CR3 here, the whole
 * range before any byte moves (ultracall_walk.h), and copied with L1's
 * physical address space, RAM only.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "cpu.h"

#include "core/nvsec_log.h"
#include "seal/usshadow.h"
#include "shadow/vsbypass_hooks.h"
#include "ultracall/ultracall_decode.h"
#include "ultracall/ultracall_hooks.h"
#include "ultracall/ultracall_walk.h"

/* The ABI spells Linux errno values out; this L0 returns its own errno values. */
_Static_assert(ULTRACALL_EPERM == EPERM && ULTRACALL_ENOMEM == ENOMEM &&
               ULTRACALL_EBUSY == EBUSY && ULTRACALL_EEXIST == EEXIST &&
               ULTRACALL_ENODEV == ENODEV && ULTRACALL_EINVAL == EINVAL &&
               ULTRACALL_ENOSYS == ENOSYS && ULTRACALL_EOPNOTSUPP == EOPNOTSUPP &&
               ULTRACALL_ENOENT == ENOENT && ULTRACALL_E2BIG == E2BIG &&
               ULTRACALL_EACCES == EACCES && ULTRACALL_EFAULT == EFAULT &&
               ULTRACALL_ENOSPC == ENOSPC && ULTRACALL_EBADMSG == EBADMSG &&
               ULTRACALL_ESTALE == ESTALE,
               "host errno numbering differs from the ultracall ABI's");

/* Enough segments for the largest buffer: one per page, plus the two ends. */
#define UC_MAX_SEGS (ULTRACALL_BUF_MAX / ULTRACALL_PAGE_SIZE + 2)

/* True if [pa, pa + len) is ordinary RAM of L1 (writable RAM if write). */
static bool uc_phys_is_ram(CPUState *cs, uint64_t pa, uint64_t len, bool write)
{
    MemoryRegion *mr;
    hwaddr xlat, l = len;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(cs->as, pa, &xlat, &l, write,
                                 MEMTXATTRS_UNSPECIFIED);
    return l >= len && memory_region_is_ram(mr) && !memory_region_is_ram_device(mr) &&
           !(write && mr->readonly) && !memory_region_is_romd(mr);
}

static int uc_read_pte(void *opaque, uint64_t pa, uint64_t *pte)
{
    CPUState *cs = opaque;

    if (!uc_phys_is_ram(cs, pa, 8, false)) {
        return -EFAULT;
    }
    *pte = x86_ldq_phys(cs, pa);
    return 0;
}

/* Map the caller's buffer: every page, checked, or -EFAULT. */
static int uc_buf_map(CPUX86State *env, uint64_t va, uint64_t size, bool write,
                      struct ultracall_seg *segs)
{
    CPUState *cs = env_cpu(env);
    struct ultracall_walk_ops ops = {
        .read_pte = uc_read_pte, .opaque = cs, .cr3 = env->cr[3],
        .la57 = (env->cr[4] & CR4_LA57_MASK) != 0,
    };
    int n;

    if (!(env->hflags & HF_LMA_MASK)) {
        return -EOPNOTSUPP;             /* an x86-64 L1 only (4/5-level paging) */
    }
    n = ultracall_walk_range(&ops, va, size, write, segs, UC_MAX_SEGS);
    if (n < 0) {
        return n == -EINVAL ? -EFAULT : n;
    }
    for (int i = 0; i < n; i++) {
        if (!uc_phys_is_ram(cs, segs[i].pa, segs[i].len, write)) {
            return -EFAULT;
        }
    }
    return n;
}

/* Copy the caller's buffer into dst (size bytes). 0 or -errno. */
static int uc_buf_read(CPUX86State *env, uint64_t va, uint64_t size, uint8_t *dst)
{
    g_autofree struct ultracall_seg *segs = g_new(struct ultracall_seg, UC_MAX_SEGS);
    int n = uc_buf_map(env, va, size, false, segs);

    for (int i = 0; i < n; i++) {
        if (address_space_read(env_cpu(env)->as, segs[i].pa, MEMTXATTRS_UNSPECIFIED,
                               dst, segs[i].len) != MEMTX_OK) {
            return -EFAULT;
        }
        dst += segs[i].len;
    }
    return n < 0 ? n : 0;
}

/* Write len bytes into n mapped segments (len <= their total). 0 or -EFAULT. */
static int uc_segs_write(CPUX86State *env, const struct ultracall_seg *segs, int n,
                         const uint8_t *src, uint64_t len)
{
    for (int i = 0; i < n && len > 0; i++) {
        uint64_t chunk = MIN(segs[i].len, len);

        if (address_space_write(env_cpu(env)->as, segs[i].pa, MEMTXATTRS_UNSPECIFIED,
                                src, chunk) != MEMTX_OK) {
            return -EFAULT;
        }
        src += chunk;
        len -= chunk;
    }
    return 0;
}

/*
 * Write len bytes to the caller's buffer of size bytes (len <= size): the
 * whole buffer must be writable user RAM, so a refusal writes nothing.
 */
static int uc_buf_write(CPUX86State *env, uint64_t va, uint64_t size,
                        const uint8_t *src, uint64_t len)
{
    g_autofree struct ultracall_seg *segs = g_new(struct ultracall_seg, UC_MAX_SEGS);
    int n = uc_buf_map(env, va, size, true, segs);

    return n < 0 ? n : uc_segs_write(env, segs, n, src, len);
}

/* A tag field at the start of the caller's buffer, checked. */
static int uc_read_tag(CPUX86State *env, const struct ultracall_req *req,
                       char tag[ULTRACALL_VMTAG_SIZE])
{
    int rc = uc_buf_read(env, req->va, ULTRACALL_VMTAG_SIZE, (uint8_t *)tag);

    if (rc < 0) {
        return rc;
    }
    return ultracall_vmtag_check(tag) == 0 ? 0 : -EINVAL;
}

static int64_t uc_shadow_query(CPUX86State *env, const struct ultracall_req *req)
{
    size_t max = req->size / sizeof(struct ultracall_shadow_entry);
    g_autofree struct ultracall_shadow_entry *e = g_new0(struct ultracall_shadow_entry,
                                                         MAX(max, 1));
    int n = usshadow_query(e, max);
    int rc;

    if (n <= 0) {
        return n;
    }
    rc = uc_buf_write(env, req->va, req->size, (uint8_t *)e, n * sizeof(*e));
    return rc < 0 ? rc : n;
}

static int64_t uc_shadow_save(CPUX86State *env, const struct ultracall_req *req)
{
    char tag[ULTRACALL_VMTAG_SIZE];
    g_autofree uint8_t *blob = NULL;
    g_autofree struct ultracall_seg *segs = NULL;
    long n;
    int nsegs, rc = uc_read_tag(env, req, tag);

    if (rc < 0) {
        return rc;
    }
    /*
     * The whole buffer is mapped, writable, before the device is frozen, and
     * written through that mapping: nothing else of L1 runs meanwhile on
     * this vCPU, and a page L1 changed on another would still be L1's RAM.
     */
    segs = g_new(struct ultracall_seg, UC_MAX_SEGS);
    nsegs = uc_buf_map(env, req->va, req->size, true, segs);
    if (nsegs < 0) {
        return nsegs;
    }
    blob = g_malloc(req->size);
    n = usshadow_save(tag, blob, req->size);
    if (n < 0) {
        return n;
    }
    rc = uc_segs_write(env, segs, nsegs, blob, n);
    return rc < 0 ? rc : n;
}

static int64_t uc_shadow_restore(CPUX86State *env, const struct ultracall_req *req)
{
    g_autofree uint8_t *buf = g_malloc(req->size);
    char tag[ULTRACALL_VMTAG_SIZE];
    int rc = uc_buf_read(env, req->va, req->size, buf);

    if (rc < 0) {
        return rc;
    }
    memcpy(tag, buf, ULTRACALL_VMTAG_SIZE);
    if (ultracall_vmtag_check(tag) != 0) {
        return -EINVAL;
    }
    return usshadow_restore(tag, buf + ULTRACALL_VMTAG_SIZE,
                            req->size - ULTRACALL_VMTAG_SIZE);
}

static int64_t uc_shadow_release(CPUX86State *env, const struct ultracall_req *req)
{
    char tag[ULTRACALL_VMTAG_SIZE];
    int rc = uc_read_tag(env, req, tag);

    return rc < 0 ? rc : usshadow_release(tag);
}

static int64_t uc_dispatch(CPUX86State *env, const struct ultracall_req *req)
{
    switch (req->op) {
    case ULTRACALL_OP_VMTAG_SET:
        return vsbypass_vmtag_set(env, req->tag);
    case ULTRACALL_OP_SHADOW_QUERY:
        return uc_shadow_query(env, req);
    case ULTRACALL_OP_SHADOW_SAVE:
        return uc_shadow_save(env, req);
    case ULTRACALL_OP_SHADOW_RESTORE:
        return uc_shadow_restore(env, req);
    case ULTRACALL_OP_SHADOW_RELEASE:
        return uc_shadow_release(env, req);
    default:
        return -ENOSYS;
    }
}

bool ultracall_vmmcall(CPUX86State *env)
{
    struct ultracall_regs regs = {
        .rax = env->regs[R_EAX], .rbx = env->regs[R_EBX],
        .rcx = env->regs[R_ECX], .rdx = env->regs[R_EDX],
        .rsi = env->regs[R_ESI],
    };
    enum ultracall_caller from = (env->hflags & HF_GUEST_MASK) ?
                                 ULTRACALL_FROM_USER_VM : ULTRACALL_FROM_L1;
    const char *who = from == ULTRACALL_FROM_L1 ? "L1" : "a user VM";
    struct ultracall_req req;
    int64_t rc;

    if (!ultracall_is_ultracall(regs.rax)) {
        return false;
    }
    rc = ultracall_decode(&regs, &req);
    if (rc == 0) {
        rc = ultracall_caller_check(req.op, from);
    }
    if (rc == 0) {
        rc = uc_dispatch(env, &req);
    }
    if (rc < 0) {
        nvsec_log("ultracall", "op %u from %s refused: %s", req.op, who,
                  strerror((int)-rc));
    }
    env->regs[R_EAX] = (target_ulong)rc;
    return true;
}
