#!/usr/bin/env bash
# Crowded node: does a monitor's cost grow with the number of unrelated
# processes? The same monitors on this quiet node and with CROWDED_EXTRA
# (default 5000) idle processes added (`sleep`, one process group):
#   - `fshost webserver monitor web1 --level 1` on a real nginx;
#   - a declared process with a pid hint (the C test plugin
#     Tests/Fixtures/ProcessPlugin/cproc.c, built here): the host checks the
#     hinted pid directly;
#   - the same declared process without a hint: the host scans /proc (the
#     cost the hint avoids).
# Target (issue 8): crowded / quiet ≤ 1.2 for webserver level 1.
#   Tests/Bench/crowded.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_tree
EXTRA=${CROWDED_EXTRA:-5000}
work=$(mktemp -d /tmp/fshost-bench-crowd.XXXXXX)
chmod 0755 "$work"
crowd_group=""
sleeper=""
have_nginx=""
export FSHOST_PLUGIN_PATH=$work/plugins:$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
cleanup() {
  if [ -n "$have_nginx" ]; then "$bin/fshost" webserver stop web1 >/dev/null 2>&1 || true; fi
  if [ -s "$work/nginx.pid" ]; then kill -KILL "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  if [ -n "$crowd_group" ]; then kill -KILL -- "-$crowd_group" 2>/dev/null || true; fi
  if [ -n "$sleeper" ]; then kill -KILL "$sleeper" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for tool in hyperfine python3 objcopy cc; do
  command -v "$tool" >/dev/null || { echo "crowded.sh: $tool is missing" >&2; exit 2; }
done

# The C plugin, with the record of this build's compiler (read from a built plugin).
mkdir -m 0755 "$work/plugins"
objcopy -O binary --only-section=.fshost_plugin "$(plugin_so template)" "$work/record.bin"
compiler=$(python3 -c 'import struct,sys; print(struct.unpack_from("<I", open(sys.argv[1],"rb").read(), 8)[0])' "$work/record.bin")
cc -shared -fPIC -O2 -I "$here/../../Sources/FSPluginABI/include" -DCPROC_CURRENT_ABI \
  -DCPROC_TYPE_NAME='"cproc"' -DCPROC_COMPILER_VERSION="$compiler" \
  -o "$work/plugins/cproc.so" "$here/../Fixtures/ProcessPlugin/cproc.c"
chmod 0755 "$work/plugins/cproc.so"

marker="3000.$RANDOM$RANDOM"
sleep "$marker" & sleeper=$!
disown "$sleeper" 2>/dev/null || true
sleep 0.2
start_time=$(python3 -c 'import sys; s=open("/proc/%s/stat" % sys.argv[1]).read(); print(s[s.rindex(")")+2:].split()[19])' "$sleeper")
"$bin/fshost" cdb define cproc hinted process_name=sleep argument="$marker" pid="$sleeper" start_time="$start_time" >/dev/null
"$bin/fshost" cdb define cproc scanned process_name=sleep argument="$marker" >/dev/null
"$bin/fshost" cproc monitor hinted 2>/dev/null || { echo "crowded.sh: cproc monitor hinted failed" >&2; exit 1; }
"$bin/fshost" cproc monitor scanned 2>/dev/null || { echo "crowded.sh: cproc monitor scanned failed" >&2; exit 1; }

# The hinted monitor must not list /proc at all (strace, when installed).
hinted_scans="n/a (no strace)"
if command -v strace >/dev/null; then
  hinted_scans=$(strace -f -e trace=getdents64 "$bin/fshost" cproc monitor hinted 2>&1 >/dev/null | grep -c '^.*getdents64(' || true)
fi
names=("cproc: declared process with a pid hint" "cproc: declared process without a hint (scan)")
cmds=("$bin/fshost cproc monitor hinted" "$bin/fshost cproc monitor scanned")
if [ -x /usr/sbin/nginx ] && [ -e "$(plugin_so webserver)" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/logs" "$work/tmp"
  cat > "$work/nginx.conf" <<EOC
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $work/tmp; server { listen 127.0.0.1:$port; location = / { return 200 "home\n"; } } }
EOC
  "$bin/fshost" cdb define webserver web1 config="$work/nginx.conf" port="$port" prefix="$work" retries=0 >/dev/null
  "$bin/fshost" webserver start web1 2>/dev/null && have_nginx=yes
  "$bin/fshost" webserver monitor web1 --level 1 2>/dev/null || { echo "crowded.sh: webserver monitor failed" >&2; exit 1; }
  names=("webserver level 1" "${names[@]}")
  cmds=("$bin/fshost webserver monitor web1 --level 1" "${cmds[@]}")
fi

# syscalls → how many system calls one hinted monitor makes (strace -c -f)
syscalls() {
  if command -v strace >/dev/null; then
    strace -c -f "$bin/fshost" cproc monitor hinted 2>&1 >/dev/null | awk '$NF == "total" { print $4 }'
  else echo "n/a"; fi
}
measure() {  # measure LABEL
  local args=() i
  for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine -N --warmup 5 --runs 60 --export-json "$work/$1.json" "${args[@]}" >/dev/null 2>&1
  # CPU of each call's whole tree (the worker included), 30 runs each.
  for i in "${!cmds[@]}"; do
    # shellcheck disable=SC2086 # the command line is words without spaces
    tree_cpu_ms 30 ${cmds[$i]} > "$work/$1.cpu$i"
  done
}
procs_quiet=$(ls /proc | grep -c '^[0-9]')
measure quiet
calls_quiet=$(syscalls)

setsid python3 - "$EXTRA" "$work/crowd.ready" <<'PY' &
import os, signal, sys
n, ready = int(sys.argv[1]), sys.argv[2]
sleep = "/bin/sleep" if os.path.exists("/bin/sleep") else "/usr/bin/sleep"
for _ in range(n):
    os.posix_spawn(sleep, ["sleep", "600"], os.environ)
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % os.getpgrp())
os.rename(ready + ".tmp", ready)
while True:
    signal.pause()
PY
crowd_group=$!
disown "$crowd_group" 2>/dev/null || true
for _ in $(seq 600); do [ -s "$work/crowd.ready" ] && break; sleep 0.1; done
[ -s "$work/crowd.ready" ] || { echo "crowded.sh: the crowd did not start in 60 s" >&2; exit 1; }
read -r crowd_group < "$work/crowd.ready"
sleep 3   # let the spawn storm settle: the crowd is idle processes, not load
procs_crowded=$(ls /proc | grep -c '^[0-9]')
measure crowded
calls_crowded=$(syscalls)
kill -KILL -- "-$crowd_group" 2>/dev/null || true
crowd_group=""

verdict() { python3 -c 'import sys; print("yes" if float(sys.argv[1]) <= 1.2 else "NO")' "$1"; }
{
  echo "## Crowded node: a monitor's cost and unrelated processes"
  echo
  echo "The same monitor on this node ($procs_quiet processes) and with $EXTRA idle \`sleep\` processes added"
  echo "($procs_crowded). hyperfine -N, 60 runs each, medians. Target: crowded / quiet ≤ 1.2 (webserver level 1)."
  echo
  echo "| monitor | quiet | crowded | crowded / quiet | ≤ 1.2 | CPU of the call's process tree (user+sys, median of 30) quiet → crowded | CPU ratio |"
  echo "|---|---|---|---|---|---|---|"
  for i in "${!cmds[@]}"; do
    q=$(median_ms "$work/quiet.json" "$i"); c=$(median_ms "$work/crowded.json" "$i"); r=$(ratio "$c" "$q")
    qc=$(cat "$work/quiet.cpu$i"); cc=$(cat "$work/crowded.cpu$i")
    echo "| ${names[$i]} | $q ms | $c ms | $r | $(verdict "$r") | $qc → $cc ms | $(ratio "$cc" "$qc") |"
  done
  [ -n "$have_nginx" ] || echo "| webserver level 1 | skipped: nginx or libwebserver.so missing | | | |"
  echo
  echo "The hinted row is the host's side: the plugin names its pid and start time, the host reads that one"
  echo "process. The unhinted row is what every monitor paid before (a full /proc scan)."
  echo "Directory reads (getdents64) of one hinted monitor, from strace: $hinted_scans. System calls of one"
  echo "hinted monitor (strace -c -f): $calls_quiet on the quiet node, $calls_crowded on the crowded one. Wall time"
  echo "on a machine whose cores other work shares varies more than the work done; the CPU column is the steadier."
  echo
} >> "$report"
echo "crowded: section appended to $report"
