/*
 * Which VM a name means (struct vmet_config.vm_name): pure functions over
 * the VM list L0 serves, so the rules are unit-tested
 * (tests/unit/test_vmet_names.c).
 */
#ifndef VMET_NAMES_H
#define VMET_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "../vmet.h"
#include "vmet_proto.h"

/* A VM counts as live for "vmN" names if it ran in this window. */
#define VMET_LIVE_NS (10ull * 1000000000ull)

/*
 * Resolve name against vms[0..n) (L0's order: first appearance). Rules in
 * vmet.h (struct vmet_config). Returns VMET_OK and *key, VMET_E_INVAL for an
 * empty or overlong name, VMET_E_NO_VM if no VM has that name.
 */
vmet_status_t vmet_resolve_name(const struct vmet_vm *vms, unsigned n, const char *name,
                                uint64_t *key);

/* The name that resolves to vms[i] (its tag, "vmN", or "ncr3:0x..."). */
void vmet_name_of(const struct vmet_vm *vms, unsigned n, unsigned i, char *out, size_t cap);

#endif
