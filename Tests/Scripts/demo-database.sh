#!/usr/bin/env bash
# make demo, database part: a real PostgreSQL 15 cluster (initdb as an OS
# user this script creates and removes, on a free loopback port, its socket
# in a temporary directory), driven by fshost: start → monitor (every
# level) → a fault caught → stop. Leaves nothing running.
#   Tests/Scripts/demo-database.sh BIN_DIR
set -uo pipefail
bin=$(cd "$1" && pwd)
pg=/usr/lib/postgresql/15/bin
user=fshostpgdemo
password=demo-Pg-pass-2718
work=$(mktemp -d /tmp/fshost-demo-db.XXXXXX); chmod 755 "$work"
export FSHOST_PLUGIN_PATH=$bin FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
fshost="$bin/fshost"
cleanup() {
  "$fshost" database stop db1 >/dev/null 2>&1
  if id -u "$user" >/dev/null 2>&1; then
    for pid in $(ps -o pid= -u "$user" 2>/dev/null); do kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; done
    sleep 0.2; userdel "$user" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/demo-step.sh"  # step DESCRIPTION fshost-args…

[ -x "$pg/initdb" ] || { echo "database: $pg/initdb is not installed (Debian package postgresql-15)"; exit 1; }
id -u "$user" >/dev/null 2>&1 && userdel "$user"
useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$user" || exit 1
mkdir -m 0700 "$work/data"; mkdir -m 0755 "$work/sock"
printf '%s\n' "$password" > "$work/pw"; chown "$user:" "$work/data" "$work/sock" "$work/pw"
setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- \
  "$pg/initdb" -D "$work/data" -U postgres --pwfile="$work/pw" -A scram-sha-256 --no-sync --no-instructions >/dev/null || exit 1
rm -f "$work/pw"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
psql() { PGPASSWORD=$password "$pg/psql" -h "$work/sock" -p "$port" -U postgres -d postgres -X -q -A -t -c "$1"; }

"$fshost" cdb define database db1 data_directory="$work/data" os_user="$user" port="$port" \
  socket_directory="$work/sock" table=orders monitor_level=3 retries=0 \
  --value-from-stdin password <<<"$password" >/dev/null || exit 1  # the secret on no command line
echo "database/db1 (PostgreSQL 15, os_user $user, port $port, socket in $work/sock; the password is a secret):"
"$fshost" describe database | sed -n '/MONITORING LEVELS/,/^$/p' | sed 's/^/  /'
step "monitor (stopped)" database monitor db1
step "start (pg_ctl start -w as $user)" database start db1
step "start again (idempotent)" database start db1
psql "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)"
printf '  %-44s\n' "the demo creates table orders with one row"
for level in 1 2 3; do step "monitor level $level" database monitor db1 --level "$level"; done
step "exclusive" database exclusive db1
psql "DROP TABLE orders"
printf '  %-44s\n' "fault: table orders is dropped"
step "monitor level 3 (the fault caught)" database monitor db1 --level 3
step "monitor level 2 (still accepting)" database monitor db1 --level 2
psql "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)"
master=$(head -n 1 "$work/data/postmaster.pid")
kill -KILL "$master"
printf '  %-44s\n' "fault: the postmaster ($master) is killed"
sleep 0.3
step "monitor level 1 (the fault caught)" database monitor db1 --level 1
step "start (stale postmaster.pid handled)" database start db1
step "monitor level 3 (recovered)" database monitor db1 --level 3
step "stop (pg_ctl stop -m fast)" database stop db1
step "stop again (idempotent)" database stop db1
step "monitor level 3 (stopped)" database monitor db1 --level 3
if "$fshost" exec2 -s 0 -t "$work/data" 2>/dev/null; then
  echo "  !! a postgres with the demo's data directory is still running"; exit 1
else
  echo "  no postgres with the demo's data directory remains (checked with fshost exec2 -s 0)"
fi
if grep -q -- "$password" "$work/log"; then echo "  !! the password appears in fshost's log lines"; exit 1; fi
echo
echo "Log lines fshost wrote for the database (the password appears in none):"
sed 's/^/  /' "$work/log"
echo
