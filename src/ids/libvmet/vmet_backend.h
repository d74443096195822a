/*
 * Memory-access backends: where the VM's roots and the memory holding its
 * page tables come from. A struct of function pointers, chosen in one place
 * (vmet_backend_select), as LibVMI's drivers.
 */
#ifndef VMET_BACKEND_H
#define VMET_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "../vmet.h"
#include "vmet_proto.h"

struct vmet_backend_ops {
    const char *name;
    /* 1: VM-physical addresses go through the nested tables (two stages). */
    int nested;
    /* Connect per cfg; *state is the backend's. detail: the cause on failure. */
    vmet_status_t (*open)(const struct vmet_config *cfg, void **state, char *detail,
                          size_t n);
    void (*close)(void *state);
    /* The VMs it knows, in order of first appearance (<= VMET_MAX_VMS). */
    vmet_status_t (*list_vms)(void *state, struct vmet_vm *out, unsigned *n);
    /* One VM and its vCPUs, most recently captured first (<= VMET_MAX_VCPUS). */
    vmet_status_t (*get_vm)(void *state, uint64_t key, struct vmet_vm *vm,
                            struct vmet_vcpu *vcpus, unsigned *n);
    /* Read the memory that holds the nested tables (nested) or the VM (not). */
    vmet_status_t (*read_phys)(void *state, uint64_t pa, void *buf, size_t len);
};

/* The backend for kind, or NULL for an unknown kind. */
const struct vmet_backend_ops *vmet_backend_select(vmet_backend_kind_t kind);

extern const struct vmet_backend_ops vmet_backend_l0_nested;
extern const struct vmet_backend_ops vmet_backend_l0_nonnested;
extern const struct vmet_backend_ops vmet_backend_l1_qemu;

#endif
