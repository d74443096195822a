/*
 * Where L0's guest-physical addresses (L1's physical memory) lie in L0's RAM
 * file: the ranges L0 serves (VMET_OP_INFO, src/common/vmet_proto.h). For a
 * PC machine ("-M pc", -m SIZE) they are, from QEMU's pc_piix.c:
 *   below_4g = SIZE if SIZE < 3.5 GiB (max-ram-below-4g's default), else 3 GiB
 *              (gigabyte_align); above_4g = SIZE - below_4g;
 *   file offset = gpa                          for gpa < below_4g,
 *               = gpa - 4 GiB + below_4g       for 4 GiB <= gpa < 4 GiB + above_4g,
 * minus the ranges where something else is mapped over RAM (legacy VGA at
 * 0xa0000-0xbffff, ROMs that firmware did not shadow). L0 computes the ranges
 * from its flat memory view, so the IDS never hard-codes this. Pure C.
 */
#ifndef VMET_LAYOUT_H
#define VMET_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "../vmet.h"
#include "vmet_proto.h"

/*
 * Check a range list against a file of file_size bytes: every range inside
 * the file, no wrap-around, ranges in increasing gpa order without overlap.
 * Returns VMET_OK or VMET_E_PROTO.
 */
vmet_status_t vmet_layout_check(const struct vmet_range *r, unsigned n, uint64_t file_size);

/*
 * The file offset of [pa, pa + len): VMET_OK if the whole span lies in one
 * range (then *off is set), else VMET_E_OUT_OF_RANGE.
 */
vmet_status_t vmet_layout_offset(const struct vmet_range *r, unsigned n, uint64_t pa,
                                 size_t len, uint64_t *off);

#endif
