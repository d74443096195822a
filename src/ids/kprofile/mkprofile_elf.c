/* mkprofile's parsers: see mkprofile.h. */
#include "mkprofile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* [off, off+len) lies inside n bytes. */
static int in_bounds(uint64_t off, uint64_t len, size_t n)
{
    return off <= n && len <= n - off;
}

int mkp_bzimage_payload(const uint8_t *b, size_t n, const char *what, size_t *off,
                        size_t *len, char *err)
{
    if (n < 0x206 || memcmp(b + 0x202, "HdrS", 4) != 0) {
        snprintf(err, MKP_ERR, "%s is not a bzImage", what);
        return -1;
    }
    if (n < 0x250) {
        snprintf(err, MKP_ERR, "%s: setup header truncated", what);
        return -1;
    }
    uint64_t pm = ((uint64_t)(b[0x1f1] ? b[0x1f1] : 4) + 1) * 512;
    uint64_t o = pm + le32(b + 0x248), l = le32(b + 0x24c);
    if (!in_bounds(o, l, n)) {
        snprintf(err, MKP_ERR, "%s: kernel payload (%llu bytes at %llu) runs past the end "
                 "of the file (%zu bytes)", what, (unsigned long long)l,
                 (unsigned long long)o, n);
        return -1;
    }
    if (l < 6 || memcmp(b + o, "\xfd" "7zXZ\0", 6) != 0) {
        snprintf(err, MKP_ERR, "kernel payload is not xz (only CONFIG_KERNEL_XZ is handled)");
        return -1;
    }
    *off = (size_t)o;
    *len = (size_t)l;
    return 0;
}

void mkp_elf_free(struct mkp_elf *e)
{
    free(e->sec);
    e->sec = NULL;
    e->nsec = 0;
}

int mkp_sections(const uint8_t *p, size_t n, struct mkp_elf *e, char *err)
{
    memset(e, 0, sizeof *e);
    e->p = p;
    e->n = n;
    if (n < 0x40 || memcmp(p, "\x7f" "ELF", 4) != 0 || p[4] != 2) {
        snprintf(err, MKP_ERR, "decompressed kernel is not a 64-bit ELF");
        return -1;
    }
    uint64_t shoff = le64(p + 0x28);
    unsigned shentsize = le16(p + 0x3a), shnum = le16(p + 0x3c), shstrndx = le16(p + 0x3e);
    if (shnum == 0 || shstrndx >= shnum || shentsize < 40) {
        snprintf(err, MKP_ERR, "ELF: bad section header table (shnum %u, shstrndx %u, "
                 "shentsize %u)", shnum, shstrndx, shentsize);
        return -1;
    }
    if (!in_bounds(shoff, (uint64_t)shentsize * (shnum - 1) + 40, n)) {
        snprintf(err, MKP_ERR, "ELF: section headers run past the end of the image");
        return -1;
    }
    uint64_t strtab = le64(p + shoff + (uint64_t)shstrndx * shentsize + 24);
    e->sec = calloc(shnum, sizeof *e->sec);
    if (!e->sec) {
        snprintf(err, MKP_ERR, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < shnum; i++) {
        const uint8_t *h = p + shoff + (uint64_t)i * shentsize;
        uint64_t no = strtab + le32(h);
        const char *name;
        if (no < strtab || no >= n || !memchr(p + no, 0, n - no)) {
            snprintf(err, MKP_ERR, "ELF: name of section %u is outside the image", i);
            mkp_elf_free(e);
            return -1;
        }
        name = (const char *)p + no;
        struct mkp_sec s = { name, le32(h + 4), le64(h + 16), le64(h + 24), le64(h + 32) };
        size_t j;
        for (j = 0; j < e->nsec && strcmp(e->sec[j].name, name) != 0; j++)
            ;
        e->sec[j] = s;              /* a repeated name keeps its place, takes the new value */
        if (j == e->nsec)
            e->nsec++;
    }
    return 0;
}

const struct mkp_sec *mkp_sec_find(const struct mkp_elf *e, const char *name)
{
    for (size_t i = 0; i < e->nsec; i++)
        if (strcmp(e->sec[i].name, name) == 0)
            return &e->sec[i];
    return NULL;
}

/* The bytes of section s that lie inside the file: *len of them at the result. */
static const uint8_t *sec_data(const struct mkp_elf *e, const struct mkp_sec *s, size_t *len)
{
    if (s->off >= e->n) {
        *len = 0;
        return e->p + e->n;
    }
    *len = s->size < e->n - s->off ? (size_t)s->size : e->n - (size_t)s->off;
    return e->p + s->off;
}

int mkp_read_at(const struct mkp_elf *e, uint64_t addr, size_t want,
                const uint8_t **p, size_t *got)
{
    for (size_t i = 0; i < e->nsec; i++) {
        const struct mkp_sec *s = &e->sec[i];
        if (s->type == 8 || !s->addr || addr < s->addr || addr - s->addr >= s->size)
            continue;                                       /* 8: SHT_NOBITS */
        uint64_t o = s->off + (addr - s->addr);
        if (o < s->off || o >= e->n) {
            *p = e->p + e->n;
            *got = 0;
        } else {
            *p = e->p + o;
            *got = want < e->n - o ? want : e->n - (size_t)o;
        }
        return 0;
    }
    return -1;
}

int mkp_string_at(const struct mkp_elf *e, uint64_t addr, size_t max, const char **s)
{
    const uint8_t *p;
    size_t got;
    if (mkp_read_at(e, addr, max, &p, &got) != 0 || !memchr(p, 0, got))
        return -1;
    *s = (const char *)p;
    return 0;
}

int mkp_exported(const struct mkp_elf *e, const char *const *names, size_t k,
                 uint64_t *val, int *have, char *err)
{
    static const char *const tabs[] = { "__ksymtab", "__ksymtab_gpl" };
    for (size_t j = 0; j < k; j++)
        have[j] = 0;
    for (size_t t = 0; t < 2; t++) {
        const struct mkp_sec *s = mkp_sec_find(e, tabs[t]);
        if (!s) {
            snprintf(err, MKP_ERR, "no %s section in the kernel image", tabs[t]);
            return -1;
        }
        if (s->size % 12 || !in_bounds(s->off, s->size, e->n)) {
            snprintf(err, MKP_ERR, "%s: %llu bytes at %llu, not whole 12-byte entries "
                     "inside the image", tabs[t], (unsigned long long)s->size,
                     (unsigned long long)s->off);
            return -1;
        }
        for (uint64_t i = 0; i < s->size; i += 12) {
            const uint8_t *ent = e->p + s->off + i;
            int32_t value_off = (int32_t)le32(ent), name_off = (int32_t)le32(ent + 4);
            uint64_t value = s->addr + i + (uint64_t)(int64_t)value_off;
            /* s->addr + i + 4 + name_off exactly: no wrap-around */
            __int128 na = (__int128)s->addr + i + 4 + name_off;
            const char *name;
            if (na < 0 || na > (__int128)UINT64_MAX ||
                mkp_string_at(e, (uint64_t)na, 128, &name) != 0) {
                snprintf(err, MKP_ERR, "bad name pointer in %s entry %llu", tabs[t],
                         (unsigned long long)(i / 12));
                return -1;
            }
            for (size_t j = 0; j < k; j++)
                if (strcmp(name, names[j]) == 0) {
                    val[j] = value;
                    have[j] = 1;
                }
        }
    }
    return 0;
}

static int name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

int mkp_offsets(const uint8_t *b, size_t n, const char *what, struct mkp_off **out,
                size_t *nout, char *err)
{
    *out = NULL;
    *nout = 0;
    if (n == 0 || n % MKP_REC_SIZE) {
        snprintf(err, MKP_ERR, "%s: %zu bytes, not whole %u-byte records", what, n,
                 MKP_REC_SIZE);
        return -1;
    }
    struct mkp_off *o = calloc(n / MKP_REC_SIZE, sizeof *o);
    if (!o) {
        snprintf(err, MKP_ERR, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i += MKP_REC_SIZE) {
        const uint8_t *r = b + i;
        struct mkp_off x = { (char)r[0], { 0 }, le64(r + 56) };
        memcpy(x.name, r + 1, 55);               /* x.name[55] stays NUL */
        size_t len = 55;
        while (len && !r[len])                   /* strip trailing NULs only */
            len--;
        if ((x.kind != 'o' && x.kind != 'z' && x.kind != 'c') ||
            strlen(x.name) != len || !name_ok(x.name)) {
            snprintf(err, MKP_ERR, "%s: bad record %zu", what, i / MKP_REC_SIZE);
            free(o);
            return -1;
        }
        size_t j;
        for (j = 0; j < k && !(o[j].kind == x.kind && strcmp(o[j].name, x.name) == 0); j++)
            ;
        o[j] = x;                                /* a repeat keeps its place, last value */
        if (j == k)
            k++;
    }
    *out = o;
    *nout = k;
    return 0;
}

static const uint8_t *find(const uint8_t *h, size_t hn, size_t from, const char *nd, size_t nn)
{
    for (size_t i = from; i < hn && hn - i >= nn; i++) {
        const uint8_t *c = memchr(h + i, (unsigned char)nd[0], hn - i - nn + 1);
        if (!c)
            return NULL;
        i = (size_t)(c - h);
        if (memcmp(c, nd, nn) == 0)
            return c;
    }
    return NULL;
}

int mkp_banner(const struct mkp_elf *e, const char *release, const char *version,
               uint64_t *addr, const char **text, size_t *len, char *err)
{
    const struct mkp_sec *s = mkp_sec_find(e, ".rodata");
    if (!s) {
        snprintf(err, MKP_ERR, "no .rodata section in the kernel image");
        return -1;
    }
    size_t dn, nn = strlen("Linux version  (") + strlen(release);
    size_t tn = strlen(version) + 2;
    const uint8_t *d = sec_data(e, s, &dn);
    char *needle = malloc(nn + 1), *tail = malloc(tn + 1);
    if (!needle || !tail) {
        free(needle);
        free(tail);
        snprintf(err, MKP_ERR, "out of memory");
        return -1;
    }
    snprintf(needle, nn + 1, "Linux version %s (", release);
    snprintf(tail, tn + 1, " %s\n", version);
    unsigned found = 0;
    size_t first = 0, flen = 0;
    int rc = 0;
    for (const uint8_t *c = find(d, dn, 0, needle, nn); c;
         c = find(d, dn, (size_t)(c - d) + 1, needle, nn)) {
        const uint8_t *end = memchr(c, 0, dn - (size_t)(c - d));
        if (!end) {
            snprintf(err, MKP_ERR, "unterminated \"Linux version\" string in .rodata");
            rc = -1;
            break;
        }
        size_t l = (size_t)(end - c);
        if (l >= tn && memcmp(end - tn, tail, tn) == 0) {
            if (!found++) {
                first = (size_t)(c - d);
                flen = l;
            }
        }
    }
    if (rc == 0 && found != 1) {
        snprintf(err, MKP_ERR, "linux_banner for %s / %s found %u times in .rodata",
                 release, version, found);
        rc = -1;
    }
    if (rc == 0 && flen >= 255) {
        snprintf(err, MKP_ERR, "unexpected linux_banner: %zu bytes", flen);
        rc = -1;
    }
    free(needle);
    free(tail);
    if (rc == 0) {
        *addr = s->addr + first;
        *text = (const char *)d + first;
        *len = flen;
    }
    return rc;
}
