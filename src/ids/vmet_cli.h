/*
 * What the V-Met tools share: their common options and opening the VM with
 * a one-line report of the init stage that failed.
 *
 *   -s SOCKET   L0's vmet socket (default $VMET_SOCKET or VMET_DEFAULT_SOCKET)
 *   -p PROFILE  kernel profile (default $VMET_PROFILE or the build's)
 *   -m FILE     L0's RAM file (default: the path L0 reports)
 *   -n          the non-nested backend (the VM is L0's own guest)
 *   -P PID      the in-L1 baseline backend: the VM's QEMU, inside L1 ...
 *   -M MONITOR  ... with its HMP monitor socket for the registers,
 *   -R CR3:LEVELS  ... or without one, CR3 and paging levels (4, 5) given
 */
#ifndef VMET_CLI_H
#define VMET_CLI_H

#include "vmet.h"

#define VMET_CLI_OPTS "s:p:m:nP:M:R:"
#define VMET_CLI_USAGE "[-s SOCKET] [-p PROFILE] [-m RAMFILE] [-n | -P PID [-M MON | -R CR3:LEVELS]]"

/* Defaults from the environment and the build. */
void vmet_cli_defaults(struct vmet_config *cfg);

/* Apply one of VMET_CLI_OPTS; returns 0, or -1 if opt is not one of them. */
int vmet_cli_option(struct vmet_config *cfg, int opt, const char *arg);

/* vmet_init() with the cause on stderr ("PROG: VM: stage: status: detail"). */
vmet_status_t vmet_cli_open(const char *prog, struct vmet_config *cfg, vmet_t **h);

/*
 * The process list of a running VM, read consistently: the VM runs while we
 * read, so a list that changed under us (a task exiting mid-walk) is read
 * again after a refresh, up to 5 times. *out is malloc'ed.
 */
vmet_status_t vmet_cli_processes(vmet_t *h, struct vmet_process **out, size_t *n);

#endif
