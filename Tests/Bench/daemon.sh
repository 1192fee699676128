#!/usr/bin/env bash
# Daemon: the generic `daemon` type's level 1 against Pacemaker's generic shell
# agent ocf:heartbeat:anything, both monitoring the same process (a Python
# http.server started by fshost) through the same pidfile, in one hyperfine run.
# Issue 16: "each type's level 1 against its OCF shell agent where one exists".
#   Tests/Bench/daemon.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
. "$(dirname "$0")/lib.sh"
bench_tree

agent=/usr/lib/ocf/resource.d/heartbeat/anything
skip() { printf '## Daemon: fshost vs ocf:heartbeat:anything\n\nskipped: %s\n\n' "$1" >> "$report"; echo "skipped: $1" >&2; exit 0; }
[ -x "$agent" ] || skip "$agent is not installed (Debian package resource-agents)"
for f in "$bin/fshost" "$(plugin_so daemon)"; do [ -e "$f" ] || skip "$f is not built"; done

work=$(mktemp -d /tmp/fshost-bench-daemon.XXXXXX)
chmod 0755 "$work"; mkdir -m 0755 "$work/www"
export FSHOST_PLUGIN_PATH=$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
cleanup() {
  "$bin/fshost" daemon stop d1 >/dev/null 2>&1 || true
  "$bin/fshost" exec2 -s KILL -t "$work" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/fshost" cdb define daemon d1 \
  start_command="[\"/usr/bin/python3\",\"-m\",\"http.server\",\"$port\",\"--bind\",\"127.0.0.1\",\"--directory\",\"$work/www\"]" \
  process_name=python3 pidfile="$work/d1.pid" port="$port" retries=0 >/dev/null
"$bin/fshost" daemon start d1 2>/dev/null || { echo "fshost daemon start d1 failed" >&2; exit 1; }
"$bin/fshost" daemon monitor d1 --level 1 2>/dev/null || { echo "fshost daemon monitor --level 1 failed" >&2; exit 1; }

ocf=(env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=d1 OCF_RESKEY_binfile=/usr/bin/python3 OCF_RESKEY_pidfile=$work/d1.pid)
set +e; "${ocf[@]}" "$agent" monitor >/dev/null 2>&1; agent_status=$?; set -e
[ "$agent_status" = 0 ] || { echo "ocf:heartbeat:anything monitor answered $agent_status against the running server" >&2; exit 1; }

hyperfine -N --warmup 10 --runs 200 --export-json "$work/daemon.json" \
  -n "fshost level 1" "$bin/fshost daemon monitor d1 --level 1" \
  -n "ocf anything monitor" "${ocf[*]} $agent monitor" >/dev/null 2>&1
f1=$(median_ms "$work/daemon.json" 0); a=$(median_ms "$work/daemon.json" 1)
c1=$(tree_cpu_ms 30 "$bin/fshost" daemon monitor d1 --level 1); ca=$(tree_cpu_ms 30 "${ocf[@]}" "$agent" monitor)
cat >> "$report" <<EOT
## Daemon: fshost vs ocf:heartbeat:anything (same process, same run)

A Python \`http.server\` started by \`fshost daemon start\` (pidfile \`d1.pid\`). The agent
monitors it through the same pidfile (\`OCF_RESKEY_pidfile\`, \`kill -s 0\`); fshost's level 1
checks the pidfile's process is the resource's (\`process_name=python3\`, its start time,
its launch mark). hyperfine -N, 200 runs; CPU of the whole process tree, median of 30.

| check | fshost level 1 | ocf:heartbeat:anything monitor | agent / fshost |
|---|---|---|---|
| wall | $f1 ms | $a ms | $(ratio "$a" "$f1") |
| CPU (process tree) | $c1 ms | $ca ms | $(ratio "$ca" "$c1") |

EOT
echo "daemon: level 1 $f1 ms vs anything $a ms ($(ratio "$a" "$f1")x)"
