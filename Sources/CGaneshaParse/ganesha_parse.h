/*
 * The nfs plugin's check of a Ganesha configuration with Ganesha's own
 * parser (Plugins/NFS/GaneshaParser.swift says why). The child is C from
 * the fork on: fshost has other threads, and a forked child of a
 * threaded process must not touch the Swift runtime (its locks may have
 * been held by another thread at the fork: a first, Swift child made one
 * start in 35 wait for its 10 s alarm). Everything the child needs is
 * prepared by the parent.
 */
#ifndef FSHOST_GANESHA_PARSE_H
#define FSHOST_GANESHA_PARSE_H

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>

/*
 * An anonymous file (memfd_create(2), MFD_CLOEXEC) holding `length` bytes
 * of `text`, for the parser to read as /proc/self/fd/N: a block checked
 * before it is written anywhere. Through syscall(2): Swift's Glibc module
 * does not declare memfd_create (it needs _GNU_SOURCE). Returns the
 * descriptor, or -1 (errno).
 */
static inline int fshost_ganesha_text_fd(const char *text, size_t length) {
    int fd = (int)syscall(SYS_memfd_create, "fshost-nfs-block", 1u /* MFD_CLOEXEC */);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, text + done, length - done);
        if (n <= 0) { int e = errno; close(fd); errno = e ? e : EIO; return -1; }
        done += (size_t)n;
    }
    return fd;
}

static inline void fshost_ganesha_say(int fd, const char *a, const char *b, const char *c) {
    const char *parts[5] = {a, b ? "\t" : NULL, b, c ? "\t" : NULL, c};
    for (int i = 0; i < 5; i++) {
        const char *p = parts[i];
        if (!p) continue;
        size_t left = strlen(p);
        while (left > 0) {
            ssize_t n = write(fd, p, left);
            if (n <= 0) return;
            p += n;
            left -= (size_t)n;
        }
    }
}

/*
 * Forks a child that loads `library` (dlopen), points Ganesha's
 * `component_log_level` (log_levels_t *, src/log/log_functions.c) at
 * levels of 0 (NIV_NULL: its log functions are not set up outside the
 * server, and the parser's LogCrit would crash), and runs
 * `config_ParseFile` on each of `files` in order with a `struct
 * config_error_type` (src/include/config_parsing.h, 4.x: 16 one-bit
 * flags, uint32_t errors, char *diag_buf at 8, size_t diag_buf_size at
 * 16, FILE *fp at 24, where the parser writes its messages). It writes to
 * `answer` "ok", "bad\tFILE\tMESSAGES" (the first file with any flag or
 * message, or no tree) or "error\tWHY", and exits 0; alarm(`seconds`)
 * bounds it. Returns the child's pid, or -1 (errno) when fork fails.
 */
static inline pid_t fshost_ganesha_parse(const char *library, const char *const *files, int count, int answer,
                                         int null_fd, unsigned seconds) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (null_fd >= 0) { dup2(null_fd, 1); dup2(null_fd, 2); }
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    int defaults[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGALRM, SIGPIPE};
    for (unsigned i = 0; i < sizeof defaults / sizeof defaults[0]; i++) signal(defaults[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    alarm(seconds);
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        fshost_ganesha_say(answer, "error", why ? why : "dlopen failed", NULL);
        _exit(0);
    }
    void *(*parse)(const char *, void *) = (void *(*)(const char *, void *))dlsym(handle, "config_ParseFile");
    void (*release)(void *) = (void (*)(void *))dlsym(handle, "config_Free");
    void **levels = (void **)dlsym(handle, "component_log_level");
    if (!parse || !release || !levels) {
        fshost_ganesha_say(answer, "error", "it has no config_ParseFile, config_Free or component_log_level (not NFS-Ganesha 4's library)", NULL);
        _exit(0);
    }
    static int32_t quiet[1024];
    *levels = quiet;
    for (int i = 0; i < count; i++) {
        unsigned char errors[64];
        memset(errors, 0, sizeof errors);
        char **buffer = (char **)(errors + 8);
        size_t *size = (size_t *)(errors + 16);
        FILE *stream = open_memstream(buffer, size);
        if (!stream) { fshost_ganesha_say(answer, "error", "open_memstream failed", NULL); _exit(0); }
        memcpy(errors + 24, &stream, sizeof stream);
        void *root = parse(files[i], errors);
        fflush(stream);
        uint16_t flags;
        memcpy(&flags, errors, sizeof flags);
        if (root == NULL || flags != 0 || (*buffer && **buffer)) {
            fshost_ganesha_say(answer, "bad", files[i], (*buffer && **buffer) ? *buffer : "no configuration read (an error flag set, no message)");
            _exit(0);
        }
        release(root);
        fclose(stream);
        free(*buffer);
    }
    fshost_ganesha_say(answer, "ok", NULL, NULL);
    _exit(0);
}

#endif
