/* sources: src/ids/libvmet/vmet_names.c src/ids/libvmet/vmet_layout.c */
/*
 * Which VM a name means (tags first, "ncr3:0x...", then "vmN" by first
 * appearance among live untagged VMs), the names tools show, and L0's RAM
 * layout: range checks and GPA -> file offset.
 */
#include <string.h>

#include "unit.h"
#include "../../src/ids/libvmet/vmet_layout.h"
#include "../../src/ids/libvmet/vmet_names.h"

#define SEC 1000000000ull

static struct vmet_vm vms[8];
static unsigned nvms;

static void add(uint64_t key, const char *tag, uint64_t idle_ns, uint32_t flags)
{
    struct vmet_vm *v = &vms[nvms++];

    memset(v, 0, sizeof(*v));
    v->key = key;
    v->seq = nvms;
    v->idle_ns = idle_ns;
    v->flags = flags | (tag ? VMET_VM_TAGGED : 0);
    if (tag) {
        strcpy(v->tag, tag);
    }
}

/* L1 (key 0), a stale VM, then two live untagged VMs. */
static void untagged(void)
{
    nvms = 0;
    add(0, NULL, 1, VMET_VM_NONNESTED);
    add(0x1000, NULL, 60 * SEC, 0);
    add(0x2000, NULL, 1, 0);
    add(0x3000, NULL, 2, 0);
}

/* The same with the live VMs tagged. */
static void tagged(void)
{
    untagged();
    vms[2].flags |= VMET_VM_TAGGED;
    strcpy(vms[2].tag, "web");
    vms[3].flags |= VMET_VM_TAGGED;
    strcpy(vms[3].tag, "vm0");
}

static const struct {
    const char *name;
    void (*setup)(void);
    const char *vm;
    vmet_status_t want;
    uint64_t key;
} cases[] = {
    { "name_vm0_first_live", untagged, "vm0", VMET_OK, 0x2000 },
    { "name_vm1_second_live", untagged, "vm1", VMET_OK, 0x3000 },
    { "name_vm2_none", untagged, "vm2", VMET_E_NO_VM, 0 },
    { "name_ncr3_stale_vm", untagged, "ncr3:0x1000", VMET_OK, 0x1000 },
    { "name_ncr3_upper_hex", untagged, "ncr3:0x3000", VMET_OK, 0x3000 },
    { "name_ncr3_unknown", untagged, "ncr3:0x4000", VMET_E_NO_VM, 0 },
    { "name_ncr3_l1_refused", untagged, "ncr3:0x0", VMET_E_NO_VM, 0 },
    { "name_ncr3_too_long", untagged, "ncr3:0x11112222333344445", VMET_E_NO_VM, 0 },
    { "name_vm01_refused", untagged, "vm01", VMET_E_NO_VM, 0 },
    { "name_vm_alone_refused", untagged, "vm", VMET_E_NO_VM, 0 },
    { "name_empty", untagged, "", VMET_E_INVAL, 0 },
    { "name_tag", tagged, "web", VMET_OK, 0x2000 },
    { "name_tag_vm0_beats_index", tagged, "vm0", VMET_OK, 0x3000 },
    { "name_index_off_with_tags", tagged, "vm1", VMET_E_NO_VM, 0 },
};

static void test_resolve(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t key = 0xdead;
        vmet_status_t st;

        cases[i].setup();
        st = vmet_resolve_name(vms, nvms, cases[i].vm, &key);
        unit_check(cases[i].name, st == cases[i].want && (st != VMET_OK || key == cases[i].key),
                   "status %d key %#llx", st, (unsigned long long)key);
    }
}

static void test_name_of(void)
{
    char a[64], b[64], c[64], d[64];

    untagged();
    vmet_name_of(vms, nvms, 1, a, sizeof(a));
    vmet_name_of(vms, nvms, 2, b, sizeof(b));
    vmet_name_of(vms, nvms, 3, c, sizeof(c));
    vmet_name_of(vms, nvms, 0, d, sizeof(d));
    unit_check("name_of_untagged", !strcmp(a, "ncr3:0x1000") && !strcmp(b, "vm0") &&
               !strcmp(c, "vm1") && !strcmp(d, ""), "%s %s %s '%s'", a, b, c, d);
    tagged();
    vmet_name_of(vms, nvms, 2, b, sizeof(b));
    unit_check("name_of_tagged", !strcmp(b, "web"), "%s", b);
}

/* PC layout for 5 GiB: [0,640K) [768K,3G) in the file as is, [4G,6G) after 3G. */
static const struct vmet_range pc5g[] = {
    { 0, 0xa0000, 0 },
    { 0xc0000, 0xc0000000 - 0xc0000, 0xc0000 },
    { 0x100000000ull, 0x80000000ull, 0xc0000000 },
};
#define FILE5G 0x140000000ull

static void test_layout(void)
{
    uint64_t off = 0;
    struct vmet_range wrap[] = { { 0xfffffffffffff000ull, 0x2000, 0 } };
    struct vmet_range past[] = { { 0, 0x2000, FILE5G - 0x1000 } };
    struct vmet_range overlap[] = { { 0, 0x2000, 0 }, { 0x1000, 0x1000, 0x3000 } };

    unit_check("layout_pc5g_valid", vmet_layout_check(pc5g, 3, FILE5G) == VMET_OK, "refused");
    unit_check("layout_low", vmet_layout_offset(pc5g, 3, 0x9f000, 0x1000, &off) == VMET_OK &&
               off == 0x9f000, "off %#llx", (unsigned long long)off);
    unit_check("layout_vga_hole", vmet_layout_offset(pc5g, 3, 0xa0000, 1, &off) ==
               VMET_E_OUT_OF_RANGE, "readable");
    unit_check("layout_span_into_hole", vmet_layout_offset(pc5g, 3, 0x9ffff, 2, &off) ==
               VMET_E_OUT_OF_RANGE, "readable");
    unit_check("layout_above_4g", vmet_layout_offset(pc5g, 3, 0x100001000ull, 8, &off) == VMET_OK &&
               off == 0xc0001000, "off %#llx", (unsigned long long)off);
    unit_check("layout_pci_hole", vmet_layout_offset(pc5g, 3, 0xe0000000, 8, &off) ==
               VMET_E_OUT_OF_RANGE, "readable");
    unit_check("layout_end", vmet_layout_offset(pc5g, 3, 0x17ffffff8ull, 8, &off) == VMET_OK &&
               vmet_layout_offset(pc5g, 3, 0x17ffffff9ull, 8, &off) == VMET_E_OUT_OF_RANGE,
               "end of RAM");
    unit_check("layout_wrap_refused", vmet_layout_check(wrap, 1, FILE5G) == VMET_E_PROTO, "ok");
    unit_check("layout_past_file_refused", vmet_layout_check(past, 1, FILE5G) == VMET_E_PROTO,
               "ok");
    unit_check("layout_overlap_refused", vmet_layout_check(overlap, 2, FILE5G) == VMET_E_PROTO,
               "ok");
}

int main(void)
{
    test_resolve();
    test_name_of();
    test_layout();
    return unit_exit();
}
