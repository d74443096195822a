/* VM names (vmet_names.h). */
#include <stdio.h>
#include <string.h>

#include "vmet_names.h"

static int nested_live(const struct vmet_vm *vm)
{
    return !(vm->flags & VMET_VM_NONNESTED) && vm->idle_ns < VMET_LIVE_NS;
}

/* While any live VM has a tag, names are tags: "vmN" indexes would be ambiguous. */
static int tags_in_use(const struct vmet_vm *vms, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (nested_live(&vms[i]) && (vms[i].flags & VMET_VM_TAGGED)) {
            return 1;
        }
    }
    return 0;
}

/* "vmN" -> N, or -1. */
static long vm_index(const char *name)
{
    long v = 0;

    if (strncmp(name, "vm", 2) || !name[2] || (name[2] == '0' && name[3])) {
        return -1;
    }
    for (const char *p = name + 2; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000) {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    return v;
}

static int parse_ncr3(const char *name, uint64_t *key)
{
    uint64_t v = 0;
    const char *p = name + 7;

    if (strncmp(name, "ncr3:0x", 7) || !*p || strlen(p) > 16) {
        return -1;
    }
    for (; *p; p++) {
        int d = (*p >= '0' && *p <= '9') ? *p - '0' :
                (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 :
                (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10 : -1;
        if (d < 0) {
            return -1;
        }
        v = v << 4 | (uint64_t)d;
    }
    *key = v;
    return 0;
}

vmet_status_t vmet_resolve_name(const struct vmet_vm *vms, unsigned n, const char *name,
                                uint64_t *key)
{
    uint64_t k;
    long idx;

    if (!name || !name[0] || strlen(name) >= VMET_NAME_MAX) {
        return VMET_E_INVAL;
    }
    if (parse_ncr3(name, &k) == 0) {
        for (unsigned i = 0; i < n; i++) {
            if (vms[i].key == k && !(vms[i].flags & VMET_VM_NONNESTED)) {
                *key = k;
                return VMET_OK;
            }
        }
        return VMET_E_NO_VM;
    }
    for (unsigned i = 0; i < n; i++) {
        if ((vms[i].flags & VMET_VM_TAGGED) &&
            !strncmp(vms[i].tag, name, VMET_TAG_SIZE)) {
            *key = vms[i].key;
            return VMET_OK;
        }
    }
    idx = vm_index(name);
    if (idx < 0 || tags_in_use(vms, n)) {
        return VMET_E_NO_VM;
    }
    for (unsigned i = 0; i < n; i++) {
        if (nested_live(&vms[i]) && idx-- == 0) {
            *key = vms[i].key;
            return VMET_OK;
        }
    }
    return VMET_E_NO_VM;
}

void vmet_name_of(const struct vmet_vm *vms, unsigned n, unsigned i, char *out, size_t cap)
{
    unsigned live_before = 0;

    if (vms[i].flags & VMET_VM_TAGGED) {
        snprintf(out, cap, "%.*s", (int)VMET_TAG_SIZE, vms[i].tag);
        return;
    }
    if (vms[i].flags & VMET_VM_NONNESTED) {
        snprintf(out, cap, "%s", "");
        return;
    }
    if (nested_live(&vms[i]) && !tags_in_use(vms, n)) {
        for (unsigned j = 0; j < i; j++) {
            live_before += nested_live(&vms[j]);
        }
        snprintf(out, cap, "vm%u", live_before);
        return;
    }
    snprintf(out, cap, "ncr3:0x%llx", (unsigned long long)vms[i].key);
}
