/* Profile parser (vmet_profile.h). */
#include <string.h>

#include "nvsec_hex.h"
#include "vmet_profile.h"

#define LINE_MAX_LEN 1024

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* A whole token as a number: decimal or 0x-hex, no sign, no overflow. */
static int parse_u64(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    unsigned base = 10;
    size_t i = 0;

    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == n) {
        return -1;
    }
    for (; i < n; i++) {
        int d = base == 16 ? nvsec_hex_digit(s[i]) : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);

        if (d < 0 || x > (UINT64_MAX - (uint64_t)d) / base) {
            return -1;
        }
        x = x * base + (uint64_t)d;
    }
    *v = x;
    return 0;
}

/* Decode C escapes of s[0..n) into out (cap bytes incl. a NUL). Returns the length or -1. */
static long unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\\') {
            if (++i == n) {
                return -1;
            }
            switch (s[i]) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case '\\': c = '\\'; break;
            case 'x': {
                int hi, lo;

                if (i + 2 >= n) {
                    return -1;
                }
                hi = nvsec_hex_digit(s[i + 1]);
                lo = nvsec_hex_digit(s[i + 2]);
                if (hi < 0 || lo < 0) {
                    return -1;
                }
                c = (char)(hi * 16 + lo);
                i += 2;
                break;
            }
            default:
                return -1;
            }
        } else if ((unsigned char)c < 0x20 || c == 0x7f) {
            return -1;
        }
        if (o + 1 >= cap || c == '\0') {
            return -1;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

/* Split off the next space-separated token of line[*pos..len). */
static int next_token(const char *line, size_t len, size_t *pos, const char **tok, size_t *n)
{
    size_t i = *pos;

    while (i < len && line[i] == ' ') {
        i++;
    }
    if (i == len) {
        return -1;
    }
    *tok = line + i;
    while (i < len && line[i] != ' ') {
        i++;
    }
    *n = (size_t)(line + i - *tok);
    *pos = i;
    return 0;
}

static int kind_of(const char *t, size_t n, char *kind)
{
    static const struct { const char *word; char kind; } kinds[] = {
        { "sym", VMET_PK_SYM }, { "off", VMET_PK_OFF },
        { "size", VMET_PK_SIZE }, { "const", VMET_PK_CONST },
    };

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strlen(kinds[i].word) == n && !memcmp(kinds[i].word, t, n)) {
            *kind = kinds[i].kind;
            return 0;
        }
    }
    return -1;
}

static int name_ok(const char *t, size_t n)
{
    if (n == 0 || n >= VMET_PROFILE_NAME) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_char(t[i])) {
            return 0;
        }
    }
    return 1;
}

/* "kernel KEY TEXT": TEXT is the rest of the line after one space. */
static int parse_kernel_line(const char *line, size_t len, size_t pos, struct vmet_profile *p)
{
    char scratch[VMET_PROFILE_TEXT];
    const char *key, *text;
    size_t kn;
    long r;

    if (next_token(line, len, &pos, &key, &kn) < 0 || pos >= len || line[pos] != ' ') {
        return -1;
    }
    text = line + pos + 1;
    if (kn == 7 && !memcmp(key, "release", 7)) {
        if (p->release[0]) {
            return -1;  /* duplicate */
        }
        r = unescape(text, len - pos - 1, p->release, sizeof(p->release));
        return r > 0 ? 0 : -1;
    }
    if (kn == 6 && !memcmp(key, "banner", 6)) {
        if (p->banner_len) {
            return -1;  /* duplicate */
        }
        r = unescape(text, len - pos - 1, p->banner, sizeof(p->banner));
        if (r <= 0) {
            return -1;
        }
        p->banner_len = (size_t)r;
        return 0;
    }
    /* Other kernel keys are informational; their text must still be clean. */
    return unescape(text, len - pos - 1, scratch, sizeof(scratch)) >= 0 ? 0 : -1;
}

static int parse_entry(const char *line, size_t len, struct vmet_profile *p)
{
    const char *kt, *nt, *vt, *extra;
    size_t kn, nn, vn, en, pos = 0;
    struct vmet_profile_entry *e;
    uint64_t v;
    char kind;

    if (next_token(line, len, &pos, &kt, &kn) < 0) {
        return -1;
    }
    if (kn == 6 && !memcmp(kt, "kernel", 6)) {
        return parse_kernel_line(line, len, pos, p);
    }
    if (kind_of(kt, kn, &kind) < 0 || next_token(line, len, &pos, &nt, &nn) < 0 ||
        !name_ok(nt, nn) || next_token(line, len, &pos, &vt, &vn) < 0 ||
        parse_u64(vt, vn, &v) < 0 || next_token(line, len, &pos, &extra, &en) == 0) {
        return -1;
    }
    for (unsigned i = 0; i < p->n; i++) {
        if (p->e[i].kind == kind && strlen(p->e[i].name) == nn &&
            !memcmp(p->e[i].name, nt, nn)) {
            return -1;  /* duplicate */
        }
    }
    if (p->n == VMET_PROFILE_MAX) {
        return -1;
    }
    e = &p->e[p->n++];
    e->kind = kind;
    memcpy(e->name, nt, nn);
    e->name[nn] = '\0';
    e->value = v;
    return 0;
}

vmet_status_t vmet_profile_parse(const char *text, size_t len, struct vmet_profile *p,
                                 unsigned *bad_line)
{
    size_t start = 0;
    unsigned line_no = 0;
    int header = 0;

    memset(p, 0, sizeof(*p));
    *bad_line = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + start;
        size_t n = end - start;

        line_no++;
        start = end + 1;
        if (n == 0 || line[0] == '#') {
            continue;
        }
        if (n > LINE_MAX_LEN || memchr(line, '\0', n)) {
            *bad_line = line_no;
            return VMET_E_PROFILE;
        }
        if (!header) {
            if (n != 14 || memcmp(line, "vmet-profile 1", 14)) {
                *bad_line = line_no;
                return VMET_E_PROFILE;
            }
            header = 1;
            continue;
        }
        if (parse_entry(line, n, p) < 0) {
            *bad_line = line_no;
            return VMET_E_PROFILE;
        }
    }
    if (!header || !p->release[0] || !p->banner_len) {
        return VMET_E_PROFILE;
    }
    return VMET_OK;
}

vmet_status_t vmet_profile_get(const struct vmet_profile *p, enum vmet_profile_kind kind,
                               const char *name, uint64_t *value)
{
    for (unsigned i = 0; i < p->n; i++) {
        if (p->e[i].kind == (char)kind && !strcmp(p->e[i].name, name)) {
            *value = p->e[i].value;
            return VMET_OK;
        }
    }
    return VMET_E_NO_SYMBOL;
}
