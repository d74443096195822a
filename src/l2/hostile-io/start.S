/* Multiboot (v1) entry: QEMU's -kernel loads us at 1 MiB in 32-bit protected
 * mode, paging off, at CPL0: the most privileged code an L2 can run. */
    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002
    .long 0
    .long -(0x1BADB002)

    .text
    .globl _start
_start:
    mov $stack_top, %esp
    call hostile_io_main
1:  cli
    hlt
    jmp 1b

    .bss
    .align 16
    .space 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
