/*
 * vmet-ps: list a user VM's processes from outside the untrusted virtualized
 * system (V-Met's IDS, papers/001 sec. 4), reading the VM's kernel memory
 * through L0 only.
 *
 *   vmet-ps [OPTIONS] VMNAME     PID PPID UID COMMAND, one process per line
 *   vmet-ps [OPTIONS] -l         the VMs L0 knows: NAME KEY NVCPUS IDLE_MS TAG
 *   vmet-ps [OPTIONS] -i VMNAME  what V-Met sees of the VM, one KEY=VALUE per line
 *
 * Exit 0 on success, 1 on failure (the cause on stderr), 2 on bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmet_cli.h"

static void usage(void)
{
    fprintf(stderr, "usage: vmet-ps " VMET_CLI_USAGE " [-i] VMNAME\n"
            "       vmet-ps " VMET_CLI_USAGE " -l\n");
    exit(2);
}

static int list_vms(struct vmet_config *cfg)
{
    struct vmet_vm_summary vms[64];
    size_t n = 0;
    vmet_status_t st = vmet_list_vms(cfg, vms, 64, &n);

    if (st != VMET_OK && st != VMET_E_TRUNCATED) {
        fprintf(stderr, "vmet-ps: cannot list VMs at %s: %s\n", cfg->socket_path,
                vmet_strerror(st));
        return 1;
    }
    printf("%-12s %-20s %6s %10s %s\n", "NAME", "KEY", "NVCPUS", "IDLE_MS", "TAG");
    for (size_t i = 0; i < n && i < 64; i++) {
        printf("%-12s %#-20llx %6u %10llu %s\n", vms[i].name[0] ? vms[i].name : "-",
               (unsigned long long)vms[i].key, vms[i].nvcpus,
               (unsigned long long)(vms[i].idle_ns / 1000000), vms[i].tag[0] ? vms[i].tag : "-");
    }
    return 0;
}

static void print_info(vmet_t *h)
{
    struct vmet_vm_info in;

    vmet_vm_info(h, &in);
    printf("name=%s\nkey=%#llx\ngeneration=%llu\ncr3=%#llx\nlevels=%u\nnpt_levels=%u\n"
           "nvcpus=%u\nkaslr_slide=%#llx\nbanner=%s", in.name, (unsigned long long)in.key,
           (unsigned long long)in.generation, (unsigned long long)in.cr3, in.guest_levels,
           in.npt_levels, in.nvcpus, (unsigned long long)in.kaslr_slide, in.banner);
}

int main(int argc, char **argv)
{
    struct vmet_config cfg;
    struct vmet_process *procs;
    vmet_t *h;
    size_t n;
    int opt, list = 0, info = 0;
    vmet_status_t st;

    vmet_cli_defaults(&cfg);
    while ((opt = getopt(argc, argv, VMET_CLI_OPTS "li")) != -1) {
        if (opt == 'l') {
            list = 1;
        } else if (opt == 'i') {
            info = 1;
        } else if (vmet_cli_option(&cfg, opt, optarg) < 0) {
            usage();
        }
    }
    if (list) {
        return optind == argc ? list_vms(&cfg) : (usage(), 2);
    }
    if (optind != argc - 1) {
        usage();
    }
    cfg.vm_name = argv[optind];
    if (vmet_cli_open("vmet-ps", &cfg, &h) != VMET_OK) {
        return 1;
    }
    if (info) {
        print_info(h);
        vmet_destroy(h);
        return 0;
    }
    st = vmet_cli_processes(h, &procs, &n);
    if (st != VMET_OK) {
        fprintf(stderr, "vmet-ps: %s: cannot read the process list: %s\n", cfg.vm_name,
                vmet_strerror(st));
        vmet_destroy(h);
        return 1;
    }
    printf("%7s %7s %5s %s\n", "PID", "PPID", "UID", "COMMAND");
    for (size_t i = 0; i < n; i++) {
        printf("%7d %7d %5u %s\n", procs[i].pid, procs[i].ppid, procs[i].uid, procs[i].comm);
    }
    free(procs);
    vmet_destroy(h);
    return 0;
}
