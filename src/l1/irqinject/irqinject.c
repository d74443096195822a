/*
 * libnvsec-irqinject.so: the interrupt injector, an add-on preloaded into L1's
 * stock QEMU (the guest hypervisor stays unmodified, VSBypass papers/000).
 *
 * KVM serves VM ioctls only to the process that created the VM (from another
 * process, KVM_IRQ_LINE on a borrowed fd fails with EIO; design.md), so the
 * injection has to run inside QEMU. This library wraps ioctl(): it notes the
 * fd KVM_CREATE_VM returns and starts one thread, which waits until
 * KVM_CREATE_IRQCHIP has succeeded on that fd, connects to nvsec-irqserver,
 * announces the VM tag and turns each level message into
 * ioctl(vmfd, KVM_IRQ_LINE, {irq, level}). QEMU's L2 runs with
 * "-serial none", so nothing else drives the line.
 *
 * Environment:
 *   NVSEC_VM        the VM tag (required; without it the library only passes
 *                   ioctl() through)
 *   NVSEC_IRQ_SOCK  the server's socket (default /run/nvsec/irq.sock)
 * Needs QEMU's in-kernel irqchip (-machine kernel-irqchip=on, the default for
 * -M pc): with "split" or "off" QEMU never issues KVM_CREATE_IRQCHIP (and an
 * ISA line has no in-kernel route), which the thread reports after
 * IRQCHIP_WAIT_S seconds.
 *
 * stderr: lines start with "nvsec-irqinject[TAG]: ". One per connection
 * change, one per failed injection (the first 10, then every 1000th).
 *
 * The wrapper adds two compares to every other ioctl and keeps errno as the
 * real call left it; the thread blocks all signals (QEMU's vCPU kick signals
 * must reach vCPU threads) and never calls back into the wrapper.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../common/irqmsg.h"
#include "../irqserver/irqproto.h"

#define EXPORT __attribute__((visibility("default")))
#define RECONNECT_MIN_MS 20
#define RECONNECT_MAX_MS 1000
#define ERR_LOG_FIRST 10
#define ERR_LOG_EVERY 1000
#define IRQCHIP_WAIT_S 30

typedef int (*ioctl_fn)(int, unsigned long, ...);

static _Atomic(ioctl_fn) real_ioctl;
static atomic_int vm_fd = -1;
static pthread_mutex_t irqchip_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t irqchip_cond = PTHREAD_COND_INITIALIZER;
static bool irqchip_ready;              /* under irqchip_lock */
static char tag[ULTRACALL_VMTAG_SIZE];
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static bool enabled;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "nvsec-irqinject[%s]: %s\n", tag[0] ? tag : "-", line);
}

static ioctl_fn resolve(void)
{
    ioctl_fn fn = atomic_load_explicit(&real_ioctl, memory_order_acquire);
    if (!fn) {
        /* Racing resolvers store the same pointer. */
        fn = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
        atomic_store_explicit(&real_ioctl, fn, memory_order_release);
    }
    return fn;
}

__attribute__((constructor)) static void irqinject_init(void)
{
    resolve();
    const char *t = getenv("NVSEC_VM");
    const char *p = getenv("NVSEC_IRQ_SOCK");
    if (!p || !*p)
        p = IRQPROTO_SOCK_DEFAULT;
    if (!t) {
        say("NVSEC_VM not set: injector off");
        return;
    }
    uint8_t hello[IRQPROTO_HELLO_SIZE];
    if (irqproto_hello_encode(t, hello, sizeof(hello)) < 0) {
        say("NVSEC_VM='%.40s' is not a VM tag ([a-z0-9_-], 1-%d chars): injector off", t, ULTRACALL_VMTAG_MAX);
        return;
    }
    if (strlen(p) >= sizeof(sock_path)) {
        say("NVSEC_IRQ_SOCK too long: injector off");
        return;
    }
    strncpy(tag, t, sizeof(tag) - 1);
    strcpy(sock_path, p);
    enabled = true;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned backoff(unsigned *wait_ms)
{
    unsigned w = *wait_ms;
    *wait_ms = w * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : w * 2;
    return w;
}

/* Connect and say hello; retried with backoff while the server is not there. */
static int connect_server(unsigned *wait_ms)
{
    bool logged = false;
    uint8_t hello[IRQPROTO_HELLO_SIZE];
    irqproto_hello_encode(tag, hello, sizeof(hello));   /* checked in the constructor */

    for (;;) {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            say("socket: %s; injector stops", strerror(errno));
            return -1;
        }
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        strcpy(a.sun_path, sock_path);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
            send(fd, hello, sizeof(hello), MSG_NOSIGNAL) == (ssize_t)sizeof(hello)) {
            say("connected to %s", sock_path);
            return fd;
        }
        if (!logged)
            say("waiting for the interrupt server at %s (%s)", sock_path, strerror(errno));
        logged = true;
        close(fd);
        sleep_ms(backoff(wait_ms));
    }
}

static void inject(int vmfd, const struct irqmsg *m, uint64_t *errors)
{
    struct kvm_irq_level lvl = { .irq = m->irq, .level = m->level };
    if (resolve()(vmfd, KVM_IRQ_LINE, &lvl) == 0)
        return;
    int e = errno;
    ++*errors;
    if (*errors <= ERR_LOG_FIRST || *errors % ERR_LOG_EVERY == 0)
        say("KVM_IRQ_LINE irq %u level %u on vm fd %d: %s (%llu failures)", m->irq, m->level,
            vmfd, strerror(e), (unsigned long long)*errors);
}

/* Until KVM_CREATE_IRQCHIP on our VM: KVM_IRQ_LINE would fail with ENXIO before it. */
static void wait_for_irqchip(void)
{
    bool warned = false;
    pthread_mutex_lock(&irqchip_lock);
    while (!irqchip_ready) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += IRQCHIP_WAIT_S;
        if (pthread_cond_timedwait(&irqchip_cond, &irqchip_lock, &until) == ETIMEDOUT && !warned) {
            say("no in-kernel irqchip after %d s: KVM_IRQ_LINE needs -machine kernel-irqchip=on", IRQCHIP_WAIT_S);
            warned = true;
        }
    }
    pthread_mutex_unlock(&irqchip_lock);
}

static void *injector_thread(void *arg)
{
    (void)arg;
    int vmfd = atomic_load(&vm_fd);
    uint64_t errors = 0;
    wait_for_irqchip();
    unsigned wait_ms = RECONNECT_MIN_MS;
    for (;;) {
        int fd = connect_server(&wait_ms);
        if (fd < 0)
            return NULL;
        uint64_t since = now_ms();
        for (;;) {
            uint8_t buf[IRQMSG_SIZE + 1];
            ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                say("server connection lost (%s); reconnecting", n == 0 ? "closed by the server" : strerror(errno));
                break;
            }
            struct irqmsg m;
            int rc = irqmsg_decode(buf, (size_t)n > sizeof(buf) ? sizeof(buf) : (size_t)n, &m);
            if (rc < 0 || memcmp(m.tag, tag, sizeof(tag)) != 0) {
                say("bad message from the server (%s); reconnecting", rc < 0 ? strerror(-rc) : "other tag");
                break;
            }
            inject(vmfd, &m, &errors);
        }
        close(fd);
        /* A server that keeps closing at once (refusal, restart loop) is retried ever more slowly. */
        if (now_ms() - since < RECONNECT_MAX_MS)
            sleep_ms(backoff(&wait_ms));
        else
            wait_ms = RECONNECT_MIN_MS;
    }
}

static void start_thread(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  /* the thread inherits "all blocked" */
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &attr, injector_thread, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        say("pthread_create: %s; injector off", strerror(rc));
    else
        pthread_setname_np(th, "nvsec-irqinj");
}

/* Slow path of the wrapper: only for KVM_CREATE_VM and KVM_CREATE_IRQCHIP, successful. */
static void irqinject_note(int fd, unsigned long request, int ret)
{
    if (!enabled || ret < 0)
        return;
    if (request == KVM_CREATE_VM) {
        int expected = -1;
        if (atomic_compare_exchange_strong(&vm_fd, &expected, ret))
            start_thread();
        else
            say("a second KVM_CREATE_VM (fd %d): injecting into the first (fd %d) only", ret, expected);
    } else if (fd == atomic_load(&vm_fd)) {     /* KVM_CREATE_IRQCHIP on our VM */
        pthread_mutex_lock(&irqchip_lock);
        irqchip_ready = true;
        pthread_cond_signal(&irqchip_cond);
        pthread_mutex_unlock(&irqchip_lock);
    }
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);     /* ioctl's third argument is one word, used or not */
    va_end(ap);

    int ret = resolve()(fd, request, arg);
    if (__builtin_expect(request == KVM_CREATE_VM || request == KVM_CREATE_IRQCHIP, 0)) {
        int saved = errno;
        irqinject_note(fd, request, ret);
        errno = saved;
    }
    return ret;
}
