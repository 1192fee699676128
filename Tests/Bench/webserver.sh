#!/usr/bin/env bash
# WebServer: `fshost webserver monitor` against Pacemaker's shell agent
# ocf:heartbeat:nginx, both monitoring the same nginx, in one hyperfine run:
#   the agent's default monitor (pidfile + process)  vs  fshost level 1
#   the agent's OCF_CHECK_LEVEL=10 (GET status URL)  vs  fshost level 3
# plus peak RSS. Target (the issue): fshost >= 5x faster at both, <= 16 MiB.
#   Tests/Bench/webserver.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
. "$(dirname "$0")/lib.sh"
bench_tree

agent=/usr/lib/ocf/resource.d/heartbeat/nginx
nginx=/usr/sbin/nginx
skip() { printf '## WebServer: fshost vs ocf:heartbeat:nginx\n\nskipped: %s\n\n' "$1" >> "$report"; echo "skipped: $1" >&2; exit 0; }
[ -x "$nginx" ] || skip "$nginx is not installed (Debian package nginx-light)"
[ -x "$agent" ] || skip "$agent is not installed (Debian package resource-agents)"
command -v curl >/dev/null || skip "the agent's level 10 needs curl or wget (Debian package curl)"
for f in "$bin/fshost" "$(plugin_so webserver)" "$(plugin_so webserver-http)"; do [ -e "$f" ] || skip "$f is not built"; done

work=$(mktemp -d /tmp/fshost-bench-web.XXXXXX)
chmod 0755 "$work"
export FSHOST_PLUGIN_PATH=$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
cleanup() {
  "$bin/fshost" webserver stop web1 >/dev/null 2>&1 || true
  # Whatever is left of this bench's own nginx (its pidfile, its config path).
  if [ -s "$work/nginx.pid" ]; then kill -KILL "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/logs" "$work/tmp"
cat > "$work/nginx.conf" <<EOF
# fshost bench (Tests/Bench/webserver.sh)
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $work/tmp;
    server {
        listen 127.0.0.1:$port;
        location = / { return 200 "home\n"; }
        location = /nginx_status { stub_status; }
    }
}
EOF

# Both monitor the same URL: the agent's level 10 greps the stub_status page,
# fshost's level 3 checks its status code.
url=http://127.0.0.1:$port/nginx_status
"$bin/fshost" cdb define webserver web1 config="$work/nginx.conf" port="$port" prefix="$work" \
  url_path=/nginx_status retries=0 >/dev/null
# The same server as a second resource whose level 3 uses the built-in
# plain-HTTP GET instead of libcurl (the companion, the default).
"$bin/fshost" cdb define webserver web1builtin config="$work/nginx.conf" port="$port" prefix="$work" \
  url_path=/nginx_status retries=0 http_client=builtin >/dev/null
"$bin/fshost" webserver start web1
for level in 1 2 3; do
  "$bin/fshost" webserver monitor web1 --level $level 2>/dev/null \
    || { echo "fshost webserver monitor --level $level failed (status $?)" >&2; exit 1; }
done
"$bin/fshost" webserver monitor web1builtin --level 3 2>/dev/null \
  || { echo "fshost webserver monitor web1builtin --level 3 failed (status $?)" >&2; exit 1; }

ocf=(env OCF_ROOT=/usr/lib/ocf OCF_RESKEY_httpd=$nginx OCF_RESKEY_configfile=$work/nginx.conf
     OCF_RESKEY_port=$port OCF_RESKEY_status10url=$url)
set +e
"${ocf[@]}" OCF_CHECK_LEVEL=0 "$agent" monitor >/dev/null 2>&1; agent0=$?
"${ocf[@]}" OCF_CHECK_LEVEL=10 "$agent" monitor >/dev/null 2>&1; agent10=$?
set -e
echo "ocf:heartbeat:nginx monitor: exit $agent0; with OCF_CHECK_LEVEL=10: exit $agent10 (0 = OCF_SUCCESS)"
[ "$agent0" = 0 ] && [ "$agent10" = 0 ] || { echo "the shell agent does not succeed against the running nginx" >&2; exit 1; }

hyperfine -N --warmup 10 --runs 200 --export-json "$work/web.json" \
  -n "fshost level 1" "$bin/fshost webserver monitor web1 --level 1" \
  -n "ocf nginx monitor" "${ocf[*]} OCF_CHECK_LEVEL=0 $agent monitor" \
  -n "fshost level 3" "$bin/fshost webserver monitor web1 --level 3" \
  -n "ocf nginx monitor level 10" "${ocf[*]} OCF_CHECK_LEVEL=10 $agent monitor" \
  -n "fshost level 2" "$bin/fshost webserver monitor web1 --level 2" \
  -n "fshost level 3 (builtin)" "$bin/fshost webserver monitor web1builtin --level 3" >/dev/null 2>&1
f1=$(median_ms "$work/web.json" 0); a0=$(median_ms "$work/web.json" 1)
f3=$(median_ms "$work/web.json" 2); a10=$(median_ms "$work/web.json" 3)
f2=$(median_ms "$work/web.json" 4); f3c=$(median_ms "$work/web.json" 5)
r1=$(ratio "$a0" "$f1"); r3=$(ratio "$a10" "$f3"); r3c=$(ratio "$a10" "$f3c")
m1=$(peak_rss_kib "$bin/fshost" webserver monitor web1 --level 1)
m2=$(peak_rss_kib "$bin/fshost" webserver monitor web1 --level 2)
m3=$(peak_rss_kib "$bin/fshost" webserver monitor web1 --level 3)
m3c=$(peak_rss_kib "$bin/fshost" webserver monitor web1builtin --level 3)
ma0=$(peak_rss_kib "${ocf[@]}" OCF_CHECK_LEVEL=0 "$agent" monitor)
ma10=$(peak_rss_kib "${ocf[@]}" OCF_CHECK_LEVEL=10 "$agent" monitor)
verdict() { python3 -c 'import sys; print("yes" if float(sys.argv[1]) >= 5 else "NO")' "$1"; }
mib() { python3 -c 'import sys; print("%.1f" % (int(sys.argv[1]) / 1024))' "$1"; }
rss_ok() { python3 -c 'import sys; print("yes" if int(sys.argv[1]) <= 16 * 1024 else "NO")' "$1"; }

cat >> "$report" <<EOT
## WebServer: fshost vs ocf:heartbeat:nginx (same nginx, same run)

One nginx on 127.0.0.1:$port, started by fshost. Both monitor it: the agent
with \`OCF_ROOT=/usr/lib/ocf OCF_RESKEY_httpd OCF_RESKEY_configfile
OCF_RESKEY_port OCF_RESKEY_status10url\` (through \`env\`), fshost with a
CDB resource (\`url_path=/nginx_status retries=0\`): both level-3/level-10
checks GET the same stub_status URL. fshost's level 3 uses libcurl in the
\`webserver-http\` companion (the default); the second HTTP row is the opt-in
\`http_client=builtin\` (one socket, no library to load). The agent exited $agent0 (default) and
$agent10 (level 10) against it before timing. hyperfine -N, 200 runs each.

| check | fshost | ocf:heartbeat:nginx | agent / fshost | ≥ 5× |
|---|---|---|---|---|
| process (fshost level 1 / agent default) | $f1 ms | $a0 ms | $r1 | $(verdict "$r1") |
| HTTP (fshost level 3 with libcurl / agent OCF_CHECK_LEVEL=10) | $f3 ms | $a10 ms | $r3 | $(verdict "$r3") |
| HTTP (level 3, \`http_client=builtin\`, no libcurl) | $f3c ms | $a10 ms | $r3c | $(verdict "$r3c") |
| port (fshost level 2; the agent has none) | $f2 ms | — | — | — |

Peak RSS of the largest process of the call (fshost: its supervisor or its worker; median of 9 runs, Tests/Bench/treerun.c; target ≤ 16 MiB):

| command | peak RSS | ≤ 16 MiB |
|---|---|---|
| \`fshost webserver monitor --level 1\` | $m1 KiB ($(mib "$m1") MiB) | $(rss_ok "$m1") |
| \`fshost webserver monitor --level 2\` | $m2 KiB ($(mib "$m2") MiB) | $(rss_ok "$m2") |
| \`fshost webserver monitor --level 3\` (libcurl) | $m3 KiB ($(mib "$m3") MiB) | $(rss_ok "$m3") |
| \`fshost webserver monitor --level 3\` with \`http_client=builtin\` | $m3c KiB ($(mib "$m3c") MiB) | $(rss_ok "$m3c") |
| agent default monitor | $ma0 KiB | |
| agent OCF_CHECK_LEVEL=10 | $ma10 KiB | |

EOT
echo "webserver: level 1 $f1 ms vs agent $a0 ms (${r1}x); level 3 $f3 ms (builtin $f3c ms) vs agent level 10 $a10 ms (${r3}x, ${r3c}x); RSS $m1/$m2/$m3/$m3c KiB"
