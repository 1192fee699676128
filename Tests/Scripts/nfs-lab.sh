# Sourced by Tests/Bench/nfs.sh and Tests/Scripts/demo-nfs.sh: the NFS lab's
# namespaces. A network namespace $ns (ports 111 and 2049 are one per network
# namespace) and, held by one `sleep` in it, a private mount namespace with
# its own tmpfs on /run: rpcbind's lock and socket paths are fixed
# (/run/rpcbind.lock, /run/rpcbind.sock, which Ganesha registers through), so
# the machine's rpcbind (or another lab's) neither blocks the lab's nor is
# seen or touched by it. Same design as Tests/NFSTests/GaneshaLab.swift.
#   nfs_lab_up     → sets $nfs_lab_holder, starts rpcbind, or says why not (status 1)
#   nfs_lab_rpcbind → starts the lab's rpcbind (again), or says why not (status 1)
#   in_ns CMD…     → CMD in both namespaces
nfs_lab_up() {
  ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
  local ready
  exec {nfs_lab_fd}< <(ip netns exec "$ns" unshare --mount --propagation private /bin/sh -c \
    'mount -t tmpfs -o mode=0755,size=4m fshost-nfs-run /run && echo ready && exec sleep 86400' 2>/dev/null)
  read -r -t 10 ready <&"$nfs_lab_fd" || true
  [ "$ready" = ready ] || { echo "cannot give the NFS lab a private /run (unshare --mount, tmpfs on /run) in $ns" >&2; return 1; }
  nfs_lab_holder=$(ip netns pids "$ns" | head -1)
  nfs_lab_rpcbind
}
nfs_lab_rpcbind() {
  ( in_ns /usr/sbin/rpcbind -f >/dev/null 2>&1 & )
  for _ in $(seq 100); do in_ns rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "the lab's rpcbind does not answer in $ns (private /run) within 5 s" >&2; return 1
}
in_ns() { nsenter --target "$nfs_lab_holder" --net --mount -- "$@"; }
