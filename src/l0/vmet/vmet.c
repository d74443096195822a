/*
 * V-Met in L0: capture of each user VM's page-table roots (papers/001 sec.
 * 3.2-3.3) and the endpoint that serves them, with L0's guest-RAM layout, to
 * the IDS in the provider's domain ("-object vmet,id=vmet0,socket=PATH").
 *
 * What L0 records and where it comes from (never from L1's hypervisor or
 * QEMU, which may lie):
 *   - the nested CR3 (root of the NPT L1 built for the VM) and the VMCB
 *     address, from the VMCB the CPU consumes at VMRUN (env->nested_cr3,
 *     env->vm_vmcb): the values the hardware uses, not what L1 says it uses;
 *   - the VM's CR3 at VMRUN, at each MOV CR3 it executes (with nested paging
 *     L1 does not intercept them, so only L0 sees them) and at #VMEXIT;
 *   - CR3 of L0's own guest outside guest mode (the non-nested baseline).
 * The paper saves the VMCS address at exits and reads the EPT pointer from
 * it on demand; here the root is taken at VMRUN, where it is consumed, so a
 * later write by L1 into the VMCB page cannot change what the IDS is told.
 *
 * A new VM instance at a known root is recognised as VSBypass does (the
 * VMRUN of a vCPU in the architectural reset state, AMD APM vol. 2 14.1.3):
 * its vCPUs are forgotten and its generation moves, so the IDS drops every
 * cached translation of the previous instance.
 *
 * Threads: hooks run on vCPU threads under v->lock only (never the BQL) and
 * publish each change to the roots page (src/common/vmet_roots.h), which
 * clients read with no lock and no round trip; the socket is served from
 * the main loop (BQL held), which takes v->lock just to copy records out.
 * Clients are the provider's root processes, but a hostile or broken one
 * only ever gets an error reply and a closed socket.
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/error-report.h"
#include "qemu/int128.h"
#include "qemu/main-loop.h"
#include "qemu/memfd.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/qapi-types-sockets.h"
#include "qom/object_interfaces.h"
#include "io/channel-socket.h"
#include "io/net-listener.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/boards.h"
#include "sysemu/hostmem.h"
#include "sysemu/sysemu.h"
#include "cpu.h"

#include "core/nvsec_log.h"
#include "ultracall_abi.h"
#include "vmet_proto.h"
#include "vmet_roots.h"
#include "vmet/vmet_hooks.h"
#include "vmet/vmet_table.h"

#define TYPE_VMET "vmet"
OBJECT_DECLARE_SIMPLE_TYPE(VmetState, VMET)

/* Concurrent IDS connections (each costs a watch); beyond, the idlest goes. */
#define VMET_MAX_CLIENTS 16
/* The reset vector as VM creation leaves it (AMD APM vol. 2, 14.1.3). */
#define VMET_RESET_CS_SELECTOR 0xf000
#define VMET_RESET_CS_BASE     0xffff0000
#define VMET_RESET_RIP         0xfff0

typedef struct VmetClient VmetClient;

struct VmetState {
    Object parent_obj;

    /* properties */
    char *socket_path;
    bool unlink_mem;

    QemuMutex lock;              /* guards table */
    struct vmet_table table;
    struct vmet_roots_page *roots;  /* the table as published (vmet_roots.h) */
    int roots_fd;                /* its memfd, handed to clients */
    size_t roots_size;           /* its mapped size: the page rounded up to host pages */

    QIONetListener *listener;
    VmetClient *clients[VMET_MAX_CLIENTS];
    char *mem_path;              /* the RAM file, once the machine exists */
    Notifier machine_done;
    Notifier exit;
};

struct VmetClient {
    VmetState *v;
    QIOChannelSocket *sioc;
    guint watch;
    int64_t last_ns;             /* last byte received (or accepted) */
    size_t have;
    uint8_t req[VMET_REQ_SIZE];
    struct vmet_reply reply;
    uint8_t out[VMET_REPLY_MAX];
};

/* The one configured instance; NULL (hooks do nothing) without -object vmet. */
static VmetState *vmet_global;

/* --- capture hooks (vCPU threads) ----------------------------------------- */

static bool vmet_nested(CPUX86State *env)
{
    return (env->hflags & HF_GUEST_MASK) && (env->hflags2 & HF2_NPT_MASK);
}

static struct vmet_regs vmet_regs_of(CPUX86State *env)
{
    return (struct vmet_regs){
        .cr0 = env->cr[0], .cr3 = env->cr[3], .cr4 = env->cr[4], .efer = env->efer,
    };
}

/*
 * The NPT format follows the host's paging mode at VMRUN (AMD APM vol. 2,
 * 15.25.4), which QEMU keeps in nested_pg_mode. Only long-mode formats are
 * served: 0 tells the IDS it cannot walk this one.
 */
static uint32_t vmet_npt_levels(CPUX86State *env)
{
    if (!(env->nested_pg_mode & PG_MODE_LMA)) {
        return 0;
    }
    return env->nested_pg_mode & PG_MODE_LA57 ? 5 : 4;
}

static bool vmet_is_reset_state(CPUX86State *env)
{
    return !(env->cr[0] & CR0_PE_MASK) &&
           env->segs[R_CS].selector == VMET_RESET_CS_SELECTOR &&
           env->segs[R_CS].base == VMET_RESET_CS_BASE &&
           env->eip == VMET_RESET_RIP;
}

static void vmet_log_event(enum vmet_vmrun_event ev, uint64_t key, uint64_t vmcb)
{
    static const char *const what[] = {
        [VMET_EV_NEW] = "new user VM",
        [VMET_EV_RESET] = "new instance of the user VM",
        [VMET_EV_MOVED] = "nested root moved for the user VM",
        [VMET_EV_EVICTED] = "new user VM (table full: the least recently run VM "
                            "was forgotten)",
    };

    if (ev != VMET_EV_NONE) {
        nvsec_log("vmet", "%s at ncr3 %#" PRIx64 " (vmcb %#" PRIx64 ")",
                  what[ev], key, vmcb);
    }
}

void vmet_vmrun(CPUX86State *env)
{
    VmetState *v = qatomic_read(&vmet_global);
    struct vmet_regs regs;
    enum vmet_vmrun_event ev;

    if (!v || !vmet_nested(env)) {
        return;
    }
    regs = vmet_regs_of(env);
    qemu_mutex_lock(&v->lock);
    ev = vmet_table_vmrun(&v->table, env->nested_cr3, env->vm_vmcb, &regs,
                          vmet_npt_levels(env), env_cpu(env)->cpu_index,
                          vmet_is_reset_state(env), get_clock());
    qemu_mutex_unlock(&v->lock);
    vmet_log_event(ev, env->nested_cr3, env->vm_vmcb);
}

static void vmet_capture(VmetState *v, CPUX86State *env, bool in_guest)
{
    struct vmet_regs regs = vmet_regs_of(env);

    qemu_mutex_lock(&v->lock);
    vmet_table_capture(&v->table, env->nested_cr3, env->vm_vmcb, &regs,
                       env_cpu(env)->cpu_index, in_guest, get_clock());
    qemu_mutex_unlock(&v->lock);
}

void vmet_vmexit(CPUX86State *env)
{
    VmetState *v = qatomic_read(&vmet_global);

    if (v && vmet_nested(env)) {
        vmet_capture(v, env, false);
    }
}

void vmet_cr3_write(CPUX86State *env)
{
    VmetState *v = qatomic_read(&vmet_global);
    struct vmet_regs regs;

    if (!v) {
        return;
    }
    if (vmet_nested(env)) {
        vmet_capture(v, env, true);
        return;
    }
    if (env->hflags & HF_GUEST_MASK) {
        return; /* a user VM without nested paging: no key to file it under */
    }
    regs = vmet_regs_of(env);
    qemu_mutex_lock(&v->lock);
    vmet_table_capture_nonnested(&v->table, &regs, env_cpu(env)->cpu_index,
                                 get_clock());
    qemu_mutex_unlock(&v->lock);
}

void vmet_ultracall(CPUX86State *env, uint64_t rax_in)
{
    VmetState *v = qatomic_read(&vmet_global);
    uint64_t regs[3];
    char tag[ULTRACALL_VMTAG_SIZE];
    int rc;

    if (!v || !vmet_nested(env) ||
        rax_in != ultracall_rax(ULTRACALL_OP_VMTAG_SET) || env->regs[R_EAX] != 0) {
        return;
    }
    /* The ABI leaves RBX, RCX, RDX as the caller set them: the tag. */
    regs[0] = env->regs[R_EBX];
    regs[1] = env->regs[R_ECX];
    regs[2] = env->regs[R_EDX];
    ultracall_vmtag_unpack(regs, tag);
    qemu_mutex_lock(&v->lock);
    rc = vmet_table_set_tag(&v->table, env->nested_cr3, tag);
    qemu_mutex_unlock(&v->lock);
    if (rc < 0) {
        nvsec_log("vmet", "tag of user VM ncr3 %#" PRIx64 " not recorded: %s",
                  env->nested_cr3, strerror(-rc));
    }
}

/* --- L0's RAM as the IDS sees it (main loop, BQL held) -------------------- */

typedef struct VmetRangeCtx {
    const MemoryRegion *ram;
    struct vmet_info *info;
} VmetRangeCtx;

/*
 * One range of the flat view of L0's guest-physical space: if it shows the
 * RAM backend, note where (merged with the previous one when contiguous in
 * both spaces, so the PC's low-memory PAM slices collapse into one range).
 */
static bool vmet_range_cb(Int128 start, Int128 len, const MemoryRegion *mr,
                          hwaddr offset_in_region, void *opaque)
{
    VmetRangeCtx *ctx = opaque;
    struct vmet_info *in = ctx->info;
    uint64_t gpa = int128_get64(start), size = int128_get64(len);
    struct vmet_range *last = in->nranges ? &in->ranges[in->nranges - 1] : NULL;

    if (mr != ctx->ram) {
        return false;
    }
    if (last && last->gpa + last->size == gpa &&
        last->file_offset + last->size == offset_in_region) {
        last->size += size;
        return false;
    }
    if (in->nranges == VMET_MAX_RANGES) {
        nvsec_log("vmet", "more than %u RAM ranges: the rest is not served",
                  VMET_MAX_RANGES);
        return true;
    }
    in->ranges[in->nranges++] = (struct vmet_range){
        .gpa = gpa, .size = size, .file_offset = offset_in_region,
    };
    return false;
}

static void vmet_fill_info(VmetState *v, struct vmet_info *in)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    VmetRangeCtx ctx = { .ram = ms->ram, .info = in };

    memset(in, 0, sizeof(*in));
    in->ram_size = ms->ram_size;
    if (v->mem_path && strlen(v->mem_path) < VMET_PATH_SIZE) {
        strcpy(in->mem_path, v->mem_path);
    }
    if (ms->ram) {
        /* Recomputed per request: PAM and SMRAM remap low memory at run time. */
        RCU_READ_LOCK_GUARD();
        flatview_for_each_range(address_space_to_flatview(&address_space_memory),
                                vmet_range_cb, &ctx);
    }
}

/* Once the machine exists: which file holds L0's guest RAM, if any. */
static void vmet_machine_done(Notifier *n, void *data)
{
    VmetState *v = container_of(n, VmetState, machine_done);
    MachineState *ms = MACHINE(qdev_get_machine());
    Object *owner = ms->ram ? memory_region_owner(ms->ram) : NULL;

    if (!owner || !object_dynamic_cast(owner, TYPE_MEMORY_BACKEND_FILE) ||
        !object_property_get_bool(owner, "share", NULL)) {
        warn_report("vmet: L0's RAM is not a memory-backend-file with share=on "
                    "(-machine memory-backend=ID): roots are served, guest "
                    "memory is not readable from outside");
        return;
    }
    v->mem_path = object_property_get_str(owner, "mem-path", NULL);
}

/* The RAM file holds L1's memory: it must not outlive L0 (unlink-mem=on). */
static void vmet_exit(Notifier *n, void *data)
{
    VmetState *v = container_of(n, VmetState, exit);

    if (v->unlink_mem && v->mem_path && unlink(v->mem_path) < 0 && errno != ENOENT) {
        error_report("vmet: cannot remove %s: %s", v->mem_path, strerror(errno));
    }
}

/* --- the socket (main loop, BQL held) -------------------------------------- */

static void vmet_client_close(VmetClient *c)
{
    VmetState *v = c->v;

    for (int i = 0; i < VMET_MAX_CLIENTS; i++) {
        if (v->clients[i] == c) {
            v->clients[i] = NULL;
        }
    }
    if (c->watch) {
        g_source_remove(c->watch);
    }
    qio_channel_close(QIO_CHANNEL(c->sioc), NULL);
    object_unref(OBJECT(c->sioc));
    g_free(c);
}

/* Fill c->reply for a decoded request. */
static void vmet_answer(VmetState *v, const struct vmet_req *req, struct vmet_reply *r)
{
    int64_t now = get_clock();
    int n;

    memset(r, 0, sizeof(*r));
    r->op = req->op;
    switch (req->op) {
    case VMET_OP_INFO:
        vmet_fill_info(v, &r->u.info);
        r->count = 1;
        break;
    case VMET_OP_LIST_VMS:
        qemu_mutex_lock(&v->lock);
        r->count = vmet_table_list(&v->table, now, r->u.vms, VMET_MAX_VMS);
        qemu_mutex_unlock(&v->lock);
        break;
    case VMET_OP_GET_VM:
        qemu_mutex_lock(&v->lock);
        n = vmet_table_get(&v->table, req->key, now, &r->u.one.vm,
                           r->u.one.vcpus, VMET_MAX_VCPUS);
        qemu_mutex_unlock(&v->lock);
        if (n < 0) {
            r->status = n;
        } else {
            r->count = (uint32_t)n;
        }
        break;
    case VMET_OP_ROOTS:
        /* The descriptor goes with the reply (vmet_serve). */
        break;
    }
}

/* Send the whole reply now or drop the client: the main loop never waits. */
static bool vmet_send(VmetClient *c, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = qio_channel_write(QIO_CHANNEL(c->sioc), (const char *)buf,
                                      len, NULL);
        if (n <= 0) {
            nvsec_log("vmet", "client does not take its reply: dropped");
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/*
 * The reply to VMET_OP_ROOTS with the roots page's descriptor on its first
 * byte; the rest as any reply.
 */
static bool vmet_send_roots(VmetClient *c, const uint8_t *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    ssize_t n = qio_channel_writev_full(QIO_CHANNEL(c->sioc), &iov, 1, &c->v->roots_fd, 1,
                                        0, NULL);

    if (n <= 0) {
        nvsec_log("vmet", "client does not take the roots page: dropped");
        return false;
    }
    return vmet_send(c, buf + n, len - (size_t)n);
}

/* One complete request in c->req: answer it. False: close the client. */
static bool vmet_serve(VmetClient *c)
{
    struct vmet_req req;
    int rc, len;

    rc = vmet_req_decode(c->req, sizeof(c->req), &req);
    if (rc < 0) {
        nvsec_log("vmet", "bad request from a client: %s", strerror(-rc));
        memset(&c->reply, 0, sizeof(c->reply));
        c->reply.status = rc;
    } else {
        vmet_answer(c->v, &req, &c->reply);
    }
    len = vmet_reply_encode(&c->reply, c->out, sizeof(c->out));
    if (len < 0) {
        nvsec_log("vmet", "cannot encode a reply: %s", strerror(-len));
        return false;
    }
    if (rc == 0 && req.op == VMET_OP_ROOTS) {
        return vmet_send_roots(c, c->out, (size_t)len);
    }
    return vmet_send(c, c->out, (size_t)len) && rc == 0;
}

static gboolean vmet_client_readable(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    VmetClient *c = opaque;
    ssize_t n;

    n = qio_channel_read(ioc, (char *)c->req + c->have, sizeof(c->req) - c->have, NULL);
    if (n == QIO_CHANNEL_ERR_BLOCK) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        goto close;
    }
    c->last_ns = get_clock();
    c->have += (size_t)n;
    if (c->have < sizeof(c->req)) {
        return G_SOURCE_CONTINUE;
    }
    c->have = 0;
    if (vmet_serve(c)) {
        return G_SOURCE_CONTINUE;
    }
close:
    c->watch = 0; /* returning G_SOURCE_REMOVE removes it */
    vmet_client_close(c);
    return G_SOURCE_REMOVE;
}

/*
 * A free client slot. When all are taken, the client that has been quiet the
 * longest gives way: connections left open (or half a request sent) cannot
 * lock the IDS out.
 */
static int vmet_client_slot(VmetState *v)
{
    int slot, oldest = 0;

    for (slot = 0; slot < VMET_MAX_CLIENTS; slot++) {
        if (!v->clients[slot]) {
            return slot;
        }
        if (v->clients[slot]->last_ns < v->clients[oldest]->last_ns) {
            oldest = slot;
        }
    }
    nvsec_log("vmet", "%d clients connected: dropping the longest idle one",
              VMET_MAX_CLIENTS);
    vmet_client_close(v->clients[oldest]);
    return oldest;
}

static void vmet_accept(QIONetListener *listener, QIOChannelSocket *sioc, gpointer opaque)
{
    VmetState *v = opaque;
    int slot = vmet_client_slot(v);
    VmetClient *c;

    c = g_new0(VmetClient, 1);
    c->last_ns = get_clock();
    c->v = v;
    c->sioc = sioc;
    object_ref(OBJECT(sioc));
    qio_channel_set_blocking(QIO_CHANNEL(sioc), false, NULL);
    c->watch = qio_channel_add_watch(QIO_CHANNEL(sioc), G_IO_IN | G_IO_HUP | G_IO_ERR,
                                     vmet_client_readable, c, NULL);
    v->clients[slot] = c;
}

static int vmet_listen(VmetState *v, Error **errp)
{
    SocketAddress addr = {
        .type = SOCKET_ADDRESS_TYPE_UNIX,
        .u.q_unix.path = v->socket_path,
    };

    v->listener = qio_net_listener_new();
    qio_net_listener_set_name(v->listener, "vmet-listener");
    if (qio_net_listener_open_sync(v->listener, &addr, 4, errp) < 0) {
        object_unref(OBJECT(v->listener));
        v->listener = NULL;
        return -1;
    }
    /* Roots and guest memory are the provider's: root only. */
    if (chmod(v->socket_path, 0600) < 0) {
        error_setg_errno(errp, errno, "vmet: chmod %s", v->socket_path);
        qio_net_listener_disconnect(v->listener);
        object_unref(OBJECT(v->listener));
        v->listener = NULL;
        return -1;
    }
    qio_net_listener_set_client_func(v->listener, vmet_accept, v, NULL);
    return 0;
}

/*
 * The roots page: a memfd L0 writes through its own mapping and clients may
 * only map read-only (F_SEAL_FUTURE_WRITE once L0's writable mapping
 * exists), of a size nobody can change under a reader.
 */
static int vmet_roots_create(VmetState *v, Error **errp)
{
    size_t size = ROUND_UP(sizeof(*v->roots), qemu_real_host_page_size());
    int fd = qemu_memfd_create("nvsec-vmet-roots", size, false, 0,
                               F_SEAL_SHRINK | F_SEAL_GROW, errp);
    void *p;

    if (fd < 0) {
        return -1;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        error_setg_errno(errp, errno, "vmet: cannot map the roots page");
        close(fd);
        return -1;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
        error_setg_errno(errp, errno, "vmet: cannot seal the roots page read-only");
        munmap(p, size);
        close(fd);
        return -1;
    }
    v->roots = p;
    v->roots_fd = fd;
    v->roots_size = size;
    vmet_table_publish_to(&v->table, v->roots);
    return 0;
}

/* --- the QOM object -------------------------------------------------------- */

static void vmet_complete(UserCreatable *uc, Error **errp)
{
    VmetState *v = VMET(uc);

    if (vmet_global) {
        error_setg(errp, "vmet: only one vmet object may exist");
        return;
    }
    /* sockaddr_un.sun_path holds 108 bytes with the NUL. */
    if (!v->socket_path || v->socket_path[0] != '/' || strlen(v->socket_path) > 107) {
        error_setg(errp, "vmet: socket must be an absolute path of at most 107 characters");
        return;
    }
    vmet_table_init(&v->table);
    if (vmet_roots_create(v, errp) < 0) {
        return;
    }
    qemu_mutex_init(&v->lock);
    if (vmet_listen(v, errp) < 0) {
        qemu_mutex_destroy(&v->lock);
        munmap(v->roots, v->roots_size);
        close(v->roots_fd);
        v->roots = NULL;
        return;
    }
    v->machine_done.notify = vmet_machine_done;
    qemu_add_machine_init_done_notifier(&v->machine_done);
    v->exit.notify = vmet_exit;
    qemu_add_exit_notifier(&v->exit);
    qatomic_set(&vmet_global, v);
}

static bool vmet_can_be_deleted(UserCreatable *uc)
{
    /* Hooks hold no reference; the object lives as long as L0. */
    return false;
}

static char *vmet_get_socket(Object *obj, Error **errp)
{
    return g_strdup(VMET(obj)->socket_path);
}

static void vmet_set_socket(Object *obj, const char *value, Error **errp)
{
    VmetState *v = VMET(obj);

    if (qatomic_read(&vmet_global) == v) {
        error_setg(errp, "vmet: properties are fixed once created");
        return;
    }
    g_free(v->socket_path);
    v->socket_path = g_strdup(value);
}

static bool vmet_get_unlink_mem(Object *obj, Error **errp)
{
    return VMET(obj)->unlink_mem;
}

static void vmet_set_unlink_mem(Object *obj, bool value, Error **errp)
{
    VMET(obj)->unlink_mem = value;
}

static void vmet_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = vmet_complete;
    ucc->can_be_deleted = vmet_can_be_deleted;
    object_class_property_add_str(oc, "socket", vmet_get_socket, vmet_set_socket);
    object_class_property_set_description(oc, "socket",
        "unix socket serving the recorded roots (src/common/vmet_proto.h)");
    object_class_property_add_bool(oc, "unlink-mem", vmet_get_unlink_mem,
                                   vmet_set_unlink_mem);
    object_class_property_set_description(oc, "unlink-mem",
        "remove the RAM backend's file when L0 exits (default off)");
}

static const TypeInfo vmet_type = {
    .name = TYPE_VMET,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VmetState),
    .class_init = vmet_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void vmet_register_types(void)
{
    type_register_static(&vmet_type);
}

type_init(vmet_register_types)
