#!/usr/bin/env bash
# make demo, the logwriter part: a shell loop that writes a log, started by
# fshost, checked at every level, a fault of each level caught (the writer
# stopped with SIGSTOP, an error line, the writer killed), a rotation that
# is not one, and stopped. Leaves nothing running. Its own CDB and
# directories, so it also runs alone:
#   Tests/Scripts/demo-logwriter.sh BIN_DIR
set -uo pipefail
bin=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/fshost-demo-log.XXXXXX); chmod 755 "$work"; mkdir -m 755 "$work/logs"
export FSHOST_PLUGIN_PATH=$bin FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
fshost="$bin/fshost"
cleanup() {
  "$fshost" logwriter stop lw1 >/dev/null 2>&1
  "$fshost" exec2 -s KILL -t "$work" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/demo-step.sh"  # step DESCRIPTION fshost-args…

log=$work/logs/app.log
# The writer: a heartbeat every 0.2 s on stdout, which fshost appends to the log.
loop="i=0; while :; do i=\$((i+1)); echo \"\$(date +%T) heartbeat \$i ok\"; sleep 0.2; done # demo $work"
"$fshost" cdb define logwriter lw1 start_command="[\"/bin/sh\",\"-c\",\"${loop//\"/\\\"}\"]" log_file="$log" \
  pidfile="$work/lw1.pid" growth_window=1s expected_message='heartbeat [0-9]+ ok' error_pattern='ERROR|FATAL' \
  retries=0 >/dev/null || { echo "  !! cdb define logwriter lw1 failed"; exit 1; }
echo "logwriter/lw1 (a shell loop writing $log):"
"$fshost" describe logwriter | sed -n '/MONITORING LEVELS/,/^$/p' | sed 's/^/  /'
step "monitor (stopped)" logwriter monitor lw1
step "start" logwriter start lw1
step "start again (idempotent)" logwriter start lw1
sleep 0.5
for level in 1 2 3; do step "monitor level $level" logwriter monitor lw1 --level "$level"; done
step "exclusive" logwriter exclusive lw1
cp "$log" "$log.1" && : > "$log"
printf '  %-44s\n' "rotation: app.log copied to app.log.1 and truncated (logrotate copytruncate)"
sleep 0.5
step "monitor level 3 (a rotation is no fault)" logwriter monitor lw1 --level 3
pid=$(cat "$work/lw1.pid")
kill -STOP "$pid"
printf '  %-44s\n' "fault: the writer ($pid) is stopped with SIGSTOP"
sleep 1.3
step "monitor level 1 (it still exists)" logwriter monitor lw1 --level 1
step "monitor level 2 (the fault caught)" logwriter monitor lw1 --level 2
kill -CONT "$pid"
sleep 0.3
echo "$(date +%T) ERROR database connection lost" >> "$log"
printf '  %-44s\n' "fault: an error line in the log"
step "monitor level 3 (the fault caught)" logwriter monitor lw1 --level 3
step "restart (forgets the error)" logwriter restart lw1
sleep 0.5
step "monitor level 3" logwriter monitor lw1 --level 3
pid=$(cat "$work/lw1.pid")
kill -KILL "$pid"
printf '  %-44s\n' "fault: the writer ($pid) is killed"
step "monitor level 1 (the fault caught)" logwriter monitor lw1 --level 1
step "stop" logwriter stop lw1
step "stop again (idempotent)" logwriter stop lw1
if "$fshost" exec2 -s 0 -t "demo $work" 2>/dev/null; then
  echo "  !! the demo's writer is still running"; exit 1
else
  echo "  no writer of the demo remains (checked with fshost exec2 -s 0)"
fi
echo "  log lines fshost wrote:"
sed 's/^/    /' "$work/log"
