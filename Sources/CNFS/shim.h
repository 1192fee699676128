/* libnfs for Swift (the nfs plugin's companion only). libnfs.h uses struct
 * timeval without including <sys/time.h>; NFS_V3/NFS_V4 and the MOUNT
 * export list live in the raw headers (DESIGN.md §8). */
#ifndef FSHOST_CNFS_SHIM_H
#define FSHOST_CNFS_SHIM_H
#include <sys/time.h>
#include <stdint.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw-nfs4.h>
#include <nfsc/libnfs-raw-portmap.h>

static const int cnfs_v3 = NFS_V3;
static const int cnfs_v4 = NFS_V4;
static const int cnfs_rpc_status_success = RPC_STATUS_SUCCESS;
#endif
