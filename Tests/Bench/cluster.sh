#!/usr/bin/env bash
# Cluster managers (issue 13), in one hyperfine run:
#   one FailSafe batch of 50 template monitors  vs  50 separate `fshost template monitor` calls
#   the OCF agent's webserver monitor (ocf:fshost:webserver)  vs  the native `fshost webserver monitor`
# Targets (the issue): batch >= 5x cheaper per resource; OCF within 10 % of native.
#   Tests/Bench/cluster.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
build=$bin; bench_tree

nginx=/usr/sbin/nginx
skip() { printf '## Cluster managers: FailSafe batch and OCF agent\n\nskipped: %s\n\n' "$1" >> "$report"; echo "skipped: $1" >&2; exit 0; }
[ -x "$nginx" ] || skip "$nginx is not installed (Debian package nginx-light)"
for f in "$bin/fshost" "$build/fshost-admin" "$(plugin_so template)" "$(plugin_so webserver)"; do [ -e "$f" ] || skip "$f is not built"; done

work=$(mktemp -d /tmp/fshost-bench-cluster.XXXXXX)
chmod 0755 "$work"
export FSHOST_PLUGIN_PATH=$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
agent=$work/usr/lib/ocf/resource.d/fshost/webserver
cleanup() {
  OCF_RESOURCE_INSTANCE=web1 "$agent" stop >/dev/null 2>&1 || true
  "$bin/fshost" webserver stop web1 >/dev/null 2>&1 || true
  if [ -s "$work/nginx.pid" ]; then kill -KILL "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
make -s -C "$repo" install-files BIN="$build" PREFIX="$work/usr" >/dev/null

# 50 template resources: one batch input file, and the same 50 as separate calls.
: > "$work/in"; printf '#!/bin/sh\n' > "$work/separate.sh"
for i in $(seq 1 50); do
  "$bin/fshost" cdb define template "t$i" >/dev/null
  echo "t$i 0" >> "$work/in"
  echo "\"$bin/fshost\" template monitor t$i 2>/dev/null || exit 1" >> "$work/separate.sh"
done
"$bin/fshost" template monitor "$work/in" "$work/out" 2>/dev/null
[ "$(grep -c ' 0$' "$work/out")" = 50 ] || { echo "the batch did not answer 50 × 0" >&2; cat "$work/out" >&2; exit 1; }
sh "$work/separate.sh" || { echo "a separate template monitor failed" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/logs" "$work/tmp"
cat > "$work/nginx.conf" <<EOC
# fshost bench (Tests/Bench/cluster.sh)
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $work/tmp;
       server { listen 127.0.0.1:$port; location = / { return 200 "home\n"; } } }
EOC
# One nginx, two views of it: the CDB resource (native) and the OCF one.
"$bin/fshost" cdb define webserver web1 config="$work/nginx.conf" port="$port" prefix="$work" retries=0 >/dev/null
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=web1 OCF_RESKEY_config=$work/nginx.conf OCF_RESKEY_port=$port \
       OCF_RESKEY_prefix=$work OCF_RESKEY_retries=0 OCF_RESKEY_CRM_meta_timeout=20000 OCF_RESKEY_CRM_meta_interval=10000
"$agent" start 2>/dev/null || { echo "ocf:fshost:webserver start failed (status $?)" >&2; exit 1; }
"$agent" monitor 2>/dev/null || { echo "ocf:fshost:webserver monitor failed (status $?)" >&2; exit 1; }
"$bin/fshost" webserver monitor web1 2>/dev/null || { echo "native webserver monitor failed (status $?)" >&2; exit 1; }

# The machine is shared: five short rounds, each timing both sides back to
# back, and the median of the five (per-round ratios, so load that comes and
# goes between rounds cancels out).
rounds=5
for k in $(seq 1 $rounds); do
  hyperfine -N --warmup 2 --runs 5 --export-json "$work/batch$k.json" \
    -n "batch of 50" "$bin/fshost template monitor $work/in $work/out" \
    -n "50 separate calls" "sh $work/separate.sh" >/dev/null 2>&1
  tree_cpu_ms 5 "$bin/fshost" template monitor "$work/in" "$work/out" > "$work/cpu-batch$k"
  tree_cpu_ms 5 sh "$work/separate.sh" > "$work/cpu-separate$k"
  hyperfine -N --warmup 5 --runs 40 --export-json "$work/ocf$k.json" \
    -n "native" "$bin/fshost webserver monitor web1" \
    -n "ocf agent" "$agent monitor" \
    -n "fshost ocf" "$bin/fshost ocf webserver monitor" >/dev/null 2>&1
done
med() { python3 -c 'import statistics,sys; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
col() { local f=$1 i=$2; for k in $(seq 1 $rounds); do median_ms "$work/$f$k.json" "$i"; done; }
rat() { local f=$1 a=$2 b=$3; for k in $(seq 1 $rounds); do ratio "$(median_ms "$work/$f$k.json" "$a")" "$(median_ms "$work/$f$k.json" "$b")"; done; }
b=$(med $(col batch 0)); s=$(med $(col batch 1)); rb=$(med $(rat batch 1 0))
bper=$(python3 -c "print('%.2f' % ($b / 50))"); sper=$(python3 -c "print('%.2f' % ($s / 50))")
n=$(med $(col ocf 0)); o=$(med $(col ocf 1)); d=$(med $(col ocf 2))
ro=$(med $(rat ocf 1 0)); rd=$(med $(rat ocf 2 0))
# CPU: user + sys of the call and of every process below it, reaped by a
# subreaper (tree_cpu_ms): what the node pays, whatever else runs on it.
# (hyperfine's rusage counts waited-for children only: it missed every
# fshost worker, which nobody waits for, and so overstated the ratio.)
cpucol() { for k in $(seq 1 $rounds); do cat "$work/cpu-$1$k"; done; }
bc=$(med $(cpucol batch)); sc=$(med $(cpucol separate))
rc=$(ratio "$sc" "$bc")
yes_no() { python3 -c 'import sys; print("yes" if eval(sys.argv[1]) else "NO")' "$1"; }

cat >> "$report" <<EOT
## Cluster managers: FailSafe batch and OCF agent (same run)

**Batch.** 50 \`template\` resources: one \`fshost template monitor IN OUT\`
(srmd's form; the plugin verified once, the resources run by a pool of
workers the batch forks and supervises, each loading the plugin once) against a script of 50 separate
\`fshost template monitor tN\` calls. Wall: hyperfine -N, $rounds rounds of 5
runs; medians of the rounds, the ratio the median of per-round ratios. CPU:
user + sys of the call and of every process below it, orphans included
(a subreaper reaps them all; median of 5 runs per round, median of the
rounds): what the node pays; on a loaded machine wall time is mostly
waiting for a core.

| | CPU | CPU per resource | wall | wall per resource |
|---|---|---|---|---|
| batch of 50 | $bc ms | $(python3 -c "print('%.2f' % ($bc / 50))") ms | $b ms | $bper ms |
| 50 separate calls | $sc ms | $(python3 -c "print('%.2f' % ($sc / 50))") ms | $s ms | $sper ms |
| separate / batch | $rc (≥ 5×: $(yes_no "$rc >= 5")) | | $rb | |

**OCF.** The same nginx monitored at the type's default level (2, port):
the native call reads the CDB; the OCF agent (\`lib/ocf/resource.d/fshost/webserver\`,
a link to \`fshost\`, which runs \`fshost ocf webserver\`) reads \`OCF_RESKEY_*\`.
hyperfine -N, $rounds rounds of 40 runs; as above.

| | median | / native | within 10 % |
|---|---|---|---|
| \`fshost webserver monitor web1\` | $n ms | 1 | |
| \`ocf:fshost:webserver monitor\` | $o ms | $ro | $(yes_no "$ro <= 1.10") |
| \`fshost ocf webserver monitor\` (same, by its command line) | $d ms | $rd | $(yes_no "$rd <= 1.10") |

EOT
echo "cluster: batch CPU $bc ms vs $sc ms (${rc}x), wall $b ms vs $s ms (${rb}x); ocf agent $o ms, fshost ocf $d ms vs native $n ms (${ro}, ${rd})"
