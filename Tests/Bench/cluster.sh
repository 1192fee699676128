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

nginx=/usr/sbin/nginx
skip() { printf '## Cluster managers: FailSafe batch and OCF agent\n\nskipped: %s\n\n' "$1" >> "$report"; echo "skipped: $1" >&2; exit 0; }
[ -x "$nginx" ] || skip "$nginx is not installed (Debian package nginx-light)"
for f in fshost fshost-admin libtemplate.so libwebserver.so; do [ -e "$bin/$f" ] || skip "$bin/$f is not built"; done

work=$(mktemp -d /tmp/fshost-bench-cluster.XXXXXX)
chmod 0755 "$work"
export FSHOST_PLUGIN_PATH=$bin FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
agent=$work/usr/lib/ocf/resource.d/fshost/webserver
cleanup() {
  OCF_RESOURCE_INSTANCE=web1 "$agent" stop >/dev/null 2>&1 || true
  "$bin/fshost" webserver stop web1 >/dev/null 2>&1 || true
  if [ -s "$work/nginx.pid" ]; then kill -KILL "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
make -s -C "$repo" install-files BIN="$bin" PREFIX="$work/usr" >/dev/null

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

hyperfine -N --warmup 3 --runs 20 --export-json "$work/batch.json" \
  -n "batch of 50" "$bin/fshost template monitor $work/in $work/out" \
  -n "50 separate calls" "sh $work/separate.sh" >/dev/null 2>&1
hyperfine -N --warmup 10 --runs 200 --export-json "$work/ocf.json" \
  -n "native" "$bin/fshost webserver monitor web1" \
  -n "ocf agent" "$agent monitor" \
  -n "fshost ocf (no script)" "$bin/fshost ocf webserver monitor" >/dev/null 2>&1
b=$(median_ms "$work/batch.json" 0); s=$(median_ms "$work/batch.json" 1)
rb=$(ratio "$s" "$b")
bper=$(python3 -c "print('%.2f' % ($b / 50))"); sper=$(python3 -c "print('%.2f' % ($s / 50))")
n=$(median_ms "$work/ocf.json" 0); o=$(median_ms "$work/ocf.json" 1); d=$(median_ms "$work/ocf.json" 2)
ro=$(ratio "$o" "$n"); rd=$(ratio "$d" "$n")
cpu() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", ($1 + $2) * 1000}'; }
bc=$(cpu "$bin/fshost" template monitor "$work/in" "$work/out"); sc=$(cpu sh "$work/separate.sh")
yes_no() { python3 -c 'import sys; print("yes" if eval(sys.argv[1]) else "NO")' "$1"; }

cat >> "$report" <<EOT
## Cluster managers: FailSafe batch and OCF agent (same run)

**Batch.** 50 \`template\` resources: one \`fshost template monitor IN OUT\`
(srmd's form; each resource its own \`fshost\` child, 8 at once) against a
script of 50 separate \`fshost template monitor tN\` calls. hyperfine -N, 20 runs.
CPU (user + sys, one run, /usr/bin/time): batch $bc ms, separate $sc ms.

| | wall | per resource |
|---|---|---|
| batch of 50 | $b ms | $bper ms |
| 50 separate calls | $s ms | $sper ms |
| separate / batch | $rb | ≥ 5×: $(yes_no "$rb >= 5") |

**OCF.** The same nginx monitored at the type's default level (2, port):
the native call reads the CDB; the OCF agent (\`lib/ocf/resource.d/fshost/webserver\`,
a \`sh\` script that execs \`fshost ocf webserver\`) reads \`OCF_RESKEY_*\`.
hyperfine -N, 200 runs.

| | median | / native | within 10 % |
|---|---|---|---|
| \`fshost webserver monitor web1\` | $n ms | 1 | |
| \`ocf:fshost:webserver monitor\` | $o ms | $ro | $(yes_no "$ro <= 1.10") |
| \`fshost ocf webserver monitor\` (no script) | $d ms | $rd | $(yes_no "$rd <= 1.10") |

EOT
echo "cluster: batch $b ms vs separate $s ms (${rb}x); ocf agent $o ms, fshost ocf $d ms vs native $n ms (${ro}, ${rd})"
