/*
 * The in-L1 baseline backend (papers/001 sec. 4: the same IDS run in the
 * guest management VM, i.e. inside the untrusted virtualized system): the
 * VM's RAM through its QEMU's /proc/PID/mem, its registers from that QEMU's
 * HMP monitor ("info registers"). One stage: what it reads is the VM's
 * physical memory itself. It trusts L1 completely, which is the point of
 * comparing it with V-Met.
 *
 * Where the RAM is: QEMU's -m gives the size, /proc/PID/maps the private
 * anonymous read-write mapping of exactly that size (QEMU's RAM block; a
 * PC under 3.5 GiB has all of it below 4 GiB, at guest-physical 0..size).
 * Without a monitor (the stack's L1 starts QEMU with -monitor none), the
 * caller passes CR3 and the paging levels (struct vmet_config.l1_cr3/levels).
 */
#define _GNU_SOURCE /* pread, O_CLOEXEC, SOCK_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmet_backend.h"

#define CMDLINE_MAX 65536
#define MONITOR_MAX 65536
#define MONITOR_TIMEOUT_S 5
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define EFER_LME (1ull << 8)

struct l1_state {
    int mem_fd;                  /* /proc/PID/mem */
    uint64_t ram_hva, ram_size;
    const char *monitor;
    struct vmet_vcpu vcpu;       /* from the caller when there is no monitor */
};

/* QEMU's -m value in bytes (plain MiB, or a k/M/G/T suffix; "size=" form too). */
static int ram_size_of(int pid, uint64_t *size)
{
    char path[64], *buf = malloc(CMDLINE_MAX), *p, *end;
    ssize_t n;
    int fd, found = -1;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    fd = buf ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    n = fd >= 0 ? read(fd, buf, CMDLINE_MAX - 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    for (p = buf; n > 0 && p < buf + n; p += strlen(p) + 1) {
        if (strcmp(p, "-m") || p + strlen(p) + 1 >= buf + n) {
            continue;
        }
        p += strlen(p) + 1;
        uint64_t v = strtoull(!strncmp(p, "size=", 5) ? p + 5 : p, &end, 10);
        switch (*end) {
        case 'k': case 'K': v <<= 10; break;
        case 'g': case 'G': v <<= 30; break;
        case 't': case 'T': v <<= 40; break;
        default: v <<= 20; break;          /* QEMU's default unit: MiB */
        }
        *size = v;
        found = 0;
    }
    free(buf);
    return found;
}

/* The private anonymous rw mapping of exactly size bytes: QEMU's RAM block. */
static int ram_hva_of(int pid, uint64_t size, uint64_t *hva)
{
    char path[64], line[512];
    FILE *f;
    int found = -1;

    snprintf(path, sizeof(path), "/proc/%d/maps", pid);
    f = fopen(path, "re");
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        unsigned long long lo, hi, off;
        char perms[8], name[256] = "";

        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %255s", &lo, &hi, perms, &off,
                   name) < 4) {
            continue;
        }
        if (hi - lo == size && !strcmp(perms, "rw-p") && name[0] == '\0' && found < 0) {
            *hva = lo;
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* "NAME=HEX" anywhere in text (NAME preceded by a non-letter). */
static int reg_of(const char *text, const char *name, uint64_t *v)
{
    size_t n = strlen(name);

    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
        if ((p == text || !(p[-1] >= 'A' && p[-1] <= 'Z')) && p[n] == '=') {
            *v = strtoull(p + n + 1, NULL, 16);
            return 0;
        }
    }
    return -1;
}

/* Ask the HMP monitor for the registers of the current vCPU. */
static vmet_status_t monitor_regs(const char *path, struct vmet_vcpu *c, char *detail,
                                  size_t dn)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = MONITOR_TIMEOUT_S };
    char *buf = malloc(MONITOR_MAX);
    size_t have = 0;
    int fd = -1, prompts = 0;
    vmet_status_t st = VMET_E_IO;

    if (!buf || strlen(path) >= sizeof(sa.sun_path)) {
        free(buf);
        return buf ? VMET_E_INVAL : VMET_E_NOMEM;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        write(fd, "info registers\n", 15) != 15) {
        snprintf(detail, dn, "monitor %s: %s", path, strerror(errno));
        goto out;
    }
    /* The greeting's prompt, then the answer's. */
    while (prompts < 2 && have < MONITOR_MAX - 1) {
        ssize_t n = read(fd, buf + have, MONITOR_MAX - 1 - have);

        if (n <= 0) {
            snprintf(detail, dn, "monitor %s: no answer", path);
            goto out;
        }
        have += (size_t)n;
        buf[have] = '\0';
        prompts = 0;
        for (const char *p = strstr(buf, "(qemu)"); p; p = strstr(p + 1, "(qemu)")) {
            prompts++;
        }
    }
    if (reg_of(buf, "CR0", &c->cr0) || reg_of(buf, "CR3", &c->cr3) ||
        reg_of(buf, "CR4", &c->cr4) || reg_of(buf, "EFER", &c->efer)) {
        snprintf(detail, dn, "monitor %s: no CR0/CR3/CR4/EFER in its answer", path);
        st = VMET_E_PROTO;
        goto out;
    }
    st = VMET_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return st;
}

static void l1_close(void *state)
{
    struct l1_state *s = state;

    if (s) {
        if (s->mem_fd >= 0) {
            close(s->mem_fd);
        }
        free(s);
    }
}

static vmet_status_t l1_open(const struct vmet_config *cfg, void **state, char *detail,
                             size_t n)
{
    struct l1_state *s;
    char path[64];

    if (cfg->l1_qemu_pid <= 0 ||
        (!cfg->l1_monitor && (cfg->l1_cr3 == 0 || (cfg->l1_levels != 4 && cfg->l1_levels != 5)))) {
        snprintf(detail, n, "need the VM's QEMU pid and its monitor (or CR3 and levels)");
        return VMET_E_INVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return VMET_E_NOMEM;
    }
    s->mem_fd = -1;
    s->monitor = cfg->l1_monitor;
    if (ram_size_of(cfg->l1_qemu_pid, &s->ram_size) < 0 ||
        ram_hva_of(cfg->l1_qemu_pid, s->ram_size, &s->ram_hva) < 0) {
        snprintf(detail, n, "QEMU pid %d: no -m option or no RAM mapping of that size",
                 cfg->l1_qemu_pid);
        l1_close(s);
        return VMET_E_IO;
    }
    snprintf(path, sizeof(path), "/proc/%d/mem", cfg->l1_qemu_pid);
    s->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->mem_fd < 0) {
        snprintf(detail, n, "open %s: %s", path, strerror(errno));
        l1_close(s);
        return VMET_E_IO;
    }
    /* A 64-bit Linux: paging and long mode on; LA57 as the caller says. */
    s->vcpu.cr0 = CR0_PG;
    s->vcpu.cr3 = cfg->l1_cr3;
    s->vcpu.cr4 = CR4_PAE | (cfg->l1_levels == 5 ? CR4_LA57 : 0);
    s->vcpu.efer = EFER_LMA | EFER_LME;
    *state = s;
    return VMET_OK;
}

static void one_vm(struct vmet_vm *vm)
{
    memset(vm, 0, sizeof(*vm));
    vm->key = VMET_KEY_NONNESTED;
    vm->generation = 1;
    vm->seq = 1;
    vm->nvcpus = 1;
    vm->flags = VMET_VM_NONNESTED;
}

static vmet_status_t l1_list_vms(void *state, struct vmet_vm *out, unsigned *n)
{
    (void)state;
    one_vm(&out[0]);
    *n = 1;
    return VMET_OK;
}

static vmet_status_t l1_get_vm(void *state, uint64_t key, struct vmet_vm *vm,
                               struct vmet_vcpu *vcpus, unsigned *n)
{
    struct l1_state *s = state;
    char detail[128];

    if (key != VMET_KEY_NONNESTED) {
        return VMET_E_NO_VM;
    }
    one_vm(vm);
    vcpus[0] = s->vcpu;
    *n = 1;
    return s->monitor ? monitor_regs(s->monitor, &vcpus[0], detail, sizeof(detail)) : VMET_OK;
}

static vmet_status_t l1_read_phys(void *state, uint64_t pa, void *buf, size_t len)
{
    struct l1_state *s = state;
    ssize_t n;

    if (pa >= s->ram_size || len > s->ram_size - pa) {
        return VMET_E_OUT_OF_RANGE;
    }
    n = pread(s->mem_fd, buf, len, (off_t)(s->ram_hva + pa));
    return n == (ssize_t)len ? VMET_OK : VMET_E_IO;
}

const struct vmet_backend_ops vmet_backend_l1_qemu = {
    .name = "l1-qemu",
    .nested = 0,
    .open = l1_open,
    .close = l1_close,
    .list_vms = l1_list_vms,
    .get_vm = l1_get_vm,
    .read_phys = l1_read_phys,
};
