/* Shared tool code (vmet_cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmet_cli.h"

#ifndef VMET_DEFAULT_PROFILE
#define VMET_DEFAULT_PROFILE "/var/cache/nvsec/vmet/profile/current"
#endif
#define LIST_TRIES 5

void vmet_cli_defaults(struct vmet_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->backend = VMET_BACKEND_L0_NESTED;
    cfg->socket_path = getenv("VMET_SOCKET") ? getenv("VMET_SOCKET") : VMET_DEFAULT_SOCKET;
    cfg->profile_path = getenv("VMET_PROFILE") ? getenv("VMET_PROFILE") : VMET_DEFAULT_PROFILE;
}

int vmet_cli_option(struct vmet_config *cfg, int opt, const char *arg)
{
    switch (opt) {
    case 's': cfg->socket_path = arg; return 0;
    case 'p': cfg->profile_path = arg; return 0;
    case 'm': cfg->mem_path = arg; return 0;
    case 'n': cfg->backend = VMET_BACKEND_L0_NONNESTED; return 0;
    case 'P':
        cfg->backend = VMET_BACKEND_L1_QEMU;
        cfg->l1_qemu_pid = atoi(arg);
        return 0;
    case 'M': cfg->l1_monitor = arg; return 0;
    case 'R': {
        char *end;

        cfg->l1_cr3 = strtoull(arg, &end, 0);
        cfg->l1_levels = *end == ':' ? (unsigned)atoi(end + 1) : 0;
        return 0;
    }
    default: return -1;
    }
}

vmet_status_t vmet_cli_open(const char *prog, struct vmet_config *cfg, vmet_t **h)
{
    struct vmet_init_error err;
    vmet_status_t st = vmet_init(cfg, h, &err);

    if (st != VMET_OK) {
        fprintf(stderr, "%s: %s: %s stage: %s: %s\n", prog, cfg->vm_name ? cfg->vm_name : "?",
                vmet_stage_name(err.stage), vmet_strerror(st), err.detail);
    }
    return st;
}

vmet_status_t vmet_cli_processes(vmet_t *h, struct vmet_process **out, size_t *n)
{
    size_t cap = 256;
    vmet_status_t st = VMET_E_INVAL;

    *out = NULL;
    for (int tries = 0; tries < LIST_TRIES; tries++) {
        struct vmet_process *p = realloc(*out, cap * sizeof(*p));

        if (!p) {
            return VMET_E_NOMEM;
        }
        *out = p;
        st = vmet_refresh(h);
        if (st == VMET_OK) {
            st = vmet_process_list(h, *out, cap, n);
        }
        if (st == VMET_E_TRUNCATED) {
            cap = *n + 64;
            continue;
        }
        /* Statuses a list changing under the walk can cause: read again. */
        if (st != VMET_E_LOOP && st != VMET_E_CORRUPT && st != VMET_E_NOT_PRESENT &&
            st != VMET_E_NESTED_FAULT && st != VMET_E_BUDGET) {
            break;
        }
    }
    if (st != VMET_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}
