/*
 * mkprofile's parsers (mkprofile_elf.c): the bzImage setup header, the
 * vmlinux ELF's section headers, its export table (__ksymtab, __ksymtab_gpl:
 * struct kernel_symbol with PREL32 entries), linux_banner in .rodata and the
 * offset finder's .vmet_offsets records. Every read is bounds-checked: the
 * inputs are treated as untrusted. Functions return 0, or -1 with a one-line
 * reason in err. libc only (the xz step lives in mkprofile.c).
 */
#ifndef MKPROFILE_H
#define MKPROFILE_H

#include <stddef.h>
#include <stdint.h>

#define MKP_REC_SIZE 64u
#define MKP_ERR 256u

struct mkp_sec {
    const char *name;            /* NUL-terminated, inside the ELF */
    uint32_t type;
    uint64_t addr, off, size;
};

struct mkp_elf {
    const uint8_t *p;
    size_t n;
    struct mkp_sec *sec;         /* unique names, first position, last value */
    size_t nsec;
};

struct mkp_off {
    char kind;                   /* 'o', 'z', 'c' */
    char name[56];
    uint64_t value;
};

/* The xz payload of bzImage b[0..n) (what names it in err): *off, *len in b. */
int mkp_bzimage_payload(const uint8_t *b, size_t n, const char *what, size_t *off,
                        size_t *len, char *err);
/* Section headers of the 64-bit ELF p[0..n) into e (free with mkp_elf_free). */
int mkp_sections(const uint8_t *p, size_t n, struct mkp_elf *e, char *err);
void mkp_elf_free(struct mkp_elf *e);
const struct mkp_sec *mkp_sec_find(const struct mkp_elf *e, const char *name);
/* Bytes at link address addr (up to want, fewer at the end of the file):
 * 0 and *p, *got; -1 if no allocated section holds addr. */
int mkp_read_at(const struct mkp_elf *e, uint64_t addr, size_t want,
                const uint8_t **p, size_t *got);
/* Addresses of names[0..k) from the export table: have[i] set when found. */
int mkp_exported(const struct mkp_elf *e, const char *const *names, size_t k,
                 uint64_t *val, int *have, char *err);
/* .vmet_offsets records b[0..n) (what names the file in err) into *out
 * (malloc'd, one per kind+name, first position, last value). */
int mkp_offsets(const uint8_t *b, size_t n, const char *what, struct mkp_off **out,
                size_t *nout, char *err);
/* NUL-terminated string at addr (within max bytes, NUL included). */
int mkp_string_at(const struct mkp_elf *e, uint64_t addr, size_t max, const char **s);
/* The one "Linux version RELEASE (... VERSION\n" in .rodata. */
int mkp_banner(const struct mkp_elf *e, const char *release, const char *version,
               uint64_t *addr, const char **text, size_t *len, char *err);

#endif
