/*
 * nvsec-shadowctl: USShadow's ultracalls from L1, by hand and for tests.
 *
 *   nvsec-shadowctl query                 VMs with shadow devices on this L0
 *   nvsec-shadowctl save TAG FILE         sealed state of TAG's device -> FILE
 *   nvsec-shadowctl restore TAG FILE      FILE's sealed state restored as TAG
 *   nvsec-shadowctl release TAG           release TAG's device on this L0
 *   nvsec-shadowctl badargs TAG           bad-argument suite (see below)
 *   nvsec-shadowctl time N                N query ultracalls timed (see cmd_time)
 *
 * Prints one line per result; exit status 0 on success, 1 if L0 refused
 * (the line names the error), 2 on bad usage or a local failure.
 *
 * badargs: every refusal L0 must make, each checked for its error code and
 * for nothing written outside the buffer (guard bytes around it). TAG must
 * be a running user VM with a shadow device and L0 must hold a sealing key.
 * Note: its save step freezes TAG's console until the VM next touches COM1.
 * One "PASS name" / "FAIL name: ..." line per case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "uc_l1.h"

static int fails;

static void report(const char *name, int ok, int64_t rc, const char *want)
{
    if (ok) {
        printf("PASS %s: %s\n", name, uc_l1_errname(rc));
    } else {
        printf("FAIL %s: got %s (%lld), want %s\n", name, uc_l1_errname(rc),
               (long long)rc, want);
        fails++;
    }
}

static void expect(const char *name, int64_t rc, int64_t want)
{
    report(name, rc == want, rc, uc_l1_errname(want));
}

static int tag_field(const char *name, char field[ULTRACALL_VMTAG_SIZE])
{
    memset(field, 0, ULTRACALL_VMTAG_SIZE);
    if (strlen(name) > ULTRACALL_VMTAG_MAX) {
        return -1;
    }
    memcpy(field, name, strlen(name));
    return ultracall_vmtag_check(field);
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (!f) {
        return -1;
    }
    if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
        (*buf = malloc((size_t)n + 1)) == NULL ||
        fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    *len = (size_t)n;
    return 0;
}

static int cmd_query(void)
{
    size_t size = 4096, n;
    struct ultracall_shadow_entry *e = uc_l1_buf_alloc(size);
    int64_t rc;

    if (!e) {
        perror("nvsec-shadowctl: buffer");
        return 2;
    }
    rc = uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, (uintptr_t)e, size);
    if (rc < 0) {
        printf("query: %s\n", uc_l1_errname(rc));
        return 1;
    }
    for (n = 0; n < (size_t)rc; n++) {
        printf("%.*s %s\n", ULTRACALL_VMTAG_MAX, e[n].tag,
               e[n].flags & ULTRACALL_SHADOW_RESTORED ? "restored" : "bound");
    }
    uc_l1_buf_free(e, size);
    return 0;
}

/* save/restore/release: one ultracall on a locked buffer. */
static int cmd_state(unsigned op, const char *tag, const char *path)
{
    char field[ULTRACALL_VMTAG_SIZE];
    uint8_t *blob = NULL, *buf;
    size_t len = 0, size = ULTRACALL_BUF_MAX;
    int64_t rc;

    if (tag_field(tag, field) < 0) {
        fprintf(stderr, "nvsec-shadowctl: bad tag '%s'\n", tag);
        return 2;
    }
    if (op == ULTRACALL_OP_SHADOW_RESTORE) {
        if (read_file(path, &blob, &len) < 0 || len > size - ULTRACALL_VMTAG_SIZE) {
            fprintf(stderr, "nvsec-shadowctl: cannot read %s\n", path);
            return 2;
        }
        size = ULTRACALL_VMTAG_SIZE + len;
    } else if (op == ULTRACALL_OP_SHADOW_RELEASE) {
        size = ULTRACALL_VMTAG_SIZE;
    }
    buf = uc_l1_buf_alloc(size);
    if (!buf) {
        perror("nvsec-shadowctl: buffer");
        return 2;
    }
    memcpy(buf, field, ULTRACALL_VMTAG_SIZE);
    if (blob) {
        memcpy(buf + ULTRACALL_VMTAG_SIZE, blob, len);
        free(blob);
    }
    rc = uc_l1_call(op, (uintptr_t)buf, size);
    if (rc < 0) {
        printf("%s: %s\n", tag, uc_l1_errname(rc));
        uc_l1_buf_free(buf, size);
        return 1;
    }
    if (op == ULTRACALL_OP_SHADOW_SAVE) {
        FILE *f = fopen(path, "wb");

        if (!f || fwrite(buf, 1, (size_t)rc, f) != (size_t)rc || fclose(f) != 0) {
            fprintf(stderr, "nvsec-shadowctl: cannot write %s\n", path);
            return 2;
        }
        printf("%s: saved %lld bytes\n", tag, (long long)rc);
    } else {
        printf("%s: %s\n", tag, op == ULTRACALL_OP_SHADOW_RESTORE ? "restored" : "released");
    }
    uc_l1_buf_free(buf, size);
    return 0;
}

/* --- badargs --------------------------------------------------------------- */

#define GUARD 0xa5

/* Three locked pages of guard bytes; the buffer under test is in the middle one. */
static uint8_t *guarded(size_t *len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *p = uc_l1_buf_alloc(3 * page);

    if (!p) {
        perror("nvsec-shadowctl: buffer");
        exit(2);
    }
    memset(p, GUARD, 3 * page);
    *len = 3 * page;
    return p;
}

/* True if every byte of p[0..len) outside [from, to) is still GUARD. */
static int guard_intact(const uint8_t *p, size_t len, size_t from, size_t to)
{
    for (size_t i = 0; i < len; i++) {
        if ((i < from || i >= to) && p[i] != GUARD) {
            return 0;
        }
    }
    return 1;
}

static void bad_registers(void)
{
    static const char t[ULTRACALL_VMTAG_SIZE] = "vm0";
    uint64_t r[3];

    expect("unknown_op_0x77", uc_l1_call_raw(ULTRACALL_MAGIC | 0x77, 0, 0), -ULTRACALL_ENOSYS);
    expect("unknown_op_0", uc_l1_call_raw(ULTRACALL_MAGIC, 0, 0), -ULTRACALL_ENOSYS);
    expect("unknown_op_0xffff", uc_l1_call_raw(ULTRACALL_MAGIC | 0xffff, 0, 0), -ULTRACALL_ENOSYS);
    ultracall_vmtag_pack(t, r);
    expect("vmtag_set_from_l1", uc_l1_call_raw(ultracall_rax(ULTRACALL_OP_VMTAG_SET), r[0], r[1]),
           -ULTRACALL_EPERM);
}

static void bad_buffers(const char *tag)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
    uint8_t *g = guarded(&len), *gone, *ro;
    char field[ULTRACALL_VMTAG_SIZE];

    tag_field(tag, field);
    memcpy(g + page, field, ULTRACALL_VMTAG_SIZE);
    expect("size_0", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(g + page), 0),
           -ULTRACALL_EINVAL);
    expect("size_huge", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(g + page),
                                   ULTRACALL_BUF_MAX + 1ull), -ULTRACALL_E2BIG);
    expect("size_all_ones", uc_l1_call(ULTRACALL_OP_SHADOW_RESTORE, (uintptr_t)(g + page),
                                       ~0ull), -ULTRACALL_E2BIG);
    expect("size_below_tag", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(g + page),
                                        ULTRACALL_VMTAG_SIZE - 1), -ULTRACALL_EINVAL);
    expect("address_null", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, 0, 64), -ULTRACALL_EFAULT);
    expect("address_kernel", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, 0xffffffff81000000ull, 4096),
           -ULTRACALL_EFAULT);
    expect("address_kernel_direct_map",
           uc_l1_call(ULTRACALL_OP_SHADOW_RESTORE, 0xffff888000100000ull, 4096),
           -ULTRACALL_EFAULT);
    expect("address_noncanonical", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE,
                                              0x0000800000000000ull, 4096), -ULTRACALL_EFAULT);
    expect("address_wraps", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, ~0ull - 100, 4096),
           -ULTRACALL_EFAULT);

    gone = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (gone == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(gone, GUARD, 2 * page);
    munmap(gone + page, page);
    expect("address_unmapped", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(gone + page),
                                          page), -ULTRACALL_EFAULT);
    memcpy(gone + page - 100, field, ULTRACALL_VMTAG_SIZE);
    int64_t rc = uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(gone + page - 100), 200);
    int intact = 1;
    for (size_t i = 0; i < page - 100; i++) {
        intact &= gone[i] == GUARD;
    }
    intact &= memcmp(gone + page - 100, field, ULTRACALL_VMTAG_SIZE) == 0;
    report("address_half_unmapped_nothing_written", rc == -ULTRACALL_EFAULT && intact, rc,
           "EFAULT, mapped half untouched");
    munmap(gone, page);

    ro = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(ro, field, ULTRACALL_VMTAG_SIZE);
    mprotect(ro, page, PROT_READ);
    mlock(ro, page);
    expect("save_into_readonly_page", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)ro, page),
           -ULTRACALL_EFAULT);
    munmap(ro, page);

    memset(g + page, 0, ULTRACALL_VMTAG_SIZE);
    memcpy(g + page, "BAD!", 4);
    expect("save_bad_tag", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(g + page), page),
           -ULTRACALL_EINVAL);
    memset(g + page, 0, ULTRACALL_VMTAG_SIZE);
    memcpy(g + page, "nosuchvm", 8);
    expect("save_unknown_vm", uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(g + page), page),
           -ULTRACALL_ENOENT);
    expect("release_unknown_vm", uc_l1_call(ULTRACALL_OP_SHADOW_RELEASE,
                                            (uintptr_t)(g + page), ULTRACALL_VMTAG_SIZE),
           -ULTRACALL_ENOENT);
    uc_l1_buf_free(g, len);
}

static void bad_query(const char *tag)
{
    size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *g = guarded(&len);
    struct ultracall_shadow_entry *e = (void *)(g + page);
    int64_t rc = uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, (uintptr_t)e, sizeof(*e) - 1);

    report("query_too_small_nothing_written",
           rc == -ULTRACALL_ENOSPC && guard_intact(g, len, len, len), rc, "ENOSPC");
    rc = uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, (uintptr_t)e, page);
    int found = 0;
    for (int64_t i = 0; i < rc; i++) {
        found |= !strcmp(e[i].tag, tag) && e[i].flags == ULTRACALL_SHADOW_BOUND;
    }
    report("query_lists_vm", rc >= 1 && found &&
           guard_intact(g, len, page, page + (size_t)rc * sizeof(*e)), rc,
           "an entry for the VM, bound, nothing written after the entries");
    uc_l1_buf_free(g, len);
}

/* Save the VM's state, then offer L0 altered copies of the blob: all refused. */
static void bad_blobs(const char *tag)
{
    size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *g = guarded(&len), *blob, *r;
    char field[ULTRACALL_VMTAG_SIZE], other[ULTRACALL_VMTAG_SIZE] = "vmx";
    int64_t rc, n;

    tag_field(tag, field);
    memcpy(g + page, field, ULTRACALL_VMTAG_SIZE);
    rc = uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(g + page), 64);
    report("save_buffer_too_small_nothing_written", rc == -ULTRACALL_ENOSPC &&
           memcmp(g + page, field, ULTRACALL_VMTAG_SIZE) == 0 &&
           guard_intact(g, len, page, page + ULTRACALL_VMTAG_SIZE), rc, "ENOSPC");
    /* One page is enough for a quiet console's state; the rest stays guard. */
    n = uc_l1_call(ULTRACALL_OP_SHADOW_SAVE, (uintptr_t)(g + page), page);
    report("save_ok_within_buffer", n > 0 && n <= (int64_t)page &&
           !memcmp(g + page, "NVUSSHD1", 8) && guard_intact(g, len, page, page + (size_t)n),
           n, "a blob inside the buffer");
    if (n <= 0) {
        uc_l1_buf_free(g, len);
        return;
    }
    blob = malloc((size_t)n);
    memcpy(blob, g + page, (size_t)n);
    r = uc_l1_buf_alloc(ULTRACALL_VMTAG_SIZE + (size_t)n);

#define RESTORE_AS(t, sz) (memcpy(r, (t), ULTRACALL_VMTAG_SIZE), \
    uc_l1_call(ULTRACALL_OP_SHADOW_RESTORE, (uintptr_t)r, ULTRACALL_VMTAG_SIZE + (sz)))

    memcpy(r + ULTRACALL_VMTAG_SIZE, blob, (size_t)n);
    r[ULTRACALL_VMTAG_SIZE + n - 20] ^= 0x40;                   /* ciphertext */
    expect("restore_tampered_ciphertext", RESTORE_AS(field, (size_t)n), -ULTRACALL_EBADMSG);
    memcpy(r + ULTRACALL_VMTAG_SIZE, blob, (size_t)n);
    r[ULTRACALL_VMTAG_SIZE + n - 1] ^= 0x01;                    /* GCM tag */
    expect("restore_tampered_mac", RESTORE_AS(field, (size_t)n), -ULTRACALL_EBADMSG);
    memcpy(r + ULTRACALL_VMTAG_SIZE, blob, (size_t)n);
    r[ULTRACALL_VMTAG_SIZE + 32] ^= 0x01;                       /* sequence number */
    expect("restore_edited_sequence", RESTORE_AS(field, (size_t)n), -ULTRACALL_EBADMSG);
    memcpy(r + ULTRACALL_VMTAG_SIZE, blob, (size_t)n);
    expect("restore_truncated", RESTORE_AS(field, (size_t)n - 1), -ULTRACALL_EINVAL);
    expect("restore_header_only", RESTORE_AS(field, 40), -ULTRACALL_EINVAL);
    expect("restore_other_vm", RESTORE_AS(other, (size_t)n), -ULTRACALL_EACCES);
    memcpy(r + ULTRACALL_VMTAG_SIZE + 8, other, ULTRACALL_VMTAG_SIZE);  /* relabel */
    expect("restore_relabelled_to_other_vm", RESTORE_AS(other, (size_t)n), -ULTRACALL_EBADMSG);
    memcpy(r + ULTRACALL_VMTAG_SIZE, blob, (size_t)n);
    expect("restore_replayed", RESTORE_AS(field, (size_t)n), -ULTRACALL_ESTALE);
    memset(r + ULTRACALL_VMTAG_SIZE, 0x5a, (size_t)n);
    expect("restore_garbage", RESTORE_AS(field, (size_t)n), -ULTRACALL_EINVAL);
    uc_l1_buf_free(r, ULTRACALL_VMTAG_SIZE + (size_t)n);
    free(blob);
    uc_l1_buf_free(g, len);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* N query ultracalls on a buffer of size bytes, timed; one line of results. */
static int time_query(size_t size, long n, uint64_t *us)
{
    void *buf = uc_l1_buf_alloc(size);
    int64_t rc = 0;

    if (!buf) {
        perror("nvsec-shadowctl: buffer");
        return 2;
    }
    for (long i = 0; i < n && rc >= 0; i++) {
        uint64_t t0 = now_ns();

        rc = uc_l1_call(ULTRACALL_OP_SHADOW_QUERY, (uintptr_t)buf, size);
        us[i] = (now_ns() - t0) / 1000;
    }
    uc_l1_buf_free(buf, size);
    if (rc < 0) {
        printf("time: query: %s\n", uc_l1_errname(rc));
        return 1;
    }
    qsort(us, (size_t)n, sizeof(*us), cmp_u64);
    printf("time: query %zu B: n=%ld median_us=%llu p5_us=%llu p95_us=%llu\n", size, n,
           (unsigned long long)us[n / 2], (unsigned long long)us[n / 20],
           (unsigned long long)us[n - 1 - n / 20]);
    return 0;
}

/*
 * time N: N query ultracalls on a one-page and on a 128 KiB buffer (the
 * migration manager's first save buffer: L0 walks all 32 pages), timed
 * around VMMCALL; the fixed cost of an ultracall from L1, without sealing.
 */
static int cmd_time(const char *count)
{
    static const size_t sizes[] = { 4096, 128 * 1024 };
    long n = strtol(count, NULL, 10);
    uint64_t *us;
    int rc = 0;

    if (n < 1 || n > 100000) {
        fprintf(stderr, "nvsec-shadowctl: time: N must be 1..100000\n");
        return 2;
    }
    us = calloc((size_t)n, sizeof(*us));
    if (!us) {
        perror("nvsec-shadowctl: time");
        return 2;
    }
    for (size_t s = 0; rc == 0 && s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        rc = time_query(sizes[s], n, us);
    }
    free(us);
    return rc;
}

static int cmd_badargs(const char *tag)
{
    char field[ULTRACALL_VMTAG_SIZE];

    if (tag_field(tag, field) < 0) {
        fprintf(stderr, "nvsec-shadowctl: bad tag '%s'\n", tag);
        return 2;
    }
    bad_registers();
    bad_buffers(tag);
    bad_query(tag);
    bad_blobs(tag);
    printf("badargs: %d failed\n", fails);
    return fails ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: nvsec-shadowctl query | save TAG FILE | restore TAG FILE |"
                    " release TAG | badargs TAG | time N\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && !strcmp(argv[1], "query")) {
        return cmd_query();
    }
    if (argc == 4 && !strcmp(argv[1], "save")) {
        return cmd_state(ULTRACALL_OP_SHADOW_SAVE, argv[2], argv[3]);
    }
    if (argc == 4 && !strcmp(argv[1], "restore")) {
        return cmd_state(ULTRACALL_OP_SHADOW_RESTORE, argv[2], argv[3]);
    }
    if (argc == 3 && !strcmp(argv[1], "release")) {
        return cmd_state(ULTRACALL_OP_SHADOW_RELEASE, argv[2], NULL);
    }
    if (argc == 3 && !strcmp(argv[1], "time")) {
        return cmd_time(argv[2]);
    }
    if (argc == 3 && !strcmp(argv[1], "badargs")) {
        return cmd_badargs(argv[2]);
    }
    return usage();
}
