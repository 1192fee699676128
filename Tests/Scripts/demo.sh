#!/usr/bin/env bash
# make demo: the main job for real. A temporary CDB defines resources, and
# fshost drives each one start → monitor (every level) → exclusive → stop →
# monitor, on real servers (nginx on a free loopback port), printing what
# happened. Leaves nothing running.
#   Tests/Scripts/demo.sh BIN_DIR
set -uo pipefail
bin=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/fshost-demo.XXXXXX); chmod 755 "$work"
export FSHOST_PLUGIN_PATH=$bin FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
fshost="$bin/fshost"
cleanup() {
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null
  "$fshost" exec2 -s KILL -t "$work" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/demo-step.sh"  # step DESCRIPTION fshost-args…

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "fshost demo — plugins: $bin, CDB: $FSHOST_CDB"
echo
echo "Installed resource types:"
"$fshost" list | sed 's/^/  /'
echo

# --- template: FailSafe's template, every action succeeds ------------------
"$fshost" cdb define template example note="the template type" >/dev/null
echo "template/example (monitoring level 0: return success)"
step "start" template start example
step "monitor level 0" template monitor example --level 0
step "exclusive" template exclusive example
step "stop" template stop example
echo

# --- webserver: a real nginx on a free loopback port ------------------------
port=$(free_port)
mkdir -p "$work/nginx/html" "$work/nginx/logs"
echo "<h1>fshost demo</h1>" > "$work/nginx/html/index.html"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp-body;
  proxy_temp_path $work/nginx/tmp-proxy;
  fastcgi_temp_path $work/nginx/tmp-fastcgi;
  uwsgi_temp_path $work/nginx/tmp-uwsgi;
  scgi_temp_path $work/nginx/tmp-scgi;
  server { listen 127.0.0.1:$port; root $work/nginx/html; }
}
CONF
"$fshost" cdb define webserver web1 config="$work/nginx/nginx.conf" pidfile="$work/nginx/nginx.pid" \
  address=127.0.0.1 port="$port" url_path=/ monitor_level=3 >/dev/null
echo "webserver/web1 (nginx, 127.0.0.1:$port):"
"$fshost" describe webserver | sed -n '/MONITORING LEVELS/,/^$/p' | sed 's/^/  /'
step "monitor (stopped)" webserver monitor web1
step "exclusive (stopped)" webserver exclusive web1
step "start" webserver start web1
step "start again (idempotent)" webserver start web1
for level in 1 2 3; do step "monitor level $level" webserver monitor web1 --level "$level"; done
step "exclusive" webserver exclusive web1
printf '  %-44s → %s\n' "GET http://127.0.0.1:$port/ (from the demo)" \
  "$(python3 -c "import urllib.request,sys; r=urllib.request.urlopen('http://127.0.0.1:$port/',timeout=2); print(r.status, r.read().decode().strip())")"
master=$(head -n 1 "$work/nginx/nginx.pid")
kill -KILL "$master"
printf '  %-44s\n' "fault: the nginx master ($master) is killed"
step "monitor level 3 (the fault caught)" webserver monitor web1 --level 3
step "exclusive (its workers are left)" webserver exclusive web1
step "stop (cleans up what the crash left)" webserver stop web1
step "start (back in service)" webserver start web1
step "monitor level 3" webserver monitor web1 --level 3
step "restart" webserver restart web1
step "stop" webserver stop web1
step "stop again (idempotent)" webserver stop web1
step "monitor level 3 (stopped)" webserver monitor web1 --level 3
if "$fshost" exec2 -s 0 -t "$work/nginx/nginx.conf" 2>/dev/null; then
  echo "  !! an nginx with the demo's config is still running"; exit 1
else
  echo "  no nginx with the demo's config remains (checked with fshost exec2 -s 0)"
fi
echo
"$(dirname "$0")/demo-logwriter.sh" "$bin"; echo
"$(dirname "$0")/demo-ipfilter.sh" "$bin" || echo "  !! the ipfilter part failed (status $?)"
echo
"$(dirname "$0")/demo-database.sh" "$bin" || echo "  !! the database part failed (status $?)"
echo
"$(dirname "$0")/demo-nfs.sh" "$bin"; echo
"$(dirname "$0")/demo-daemon.sh" "$bin" || echo "  !! the daemon part failed (status $?)"
echo "Log lines fshost wrote (stderr; failures, starts and stops also go to syslog):"
sed 's/^/  /' "$work/log"
