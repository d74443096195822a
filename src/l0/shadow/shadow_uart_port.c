/* COM1 port/size decode for forced passthrough (shadow_uart_port.h). */
#include <errno.h>

#include "shadow_uart_port.h"

static bool size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4;
}

static bool in_com1(uint32_t port)
{
    return port - SHADOW_UART_COM1_BASE < SHADOW_UART_NREGS;
}

bool shadow_uart_port_claims(uint32_t port, unsigned size)
{
    if (!size_ok(size) || port > 0xffff) {
        return false;
    }
    for (unsigned i = 0; i < size; i++) {
        if (in_com1(port + i)) {
            return true;
        }
    }
    return false;
}

int shadow_uart_port_split(uint32_t port, unsigned size,
                           int regs[SHADOW_UART_MAX_ACCESS])
{
    if (!size_ok(size) || port > 0xffff) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < SHADOW_UART_MAX_ACCESS; i++) {
        regs[i] = (i < size && in_com1(port + i)) ?
                  (int)(port + i - SHADOW_UART_COM1_BASE) : -1;
    }
    return 0;
}

int shadow_uart_ioio_size(uint32_t ioio_info)
{
    switch ((ioio_info >> 4) & 7) {
    case 1:
        return 1;
    case 2:
        return 2;
    case 4:
        return 4;
    default:
        return -EINVAL;
    }
}
