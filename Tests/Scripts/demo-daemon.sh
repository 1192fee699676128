#!/usr/bin/env bash
# make demo, the daemon part: Python's http.server as a resource with no
# code of its own (the generic daemon type): started by fshost, checked at
# every level (process, port, HTTP), a fault caught (the server killed),
# checked by fshost verify, stopped. Leaves nothing running. Its own CDB
# and directories, so it also runs alone:
#   Tests/Scripts/demo-daemon.sh BIN_DIR
set -uo pipefail
bin=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/fshost-demo-daemon.XXXXXX); chmod 755 "$work"; mkdir -m 755 "$work/www"
export FSHOST_PLUGIN_PATH=$bin FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
fshost="$bin/fshost"
cleanup() {
  "$fshost" daemon stop d1 >/dev/null 2>&1
  "$fshost" exec2 -s KILL -t "$work" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/demo-step.sh"

# A free loopback port: bind port 0 and read what the kernel gave.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$fshost" cdb define daemon d1 \
  start_command="[\"/usr/bin/python3\",\"-m\",\"http.server\",\"$port\",\"--bind\",\"127.0.0.1\",\"--directory\",\"$work/www\"]" \
  process_name=python3 pidfile="$work/d1.pid" port="$port" url="http://127.0.0.1:$port/" retries=0 >/dev/null \
  || { echo "  !! cdb define daemon d1 failed"; exit 1; }
echo "daemon/d1 (python3 -m http.server on 127.0.0.1:$port, no code of its own):"
step "monitor (stopped)" daemon monitor d1
step "start" daemon start d1
step "start again (idempotent)" daemon start d1
for level in 1 2 3; do step "monitor level $level" daemon monitor d1 --level "$level"; done
step "exclusive" daemon exclusive d1
pid=$(cat "$work/d1.pid")
kill -KILL "$pid"
printf '  %-44s\n' "fault: the server ($pid) is killed"
step "monitor level 1 (the fault caught)" daemon monitor d1 --level 1
step "stop" daemon stop d1
step "stop again (idempotent)" daemon stop d1
echo "  fshost verify daemon d1:"
# Not on a terminal, verify answers JSON: one line per step here.
"$fshost" verify daemon d1 2>&1 | python3 -c '
import json, sys
r = json.load(sys.stdin)
for s in r["steps"]: print("    %-34s %s (%d ms)" % (s["step"], s["result"], s["ms"]))
print("    " + r["summary"])'
if "$fshost" exec2 -s 0 -t "$work" 2>/dev/null; then
  echo "  !! the demo's server is still running"; exit 1
else
  echo "  no server of the demo remains (checked with fshost exec2 -s 0)"
fi
echo "  log lines fshost wrote:"
sed 's/^/    /' "$work/log"
