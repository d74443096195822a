/* sources: src/ids/kprofile/mkprofile_elf.c */
/*
 * mkprofile's parsers (src/ids/kprofile/mkprofile_elf.c) on a small synthetic
 * vmlinux and bzImage, then on truncated and garbage copies of them: each
 * must fail with a reason, never read outside its input (ASan).
 */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "../../src/ids/kprofile/mkprofile.h"

#define ESZ 0x340u
static uint8_t elf[ESZ];

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }

static void shdr(int i, uint32_t name, uint32_t type, uint64_t addr, uint64_t off, uint64_t size)
{
    uint8_t *h = elf + 0x200 + 64 * i;
    put32(h, name);
    put32(h + 4, type);
    put64(h + 16, addr);
    put64(h + 24, off);
    put64(h + 32, size);
}

/* .rodata at 0x1000 ("foo", "bar", a banner), __ksymtab at 0x2000 (foo),
 * __ksymtab_gpl at 0x3000 (bar), section headers last. */
static void make_elf(void)
{
    static const char strs[] = "\0.shstrtab\0__ksymtab\0__ksymtab_gpl\0.rodata";
    static const char ban[] = "Linux version R (x) V\n";
    memset(elf, 0, sizeof elf);
    memcpy(elf, "\x7f" "ELF\x02\x01\x01", 7);
    put64(elf + 0x28, 0x200);
    put16(elf + 0x3a, 64);
    put16(elf + 0x3c, 5);
    put16(elf + 0x3e, 1);
    memcpy(elf + 0x40, strs, sizeof strs);
    memcpy(elf + 0x100, "foo\0bar", 8);
    memcpy(elf + 0x110, ban, sizeof ban);
    put32(elf + 0x180, 0x10);
    put32(elf + 0x184, (uint32_t)(0x1000 - 0x2004));
    put32(elf + 0x190, 0x20);
    put32(elf + 0x194, (uint32_t)(0x1004 - 0x3004));
    shdr(1, 1, 3, 0, 0x40, sizeof strs);
    shdr(2, 11, 1, 0x2000, 0x180, 12);
    shdr(3, 21, 1, 0x3000, 0x190, 12);
    shdr(4, 35, 1, 0x1000, 0x100, 0x80);
}

/* Run every parser over e[0..n); 0 iff all of them succeeded. */
static int parse_all(const uint8_t *src, size_t n, uint64_t *v, uint64_t *baddr, size_t *blen)
{
    static const char *const names[] = { "foo", "bar" };
    uint8_t *p = unit_exact(src, n);
    struct mkp_elf e;
    char err[MKP_ERR];
    int have[2], rc = -1;
    const char *t;
    if (mkp_sections(p, n, &e, err) == 0) {
        if (mkp_exported(&e, names, 2, v, have, err) == 0 && have[0] && have[1] &&
            mkp_banner(&e, "R", "V", baddr, &t, blen, err) == 0)
            rc = 0;
        mkp_elf_free(&e);
    }
    free(p);
    return rc;
}

static void test_elf(void)
{
    uint64_t v[2], ba;
    size_t bl, ok = 0;
    make_elf();
    int rc = parse_all(elf, ESZ, v, &ba, &bl);
    unit_check("elf_valid", rc == 0 && v[0] == 0x2010 && v[1] == 0x3020 && ba == 0x1010 &&
               bl == 22, "rc %d foo 0x%llx bar 0x%llx banner 0x%llx/%zu", rc,
               (unsigned long long)v[0], (unsigned long long)v[1],
               (unsigned long long)ba, bl);
    for (size_t n = 0; n < ESZ; n++)           /* the last header's last 24 bytes are unused */
        ok += parse_all(elf, n, v, &ba, &bl) == 0 && n < ESZ - 24;
    unit_check("elf_truncated_every_length", ok == 0, "%zu truncated copies parsed", ok);

    put32(elf + 0x184, 0x7ffffff0);
    unit_check("elf_bad_name_pointer", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
    make_elf();
    put32(elf + 0x200 + 64 * 4, 0xfffffff0);
    unit_check("elf_section_name_outside", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
    make_elf();
    put16(elf + 0x3e, 5);
    unit_check("elf_bad_shstrndx", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
    make_elf();
    put64(elf + 0x28, UINT64_MAX - 8);
    unit_check("elf_shoff_wraps", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
    make_elf();
    shdr(2, 11, 1, 0x2000, 0x180, 13);
    unit_check("elf_ksymtab_partial_entry", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
    make_elf();
    shdr(4, 35, 1, 0x1000, 0x100, UINT64_MAX);
    unit_check("elf_rodata_past_end", parse_all(elf, ESZ, v, &ba, &bl) == 0, "rejected");
    make_elf();
    memcpy(elf + 0x140, "Linux version R (y) V\n", 23);
    unit_check("elf_banner_twice", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
    make_elf();
    memset(elf + 0x110, 'A', 0x240 - 0x110);
    memcpy(elf + 0x110, "Linux version R (", 17);
    unit_check("elf_banner_unterminated", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
    make_elf();
    elf[4] = 1;
    unit_check("elf_32bit", parse_all(elf, ESZ, v, &ba, &bl) != 0, "parsed");
}

static int payload(const uint8_t *src, size_t n, size_t *off, size_t *len)
{
    uint8_t *p = unit_exact(src, n);
    char err[MKP_ERR];
    int rc = mkp_bzimage_payload(p, n, "img", off, len, err);
    free(p);
    return rc;
}

static void test_bzimage(void)
{
    static uint8_t b[0xc00];
    size_t off, len, ok = 0;
    memset(b, 0, sizeof b);
    memcpy(b + 0x202, "HdrS", 4);
    b[0x1f1] = 1;                               /* protected mode code at 0x400 */
    put32(b + 0x248, 0x100);
    put32(b + 0x24c, 0x200);
    memcpy(b + 0x500, "\xfd" "7zXZ\0", 6);
    int rc = payload(b, sizeof b, &off, &len);
    unit_check("bzimage_valid", rc == 0 && off == 0x500 && len == 0x200, "rc %d off %zu len %zu",
               rc, off, len);
    for (size_t n = 0; n < 0x700; n++)
        ok += payload(b, n, &off, &len) == 0;
    unit_check("bzimage_truncated_every_length", ok == 0, "%zu truncated copies parsed", ok);
    put32(b + 0x24c, 0xffffffff);
    unit_check("bzimage_payload_past_end", payload(b, sizeof b, &off, &len) != 0, "parsed");
    put32(b + 0x24c, 0x200);
    put32(b + 0x248, 0xffffffff);
    unit_check("bzimage_offset_past_end", payload(b, sizeof b, &off, &len) != 0, "parsed");
    put32(b + 0x248, 0x100);
    b[0x501] = '8';
    unit_check("bzimage_not_xz", payload(b, sizeof b, &off, &len) != 0, "parsed");
    b[0x202] = 'h';
    unit_check("bzimage_no_hdrs", payload(b, sizeof b, &off, &len) != 0, "parsed");
}

static int offsets(const uint8_t *src, size_t n, struct mkp_off **o, size_t *k)
{
    uint8_t *p = unit_exact(src, n);
    char err[MKP_ERR];
    int rc = mkp_offsets(p, n, "offs", o, k, err);
    free(p);
    return rc;
}

static void rec(uint8_t *r, char kind, const char *name, uint64_t v)
{
    memset(r, 0, MKP_REC_SIZE);
    r[0] = (uint8_t)kind;
    memcpy(r + 1, name, strlen(name));
    put64(r + 56, v);
}

static void test_offsets(void)
{
    uint8_t b[4 * MKP_REC_SIZE];
    struct mkp_off *o;
    size_t k;
    rec(b, 'o', "a.b", 1);
    rec(b + 64, 'z', "a", 2);
    rec(b + 128, 'o', "a.b", 3);
    rec(b + 192, 'c', "HZ", 250);
    int rc = offsets(b, sizeof b, &o, &k);
    unit_check("offsets_valid_repeat", rc == 0 && k == 3 && o[0].value == 3 &&
               !strcmp(o[0].name, "a.b") && o[1].kind == 'z' && o[2].value == 250,
               "rc %d k %zu", rc, k);
    if (rc == 0)
        free(o);
    unit_check("offsets_empty", offsets(b, 0, &o, &k) != 0, "parsed");
    unit_check("offsets_partial_record", offsets(b, 63, &o, &k) != 0, "parsed");
    b[0] = 'x';
    unit_check("offsets_bad_kind", offsets(b, 64, &o, &k) != 0, "parsed");
    rec(b, 'o', "", 1);
    unit_check("offsets_empty_name", offsets(b, 64, &o, &k) != 0, "parsed");
    rec(b, 'o', "a", 1);
    b[5] = 'b';                                 /* "a\0\0\0b": a NUL inside */
    unit_check("offsets_inner_nul", offsets(b, 64, &o, &k) != 0, "parsed");
    memset(b, 0xff, 64);
    b[0] = 'o';
    unit_check("offsets_garbage_name", offsets(b, 64, &o, &k) != 0, "parsed");
}

int main(void)
{
    test_elf();
    test_bzimage();
    test_offsets();
    return unit_exit();
}
