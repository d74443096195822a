/*
 * The DMA-read hook that src/l0/patches/0005-vmcrypt-hooks.patch adds to
 * softmmu/physmem.c: called before every read of guest RAM that does not go
 * through a CPU's TLB (flatview reads, address_space_map, the
 * address_space_ld*_phys family, and cached accesses, which the patch makes
 * take the hooked slow path while a hook is set). offset is relative to the
 * RAM region mr. NULL: nothing is called.
 *
 * Included by target/i386/nvsec code after "qemu/osdep.h" and "exec/memory.h".
 */
#ifndef NVSEC_VMCRYPT_DMA_H
#define NVSEC_VMCRYPT_DMA_H

extern void (*nvsec_dma_read_hook)(MemoryRegion *mr, hwaddr offset, hwaddr len);

#endif
