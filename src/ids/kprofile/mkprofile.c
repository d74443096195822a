/*
 * Write a V-Met kernel profile (format: src/ids/libvmet/vmet_profile.h).
 *
 * Everything comes from Debian's packages of the exact kernel the user VM runs:
 *   - symbols: the kernel image's own export table (__ksymtab, __ksymtab_gpl of
 *     the vmlinux inside vmlinuz), since Debian's System.map is a placeholder
 *     (the real one ships only in the 850 MB -dbg package); _text is the start
 *     of .text and linux_banner is the one "Linux version RELEASE (" string;
 *   - struct offsets and constants: the .vmet_offsets section of the offset
 *     finder (vmet_offsets.c) compiled against the matching linux-headers.
 * The inputs are treated as untrusted: parsers in mkprofile_elf.c.
 *
 * usage: mkprofile --vmlinuz F --offsets F --release R --package 'NAME VERSION'
 */
#include "mkprofile.h"

#include <errno.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (512u << 20)     /* bytes of vmlinuz or offsets file */
#define MAX_VMLINUX (2048u << 20)  /* bytes of decompressed kernel */

/* Symbols the IDS uses (src/ids/libvmet/vmet_linux.c); all exported by 6.1. */
static const char *const SYMBOLS[] = {
    "init_task", "init_uts_ns", "jiffies_64", "_totalram_pages", "vm_zone_stat",
    "vm_node_stat", "__per_cpu_offset", "kernel_cpustat", "nr_cpu_ids",
};
#define NSYM (sizeof SYMBOLS / sizeof SYMBOLS[0])

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("mkprofile: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void usage(const char *why)
{
    fprintf(stderr, "usage: mkprofile --vmlinuz F --offsets F --release R "
            "--package 'NAME VERSION'\nmkprofile: error: %s\n", why);
    exit(2);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    size_t cap = 1 << 20, len = 0;
    uint8_t *b = malloc(cap);
    if (!b)
        die("out of memory");
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_INPUT)
                die("%s: larger than %u bytes", path, MAX_INPUT);
            cap *= 2;
            if (!(b = realloc(b, cap)))
                die("out of memory");
        }
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
    *n = len;
    return b;
}

/* One xz stream (data after its end is ignored, as lzma.LZMADecompressor does). */
static uint8_t *unxz(const uint8_t *in, size_t n, size_t *outn)
{
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
        die("cannot start the xz decoder");
    size_t cap = 64u << 20;
    uint8_t *out = malloc(cap);
    if (!out)
        die("out of memory");
    s.next_in = in;
    s.avail_in = n;
    s.next_out = out;
    s.avail_out = cap;
    for (;;) {
        lzma_ret r = lzma_code(&s, LZMA_FINISH);
        if (r == LZMA_STREAM_END)
            break;
        if (r == LZMA_BUF_ERROR && s.avail_out)
            die("kernel payload: xz stream truncated");
        if (r != LZMA_OK && r != LZMA_BUF_ERROR)
            die("kernel payload: xz decoding failed (liblzma error %d)", (int)r);
        if (!s.avail_out) {
            if (cap >= MAX_VMLINUX)
                die("kernel payload: decompresses to more than %u bytes", MAX_VMLINUX);
            size_t used = cap;
            cap *= 2;
            if (!(out = realloc(out, cap)))
                die("out of memory");
            s.next_out = out + used;
            s.avail_out = cap - used;
        }
    }
    *outn = (size_t)s.total_out;
    lzma_end(&s);
    return out;
}

/* The profile's TEXT escapes: \\ \n \t and \xHH for other bytes outside 0x20..0x7e. */
static void escape(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static uint64_t off_of(const struct mkp_off *o, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (o[i].kind == 'o' && strcmp(o[i].name, name) == 0)
            return o[i].value;
    die("offset %s is missing from the offsets file", name);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const opt[] = { "--vmlinuz", "--offsets", "--release", "--package" };
    const char *val[4] = { 0 };
    char err[MKP_ERR];

    for (int i = 1; i < argc; i++) {
        size_t k;
        for (k = 0; k < 4; k++) {
            size_t l = strlen(opt[k]);
            if (strcmp(argv[i], opt[k]) == 0) {
                if (i + 1 >= argc)
                    usage("an option needs an argument");
                val[k] = argv[++i];
                break;
            }
            if (strncmp(argv[i], opt[k], l) == 0 && argv[i][l] == '=') {
                val[k] = argv[i] + l + 1;
                break;
            }
        }
        if (k == 4)
            usage("unrecognized argument");
    }
    for (size_t k = 0; k < 4; k++)
        if (!val[k])
            usage("the options --vmlinuz, --offsets, --release, --package are required");

    size_t zn, poff, plen, en;
    uint8_t *z = slurp(val[0], &zn);
    if (mkp_bzimage_payload(z, zn, val[0], &poff, &plen, err) != 0)
        die("%s", err);
    uint8_t *elf = unxz(z + poff, plen, &en);
    free(z);
    struct mkp_elf e;
    if (mkp_sections(elf, en, &e, err) != 0)
        die("%s", err);
    uint64_t sym[NSYM];
    int have[NSYM];
    if (mkp_exported(&e, SYMBOLS, NSYM, sym, have, err) != 0)
        die("%s", err);
    size_t on, no;
    uint8_t *ob = slurp(val[1], &on);
    struct mkp_off *offs;
    if (mkp_offsets(ob, on, val[1], &offs, &no, err) != 0)
        die("%s", err);
    free(ob);
    for (size_t i = 0; i < NSYM; i++)
        if (!have[i])
            die("symbol %s is not exported by this kernel", SYMBOLS[i]);

    /* UTS_VERSION as built into init_uts_ns (init/version-timestamp.c) */
    const char *version;
    unsigned __int128 ua = (unsigned __int128)sym[1] + off_of(offs, no, "uts_namespace.name") +
                           off_of(offs, no, "new_utsname.version");
    if (ua > UINT64_MAX || mkp_string_at(&e, (uint64_t)ua, 65, &version) != 0)
        die("cannot read init_uts_ns.name.version from the image");

    /* linux_banner: "Linux version RELEASE (...) VERSION\n". The image also holds
     * init/version.c's weak default, whose version lacks the build number, so
     * the match is on the real UTS_VERSION. */
    uint64_t baddr;
    const char *btext;
    size_t blen;
    if (mkp_banner(&e, val[2], version, &baddr, &btext, &blen, err) != 0)
        die("%s", err);
    const struct mkp_sec *text = mkp_sec_find(&e, ".text");
    if (!text)
        die("no .text section in the kernel image");

    static const char *const kname[] = { ['o'] = "off", ['z'] = "size", ['c'] = "const" };
    fputs("# V-Met kernel profile, written by src/ids/kprofile/mkprofile.c\n"
          "vmet-profile 1\nkernel release ", stdout);
    escape(val[2], strlen(val[2]));
    fputs("\nkernel package ", stdout);
    escape(val[3], strlen(val[3]));
    fputs("\nkernel banner ", stdout);
    escape(btext, blen);
    printf("\nsym _text 0x%llx\n", (unsigned long long)text->addr);
    printf("sym linux_banner 0x%llx\n", (unsigned long long)baddr);
    for (size_t i = 0; i < NSYM; i++)
        printf("sym %s 0x%llx\n", SYMBOLS[i], (unsigned long long)sym[i]);
    for (size_t i = 0; i < no; i++)
        printf("%s %s 0x%llx\n", kname[(unsigned char)offs[i].kind], offs[i].name,
               (unsigned long long)offs[i].value);
    if (fflush(stdout) != 0 || ferror(stdout))
        die("writing the profile: %s", strerror(errno));
    mkp_elf_free(&e);
    free(offs);
    free(elf);
    return 0;
}
