/*
 * Ultracalls from a process in L1 (USShadow's migration manager and its
 * tools): VMMCALL with the magic in RAX, answered by L0 before L1's own
 * hypervisor could see it (src/common/ultracall_abi.h). Buffers are
 * mmap()ed and mlock()ed so every page is present when L0 walks the
 * process's page tables.
 */
#ifndef NVSEC_UC_L1_H
#define NVSEC_UC_L1_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/ultracall_abi.h"

/* A VMMCALL faulted (no ultracall-capable L0, or SVM off in L1): this value. */
#define UC_L1_NO_L0 (-100000)

/*
 * Issue op with a0 = va, a1 = size (RBX, RCX). Returns RAX as L0 set it
 * (>= 0, or -errno), or UC_L1_NO_L0 if VMMCALL raised #UD or #GP.
 */
int64_t uc_l1_call(unsigned op, uint64_t va, uint64_t size);

/* The raw register form, for tests of bad arguments. */
int64_t uc_l1_call_raw(uint64_t rax, uint64_t rbx, uint64_t rcx);

/* size bytes (rounded up to pages), zeroed, mapped and locked; NULL + errno. */
void *uc_l1_buf_alloc(size_t size);
void uc_l1_buf_free(void *p, size_t size);

/* "EFAULT", "EBADMSG", ... for an ultracall's negative result. */
const char *uc_l1_errname(int64_t rc);

#endif
