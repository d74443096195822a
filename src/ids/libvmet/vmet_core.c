/*
 * libvmet's core (src/ids/vmet.h): the handle, init in stages, the choice of
 * backend, the roots in use and the translation cache, and the glue that
 * gives the Linux layer its kernel-memory reader.
 */
#define _GNU_SOURCE /* O_CLOEXEC, MSG_NOSIGNAL, SOCK_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmet_backend.h"
#include "vmet_linux.h"
#include "vmet_names.h"
#include "vmet_profile.h"
#include "vmet_tcache.h"
#include "vmet_walk.h"

/* Architectural control bits (AMD APM vol. 2, 3.1). */
#define CR0_PG      (1ull << 31)
#define CR4_PAE     (1ull << 5)
#define CR4_LA57    (1ull << 12)
#define EFER_LMA    (1ull << 10)
/* With page-table isolation the user half's CR3 is the kernel's | 4 KiB. */
#define PTI_USER_BIT (1ull << 12)
#define READ_MAX    (16u << 20)
#define PROFILE_MAX_BYTES (1u << 20)

struct vmet {
    const struct vmet_backend_ops *be;
    void *bs;
    char name[VMET_NAME_MAX];
    uint64_t key;
    struct vmet_vm vm;
    uint64_t cr3;                 /* captured CR3 of the chosen vCPU */
    uint64_t kroot;               /* root used for kernel addresses (VM-physical) */
    int pti;                      /* kernel root = captured CR3 without PTI_USER_BIT */
    unsigned levels, npt_levels;
    uint32_t budget, budget_per_call;
    struct vmet_counters counters;
    struct vmet_mem host;
    struct vmet_stage2 s2;
    struct vmet_tcache *cache;
    struct vmet_profile *profile;
    struct vmet_linux lx;
    int have_kernel;
    char banner[256];
};

const char *vmet_strerror(vmet_status_t s)
{
    switch (s) {
    case VMET_OK: return "success";
    case VMET_E_INVAL: return "invalid argument";
    case VMET_E_NOMEM: return "out of memory";
    case VMET_E_IO: return "backend I/O failed";
    case VMET_E_PROTO: return "malformed answer from the backend";
    case VMET_E_NO_VM: return "no such user VM";
    case VMET_E_NO_ROOTS: return "the VM has no usable page-table root yet";
    case VMET_E_UNSUPPORTED: return "unsupported paging mode";
    case VMET_E_NOT_PRESENT: return "not mapped by the VM's page tables";
    case VMET_E_NESTED_FAULT: return "not mapped by L1's nested page tables";
    case VMET_E_BAD_ENTRY: return "page-table entry with reserved bits set";
    case VMET_E_OUT_OF_RANGE: return "physical address outside readable memory";
    case VMET_E_BUDGET: return "read budget exhausted (hostile or changing structures)";
    case VMET_E_LOOP: return "kernel list loops";
    case VMET_E_CORRUPT: return "kernel structure holds an impossible value";
    case VMET_E_PROFILE: return "kernel profile missing or malformed";
    case VMET_E_KERNEL_NOT_FOUND: return "no kernel image found";
    case VMET_E_KERNEL_MISMATCH: return "running kernel does not match the profile";
    case VMET_E_TRUNCATED: return "more results than the buffer holds";
    case VMET_E_NO_SYMBOL: return "no such symbol or offset in the profile";
    }
    return "unknown status";
}

const char *vmet_stage_name(vmet_init_stage_t stage)
{
    static const char *const names[] = {
        [VMET_STAGE_CONFIG] = "config", [VMET_STAGE_BACKEND] = "backend",
        [VMET_STAGE_VM] = "vm", [VMET_STAGE_PROFILE] = "profile",
        [VMET_STAGE_KERNEL] = "kernel", [VMET_STAGE_DONE] = "done",
    };

    return (unsigned)stage <= VMET_STAGE_DONE ? names[stage] : "unknown";
}

/* The one place a backend is chosen. */
const struct vmet_backend_ops *vmet_backend_select(vmet_backend_kind_t kind)
{
    switch (kind) {
    case VMET_BACKEND_L0_NESTED: return &vmet_backend_l0_nested;
    case VMET_BACKEND_L0_NONNESTED: return &vmet_backend_l0_nonnested;
    case VMET_BACKEND_L1_QEMU: return &vmet_backend_l1_qemu;
    }
    return NULL;
}

/* --- physical memory and translation ---------------------------------------- */

static vmet_status_t host_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
    vmet_t *h = ctx;

    return h->be->read_phys(h->bs, pa, buf, len);
}

/* Every public call starts with a fresh budget. */
static void begin(vmet_t *h)
{
    h->budget = h->budget_per_call;
}

static vmet_status_t xlate(vmet_t *h, uint64_t root, uint64_t va, struct vmet_paddr *out)
{
    vmet_status_t st = vmet_translate2(&h->s2, h->cache, root, h->levels, va, out);

    h->counters.cache_hits = h->cache->hits;
    h->counters.cache_misses = h->cache->misses;
    return st;
}

static vmet_status_t read_virt(vmet_t *h, uint64_t root, uint64_t va, void *buf, size_t len)
{
    uint8_t *p = buf;

    if (!buf || len == 0 || len > READ_MAX) {
        return VMET_E_INVAL;
    }
    while (len) {
        struct vmet_paddr pa;
        uint64_t n;
        vmet_status_t st = xlate(h, root, va, &pa);

        if (st != VMET_OK) {
            return st;
        }
        n = pa.page_size - (va & (pa.page_size - 1));
        if (n > len) {
            n = len;
        }
        st = vmet_mem_read(&h->host, pa.hpa, p, (size_t)n);
        if (st != VMET_OK) {
            return st;
        }
        p += n;
        va += n;
        len -= (size_t)n;
    }
    return VMET_OK;
}

/* --- the Linux layer's view of memory ----------------------------------------- */

static vmet_status_t km_read_kva(void *ctx, uint64_t va, void *buf, size_t len)
{
    vmet_t *h = ctx;

    return read_virt(h, h->kroot, va, buf, len);
}

static vmet_status_t km_kva_to_gpa(void *ctx, uint64_t va, uint64_t *gpa)
{
    vmet_t *h = ctx;
    struct vmet_paddr pa;
    vmet_status_t st = xlate(h, h->kroot, va, &pa);

    if (st == VMET_OK) {
        *gpa = pa.gpa;
    }
    return st;
}

static vmet_status_t km_read_uva(void *ctx, uint64_t pgd_gpa, uint64_t va, void *buf,
                                 size_t len)
{
    return read_virt(ctx, pgd_gpa, va, buf, len);
}

/* --- roots ------------------------------------------------------------------------ */

/* Paging levels for a vCPU's control registers: 4 or 5, 0 if not long mode. */
static unsigned guest_levels(const struct vmet_vcpu *c)
{
    if (!(c->cr0 & CR0_PG) || !(c->cr4 & CR4_PAE) || !(c->efer & EFER_LMA)) {
        return 0;
    }
    return c->cr4 & CR4_LA57 ? 5 : 4;
}

/*
 * The VM is no longer at its key: L0 re-keys a VM whose nested root moved
 * (KVM allocates a new root when it drops its old ones). Its first-appearance
 * number stays: find it again by that.
 */
static vmet_status_t follow_vm(vmet_t *h)
{
    struct vmet_vm vms[VMET_MAX_VMS];
    unsigned n;
    vmet_status_t st;

    if (!h->vm.seq || (st = h->be->list_vms(h->bs, vms, &n)) != VMET_OK) {
        return VMET_E_NO_VM;
    }
    for (unsigned i = 0; i < n; i++) {
        if (vms[i].seq == h->vm.seq) {
            h->key = vms[i].key;
            return VMET_OK;
        }
    }
    return VMET_E_NO_VM;
}

/*
 * Fetch the VM's record and pick its most recently captured vCPU in long
 * mode. Sets h->vm, cr3, levels, npt_levels. Returns whether the roots moved.
 */
static vmet_status_t fetch_roots(vmet_t *h, int *changed)
{
    struct vmet_vcpu vcpus[VMET_MAX_VCPUS];
    struct vmet_vm vm;
    unsigned n, i;
    vmet_status_t st = h->be->get_vm(h->bs, h->key, &vm, vcpus, &n);

    if (st == VMET_E_NO_VM && follow_vm(h) == VMET_OK) {
        st = h->be->get_vm(h->bs, h->key, &vm, vcpus, &n);
    }
    if (st != VMET_OK) {
        return st;
    }
    for (i = 0; i < n && !guest_levels(&vcpus[i]); i++) {
    }
    if (i == n) {
        return n ? VMET_E_UNSUPPORTED : VMET_E_NO_ROOTS;
    }
    if (h->be->nested && vcpus[i].npt_levels != 4 && vcpus[i].npt_levels != 5) {
        return VMET_E_UNSUPPORTED;
    }
    *changed = vm.generation != h->vm.generation || vcpus[i].cr3 != h->cr3 ||
               guest_levels(&vcpus[i]) != h->levels ||
               (h->be->nested ? vcpus[i].npt_levels : 0) != h->npt_levels;
    h->vm = vm;
    h->cr3 = vcpus[i].cr3;
    h->levels = guest_levels(&vcpus[i]);
    h->npt_levels = h->be->nested ? vcpus[i].npt_levels : 0;
    h->s2.ncr3 = h->key;
    h->s2.levels = h->npt_levels;
    return VMET_OK;
}

/* The root for kernel addresses until the kernel's own table is known. */
static uint64_t captured_kroot(const vmet_t *h)
{
    return (h->cr3 & VMET_PTE_ADDR) & ~(h->pti ? PTI_USER_BIT : 0);
}

vmet_status_t vmet_refresh(vmet_t *h)
{
    int changed = 0;
    vmet_status_t st;

    if (!h) {
        return VMET_E_INVAL;
    }
    begin(h);
    h->counters.refreshes++;
    st = fetch_roots(h, &changed);
    if (st != VMET_OK || !changed) {
        return st;
    }
    /* The cache never outlives the roots it was filled under. */
    vmet_tcache_flush(h->cache);
    h->counters.cache_flushes = h->cache->flushes;
    h->kroot = captured_kroot(h);
    if (h->have_kernel && vmet_linux_kernel_root(&h->lx, &h->kroot) != VMET_OK) {
        h->kroot = captured_kroot(h);
    }
    return VMET_OK;
}

/* --- init ----------------------------------------------------------------------------- */

static vmet_status_t fail(struct vmet_init_error *err, vmet_init_stage_t stage,
                          vmet_status_t st, const char *fmt, ...)
{
    if (err) {
        va_list ap;

        err->stage = stage;
        err->status = st;
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
    }
    return st;
}

static vmet_status_t load_profile(vmet_t *h, const char *path, char *detail, size_t n)
{
    char *text = malloc(PROFILE_MAX_BYTES);
    unsigned bad = 0;
    ssize_t len;
    vmet_status_t st;
    int fd;

    h->profile = malloc(sizeof(*h->profile));
    if (!text || !h->profile) {
        free(text);
        return VMET_E_NOMEM;
    }
    fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        snprintf(detail, n, "open profile %s: %s", path ? path : "(none given)",
                 path ? strerror(errno) : "set profile_path");
        free(text);
        return VMET_E_PROFILE;
    }
    len = read(fd, text, PROFILE_MAX_BYTES);
    close(fd);
    if (len < 0 || len == PROFILE_MAX_BYTES) {
        snprintf(detail, n, "read profile %s: %s", path, len < 0 ? strerror(errno) : "too big");
        free(text);
        return VMET_E_PROFILE;
    }
    st = vmet_profile_parse(text, (size_t)len, h->profile, &bad);
    free(text);
    if (st != VMET_OK) {
        snprintf(detail, n, "profile %s: malformed at line %u", path, bad);
    }
    return st;
}

/*
 * Find the kernel: with the captured CR3 as it is, then (page-table
 * isolation: it may be a process's user-half root) with the kernel half's.
 */
static vmet_status_t find_kernel(vmet_t *h, char *detail, size_t n)
{
    struct vmet_kmem km = {
        .read_kva = km_read_kva, .kva_to_gpa = km_kva_to_gpa,
        .read_uva = km_read_uva, .ctx = h,
    };
    vmet_status_t st = vmet_linux_init(&h->lx, h->profile, &km, detail, n);

    if (st != VMET_OK) {
        return st;
    }
    for (h->pti = 0; h->pti <= 1; h->pti++) {
        begin(h);
        h->kroot = captured_kroot(h);
        st = vmet_linux_locate(&h->lx, detail, n);
        if (st == VMET_OK || (h->cr3 & PTI_USER_BIT) == 0) {
            break;
        }
    }
    if (st != VMET_OK) {
        h->pti = 0;
        return st;
    }
    h->have_kernel = 1;
    memcpy(h->banner, h->profile->banner, h->profile->banner_len);
    h->banner[h->profile->banner_len] = '\0';
    if (vmet_linux_kernel_root(&h->lx, &h->kroot) != VMET_OK) {
        h->kroot = captured_kroot(h);   /* still correct, only shorter-lived */
    }
    return VMET_OK;
}

static vmet_status_t open_vm(vmet_t *h, const struct vmet_config *cfg, char *detail,
                             size_t n)
{
    struct vmet_vm vms[VMET_MAX_VMS];
    unsigned count;
    int changed;
    vmet_status_t st = h->be->list_vms(h->bs, vms, &count);

    if (st != VMET_OK) {
        snprintf(detail, n, "cannot list VMs: %s", vmet_strerror(st));
        return st;
    }
    if (h->be->nested) {
        st = vmet_resolve_name(vms, count, cfg->vm_name, &h->key);
    } else {
        h->key = VMET_KEY_NONNESTED;
        st = cfg->vm_name && cfg->vm_name[0] ? VMET_OK : VMET_E_INVAL;
    }
    if (st != VMET_OK) {
        snprintf(detail, n, "no user VM named '%s' (%u VMs known)", cfg->vm_name ? cfg->vm_name : "",
                 count);
        return st;
    }
    snprintf(h->name, sizeof(h->name), "%s", cfg->vm_name);
    st = fetch_roots(h, &changed);
    if (st != VMET_OK) {
        snprintf(detail, n, "VM '%s' (key %#llx): %s", cfg->vm_name,
                 (unsigned long long)h->key, vmet_strerror(st));
    }
    return st;
}

static vmet_status_t init_stages(vmet_t *h, const struct vmet_config *cfg,
                                 struct vmet_init_error *err)
{
    char detail[256] = "";
    vmet_status_t st;

    h->be = vmet_backend_select(cfg->backend);
    if (!h->be || !cfg->vm_name) {
        return fail(err, VMET_STAGE_CONFIG, VMET_E_INVAL, "%s",
                    h->be ? "vm_name is required" : "unknown backend");
    }
    h->budget_per_call = cfg->read_budget ? cfg->read_budget : VMET_DEFAULT_BUDGET;
    h->cache = calloc(1, sizeof(*h->cache));
    if (!h->cache) {
        return fail(err, VMET_STAGE_CONFIG, VMET_E_NOMEM, "no memory for the cache");
    }
    h->host = (struct vmet_mem){ .read = host_read, .ctx = h, .budget = &h->budget,
                                 .reads = &h->counters.phys_reads };
    h->s2 = (struct vmet_stage2){ .host = &h->host, .cache = h->cache };
    if ((st = h->be->open(cfg, &h->bs, detail, sizeof(detail))) != VMET_OK) {
        return fail(err, VMET_STAGE_BACKEND, st, "%s: %s", h->be->name, detail);
    }
    if ((st = open_vm(h, cfg, detail, sizeof(detail))) != VMET_OK) {
        return fail(err, VMET_STAGE_VM, st, "%s", detail);
    }
    h->kroot = captured_kroot(h);
    if (cfg->skip_kernel_check) {
        return VMET_OK;
    }
    if ((st = load_profile(h, cfg->profile_path, detail, sizeof(detail))) != VMET_OK) {
        return fail(err, VMET_STAGE_PROFILE, st, "%s", detail);
    }
    if ((st = find_kernel(h, detail, sizeof(detail))) != VMET_OK) {
        return fail(err, VMET_STAGE_KERNEL, st, "%s", detail);
    }
    return VMET_OK;
}

vmet_status_t vmet_init(const struct vmet_config *cfg, vmet_t **out,
                        struct vmet_init_error *err)
{
    vmet_t *h;
    vmet_status_t st;

    if (err) {
        memset(err, 0, sizeof(*err));
    }
    if (!out) {
        return fail(err, VMET_STAGE_CONFIG, VMET_E_INVAL, "out is NULL");
    }
    *out = NULL;
    if (!cfg) {
        return fail(err, VMET_STAGE_CONFIG, VMET_E_INVAL, "cfg is NULL");
    }
    h = calloc(1, sizeof(*h));
    if (!h) {
        return fail(err, VMET_STAGE_CONFIG, VMET_E_NOMEM, "no memory for the handle");
    }
    st = init_stages(h, cfg, err);
    if (st != VMET_OK) {
        vmet_destroy(h);
        return st;
    }
    if (err) {
        err->stage = VMET_STAGE_DONE;
    }
    *out = h;
    return VMET_OK;
}

void vmet_destroy(vmet_t *h)
{
    if (!h) {
        return;
    }
    if (h->bs) {
        h->be->close(h->bs);
    }
    free(h->cache);
    free(h->profile);
    free(h);
}

/* --- public reads -------------------------------------------------------------------- */

vmet_status_t vmet_vm_info(vmet_t *h, struct vmet_vm_info *out)
{
    if (!h || !out) {
        return VMET_E_INVAL;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", h->name);
    out->key = h->key;
    out->generation = h->vm.generation;
    out->cr3 = h->cr3;
    out->guest_levels = h->levels;
    out->npt_levels = h->npt_levels;
    out->nvcpus = h->vm.nvcpus;
    out->kaslr_slide = h->have_kernel ? h->lx.slide : 0;
    memcpy(out->banner, h->banner, sizeof(out->banner));
    return VMET_OK;
}

vmet_status_t vmet_translate_kv(vmet_t *h, uint64_t va, struct vmet_paddr *out)
{
    if (!h || !out) {
        return VMET_E_INVAL;
    }
    begin(h);
    return xlate(h, h->kroot, va, out);
}

vmet_status_t vmet_translate_uv(vmet_t *h, uint64_t pgd_gpa, uint64_t va,
                                struct vmet_paddr *out)
{
    if (!h || !out) {
        return VMET_E_INVAL;
    }
    begin(h);
    return xlate(h, pgd_gpa, va, out);
}

vmet_status_t vmet_translate_gpa(vmet_t *h, uint64_t gpa, uint64_t *hpa)
{
    struct vmet_walk_out w;
    vmet_status_t st;

    if (!h || !hpa) {
        return VMET_E_INVAL;
    }
    begin(h);
    st = vmet_stage2_translate(&h->s2, gpa, &w);
    if (st == VMET_OK) {
        *hpa = w.pa;
    }
    return st;
}

vmet_status_t vmet_read_kva(vmet_t *h, uint64_t va, void *buf, size_t len)
{
    if (!h) {
        return VMET_E_INVAL;
    }
    begin(h);
    return read_virt(h, h->kroot, va, buf, len);
}

vmet_status_t vmet_read_uva(vmet_t *h, uint64_t pgd_gpa, uint64_t va, void *buf, size_t len)
{
    if (!h) {
        return VMET_E_INVAL;
    }
    begin(h);
    return read_virt(h, pgd_gpa, va, buf, len);
}

vmet_status_t vmet_read_gpa(vmet_t *h, uint64_t gpa, void *buf, size_t len)
{
    if (!h || !buf || len == 0 || len > READ_MAX) {
        return VMET_E_INVAL;
    }
    begin(h);
    return vmet_stage2_read(&h->s2, gpa, buf, len);
}

vmet_status_t vmet_symbol(vmet_t *h, const char *name, uint64_t *va)
{
    uint64_t v;
    vmet_status_t st;

    if (!h || !name || !va) {
        return VMET_E_INVAL;
    }
    if (!h->profile) {
        return VMET_E_NO_SYMBOL;
    }
    st = vmet_profile_get(h->profile, VMET_PK_SYM, name, &v);
    if (st == VMET_OK) {
        *va = v + (uint64_t)(h->have_kernel ? h->lx.slide : 0);
    }
    return st;
}

vmet_status_t vmet_offset(vmet_t *h, const char *name, uint64_t *value)
{
    static const enum vmet_profile_kind kinds[] = { VMET_PK_OFF, VMET_PK_SIZE, VMET_PK_CONST };

    if (!h || !name || !value) {
        return VMET_E_INVAL;
    }
    for (size_t i = 0; h->profile && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (vmet_profile_get(h->profile, kinds[i], name, value) == VMET_OK) {
            return VMET_OK;
        }
    }
    return VMET_E_NO_SYMBOL;
}

static vmet_status_t need_kernel(vmet_t *h)
{
    if (!h) {
        return VMET_E_INVAL;
    }
    return h->have_kernel ? VMET_OK : VMET_E_PROFILE;
}

vmet_status_t vmet_process_list(vmet_t *h, struct vmet_process *out, size_t cap, size_t *n)
{
    vmet_status_t st = need_kernel(h);

    if (st != VMET_OK || !n || (cap && !out)) {
        return st != VMET_OK ? st : VMET_E_INVAL;
    }
    begin(h);
    return vmet_linux_processes(&h->lx, out, cap, n);
}

vmet_status_t vmet_process_cmdline(vmet_t *h, const struct vmet_process *p, char *buf,
                                   size_t cap, size_t *len)
{
    vmet_status_t st = need_kernel(h);

    if (st != VMET_OK || !p || !buf || !len) {
        return st != VMET_OK ? st : VMET_E_INVAL;
    }
    begin(h);
    return vmet_linux_cmdline(&h->lx, p, buf, cap, len);
}

vmet_status_t vmet_kernel_stats(vmet_t *h, struct vmet_kernel_stats *out)
{
    vmet_status_t st = need_kernel(h);

    if (st != VMET_OK || !out) {
        return st != VMET_OK ? st : VMET_E_INVAL;
    }
    begin(h);
    return vmet_linux_stats(&h->lx, out);
}

vmet_status_t vmet_drop_cache(vmet_t *h)
{
    if (!h) {
        return VMET_E_INVAL;
    }
    vmet_tcache_flush(h->cache);
    return VMET_OK;
}

vmet_status_t vmet_get_counters(vmet_t *h, struct vmet_counters *out)
{
    if (!h || !out) {
        return VMET_E_INVAL;
    }
    h->counters.cache_hits = h->cache->hits;
    h->counters.cache_misses = h->cache->misses;
    h->counters.cache_flushes = h->cache->flushes;
    *out = h->counters;
    return VMET_OK;
}

vmet_status_t vmet_list_vms(const struct vmet_config *cfg, struct vmet_vm_summary *out,
                            size_t cap, size_t *n)
{
    const struct vmet_backend_ops *be = cfg ? vmet_backend_select(cfg->backend) : NULL;
    struct vmet_vm vms[VMET_MAX_VMS];
    char detail[256];
    unsigned count = 0;
    void *bs = NULL;
    vmet_status_t st;

    if (!be || !n || (cap && !out)) {
        return VMET_E_INVAL;
    }
    if ((st = be->open(cfg, &bs, detail, sizeof(detail))) != VMET_OK) {
        return st;
    }
    st = be->list_vms(bs, vms, &count);
    be->close(bs);
    if (st != VMET_OK) {
        return st;
    }
    *n = count;
    for (unsigned i = 0; i < count && i < cap; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].key = vms[i].key;
        out[i].seq = vms[i].seq;
        out[i].idle_ns = vms[i].idle_ns;
        out[i].nvcpus = vms[i].nvcpus;
        out[i].nested = !(vms[i].flags & VMET_VM_NONNESTED);
        snprintf(out[i].tag, sizeof(out[i].tag), "%.*s", (int)VMET_TAG_SIZE, vms[i].tag);
        vmet_name_of(vms, count, i, out[i].name, sizeof(out[i].name));
    }
    return count > cap ? VMET_E_TRUNCATED : VMET_OK;
}
