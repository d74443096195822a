/*
 * libvmet: introspection of a user VM from outside the untrusted virtualized
 * system (V-Met, papers/001). The IDS runs in the provider's domain beside
 * L0: it reads L0's guest RAM (L1's physical memory) from a shared file and
 * the VM's page-table roots from L0's roots page (shared memory L0 hands
 * over its socket and keeps current), and translates twice (sec. 3.1,
 * fig. 3): L2 virtual -> L2 physical through the VM's own page tables,
 * each table itself read through L1's nested page tables, then L2 physical
 * -> L1 physical through the nested page tables, and L1 physical -> offset in
 * L0's memory file. Nothing comes from L1's hypervisor or QEMU.
 *
 * Conventions (as LibVMI's): every call is vmet_status_t vmet_x(handle,
 * inputs..., outputs*); VMET_OK is 0, every failure a distinct negative
 * code; outputs are written only on VMET_OK unless said otherwise; the
 * caller owns every buffer. A handle is used by one thread at a time.
 *
 * Memory backends (struct vmet_config.backend), chosen once at init:
 *   VMET_BACKEND_L0_NESTED     L0's socket and roots page + L0's RAM file,
 *                              two stages (the V-Met configuration)
 *   VMET_BACKEND_L0_NONNESTED  the same interface on an L0 whose own guest is
 *                              the user VM: one stage (the non-nested baseline)
 *   VMET_BACKEND_L1_QEMU       inside L1: the VM's RAM through L1's QEMU's
 *                              /proc/PID/mem, roots from its monitor (the
 *                              conventional in-L1 IDS baseline; trusts L1)
 *
 * Guest paging supported: x86-64 long mode, 4- and 5-level tables (CR4.LA57),
 * 4 KiB / 2 MiB / 1 GiB pages, in both stages. Everything read from the VM
 * or from L1's tables is untrusted: a call ends with an error code after at
 * most read_budget physical reads, whatever the tables or lists contain.
 */
#ifndef VMET_H
#define VMET_H

#include <stddef.h>
#include <stdint.h>

typedef enum vmet_status {
    VMET_OK = 0,
    VMET_E_INVAL = -1,           /* an argument is invalid (NULL, bad name, len 0) */
    VMET_E_NOMEM = -2,           /* out of host memory */
    VMET_E_IO = -3,              /* the backend's socket or file failed (cause in the init
                                    detail, or errno right after the call) */
    VMET_E_PROTO = -4,           /* L0 (or L1's monitor) answered something malformed */
    VMET_E_NO_VM = -5,           /* no user VM of that name (or it went away) */
    VMET_E_NO_ROOTS = -6,        /* the VM has not run yet: no CR3 recorded */
    VMET_E_UNSUPPORTED = -7,     /* a paging mode other than 4/5-level long mode */
    VMET_E_NOT_PRESENT = -8,     /* the VM's page tables do not map the address */
    VMET_E_NESTED_FAULT = -9,    /* L1's nested page tables do not map a VM-physical address */
    VMET_E_BAD_ENTRY = -10,      /* a page-table entry with a reserved bit set */
    VMET_E_OUT_OF_RANGE = -11,   /* a physical address outside the readable memory */
    VMET_E_BUDGET = -12,         /* the call used up its read budget (hostile or
                                    inconsistent structures) */
    VMET_E_LOOP = -13,           /* a kernel list revisits an element */
    VMET_E_CORRUPT = -14,        /* a kernel structure holds an impossible value */
    VMET_E_PROFILE = -15,        /* the profile file is missing or malformed */
    VMET_E_KERNEL_NOT_FOUND = -16, /* no kernel image where the profile puts one */
    VMET_E_KERNEL_MISMATCH = -17,  /* the running kernel is not the profile's (banner) */
    VMET_E_TRUNCATED = -18,      /* more results than the caller's buffer holds */
    VMET_E_NO_SYMBOL = -19,      /* the profile has no such symbol or offset */
} vmet_status_t;

typedef enum vmet_backend_kind {
    VMET_BACKEND_L0_NESTED = 0,
    VMET_BACKEND_L0_NONNESTED,
    VMET_BACKEND_L1_QEMU,
} vmet_backend_kind_t;

#define VMET_DEFAULT_SOCKET  "/run/nvsec/sock/vmet.sock"  /* scripts/stack start vmet */
#define VMET_DEFAULT_BUDGET  (1u << 22)
#define VMET_NAME_MAX        64
#define VMET_COMM_LEN        16
#define VMET_STAT_CPUS       64

struct vmet_config {
    vmet_backend_kind_t backend;
    /*
     * Which VM (L0 nested backend), tried in this order:
     *   "ncr3:0xHEX"  the VM whose nested CR3 is HEX;
     *   a VM tag      the VM that registered this tag (VMTAG_SET ultracall,
     *                 src/common/ultracall_abi.h);
     *   "vmN"         while no VM that ran in the last 10 s has a tag: the
     *                 (N+1)-th of those VMs in order of first VMRUN (the
     *                 stack starts vm0, vm1, ... in that order).
     * Other backends serve one VM and only require a non-empty name.
     */
    const char *vm_name;
    const char *socket_path;     /* L0 backends; NULL: VMET_DEFAULT_SOCKET */
    const char *profile_path;    /* kernel profile (scripts/build-vmet-profile) */
    const char *mem_path;        /* L0 backends: RAM file; NULL: the path L0 reports */
    int l1_qemu_pid;             /* L1 backend: pid of the VM's QEMU (its -m gives
                                    the RAM size, /proc/PID/maps where RAM is) */
    const char *l1_monitor;      /* L1 backend: its HMP monitor socket ("info
                                    registers" gives CR0, CR3, CR4, EFER) */
    uint64_t l1_cr3;             /* L1 backend without a monitor: the VM's CR3 ... */
    unsigned l1_levels;          /* ... and paging levels (4 or 5), given by the caller */
    uint32_t read_budget;        /* physical reads per call; 0: VMET_DEFAULT_BUDGET */
    int skip_kernel_check;       /* non-zero: no profile, no banner check (raw
                                    translation only: vmet_translate, vmet_read_*) */
};

/* How far vmet_init() got: the stage that failed. */
typedef enum vmet_init_stage {
    VMET_STAGE_CONFIG = 0,       /* checking struct vmet_config */
    VMET_STAGE_BACKEND,          /* connecting: socket, memory file, monitor */
    VMET_STAGE_VM,               /* finding the VM and its roots */
    VMET_STAGE_PROFILE,          /* loading the kernel profile */
    VMET_STAGE_KERNEL,           /* finding the kernel image, checking its banner */
    VMET_STAGE_DONE,
} vmet_init_stage_t;

struct vmet_init_error {
    vmet_init_stage_t stage;
    vmet_status_t status;
    char detail[256];            /* one line: the cause, e.g. a path and strerror */
};

typedef struct vmet vmet_t;

/*
 * Open the VM cfg names. On VMET_OK, *out is a handle for vmet_destroy().
 * On failure *out is NULL and, if err is not NULL, err says which stage
 * failed, with which status and why. Status: any of the codes above.
 */
vmet_status_t vmet_init(const struct vmet_config *cfg, vmet_t **out,
                        struct vmet_init_error *err);

/* Close the handle (NULL is ignored). */
void vmet_destroy(vmet_t *h);

/*
 * Fetch the VM's roots again. If its nested root, CR3 or generation changed,
 * every cached translation is dropped (the cache never outlives the roots it
 * was filled under). Returns VMET_OK, VMET_E_NO_VM if the VM is gone,
 * VMET_E_IO / VMET_E_PROTO on backend failures (VMET_E_IO with errno
 * EAGAIN: L0 kept rewriting the record). Tools call it once per snapshot
 * (e.g. per process listing); from L0 it is a read of shared memory, no
 * round trip.
 */
vmet_status_t vmet_refresh(vmet_t *h);

struct vmet_vm_info {
    char name[VMET_NAME_MAX];    /* as resolved: the tag, or the name asked for */
    uint64_t key;                /* nested CR3 (0: non-nested / in-L1) */
    uint64_t generation;         /* L0's generation of the VM */
    uint64_t cr3;                /* the VM's CR3 in use (kernel half shared by all) */
    unsigned guest_levels;       /* 4 or 5 */
    unsigned npt_levels;         /* 4 or 5; 0 for one-stage backends */
    unsigned nvcpus;
    int64_t kaslr_slide;         /* runtime minus link-time kernel address */
    char banner[256];            /* the running kernel's linux_banner ("" if not checked) */
};

/* What the handle is looking at. */
vmet_status_t vmet_vm_info(vmet_t *h, struct vmet_vm_info *out);

/* The three addresses of one byte of the VM's memory. */
struct vmet_paddr {
    uint64_t gpa;                /* VM-physical (L2 physical) */
    uint64_t hpa;                /* L1-physical (equal to gpa for one-stage backends) */
    uint64_t page_size;          /* bytes mapped contiguously from the page's start in
                                    both stages: 4 KiB, 2 MiB or 1 GiB */
};

/*
 * Translate a kernel virtual address (through the recorded CR3). Status:
 * VMET_E_INVAL (non-canonical va), VMET_E_NOT_PRESENT, VMET_E_NESTED_FAULT,
 * VMET_E_BAD_ENTRY, VMET_E_OUT_OF_RANGE, VMET_E_BUDGET, VMET_E_UNSUPPORTED.
 */
vmet_status_t vmet_translate_kv(vmet_t *h, uint64_t va, struct vmet_paddr *out);

/* The same through another root: pgd_gpa, a VM-physical page-table root. */
vmet_status_t vmet_translate_uv(vmet_t *h, uint64_t pgd_gpa, uint64_t va,
                                struct vmet_paddr *out);

/* Map a VM-physical address to L1-physical (nested backends; identity else). */
vmet_status_t vmet_translate_gpa(vmet_t *h, uint64_t gpa, uint64_t *hpa);

/*
 * Read len (1..16 MiB) bytes at a kernel virtual address / at a virtual
 * address under root pgd_gpa / at a VM-physical address. Statuses as for
 * translation; on failure buf may hold a prefix of the data.
 */
vmet_status_t vmet_read_kva(vmet_t *h, uint64_t va, void *buf, size_t len);
vmet_status_t vmet_read_uva(vmet_t *h, uint64_t pgd_gpa, uint64_t va, void *buf,
                            size_t len);
vmet_status_t vmet_read_gpa(vmet_t *h, uint64_t gpa, void *buf, size_t len);

/*
 * The running address of a kernel symbol (profile address + KASLR slide), or
 * a struct offset / constant from the profile ("task_struct.pid", "HZ").
 * Status: VMET_E_NO_SYMBOL, VMET_E_INVAL.
 */
vmet_status_t vmet_symbol(vmet_t *h, const char *name, uint64_t *va);
vmet_status_t vmet_offset(vmet_t *h, const char *name, uint64_t *value);

/* A process as /proc shows it (thread-group leaders, as the kernel's task list). */
struct vmet_process {
    int32_t pid, tgid, ppid, pgrp, sid;
    uint32_t uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
    char comm[VMET_COMM_LEN + 1];
    char state;                  /* R S D T t X Z P I, as fs/proc/array.c */
    uint32_t flags;              /* task_struct.flags (PF_KTHREAD = 0x00200000) */
    int32_t nice, prio;          /* prio as /proc/PID/stat shows it (prio - 100) */
    uint32_t policy;
    uint32_t nthreads;
    uint32_t tty_nr;             /* new_encode_dev() of the controlling tty, 0: none */
    int32_t tpgid;               /* the tty's foreground process group, -1: no tty */
    uint64_t utime_ns, stime_ns;
    uint64_t start_ns;           /* since boot (start_boottime) */
    uint64_t vsize;              /* bytes (mm->total_vm pages) */
    uint64_t rss_pages;          /* file + anon + shmem pages */
    uint64_t task_va;            /* where the task_struct is (kernel virtual) */
    uint64_t pgd_gpa;            /* its page-table root, VM-physical (0: kernel thread) */
    uint64_t arg_start, arg_end; /* argv area in its address space */
};

/*
 * Walk the kernel's task list from init_task (pid 0 is not listed, as in
 * /proc). Writes up to cap entries, sets *n to how many there are. Returns
 * VMET_OK, VMET_E_TRUNCATED (out holds the first cap; *n the count so far),
 * VMET_E_LOOP / VMET_E_CORRUPT / VMET_E_BUDGET for a list that cannot be
 * walked (hostile, or changed under us: call vmet_refresh() and retry), or a
 * translation status.
 */
vmet_status_t vmet_process_list(vmet_t *h, struct vmet_process *out, size_t cap,
                                size_t *n);

/*
 * A process's argv area (NUL-separated, as /proc/PID/cmdline), at most cap
 * bytes; *len = bytes written (0 for kernel threads). Pages of the area that
 * are not present end the copy early (not an error, as in procfs).
 */
vmet_status_t vmet_process_cmdline(vmet_t *h, const struct vmet_process *p,
                                   char *buf, size_t cap, size_t *len);

struct vmet_kernel_stats {
    uint64_t uptime_ns;          /* jiffies since boot */
    uint64_t mem_total_kb;       /* totalram_pages */
    uint64_t mem_free_kb;        /* NR_FREE_PAGES */
    uint64_t file_pages_kb;      /* NR_FILE_PAGES (page cache) */
    uint32_t ncpus;              /* nr_cpu_ids */
    uint64_t cpu_ns[10];         /* kernel_cpustat summed over CPUs: user nice system
                                    idle iowait irq softirq steal guest guest_nice */
    uint64_t cpu_ns_each[VMET_STAT_CPUS][10]; /* the same per CPU, first VMET_STAT_CPUS */
    uint32_t hz;
    char sysname[65], nodename[65], release[65], version[65], machine[65];
};

/* Global figures of the running kernel (for /proc/uptime, meminfo, stat). */
vmet_status_t vmet_kernel_stats(vmet_t *h, struct vmet_kernel_stats *out);

/*
 * Drop every cached translation now (benchmarks measuring cold walks; a
 * caller that knows the VM changed its tables). Returns VMET_OK.
 */
vmet_status_t vmet_drop_cache(vmet_t *h);

/* Counters, for benchmarks and tests. */
struct vmet_counters {
    uint64_t phys_reads;         /* reads from the backend's memory */
    uint64_t cache_hits, cache_misses;
    uint64_t cache_flushes;
    uint64_t refreshes;
};
vmet_status_t vmet_get_counters(vmet_t *h, struct vmet_counters *out);

/* One VM as the backend lists it. */
struct vmet_vm_summary {
    uint64_t key;
    uint64_t seq;
    uint64_t idle_ns;
    unsigned nvcpus;
    int nested;
    char tag[VMET_NAME_MAX];     /* "" if untagged */
    char name[VMET_NAME_MAX];    /* the name vmet_init() resolves to it ("" if none) */
};

/*
 * The VMs the backend of cfg knows (vm_name and profile_path unused). Writes
 * up to cap, *n = count. Status: VMET_E_IO, VMET_E_PROTO, VMET_E_TRUNCATED.
 */
vmet_status_t vmet_list_vms(const struct vmet_config *cfg, struct vmet_vm_summary *out,
                            size_t cap, size_t *n);

/* A one-line description of a status ("not present in the VM's page tables"). */
const char *vmet_strerror(vmet_status_t s);
/* The name of an init stage ("backend"). */
const char *vmet_stage_name(vmet_init_stage_t stage);

#endif
