#!/usr/bin/env bash
# NFS: `fshost nfs monitor` against libnfs's own `nfs-ls` listing the same
# export root, and level 1 against the template's monitor (the host's own
# floor), in one hyperfine run, against a real NFS-Ganesha in a network
# namespace of its own (ports 111 and 2049 are one per namespace).
# Targets (issue 10): level 3 <= template + 1.2 x nfs-ls; level 1 <= 1.2 x template.
#   Tests/Bench/nfs.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
. "$(dirname "$0")/lib.sh"
bench_tree

skip() { printf '## NFS: fshost vs nfs-ls\n\nskipped: %s\n\n' "$1" >> "$report"; echo "skipped: $1" >&2; exit 0; }
for tool in /usr/bin/ganesha.nfsd /usr/sbin/rpcbind /usr/bin/nfs-ls /usr/sbin/ip /usr/bin/nsenter /usr/bin/unshare; do
  [ -x "$tool" ] || skip "$tool is not installed (make deps)"
done
for f in "$bin/fshost" "$(plugin_so nfs)" "$(plugin_so nfs-client)" "$(plugin_so template)"; do [ -e "$f" ] || skip "$f is not built"; done

work=$(mktemp -d /tmp/fshost-bench-nfs.XXXXXX); chmod 0755 "$work"
ns=fshost-bench-nfs-$$
export FSHOST_PLUGIN_PATH=$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
cleanup() {
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$pid"; kill -KILL "$pid"; done 2>/dev/null || true
  sleep 0.2
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../Scripts/nfs-lab.sh"

mkdir -p "$work/exports" "$work/recovery" "$work/data"
mkdir -p "$work/data4" "$work/data4o"
for i in 1 2 3 4 5; do for d in data data4 data4o; do echo "file $i" > "$work/$d/f$i"; done; done
cat > "$work/ganesha.conf" <<CONF
NFS_CORE_PARAM { Enable_NLM = false; Enable_RQUOTA = false; Protocols = 3, 4; }
NFSV4 { RecoveryBackend = fs_ng; RecoveryRoot = "$work/recovery"; Graceless = true; }
%dir $work/exports
CONF
nfs_lab_up || exit 1
"$bin/fshost" cdb define nfs data path="$work/data" pseudo=/data export_id=7 clients=127.0.0.1 retries=0 \
  config="$work/ganesha.conf" exports_dir="$work/exports" pidfile="$work/ganesha.pid" log_file="$work/ganesha.log" >/dev/null
"$bin/fshost" cdb define nfs data4 path="$work/data4" pseudo=/data4 export_id=8 clients=127.0.0.1 retries=0 mount_version=4 \
  config="$work/ganesha.conf" exports_dir="$work/exports" pidfile="$work/ganesha.pid" >/dev/null
"$bin/fshost" cdb define nfs data4o path="$work/data4o" pseudo=/data4o export_id=9 clients=127.0.0.1 retries=0 versions=4 \
  config="$work/ganesha.conf" exports_dir="$work/exports" pidfile="$work/ganesha.pid" >/dev/null
"$bin/fshost" cdb define template floor >/dev/null
in_ns "$bin/fshost" nfs start data
for level in 1 2 3; do
  in_ns "$bin/fshost" nfs monitor data --level $level 2>/dev/null \
    || { echo "fshost nfs monitor --level $level failed (status $?)" >&2; exit 1; }
done
# Level 3 mounts with the lowest version served (3, mount_version=auto): nfs-ls
# lists the same root with NFSv3 (its default). A second export (a copy of the
# directory) is checked with NFSv4 (mount_version=4), against nfs-ls version=4;
# a third, v4 only (versions=4), runs both levels as NFSv4.
url="nfs://127.0.0.1$work/data"; url4="nfs://127.0.0.1/data4?version=4"
in_ns nfs-ls "$url" >/dev/null || { echo "nfs-ls $url failed" >&2; exit 1; }
in_ns "$bin/fshost" nfs start data4
in_ns nfs-ls "$url4" >/dev/null || { echo "nfs-ls $url4 failed" >&2; exit 1; }
in_ns "$bin/fshost" nfs monitor data4 --level 3 2>/dev/null || { echo "fshost nfs monitor data4 --level 3 failed" >&2; exit 1; }
in_ns "$bin/fshost" nfs start data4o
in_ns "$bin/fshost" nfs monitor data4o --level 3 2>/dev/null || { echo "fshost nfs monitor data4o --level 3 failed" >&2; exit 1; }

in_ns hyperfine -N --warmup 10 --runs 200 --export-json "$work/nfs.json" \
  -n "template monitor" "$bin/fshost template monitor floor --level 0" \
  -n "fshost nfs level 1" "$bin/fshost nfs monitor data --level 1" \
  -n "nfs-ls" "/usr/bin/nfs-ls $url" \
  -n "fshost nfs level 3" "$bin/fshost nfs monitor data --level 3" \
  -n "fshost nfs level 2" "$bin/fshost nfs monitor data --level 2" \
  -n "nfs-ls v4" "/usr/bin/nfs-ls $url4" \
  -n "fshost nfs level 3 v4" "$bin/fshost nfs monitor data4 --level 3" \
  -n "fshost nfs level 3 v4 only" "$bin/fshost nfs monitor data4o --level 3" >/dev/null 2>&1
t=$(median_ms "$work/nfs.json" 0); f1=$(median_ms "$work/nfs.json" 1); ls=$(median_ms "$work/nfs.json" 2)
f3=$(median_ms "$work/nfs.json" 3); f2=$(median_ms "$work/nfs.json" 4)
ls4=$(median_ms "$work/nfs.json" 5); f34=$(median_ms "$work/nfs.json" 6); f34o=$(median_ms "$work/nfs.json" 7)
budget34=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) + 1.2 * float(sys.argv[2])))' "$t" "$ls4")
budget3=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) + 1.2 * float(sys.argv[2])))' "$t" "$ls")
budget1=$(python3 -c 'import sys; print("%.2f" % (1.2 * float(sys.argv[1])))' "$t")
ok() { python3 -c 'import sys; print("yes" if float(sys.argv[1]) <= float(sys.argv[2]) else "NO")' "$1" "$2"; }
m1=$(peak_rss_kib nsenter --target "$nfs_lab_holder" --net --mount -- "$bin/fshost" nfs monitor data --level 1)
m3=$(peak_rss_kib nsenter --target "$nfs_lab_holder" --net --mount -- "$bin/fshost" nfs monitor data --level 3)

cat >> "$report" <<EOT
## NFS: fshost vs nfs-ls (same NFS-Ganesha export, same run)

NFS-Ganesha 4.3 in a network namespace, one export started by \`fshost nfs start\`.
fshost's level 3 runs level 1 (file + process), then levels 2 and 3 in one
call to the libnfs companion (v3: rpcbind DUMP; the MOUNT export list, MNT and
UMNT on one connection; GETATTR + READDIR on another; v4: PUTROOTFH, LOOKUP,
GETATTR and the same + READDIR, two COMPOUNDs at once on one connection):
with NFSv3 (\`mount_version=auto\`) against \`nfs-ls $url\`, and with NFSv4
(\`mount_version=4\`: the v3 listing, then the v4 check; and a \`versions=4\`
export: v4 only) against \`nfs-ls $url4\`. The template's monitor (level 0)
is the host's own floor. hyperfine -N inside the namespace, 200 runs each.

| command | median | target | met |
|---|---|---|---|
| \`fshost template monitor --level 0\` (floor) | $t ms | — | — |
| \`nfs-ls\` | $ls ms | — | — |
| \`fshost nfs monitor --level 1\` | $f1 ms | ≤ 1.2 × floor = $budget1 ms | $(ok "$f1" "$budget1") |
| \`fshost nfs monitor --level 2\` | $f2 ms | — | — |
| \`fshost nfs monitor --level 3\` (NFSv3) | $f3 ms | ≤ floor + 1.2 × nfs-ls = $budget3 ms | $(ok "$f3" "$budget3") |
| \`nfs-ls\` with version=4 | $ls4 ms | — | — |
| \`fshost nfs monitor --level 3\` with \`mount_version=4\` | $f34 ms | ≤ floor + 1.2 × nfs-ls v4 = $budget34 ms | $(ok "$f34" "$budget34") |
| \`fshost nfs monitor --level 3\` with \`versions=4\` | $f34o ms | ≤ floor + 1.2 × nfs-ls v4 = $budget34 ms | $(ok "$f34o" "$budget34") |

Peak RSS of the largest process of the call (median of 9, through \`nsenter\`): level 1 $m1 KiB, level 3 $m3 KiB.

No shell agent to compare level 1 with here: \`ocf:heartbeat:nfsserver\` and \`exportfs\` manage the
kernel's NFS server (\`/proc/fs/nfsd\`), which this kernel does not have.

EOT
echo "nfs: floor $t ms; level 1 $f1 ms (target $budget1); nfs-ls $ls ms; level 3 $f3 ms (target $budget3); level 2 $f2 ms; nfs-ls v4 $ls4 ms; level 3 v4 $f34 ms, v4 only $f34o ms (target $budget34)"
