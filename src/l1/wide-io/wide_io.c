/*
 * nvsec-wide-io: what an untrusted L1 root can do to the UART that L0
 * emulates for L1 itself: 16- and 32-bit port accesses that run past the
 * end of COM1 (0x3f8-0x3ff) and string I/O over it. Stock QEMU 7.2 aborts
 * on "outl %eax, $0x3fe" (serial.c asserts addr < 8 on the split bytes);
 * L0 must ignore the bytes past the UART and keep running.
 *
 *   nvsec-wide-io        prints "wide-io: done" if it survived its accesses
 */
#include <stdio.h>
#include <sys/io.h>

int main(void)
{
    static const unsigned char bytes[] = "[wide-io]";
    unsigned v;

    if (iopl(3) != 0) {
        perror("wide-io: iopl");
        return 1;
    }
    outl(0xaabb5a00, 0x3fe); /* MSR, SCR, then 0x400-0x401 past the UART */
    v = inl(0x3fe);
    printf("wide-io: inl 0x3fe = %#x\n", v);
    outw(0x5a5a, 0x3ff);
    v = inw(0x3ff);
    printf("wide-io: inw 0x3ff = %#x\n", v);
    v = inl(0x3fd);
    printf("wide-io: inl 0x3fd = %#x\n", v);
    outsb(0x3ff, bytes, sizeof(bytes) - 1);
    printf("wide-io: done\n");
    return 0;
}
