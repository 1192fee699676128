/* Typed wrappers for variadic libc calls that do not import into Swift. */
#ifndef FSHOST_CSYSTEM_SHIM_H
#define FSHOST_CSYSTEM_SHIM_H
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <syslog.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void csys_syslog(int priority, const char *message) { syslog(priority, "%s", message); }
static inline int csys_open(const char *path, int flags, int mode) { return open(path, flags, (mode_t)mode); }
static inline int csys_openat(int dir, const char *path, int flags, int mode) { return openat(dir, path, flags, (mode_t)mode); }
static inline int csys_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
static inline int csys_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
/* pidfd_send_signal(2) (Linux 5.1): signals exactly the process the pidfd refers to. */
static inline int csys_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, (void *)0, 0); }

/* ---- Spawn (Sources/Spawn) -------------------------------------------- */
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

/* glibc >= 2.34 declares this only under _GNU_SOURCE, which the Swift Glibc
   module does not define: close every descriptor >= from in the child. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *, int);
static inline int csys_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
/* pipe2 is _GNU_SOURCE too. O_CLOEXEC from the start: no other thread's
   spawn can inherit the pipe between pipe() and fcntl(). */
extern int pipe2(int pipefd[2], int flags);
static inline int csys_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
/* 1 when child `pid` has terminated but is not reaped yet (WNOWAIT: its pid
   and process group id stay reserved), 0 while it runs, -1 with errno. */
static inline int csys_child_exited(int pid) {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid != 0;
}
/* setresuid for the calling thread only: the raw system call (glibc's
   wrapper changes every thread of the process). For tests that must act as
   another user in one thread of a root test process. */
static inline int csys_thread_setresuid(unsigned r, unsigned e, unsigned s) {
    return (int)syscall(SYS_setresuid, r, e, s);
}

/* ---- The worker process (Sources/FSHost/Supervisor.swift) -------------- */
#include <sys/prctl.h>
#include <sys/signalfd.h>
/* fork is unavailable in Swift; the host forks its worker while it still has
   one thread (before any plugin code or watchdog thread exists). */
static inline int csys_fork(void) { return fork(); }
/* Sets *flag from 0 to `value` unless another thread set it first: 1 if this
 * call did (the caller owns what the flag stands for), else 0. */
static inline int csys_claim(int *flag, int value) {
    int expected = 0;
    return __atomic_compare_exchange_n(flag, &expected, value, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
/* The flag's value now (set by csys_claim in another thread). */
static inline int csys_claimed(const int *flag) { return __atomic_load_n(flag, __ATOMIC_SEQ_CST); }
/* Orphaned descendants are re-parented to the calling process, not to init. */
static inline int csys_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
/* `signal` (0: none) when the parent thread exits; cleared in forks. */
static inline int csys_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }
static inline int csys_signalfd(const sigset_t *mask) { return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK); }
/* The signal number of one struct signalfd_siginfo read from a signalfd. */
static inline int csys_signalfd_signo(const void *info) { return (int)((const struct signalfd_siginfo *)info)->ssi_signo; }
static inline int csys_signalfd_info_size(void) { return (int)sizeof(struct signalfd_siginfo); }
/* ---- The worker's set-up (Sources/FSHost/Supervisor.swift) ------------- */
#include <string.h>
/* Until its watchdog watches the lifeline, the worker has no thread that
   could notice the supervisor's end; a plain PR_SET_PDEATHSIG = SIGKILL
   killed the worker alone, and whatever a plugin's or library's
   constructor had forked lived on under init (review of issue 16,
   finding 1). So the parent-death signal is this one, whose handler ends
   every descendant of the worker, then the worker's process group (the
   worker with it). Only async-signal-safe calls: the signal may come in
   the middle of malloc or dlopen. */
#define CSYS_ORPHAN_SIGNAL (SIGRTMAX)
/* The parent pid in /proc/PID/stat (the field after the state that
   follows the last ')'), or -1. `dir` is an open /proc. */
static inline pid_t csys_proc_parent(int dir, const char *pid) {
    char path[64], buf[512];
    size_t n = 0;
    while (pid[n] && n < 40) { path[n] = pid[n]; n++; }
    const char *tail = "/stat";
    for (size_t i = 0; tail[i]; i++) path[n++] = tail[i];
    path[n] = 0;
    int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0) return -1;
    buf[got] = 0;
    char *close_paren = 0;
    for (char *c = buf; *c; c++) if (*c == ')') close_paren = c;
    if (!close_paren || close_paren[1] != ' ' || !close_paren[2] || close_paren[3] != ' ') return -1;
    pid_t parent = 0;
    for (char *c = close_paren + 4; *c >= '0' && *c <= '9'; c++) parent = parent * 10 + (*c - '0');
    return parent;
}
/* getdents64(2)'s record (linux_dirent64), without _GNU_SOURCE. */
struct csys_dirent64 { unsigned long long d_ino; long long d_off; unsigned short d_reclen; unsigned char d_type; char d_name[]; };
/* Stops, then kills, every descendant of the calling process found in
   /proc (at most 1024; passes repeat while new ones are found, so a child
   forked meanwhile is caught: a stopped process forks no more). */
static inline void csys_kill_descendants_now(void) {
    pid_t found[1024];
    int count = 0;
    found[count++] = getpid();
    for (int pass = 0; pass < 16; pass++) {
        int added = 0;
        int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) break;
        char entries[4096];
        long got;
        while ((got = syscall(SYS_getdents64, dir, entries, sizeof entries)) > 0) {
            for (long offset = 0; offset < got;) {
                struct csys_dirent64 *entry = (struct csys_dirent64 *)(entries + offset);
                offset += entry->d_reclen;
                pid_t pid = 0;
                const char *c = entry->d_name;
                for (; *c >= '0' && *c <= '9'; c++) pid = pid * 10 + (*c - '0');
                if (*c || pid <= 0) continue;
                int known = 0;
                for (int i = 0; i < count; i++) if (found[i] == pid) { known = 1; break; }
                if (known) continue;
                pid_t parent = csys_proc_parent(dir, entry->d_name);
                for (int i = 0; i < count; i++) {
                    if (found[i] == parent && count < 1024) {
                        kill(pid, SIGSTOP);
                        found[count++] = pid;
                        added = 1;
                        break;
                    }
                }
            }
        }
        close(dir);
        if (!added) break;
    }
    for (int i = 1; i < count; i++) kill(found[i], SIGKILL);
}
static void csys_orphaned_in_setup(int signal) {
    (void)signal;
    csys_kill_descendants_now();
    kill(0, SIGKILL);
    _exit(137);
}
/* Makes the supervisor's end (this thread's parent) run
   csys_orphaned_in_setup. Returns prctl's result. */
static inline int csys_die_with_parent_and_descendants(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = csys_orphaned_in_setup;
    sigfillset(&action.sa_mask);
    sigaction(CSYS_ORPHAN_SIGNAL, &action, 0);
    return prctl(PR_SET_PDEATHSIG, CSYS_ORPHAN_SIGNAL, 0, 0, 0);
}
/* ---- fshost-admin's fshost children (Sources/fshost-admin/FshostChild.swift) */
/* fork + execve of `path` in a child that gets SIGKILL when the calling
   thread ends (PR_SET_PDEATHSIG): killing the admin tool kills the fshost it
   runs, whose own supervisor then ends everything below it. A parent that
   died before the prctl is noticed (getppid changed). stdin, stdout and
   stderr come from `in`, `out`, `err` (-1: inherited); every other
   descriptor is closed. Between fork and exec only async-signal-safe calls
   (the admin tool has threads). Returns the pid, or -1 with errno. */
static inline int csys_spawn_dying_with_parent(const char *path, char *const argv[], char *const envp[],
                                               int in, int out, int err) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(127);
    if (getppid() != parent) _exit(127);
    if (in >= 0 && dup2(in, 0) < 0) _exit(127);
    if (out >= 0 && dup2(out, 1) < 0) _exit(127);
    if (err >= 0 && dup2(err, 2) < 0) _exit(127);
    syscall(SYS_close_range, 3U, ~0U, 0);
    execve(path, argv, envp);
    _exit(127);
}
/* ---- File systems (ELFCheck's verification cache) ------------------------- */
#include <sys/vfs.h>
/* statfs(2)'s f_type of the file system holding path (TMPFS_MAGIC, ...), or -1. */
static inline long csys_filesystem_type(const char *path) {
    struct statfs fs;
    return statfs(path, &fs) == 0 ? (long)fs.f_type : -1;
}

/* ---- Bytes (FSKit: LinePattern, LaunchMark) --------------------------- */
/* memmem is _GNU_SOURCE: the first `needle` in `haystack`, or NULL. glibc's
   is linear (two-way, vectorised for short needles). */
extern void *memmem(const void *, size_t, const void *, size_t);
static inline const void *csys_memmem(const void *haystack, size_t length, const void *needle, size_t count) {
    return memmem(haystack, length, needle, count);
}

/* ---- Namespaces (ipfilter: the nftables generation, NftGeneration) ---- */
/* setns(2) is _GNU_SOURCE: moves the calling thread only into the namespace
   `fd` refers to (nstype CLONE_NEW*, 0: any). */
static inline int csys_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }

/* The file handle the kernel gives `path` (name_to_handle_at(2), by
   syscall: no _GNU_SOURCE needed), as an NFS server exports it: on ext4 and
   xfs the inode number and its generation, so a directory made anew at a
   reused inode number differs. Writes the handle type (4 bytes, host order)
   then the handle to `out`; returns the length, or -1 with errno
   (EOPNOTSUPP: a filesystem without handles; EOVERFLOW: over 128 bytes). */
static inline int csys_file_handle(const char *path, unsigned char *out, int capacity) {
    struct { unsigned int handle_bytes; int handle_type; unsigned char f_handle[128]; } h;
    int mount_id = 0;
    h.handle_bytes = sizeof h.f_handle;
    if (syscall(SYS_name_to_handle_at, AT_FDCWD, path, &h, &mount_id, 0) != 0) return -1;
    if (h.handle_bytes > sizeof h.f_handle || (int)h.handle_bytes + 4 > capacity) { errno = EOVERFLOW; return -1; }
    memcpy(out, &h.handle_type, 4);
    memcpy(out + 4, h.f_handle, h.handle_bytes);
    return (int)h.handle_bytes + 4;
}

#endif
