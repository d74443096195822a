#include "fdio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int fd_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n) {
        ssize_t w = write(fd, b, n);

        if (w <= 0) {
            if (w < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int fd_read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;

    while (n) {
        ssize_t r = read(fd, b, n);

        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r == 0) {
                errno = 0;
            }
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}
