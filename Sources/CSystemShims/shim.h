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
#endif
