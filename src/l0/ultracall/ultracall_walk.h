/*
 * Translation of an ultracall buffer through the caller's own page tables
 * (USShadow, papers/002 sec. 4.2: L0 walks the calling process's CR3 to find
 * the buffer L1's migration manager passed by virtual address). x86-64
 * 4-level and 5-level paging (AMD APM vol. 2, 5.3), 4 KiB, 2 MiB and 1 GiB
 * pages. Pure C: page-table entries are read through a callback, so the
 * walker is unit-tested on the host against hostile tables (tests/unit).
 */
#ifndef NVSEC_ULTRACALL_WALK_H
#define NVSEC_ULTRACALL_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ULTRACALL_PTE_P    (1ull << 0)
#define ULTRACALL_PTE_RW   (1ull << 1)
#define ULTRACALL_PTE_US   (1ull << 2)
#define ULTRACALL_PTE_PS   (1ull << 7)
#define ULTRACALL_PTE_ADDR 0x000ffffffffff000ull
#define ULTRACALL_PAGE_SIZE 4096ull

struct ultracall_walk_ops {
    /*
     * Read the 8-byte entry at guest-physical address pa into *pte. Returns 0,
     * or -EFAULT if pa is not ordinary RAM (L0 must not touch device memory
     * on an untrusted page table's say-so).
     */
    int (*read_pte)(void *opaque, uint64_t pa, uint64_t *pte);
    void *opaque;
    uint64_t cr3;
    bool la57;                          /* CR4.LA57: 5-level paging */
};

/* One physically contiguous piece of the buffer. */
struct ultracall_seg {
    uint64_t pa;
    uint64_t len;
};

/*
 * Translate va for a user-mode access (write: also a write): every level
 * present and U/S set, R/W set at every level for a write, va canonical
 * and in the lower (user) half. Returns 0 with *pa and *run (bytes from pa
 * to the end of the page that maps va), or -EFAULT.
 */
int ultracall_walk_va(const struct ultracall_walk_ops *ops, uint64_t va,
                      bool write, uint64_t *pa, uint64_t *run);

/*
 * Translate [va, va + size) entirely, page by page, into at most max_segs
 * segments (size / 4096 + 2 always suffices). All or nothing: returns the
 * number of segments, or -EFAULT if any page fails, -EINVAL if size is 0,
 * the range wraps, or max_segs is too small.
 */
int ultracall_walk_range(const struct ultracall_walk_ops *ops, uint64_t va,
                         uint64_t size, bool write, struct ultracall_seg *segs,
                         size_t max_segs);

#endif
