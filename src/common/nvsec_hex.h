/*
 * One hex digit's value, for the text formats read on both sides of the
 * trust line (L0's sealing key file, the IDS's kernel profile).
 */
#ifndef NVSEC_HEX_H
#define NVSEC_HEX_H

/* The value of hex digit c (either case), or -1 if c is not one. */
static inline int nvsec_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

#endif
