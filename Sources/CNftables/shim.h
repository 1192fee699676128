/* libnftables for Swift (the ipfilter companion only), and the two Linux
   calls it needs that the Swift Glibc module does not declare (they are
   _GNU_SOURCE): setns(2) into a network namespace and memfd_create(2). */
#ifndef FSHOST_CNFTABLES_SHIM_H
#define FSHOST_CNFTABLES_SHIM_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <nftables/libnftables.h>
#include <sys/syscall.h>
#include <unistd.h>

/* CLONE_NEWNET from <linux/sched.h>. */
#define CNFT_CLONE_NEWNET 0x40000000
/* MFD_CLOEXEC | MFD_ALLOW_SEALING from <linux/memfd.h>. */
#define CNFT_MFD_FLAGS 0x0003U

/* setns(2) for a network namespace: only the calling thread moves. */
static inline int cnft_setns_net(int fd) { return (int)syscall(SYS_setns, fd, CNFT_CLONE_NEWNET); }
/* memfd_create(2), close-on-exec and sealable. */
static inline int cnft_memfd(const char *name) { return (int)syscall(SYS_memfd_create, name, CNFT_MFD_FLAGS); }
/* stderr as a function: the Swift 6 Glibc module's stderr is shared mutable state. */
static inline FILE *cnft_stderr(void) { return stderr; }
#endif
