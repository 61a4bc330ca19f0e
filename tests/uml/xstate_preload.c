/*
 * xstate_preload.c - an LD_PRELOAD library that lets Debian's user-mode Linux (6.1) run user
 * processes on hosts whose CPUs have a large XSAVE area (AMX).
 *
 * Why it exists: UML runs each guest process as a host process it traces, and saves and
 * restores the process's FPU state with
 *
 *     ptrace(PTRACE_GETREGSET / PTRACE_SETREGSET, pid, NT_X86_XSTATE, &iov)
 *
 * where iov is sized for the XSAVE features UML was built to know (2696 bytes). A host kernel
 * on a CPU with AMX reports a full XSAVE area of 11008 bytes and accepts SETREGSET of
 * NT_X86_XSTATE only with exactly that size; a shorter buffer gets EFAULT, and UML panics at
 * its first user process:
 *
 *     userspace - ptrace set fp regs failed, errno = 14
 *     Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b
 *
 * What it does: for those two requests it talks to the host with a buffer of the full size.
 * GETREGSET reads the full state and hands UML the prefix it asked for. SETREGSET reads the
 * process's current full state, lays UML's prefix over it and writes the full size back. What
 * lies beyond UML's prefix (the AMX tile state) is state a guest process cannot use, so keeping
 * it as it was loses nothing. This is what the kernel does itself when the buffer is longer
 * than the state (it uses the state's length), so where the host's full size is no larger than
 * UML's buffer (CPUs without AMX) both requests simply go through unchanged; every other ptrace
 * request always does.
 *
 * Built by tests/uml/boot.sh at run time (gcc -shared -fPIC); nothing binary is committed.
 * Environment: XSTATE_PRELOAD_DEBUG=1 prints the sizes once on stderr; XSTATE_PRELOAD_FORCE=1
 * takes the full-size path even where passing through would do (to test it on any host).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* Larger than any XSAVE area so far (11008 bytes with AMX); a multiple of 8, as the kernel
 * wants for this regset. The kernel clamps a longer iov to the real size and says so in
 * iov_len, which is how the real size is learnt. */
#define XSTATE_MAX (64 * 1024)

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);

static ptrace_fn real_ptrace;
/* The host's full XSAVE size for ptrace, 0 until the first request has measured it. */
static size_t host_size;
static int debug;
static int force;
/* One buffer: UML makes these calls from its single kernel thread, one at a time. */
static unsigned char full[XSTATE_MAX] __attribute__((aligned(64)));

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

__attribute__((constructor)) static void init(void)
{
    real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
    debug = env_flag("XSTATE_PRELOAD_DEBUG");
    force = env_flag("XSTATE_PRELOAD_FORCE");
}

/* The host's state fits in UML's buffer: the request can go through as it is. */
static int fits(const struct iovec *uml)
{
    return !force && host_size != 0 && host_size <= uml->iov_len;
}

static long get_full(pid_t pid, struct iovec *iov)
{
    iov->iov_base = full;
    iov->iov_len = sizeof(full);
    long r = real_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, iov);
    if (r == 0 && host_size == 0) {
        host_size = iov->iov_len;
    }
    return r;
}

static void say_sizes(size_t uml_size)
{
    static int said;
    if (debug && !said) {
        said = 1;
        fprintf(stderr, "xstate_preload: host XSAVE area %zu bytes, UML's %zu bytes: %s\n",
                host_size, uml_size,
                host_size > uml_size || force ? "full-size GET/SET on UML's behalf"
                                              : "passed through");
    }
}

/* GETREGSET with UML's buffer: the prefix of the full state. */
static long xstate_get(pid_t pid, struct iovec *uml)
{
    struct iovec iov;
    if (fits(uml)) {
        return real_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, uml);
    }
    if (get_full(pid, &iov) != 0) {
        return -1;
    }
    say_sizes(uml->iov_len);
    size_t n = iov.iov_len < uml->iov_len ? iov.iov_len : uml->iov_len;
    memcpy(uml->iov_base, full, n);
    uml->iov_len = n;
    return 0;
}

/* SETREGSET with UML's buffer: the current full state with UML's prefix laid over it. */
static long xstate_set(pid_t pid, struct iovec *uml)
{
    struct iovec iov;
    if (fits(uml)) {
        return real_ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, uml);
    }
    if (get_full(pid, &iov) != 0) {
        return -1;
    }
    say_sizes(uml->iov_len);
    /* UML's whole buffer, or, if it is the longer one, as much of it as the kernel would take */
    size_t n = iov.iov_len < uml->iov_len ? iov.iov_len : uml->iov_len;
    memcpy(full, uml->iov_base, n);
    return real_ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &iov);
}

/* Same prototype as glibc's: every request takes pid, addr and data, read as such. */
long ptrace(enum __ptrace_request request, ...)
{
    va_list ap;
    va_start(ap, request);
    pid_t pid = va_arg(ap, pid_t);
    void *addr = va_arg(ap, void *);
    void *data = va_arg(ap, void *);
    va_end(ap);

    if (real_ptrace == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) &&
        (unsigned long)addr == NT_X86_XSTATE && data != NULL) {
        struct iovec *uml = data;
        return request == PTRACE_GETREGSET ? xstate_get(pid, uml) : xstate_set(pid, uml);
    }
    return real_ptrace(request, pid, addr, data);
}
