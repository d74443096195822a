/*
 * The L0 backends: roots from L0's roots page (src/common/vmet_roots.h),
 * which L0 hands over its vmet socket (src/common/vmet_proto.h) and keeps
 * current itself, so a refresh costs no round trip; the VM list and L0's
 * RAM layout from the socket; memory from L0's guest-RAM file mapped
 * read-only. The nested backend reads
 * L1's physical memory and walks L1's nested tables; the non-nested one
 * serves L0's own guest (key 0), whose physical memory is the file itself.
 */
#define _GNU_SOURCE /* O_CLOEXEC, MSG_NOSIGNAL, SOCK_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmet_backend.h"
#include "vmet_layout.h"
#include "vmet_roots.h"

/* L0 answers from its main loop: a slow answer means L0 is stuck. */
#define L0_TIMEOUT_S 5
/* What L0 seals its roots page with (src/l0/vmet/vmet.c). */
#define ROOTS_SEALS (F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

struct l0_state {
    int fd;                       /* the socket */
    int nested;
    const uint8_t *mem;           /* the RAM file, mapped */
    uint64_t mem_size;
    const struct vmet_roots_page *roots;   /* L0's roots page, mapped */
    unsigned roots_hint;          /* the slot the VM was last found in */
    struct vmet_info info;
    struct vmet_reply reply;      /* scratch, too big for the stack */
    uint8_t buf[VMET_REPLY_MAX];
};

static vmet_status_t io_all(int fd, void *buf, size_t len, int writing)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = ECONNRESET;
            }
            return VMET_E_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return VMET_OK;
}

/* The descriptor on the reply's first bytes (SCM_RIGHTS), or -1. */
static int recv_header_and_fd(int sock, uint8_t *buf, size_t len)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                          .msg_controllen = sizeof(ctl.buf) };
    struct cmsghdr *cm;
    ssize_t got;
    int fd = -1;

    do {
        got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
        return -2;
    }
    for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(sizeof(int))) {
            memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
        }
    }
    if ((size_t)got < len && io_all(sock, buf + got, len - (size_t)got, 0) != VMET_OK) {
        if (fd >= 0) {
            close(fd);
        }
        return -2;
    }
    return fd;
}

/*
 * One request, one reply into s->reply. With fd_out set, the reply's header
 * may carry a descriptor (SCM_RIGHTS): *fd_out gets it, or -1; it is closed
 * here if the reply turns out malformed. A negative status in the reply is
 * returned as is in *status.
 */
static vmet_status_t l0_call(struct l0_state *s, uint16_t op, uint64_t key, int *status,
                             int *fd_out)
{
    struct vmet_req req = { .op = op, .key = key };
    uint8_t out[VMET_REQ_SIZE];
    int frame, fd = -1;
    vmet_status_t st;

    if (vmet_req_encode(&req, out, sizeof(out)) < 0) {
        return VMET_E_INVAL;
    }
    if ((st = io_all(s->fd, out, sizeof(out), 1)) != VMET_OK) {
        return st;
    }
    if (fd_out) {
        fd = recv_header_and_fd(s->fd, s->buf, VMET_REPLY_HDR_SIZE);
        if (fd == -2) {
            return VMET_E_IO;
        }
    } else if ((st = io_all(s->fd, s->buf, VMET_REPLY_HDR_SIZE, 0)) != VMET_OK) {
        return st;
    }
    frame = vmet_reply_frame_len(s->buf, VMET_REPLY_HDR_SIZE);
    st = frame < 0 ? VMET_E_PROTO :
         io_all(s->fd, s->buf + VMET_REPLY_HDR_SIZE, (size_t)frame - VMET_REPLY_HDR_SIZE, 0);
    if (st == VMET_OK &&
        (vmet_reply_decode(s->buf, (size_t)frame, &s->reply) < 0 || s->reply.op != op)) {
        st = VMET_E_PROTO;
    }
    if (st != VMET_OK) {
        if (fd >= 0) {
            close(fd);
        }
        return st;
    }
    if (fd_out) {
        *fd_out = fd;
    }
    *status = s->reply.status;
    return VMET_OK;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = L0_TIMEOUT_S };
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Map the RAM file read-only and check L0's layout against it. */
static vmet_status_t map_memory(struct l0_state *s, const char *path, char *detail, size_t n)
{
    struct stat sb;
    void *m;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(detail, n, "open %s: %s", path, strerror(errno));
        return VMET_E_IO;
    }
    if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != s->info.ram_size || sb.st_size == 0) {
        snprintf(detail, n, "%s is %lld bytes, L0 says its RAM is %llu", path,
                 (long long)sb.st_size, (unsigned long long)s->info.ram_size);
        close(fd);
        return VMET_E_PROTO;
    }
    m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(detail, n, "mmap %s: %s", path, strerror(errno));
        return VMET_E_IO;
    }
    s->mem = m;
    s->mem_size = (uint64_t)sb.st_size;
    if (vmet_layout_check(s->info.ranges, s->info.nranges, s->mem_size) != VMET_OK) {
        snprintf(detail, n, "L0's RAM ranges do not fit %s", path);
        return VMET_E_PROTO;
    }
    return VMET_OK;
}

/* Ask L0 for its roots page and map it read-only. */
static vmet_status_t map_roots(struct l0_state *s, char *detail, size_t n)
{
    struct stat sb;
    void *m;
    int fd, seals, status;
    vmet_status_t st = l0_call(s, VMET_OP_ROOTS, 0, &status, &fd);

    if (st != VMET_OK) {
        snprintf(detail, n, "asking L0 for its roots page: %s",
                 st == VMET_E_IO ? strerror(errno) : vmet_strerror(st));
        return st;
    }
    if (status < 0 || fd < 0) {
        snprintf(detail, n, "L0 did not hand over its roots page (status %d%s)", status,
                 fd < 0 ? ", no descriptor" : "");
        if (fd >= 0) {
            close(fd);
        }
        return VMET_E_PROTO;
    }
    /* Sealed, or any client of the socket could rewrite what every IDS is told. */
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & ROOTS_SEALS) != ROOTS_SEALS) {
        snprintf(detail, n, "L0's roots page is not sealed against writes and resizing");
        close(fd);
        return VMET_E_PROTO;
    }
    if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size < sizeof(*s->roots)) {
        snprintf(detail, n, "L0's roots page is %lld bytes, want %zu",
                 (long long)sb.st_size, sizeof(*s->roots));
        close(fd);
        return VMET_E_PROTO;
    }
    m = mmap(NULL, sizeof(*s->roots), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(detail, n, "mmap of L0's roots page: %s", strerror(errno));
        return VMET_E_IO;
    }
    s->roots = m;
    if (vmet_roots_check(s->roots, sizeof(*s->roots)) < 0) {
        snprintf(detail, n, "L0's roots page is not of this build (magic or layout)");
        return VMET_E_PROTO;
    }
    return VMET_OK;
}

static void l0_close(void *state)
{
    struct l0_state *s = state;

    if (!s) {
        return;
    }
    if (s->mem) {
        munmap((void *)s->mem, s->mem_size);
    }
    if (s->roots) {
        munmap((void *)s->roots, sizeof(*s->roots));
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    free(s);
}

static vmet_status_t l0_open(const struct vmet_config *cfg, void **state, char *detail,
                             size_t n, int nested)
{
    const char *sock = cfg->socket_path ? cfg->socket_path : VMET_DEFAULT_SOCKET;
    struct l0_state *s = calloc(1, sizeof(*s));
    vmet_status_t st;
    int status;

    if (!s) {
        return VMET_E_NOMEM;
    }
    s->nested = nested;
    s->fd = connect_unix(sock);
    if (s->fd < 0) {
        snprintf(detail, n, "connect %s: %s", sock, strerror(errno));
        l0_close(s);
        return VMET_E_IO;
    }
    st = l0_call(s, VMET_OP_INFO, 0, &status, NULL);
    if (st == VMET_OK && status < 0) {
        st = VMET_E_PROTO;
    }
    if (st != VMET_OK) {
        snprintf(detail, n, "L0 at %s: %s", sock, st == VMET_E_IO ? strerror(errno) :
                 "malformed answer to INFO");
        l0_close(s);
        return st;
    }
    s->info = s->reply.u.info;
    if (!cfg->mem_path && !s->info.mem_path[0]) {
        snprintf(detail, n, "L0 has no shared RAM file (-object memory-backend-file,"
                 "share=on + -machine memory-backend=ID)");
        l0_close(s);
        return VMET_E_IO;
    }
    st = map_roots(s, detail, n);
    if (st == VMET_OK) {
        st = map_memory(s, cfg->mem_path ? cfg->mem_path : s->info.mem_path, detail, n);
    }
    if (st != VMET_OK) {
        l0_close(s);
        return st;
    }
    *state = s;
    return VMET_OK;
}

static vmet_status_t l0_open_nested(const struct vmet_config *cfg, void **state,
                                    char *detail, size_t n)
{
    return l0_open(cfg, state, detail, n, 1);
}

static vmet_status_t l0_open_nonnested(const struct vmet_config *cfg, void **state,
                                       char *detail, size_t n)
{
    return l0_open(cfg, state, detail, n, 0);
}

static vmet_status_t l0_list_vms(void *state, struct vmet_vm *out, unsigned *n)
{
    struct l0_state *s = state;
    int status;
    vmet_status_t st = l0_call(s, VMET_OP_LIST_VMS, 0, &status, NULL);

    if (st != VMET_OK) {
        return st;
    }
    if (status < 0) {
        return VMET_E_PROTO;
    }
    memcpy(out, s->reply.u.vms, s->reply.count * sizeof(out[0]));
    *n = s->reply.count;
    return VMET_OK;
}

/* From the roots page: what GET_VM would answer, without asking. */
static vmet_status_t l0_get_vm(void *state, uint64_t key, struct vmet_vm *vm,
                               struct vmet_vcpu *vcpus, unsigned *n)
{
    struct l0_state *s = state;
    struct timespec ts;
    int rc;

    /* L0 stamps captures with CLOCK_MONOTONIC (QEMU's get_clock()). */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rc = vmet_roots_get(s->roots, key, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                        &s->roots_hint, vm, vcpus, VMET_MAX_VCPUS);
    if (rc == -ENOENT) {
        return VMET_E_NO_VM;
    }
    if (rc < 0) {
        errno = EAGAIN;   /* L0 kept rewriting the slot */
        return VMET_E_IO;
    }
    *n = (unsigned)rc;
    return VMET_OK;
}

static vmet_status_t l0_read_phys(void *state, uint64_t pa, void *buf, size_t len)
{
    struct l0_state *s = state;
    uint64_t off;
    vmet_status_t st = vmet_layout_offset(s->info.ranges, s->info.nranges, pa, len, &off);

    if (st != VMET_OK) {
        return st;
    }
    memcpy(buf, s->mem + off, len);
    return VMET_OK;
}

const struct vmet_backend_ops vmet_backend_l0_nested = {
    .name = "l0-nested",
    .nested = 1,
    .open = l0_open_nested,
    .close = l0_close,
    .list_vms = l0_list_vms,
    .get_vm = l0_get_vm,
    .read_phys = l0_read_phys,
};

const struct vmet_backend_ops vmet_backend_l0_nonnested = {
    .name = "l0-nonnested",
    .nested = 0,
    .open = l0_open_nonnested,
    .close = l0_close,
    .list_vms = l0_list_vms,
    .get_vm = l0_get_vm,
    .read_phys = l0_read_phys,
};
