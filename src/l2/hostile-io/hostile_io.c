/*
 * A hostile user VM kernel for VSBypass: drives COM1 with 8/16/32-bit and
 * string I/O, straddles the ends of the port range and reads write-only
 * registers, then echoes console input back byte for byte. Every access is
 * one the shadow 16550 in L0 must answer without crashing (stock QEMU 7.2
 * aborts on a 32-bit OUT to 0x3fe in serial.c), and the echo proves the
 * device still moves bytes both ways afterwards.
 *
 * Output, parsed by tests/integration/47-vsbypass-hostile-io.sh:
 *   HIO-BEGIN
 *   HIO ok|bad NAME got=0xVALUE      one per check, a fixed list
 *   HIO-CHECKS-DONE bad=N
 *   HIO-ECHO-BEGIN                   then every byte received is echoed
 *   HIO-ECHO-END n=N                 after a '~' (not echoed), N bytes
 */
#include <stdint.h>

#define COM1      0x3f8
#define COM1_IER  (COM1 + 1)
#define COM1_IIR  (COM1 + 2) /* FCR when written */
#define COM1_LCR  (COM1 + 3)
#define COM1_MCR  (COM1 + 4)
#define COM1_LSR  (COM1 + 5)
#define COM1_SCR  (COM1 + 7)
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define ECHO_STOP '~'

void hostile_io_main(void);

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0,%1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1,%0" : "=a"(v) : "Nd"(p)); return v; }

static void com1_putc(char c)
{
    while (!(inb(COM1_LSR) & LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

static void com1_puts(const char *s)
{
    while (*s)
        com1_putc(*s++);
}

static void com1_puthex(uint32_t v)
{
    for (int i = 28; i >= 0; i -= 4)
        com1_putc("0123456789abcdef"[(v >> i) & 15]);
}

static void com1_putdec(uint32_t v)
{
    char b[12];
    int n = 0;

    do {
        b[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        com1_putc(b[--n]);
}

static int bad_checks;

static void hio_check(const char *name, int ok, uint32_t got)
{
    com1_puts(ok ? "HIO ok " : "HIO bad ");
    com1_puts(name);
    com1_puts(" got=0x");
    com1_puthex(got);
    com1_puts("\r\n");
    bad_checks += !ok;
}

/* 8N1, FIFOs on, DTR+RTS, no interrupts: this kernel polls. */
static void com1_init(void)
{
    outb(COM1_IER, 0);
    outb(COM1_LCR, 0x03);
    outb(COM1_IIR, 0x07);
    outb(COM1_MCR, 0x03);
}

static void check_sized_io(void)
{
    uint32_t v;

    outw(COM1, 'A');                   /* THR='A' and IER=0 in one access */
    com1_puts("\r\n");
    v = inb(COM1_IER);
    hio_check("outw_base_sets_thr_and_ier", v == 0, v);
    outl(COM1 + 6, 0xaabb5a00);        /* MSR (read-only), SCR=5a, 0x400-1 beyond COM1 */
    v = inb(COM1_SCR);
    hio_check("outl_straddling_top_sets_scr", v == 0x5a, v);
    v = inl(COM1 + 6);
    hio_check("inl_straddling_top", ((v >> 8) & 0xff) == 0x5a && (v >> 16) == 0xffff, v);
    v = inw(COM1 - 1);
    hio_check("inw_straddling_bottom_low_byte_floats", (v & 0xff) == 0xff, v);
    v = inl(COM1 - 3);
    hio_check("inl_straddling_bottom", (v & 0xffffff) == 0xffffff, v);
    v = inl(COM1_MCR);                 /* MCR, LSR, MSR, SCR in one access */
    hio_check("inl_mcr_lsr_msr_scr", (v & 0xff) == 0x03 && ((v >> 8) & 0x60) == 0x60 &&
              (v >> 24) == 0x5a, v);
}

static void check_write_only_reads(void)
{
    uint32_t v;

    v = inb(COM1_IIR);                 /* FCR is write-only: reads give IIR */
    hio_check("read_of_fcr_gives_iir", (v & 0x0f) == 0x01 && (v & 0xc0) == 0xc0, v);
    outb(COM1_IIR, 0x00);              /* FIFOs off: the read side must follow */
    v = inb(COM1_IIR);
    outb(COM1_IIR, 0x07);
    hio_check("fcr_write_seen_through_iir", (v & 0xc0) == 0, v);
    outb(COM1_LCR, 0x83);              /* DLAB: divisor 1 by one 16-bit write */
    outw(COM1, 0x0001);
    v = inw(COM1);
    outb(COM1_LCR, 0x03);
    hio_check("dlab_divisor_by_word", v == 0x0001, v);
}

static void check_string_io(void)
{
    static const char bytes[] = "[rep-outsb]";
    static const uint16_t words[] = { '[', 'w', ']' };
    /* THR='{' or '}', IER=0, FCR=07, LCR=03: each dword rewrites four registers. */
    static const uint32_t dwords[] = { 0x03070000 | '{', 0x03070000 | '}' };
    uint8_t lsr[16];
    const void *src;
    void *dst;
    uint32_t n;
    int ok = 1;

    src = bytes, n = sizeof(bytes) - 1;
    __asm__ volatile("cld; rep outsb" : "+S"(src), "+c"(n) : "d"(COM1) : "memory");
    dst = lsr, n = sizeof(lsr);
    __asm__ volatile("cld; rep insb" : "+D"(dst), "+c"(n) : "d"(COM1_LSR) : "memory");
    for (unsigned i = 0; i < sizeof(lsr); i++)
        ok &= (lsr[i] & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT);
    com1_puts("\r\n");
    hio_check("rep_insb_reads_lsr", ok, lsr[0]);
    src = words, n = 3;
    __asm__ volatile("cld; rep outsw" : "+S"(src), "+c"(n) : "d"(COM1) : "memory");
    src = dwords, n = 2;
    __asm__ volatile("cld; rep outsl" : "+S"(src), "+c"(n) : "d"(COM1) : "memory");
    com1_puts("\r\n");
    hio_check("rep_outsl_leaves_lcr", inb(COM1_LCR) == 0x03, inb(COM1_LCR));
}

static void check_loopback(void)
{
    uint32_t v;

    outb(COM1_MCR, 0x13);
    outb(COM1, 0x5c);
    v = (inb(COM1_LSR) & LSR_DR) ? inb(COM1) : 0x100;
    outb(COM1_MCR, 0x03);
    hio_check("loopback_byte_returns", v == 0x5c, v);
    outb(COM1_IIR, 0x07);
}

/* The device must still carry real traffic: echo input until ECHO_STOP. */
static void echo_until_stop(void)
{
    uint32_t n = 0;
    uint8_t c;

    com1_puts("HIO-ECHO-BEGIN\r\n");
    for (;;) {
        while (!(inb(COM1_LSR) & LSR_DR))
            ;
        c = inb(COM1);
        if (c == ECHO_STOP)
            break;
        com1_putc((char)c);
        n++;
    }
    com1_puts("HIO-ECHO-END n=");
    com1_putdec(n);
    com1_puts("\r\n");
}

void hostile_io_main(void)
{
    com1_init();
    com1_puts("\r\nHIO-BEGIN\r\n");
    check_sized_io();
    check_write_only_reads();
    check_string_io();
    check_loopback();
    com1_puts("HIO-CHECKS-DONE bad=");
    com1_putdec((uint32_t)bad_checks);
    com1_puts("\r\n");
    echo_until_stop();
}
