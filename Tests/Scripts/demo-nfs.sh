#!/usr/bin/env bash
# The nfs part of `make demo`: two exports of a real NFS-Ganesha, in a
# network namespace of its own (rpcbind and Ganesha need ports 111 and 2049;
# the namespace keeps the machine's own free). fshost runs in it, as it would
# on the NFS server: start (starts Ganesha), every level, a fault caught,
# stop one export while the other stays served. Leaves nothing running.
#   Tests/Scripts/demo-nfs.sh BIN_DIR
set -uo pipefail
bin=$(cd "$1" && pwd)
for tool in /usr/bin/ganesha.nfsd /usr/sbin/rpcbind /usr/sbin/ip /usr/bin/nsenter /usr/bin/unshare; do
  [ -x "$tool" ] || { echo "nfs demo: $tool is not installed (make deps)"; exit 1; }
done
work=$(mktemp -d /tmp/fshost-demo-nfs.XXXXXX); chmod 755 "$work"
ns=fshost-demo-nfs-$$
export FSHOST_PLUGIN_PATH=$bin FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
cleanup() {
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$pid"; kill -KILL "$pid"; done 2>/dev/null
  sleep 0.2
  ip netns delete "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/nfs-lab.sh"

names=(HA_SUCCESS HA_NOT_RUNNING HA_INVAL_ARGS HA_CMD_FAILED HA_RUNNING HA_NOTSUPPORTED HA_NOCFGINFO HA_PLUGIN_REFUSED HA_TIMEDOUT)
step() {  # step DESCRIPTION fshost-args…
  local what=$1; shift
  local start end rc
  start=$(date +%s%N)
  in_ns "$bin/fshost" "$@" 2>>"$work/log"; rc=$?
  end=$(date +%s%N)
  printf '  %-44s → %-16s (%d ms)\n' "$what" "${names[$rc]:-status $rc}" $(( (end - start) / 1000000 ))
}

mkdir -p "$work/exports" "$work/recovery" "$work/data1" "$work/data2"
echo "one" > "$work/data1/readme"; echo "two" > "$work/data2/readme"
cat > "$work/ganesha.conf" <<CONF
NFS_CORE_PARAM { Enable_NLM = false; Enable_RQUOTA = false; Protocols = 3, 4; }
NFSV4 { RecoveryBackend = fs_ng; RecoveryRoot = "$work/recovery"; Graceless = true; }
%dir $work/exports
CONF
nfs_lab_up || exit 1

server=(config="$work/ganesha.conf" exports_dir="$work/exports" pidfile="$work/ganesha.pid" log_file="$work/ganesha.log")
"$bin/fshost" cdb define nfs data1 path="$work/data1" export_id=11 clients=127.0.0.1 access=rw retries=0 \
  mount_timeout=1s list_timeout=1s "${server[@]}" >/dev/null
"$bin/fshost" cdb define nfs data2 path="$work/data2" pseudo=/data2 export_id=12 clients=127.0.0.0/8 versions=4 \
  retries=0 "${server[@]}" >/dev/null
echo "nfs/data1 and nfs/data2 (NFS-Ganesha in network namespace $ns; checks through libnfs):"
"$bin/fshost" describe nfs | sed -n '/MONITORING LEVELS/,/^$/p' | sed 's/^/  /'
step "data1 monitor level 3 (stopped)" nfs monitor data1 --level 3
step "data1 start (starts Ganesha)" nfs start data1
step "data2 start (SIGHUP, Ganesha stays)" nfs start data2
for level in 1 2 3; do step "data1 monitor level $level" nfs monitor data1 --level "$level"; done
step "data2 monitor level 3 (NFSv4)" nfs monitor data2 --level 3
step "data1 exclusive" nfs exclusive data1
printf '  %-44s\n' "export files: $(ls "$work/exports" | tr '\n' ' ')"
pid=$(cat "$work/ganesha.pid")
kill -STOP "$pid"
printf '  %-44s\n' "fault: Ganesha ($pid) is stopped (SIGSTOP)"
step "data1 monitor level 1 (process is there)" nfs monitor data1 --level 1
step "data1 monitor level 3 (caught, 1 s timeout)" nfs monitor data1 --level 3
kill -CONT "$pid"
step "data1 monitor level 3 (SIGCONT)" nfs monitor data1 --level 3
for p in $(ip netns pids "$ns"); do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = rpcbind ] && kill -KILL "$p"; done
sleep 0.1
nfs_lab_rpcbind || exit 1
printf '  %-44s\n' "fault: rpcbind restarted (registrations lost)"
step "data1 monitor level 2 (caught)" nfs monitor data1 --level 2
step "data1 stop (withdrawal asked over NFSv4)" nfs stop data1
step "data1 start (restarts Ganesha: registers)" nfs start data1
step "data1 monitor level 3" nfs monitor data1 --level 3
step "data2 monitor level 3 (after the restart)" nfs monitor data2 --level 3
"$bin/fshost" cdb define nfs bad path="$work/data2" export_id=11 clients=127.0.0.1 "${server[@]}" >/dev/null 2>&1
step "bad start (export_id 11 is data1's)" nfs start bad
step "data1 stop (only its export)" nfs stop data1
step "data2 monitor level 3 (still served)" nfs monitor data2 --level 3
step "data1 monitor level 1 (stopped)" nfs monitor data1 --level 1
step "data2 stop" nfs stop data2
printf '  %-44s\n' "export files left: $(ls "$work/exports" | wc -l); Ganesha keeps running for other exports"
echo
echo "  nfs log lines:"
sed 's/^/    /' "$work/log"
