/* Whole-buffer reads and writes on a blocking descriptor, EINTR retried. */
#ifndef NVSEC_L1_FDIO_H
#define NVSEC_L1_FDIO_H

#include <stddef.h>

/* 0 once all n bytes moved; -1 on an error or end of file (errno 0 then). */
int fd_write_all(int fd, const void *p, size_t n);
int fd_read_all(int fd, void *p, size_t n);

#endif
