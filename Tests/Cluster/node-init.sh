#!/usr/bin/env bash
# PID 1 of one lab node (its own mount, UTS and PID namespace, inside the
# node's network namespace). Started by lib.sh's node_boot; never by hand.
#   node-init.sh N NODE_DIR
# Why each step: ../../../shared/CLUSTER-LAB.md (per-node copies of the
# cluster state, a fresh /run and /dev/shm at every boot, corosync before
# pacemakerd). A SIGKILL of this process is a crash of the node: the kernel
# kills every process of the PID namespace and the mounts go with it.
set -u
n=$1; dir=$2
say() { echo "node$n init: $*"; }
die() { say "$*"; exit 1; }

# The node's own copies of what corosync and pacemaker write.
for pair in etc-corosync:/etc/corosync var-lib-corosync:/var/lib/corosync \
            log-corosync:/var/log/corosync var-lib-pacemaker:/var/lib/pacemaker \
            log-pacemaker:/var/log/pacemaker ../ocf:/usr/lib/ocf/resource.d; do
  mount --bind "$dir/${pair%%:*}" "${pair#*:}" || die "cannot bind $dir/${pair%%:*} on ${pair#*:}"
done
# Extra per-node mounts (fshost's prefix, a shared disk): lines "SOURCE TARGET".
if [ -f "$dir/mounts" ]; then
  while read -r src dst; do
    [ -n "$src" ] || continue
    mount --bind "$src" "$dst" || die "cannot bind $src on $dst"
  done < "$dir/mounts"
fi
# Fresh at every boot: libqb's IPC rings live in /dev/shm, agents' state in /run.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || die "cannot mount /run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || die "cannot mount /dev/shm"
install -d -o hacluster -g haclient -m 0750 /run/crm
install -d -m 1777 /run/lock
install -d -m 0755 /run/resource-agents
# PostgreSQL's socket directory (the database resource's socket_directory), as Debian's
# package makes it at boot: owned by the server's OS user, not writable by others.
if id postgres >/dev/null 2>&1; then install -d -o postgres -g postgres -m 2775 /run/postgresql; fi
hostname "fsh-node$n"

# The network: lib.sh plugs eth0 in from outside once this process exists.
for _ in $(seq 100); do ip -o addr show dev eth0 2>/dev/null | grep -q 'inet ' && break; sleep 0.05; done
ip -o addr show dev eth0 2>/dev/null | grep -q 'inet ' || die "no address on eth0 within 5 s"

pcmk=0; coro=0
shutdown() {
  # Pacemaker first (it stops its resources and its sub-daemons), then corosync.
  [ "$pcmk" != 0 ] && kill -TERM "$pcmk" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$pcmk" 2>/dev/null || break; sleep 0.1; done
  [ "$coro" != 0 ] && kill -TERM "$coro" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$coro" 2>/dev/null || break; sleep 0.1; done
  say "shut down"
  exit 0
}
trap shutdown TERM INT

corosync -f >>/var/log/corosync/corosync.stderr 2>&1 &
coro=$!
ok=0
for _ in $(seq 100); do
  kill -0 "$coro" 2>/dev/null || die "corosync exited (see /var/log/corosync)"
  corosync-cfgtool -s >/dev/null 2>&1 && { ok=1; break; }
  sleep 0.1
done
[ "$ok" = 1 ] || die "corosync-cfgtool -s did not answer within 10 s"
say "corosync up (pid $coro)"

# fshost's state defaults to /var/lib/fshost/state, a path both nodes share
# here: the agents (children of pacemaker-execd, which passes its environment
# on) keep it in the node's own /run instead.
FSHOST_STATE_DIR=/run/fshost/state PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_debug=no \
  pacemakerd >>/var/log/pacemaker/pacemakerd.stderr 2>&1 &
pcmk=$!
say "pacemakerd started (pid $pcmk)"
echo up > /run/fsh-node-up

# PID 1 reaps orphans (bash's SIGCHLD handler waits for any child).
while :; do
  sleep 1 & wait $!
  if ! kill -0 "$coro" 2>/dev/null; then say "corosync died"; coro=0; fi
done
