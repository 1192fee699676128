/* Typed wrappers for variadic libc calls that do not import into Swift. */
#ifndef FSHOST_CSYSTEM_SHIM_H
#define FSHOST_CSYSTEM_SHIM_H
#include <fcntl.h>
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
#endif
