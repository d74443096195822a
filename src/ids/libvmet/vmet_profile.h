/*
 * Kernel profile: what the IDS must know about the user VM's kernel build,
 * produced at set-up by scripts/build-vmet-profile from Debian's packages of
 * that exact kernel (symbols from the image's export table, struct offsets
 * from an offset-finder module compiled against the matching headers) and
 * cached in $NVSEC_CACHE/vmet/ keyed by kernel version.
 *
 * Format: text, one entry per line, '#' starts a comment line:
 *   vmet-profile 1                 first entry: format and version
 *   kernel release TEXT            uname -r of the kernel
 *   kernel banner TEXT             linux_banner, C escapes (\n \t \\ \xHH)
 *   kernel package TEXT            informational (Debian package and version)
 *   sym NAME 0xHEX                 link-time address (before KASLR)
 *   off STRUCT.FIELD VALUE         byte offset of a member
 *   size STRUCT VALUE              sizeof
 *   const NAME VALUE               an enum value or constant (HZ, NR_FREE_PAGES)
 * VALUE is decimal or 0x-hex; NAME is [A-Za-z0-9_.] up to 63 characters; a
 * name appears at most once per kind. Pure C.
 */
#ifndef VMET_PROFILE_H
#define VMET_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../vmet.h"

#define VMET_PROFILE_MAX      1024u
#define VMET_PROFILE_NAME     64u
#define VMET_PROFILE_TEXT     256u

enum vmet_profile_kind {
    VMET_PK_SYM = 's',
    VMET_PK_OFF = 'o',
    VMET_PK_SIZE = 'z',
    VMET_PK_CONST = 'c',
};

struct vmet_profile_entry {
    char kind;
    char name[VMET_PROFILE_NAME];
    uint64_t value;
};

struct vmet_profile {
    unsigned n;
    struct vmet_profile_entry e[VMET_PROFILE_MAX];
    char release[VMET_PROFILE_TEXT];
    char banner[VMET_PROFILE_TEXT];
    size_t banner_len;               /* bytes, escapes decoded, without a final NUL */
};

/*
 * Parse a profile from text[0..len) (not NUL-terminated necessarily): the one
 * parser of profile files, also a fuzz target (tests/unit/test_vmet_profile.c).
 * Returns VMET_OK, or VMET_E_PROFILE with *bad_line = the 1-based line at
 * fault (0: the file as a whole, e.g. no header, no banner or release).
 */
vmet_status_t vmet_profile_parse(const char *text, size_t len, struct vmet_profile *p,
                                 unsigned *bad_line);

/* Look up NAME of kind: VMET_OK and *value, or VMET_E_NO_SYMBOL. */
vmet_status_t vmet_profile_get(const struct vmet_profile *p, enum vmet_profile_kind kind,
                               const char *name, uint64_t *value);

#endif
