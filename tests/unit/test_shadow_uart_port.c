/* sources: src/l0/shadow/shadow_uart_port.c */
/*
 * Which accesses forced passthrough claims and how they split into UART
 * register bytes, including accesses straddling COM1's edges, sizes that are
 * not 1/2/4, out-of-range ports, and malformed SVM IOIO words.
 */
#include <errno.h>

#include "shadow_uart_port.h"
#include "unit.h"

static const struct {
    const char *name;
    uint32_t port;
    unsigned size;
    bool claims;
    int rc;
    int regs[4];
} cases[] = {
    { "port_thr_byte", 0x3f8, 1, true, 0, { 0, -1, -1, -1 } },
    { "port_scr_byte", 0x3ff, 1, true, 0, { 7, -1, -1, -1 } },
    { "port_word_at_base", 0x3f8, 2, true, 0, { 0, 1, -1, -1 } },
    { "port_dword_at_lsr", 0x3fc, 4, true, 0, { 4, 5, 6, 7 } },
    { "port_word_straddles_top", 0x3ff, 2, true, 0, { 7, -1, -1, -1 } },
    { "port_dword_straddles_top", 0x3fe, 4, true, 0, { 6, 7, -1, -1 } },
    { "port_word_straddles_bottom", 0x3f7, 2, true, 0, { -1, 0, -1, -1 } },
    { "port_dword_straddles_bottom", 0x3f5, 4, true, 0, { -1, -1, -1, 0 } },
    { "port_below_com1", 0x3f7, 1, false, 0, { -1, -1, -1, -1 } },
    { "port_dword_just_below", 0x3f4, 4, false, 0, { -1, -1, -1, -1 } },
    { "port_above_com1", 0x400, 1, false, 0, { -1, -1, -1, -1 } },
    { "port_com2", 0x2f8, 1, false, 0, { -1, -1, -1, -1 } },
    { "port_zero", 0x0, 4, false, 0, { -1, -1, -1, -1 } },
    { "port_top_of_space", 0xffff, 4, false, 0, { -1, -1, -1, -1 } },
    { "port_size0", 0x3f8, 0, false, -EINVAL, { 9, 9, 9, 9 } },
    { "port_size3", 0x3f8, 3, false, -EINVAL, { 9, 9, 9, 9 } },
    { "port_size8", 0x3f8, 8, false, -EINVAL, { 9, 9, 9, 9 } },
    { "port_beyond_16bit", 0x103f8, 1, false, -EINVAL, { 9, 9, 9, 9 } },
    { "port_huge", 0xffffffffu, 4, false, -EINVAL, { 9, 9, 9, 9 } },
};

static const struct {
    const char *name;
    uint32_t info;
    int size;
} ioio[] = {
    { "ioio_sz8_in", 0x0010 | 1, 1 },
    { "ioio_sz16_out", 0x0020, 2 },
    { "ioio_sz32_rep_str_in", 0x0040 | 0x8 | 0x4 | 1, 4 },
    { "ioio_with_port_bits", 0x03f80010, 1 },
    { "ioio_no_size", 0x0000, -EINVAL },
    { "ioio_two_sizes", 0x0030, -EINVAL },
    { "ioio_all_sizes", 0x0070, -EINVAL },
    { "ioio_all_ones", 0xffffffffu, -EINVAL },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int regs[4] = { 9, 9, 9, 9 };
        int rc = shadow_uart_port_split(cases[i].port, cases[i].size, regs);
        bool claims = shadow_uart_port_claims(cases[i].port, cases[i].size);
        bool ok = rc == cases[i].rc && claims == cases[i].claims;

        for (int k = 0; k < 4; k++) {
            ok = ok && regs[k] == cases[i].regs[k];
        }
        unit_check(cases[i].name, ok,
                   "claims %d rc %d regs %d %d %d %d", claims, rc,
                   regs[0], regs[1], regs[2], regs[3]);
    }
    for (size_t i = 0; i < sizeof(ioio) / sizeof(ioio[0]); i++) {
        int size = shadow_uart_ioio_size(ioio[i].info);

        unit_check(ioio[i].name, size == ioio[i].size, "size %d, want %d",
                   size, ioio[i].size);
    }
    /* Exhaustive: claims() agrees with split() on every port and size. */
    {
        unsigned mismatches = 0;
        static const unsigned sizes[] = { 1, 2, 4 };

        for (uint32_t port = 0; port <= 0xffff; port++) {
            for (int s = 0; s < 3; s++) {
                int regs[4];
                bool any = false;

                shadow_uart_port_split(port, sizes[s], regs);
                for (int k = 0; k < 4; k++) {
                    any = any || regs[k] >= 0;
                }
                mismatches += any != shadow_uart_port_claims(port, sizes[s]);
            }
        }
        unit_check("port_claims_matches_split_everywhere", mismatches == 0,
                   "%u disagreements", mismatches);
    }
    return unit_exit();
}
