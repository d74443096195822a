/* sources: src/ids/libvmet/vmet_profile.c */
/*
 * The kernel-profile parser: a valid profile, each way a line can be wrong
 * (reported with its line number), escapes in the banner, limits, and a
 * seeded mutation loop under ASan (the fuzz target's body).
 */
#include <string.h>

#include "unit.h"
#include "../../src/ids/libvmet/vmet_profile.h"

#define HEAD "vmet-profile 1\nkernel release 6.1.0-56-amd64\n" \
             "kernel banner Linux version 6.1.0-56-amd64 (x) #1 SMP\\n\n"

static struct vmet_profile prof;

struct pcase {
    const char *name;
    const char *text;
    vmet_status_t want;
    unsigned bad_line;       /* checked when want is VMET_E_PROFILE */
};

static const struct pcase cases[] = {
    { "profile_minimal", HEAD, VMET_OK, 0 },
    { "profile_entries", HEAD "# comment\n\nsym init_task 0xffffffff82a1aa40\n"
      "off task_struct.pid 0x970\nsize task_struct 9792\nconst HZ 250\n", VMET_OK, 0 },
    { "profile_no_final_newline", HEAD "const HZ 250", VMET_OK, 0 },
    { "profile_package_line", HEAD "kernel package linux-image-6.1.0-56-amd64 6.1.192-2\n",
      VMET_OK, 0 },
    { "profile_empty", "", VMET_E_PROFILE, 0 },
    { "profile_no_header", "kernel release x\n", VMET_E_PROFILE, 1 },
    { "profile_wrong_version", "vmet-profile 2\n", VMET_E_PROFILE, 1 },
    { "profile_header_trailing_space", "vmet-profile 1 \n", VMET_E_PROFILE, 1 },
    { "profile_no_banner", "vmet-profile 1\nkernel release x\n", VMET_E_PROFILE, 0 },
    { "profile_no_release", "vmet-profile 1\nkernel banner x\\n\n", VMET_E_PROFILE, 0 },
    { "profile_unknown_kind", HEAD "var x 1\n", VMET_E_PROFILE, 4 },
    { "profile_missing_value", HEAD "sym init_task\n", VMET_E_PROFILE, 4 },
    { "profile_extra_token", HEAD "sym init_task 0x10 0x20\n", VMET_E_PROFILE, 4 },
    { "profile_bad_hex", HEAD "sym init_task 0xfffg\n", VMET_E_PROFILE, 4 },
    { "profile_bare_0x", HEAD "sym init_task 0x\n", VMET_E_PROFILE, 4 },
    { "profile_negative", HEAD "const HZ -1\n", VMET_E_PROFILE, 4 },
    { "profile_overflow", HEAD "const HZ 18446744073709551616\n", VMET_E_PROFILE, 4 },
    { "profile_max_u64", HEAD "const HZ 18446744073709551615\n", VMET_OK, 0 },
    { "profile_bad_name_char", HEAD "off task_struct->pid 8\n", VMET_E_PROFILE, 4 },
    { "profile_name_64_chars", HEAD "const "
      "a123456789012345678901234567890123456789012345678901234567890123 1\n", VMET_E_PROFILE, 4 },
    { "profile_duplicate", HEAD "const HZ 250\nconst HZ 100\n", VMET_E_PROFILE, 5 },
    { "profile_duplicate_banner", HEAD "kernel banner again\n", VMET_E_PROFILE, 4 },
    { "profile_duplicate_release", HEAD "kernel release again\n", VMET_E_PROFILE, 4 },
    { "profile_same_name_other_kind", HEAD "const x 1\nsym x 2\n", VMET_OK, 0 },
    { "profile_bad_escape", "vmet-profile 1\nkernel release r\nkernel banner a\\q\n",
      VMET_E_PROFILE, 3 },
    { "profile_escape_at_end", "vmet-profile 1\nkernel release r\nkernel banner a\\\n",
      VMET_E_PROFILE, 3 },
    { "profile_hex_escape_short", "vmet-profile 1\nkernel release r\nkernel banner a\\x4\n",
      VMET_E_PROFILE, 3 },
    { "profile_hex_escape_nul", "vmet-profile 1\nkernel release r\nkernel banner a\\x00\n",
      VMET_E_PROFILE, 3 },
    { "profile_control_char", "vmet-profile 1\nkernel release r\tx\nkernel banner b\n",
      VMET_E_PROFILE, 2 },
    { "profile_banner_too_long", "vmet-profile 1\nkernel release r\nkernel banner "
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789\n",
      VMET_E_PROFILE, 3 },
};

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].text);
        char *exact = unit_exact(cases[i].text, len);   /* no NUL: over-reads hit ASan */
        unsigned bad = 99;
        vmet_status_t st = vmet_profile_parse(exact, len, &prof, &bad);

        free(exact);
        if (st != cases[i].want) {
            unit_check(cases[i].name, 0, "status %d, want %d (line %u)", st, cases[i].want, bad);
        } else if (st != VMET_OK && bad != cases[i].bad_line) {
            unit_check(cases[i].name, 0, "bad line %u, want %u", bad, cases[i].bad_line);
        } else {
            unit_check(cases[i].name, 1, "%s", "");
        }
    }
}

static void test_values(void)
{
    const char *text = "vmet-profile 1\nkernel release 6.1.0-56-amd64\n"
                       "sym init_task 0xffffffff82a1aa40\noff task_struct.pid 0x970\n"
                       "size task_struct 9792\nconst HZ 250\n"
                       "kernel banner x\\x41\\\\y\\t\\n\n";
    uint64_t v = 0;
    unsigned bad;
    int ok;

    ok = vmet_profile_parse(text, strlen(text), &prof, &bad) == VMET_OK &&
         vmet_profile_get(&prof, VMET_PK_SYM, "init_task", &v) == VMET_OK &&
         v == 0xffffffff82a1aa40ull &&
         vmet_profile_get(&prof, VMET_PK_OFF, "task_struct.pid", &v) == VMET_OK && v == 0x970 &&
         vmet_profile_get(&prof, VMET_PK_SIZE, "task_struct", &v) == VMET_OK && v == 9792 &&
         vmet_profile_get(&prof, VMET_PK_CONST, "HZ", &v) == VMET_OK && v == 250 &&
         vmet_profile_get(&prof, VMET_PK_SYM, "HZ", &v) == VMET_E_NO_SYMBOL &&
         !strcmp(prof.release, "6.1.0-56-amd64") &&
         prof.banner_len == 6 && !memcmp(prof.banner, "xA\\y\t\n", 6);
    unit_check("profile_values_and_escapes", ok, "lookup or unescape wrong");
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* 20000 mutated profiles (byte flips, truncation, inserted bytes): no crash. */
static void test_fuzz(void)
{
    const char *seed = cases[1].text;
    size_t seed_len = strlen(seed);
    char buf[512];
    int accepted = 0;

    for (int i = 0; i < 20000; i++) {
        size_t n = seed_len;
        unsigned bad;
        char *exact;

        memcpy(buf, seed, seed_len);
        for (int k = next_rand() % 6; k > 0; k--) {
            size_t at = next_rand() % n;

            switch (next_rand() % 3) {
            case 0: buf[at] = (char)next_rand(); break;
            case 1: n = at + 1; break;
            default:
                if (n < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = "\\ \n0x#"[next_rand() % 6];
                    n++;
                }
            }
        }
        exact = unit_exact(buf, n);
        accepted += vmet_profile_parse(exact, n, &prof, &bad) == VMET_OK;
        free(exact);
    }
    unit_check("profile_fuzz_20k_no_crash", 1, "%d", accepted);
}

int main(void)
{
    test_cases();
    test_values();
    test_fuzz();
    return unit_exit();
}
