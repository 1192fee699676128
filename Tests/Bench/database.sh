#!/usr/bin/env bash
# Database: `fshost database monitor` against its peers, all on one
# PostgreSQL 15 cluster this section makes (initdb as a user it creates and
# removes), in one hyperfine run:
#   level 2 (the default builtin start-up exchange; and ping_client=libpq)  vs  the real pg_isready (C, not the Perl wrapper)   target ≤ 1.2×
#   level 3 (a query on a table)        vs  ocf:heartbeat:pgsql monitor (same query)        target ≥ 5× faster
#   level 1 (the postmaster process)    vs  fshost template monitor                          target ≤ 1.2×
#   Tests/Bench/database.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
. "$(dirname "$0")/lib.sh"
bench_tree

pg=/usr/lib/postgresql/15/bin
agent=/usr/lib/ocf/resource.d/heartbeat/pgsql
user=fshostpgbench
password=bench-Pg-pass-4411
skip() { printf '## Database: fshost vs pg_isready and ocf:heartbeat:pgsql\n\nskipped: %s\n\n' "$1" >> "$report"; echo "skipped: $1" >&2; exit 0; }
for t in initdb pg_ctl postgres psql pg_isready; do [ -x "$pg/$t" ] || skip "$pg/$t is not installed (Debian package postgresql-15)"; done
[ -x "$agent" ] || skip "$agent is not installed (Debian package resource-agents)"
for f in "$bin/fshost" "$(plugin_so database)" "$(plugin_so database-libpq)" "$(plugin_so database-scram)" "$(plugin_so template)"; do [ -e "$f" ] || skip "$f is not built"; done

work=$(mktemp -d /tmp/fshost-bench-db.XXXXXX)
chmod 0755 "$work"
export FSHOST_PLUGIN_PATH=$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
cleanup() {
  "$bin/fshost" database stop db1 >/dev/null 2>&1 || true
  if id -u "$user" >/dev/null 2>&1; then
    # Only this section's own user's processes (it has no others).
    for pid in $(ps -o pid= -u "$user" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.2
    userdel "$user" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The agent runs psql through runuser -c, which needs a login shell.
id -u "$user" >/dev/null 2>&1 && userdel "$user"
useradd --system --no-create-home --user-group --shell /bin/sh "$user"
mkdir -m 0700 "$work/data"; mkdir -m 0755 "$work/sock"
printf '%s\n' "$password" > "$work/pw"
chown "$user:" "$work/data" "$work/sock" "$work/pw"
as_user() { setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"; }
as_user "$pg/initdb" -D "$work/data" -U postgres --pwfile="$work/pw" -A scram-sha-256 --no-sync --no-instructions >/dev/null
rm -f "$work/pw"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"$bin/fshost" cdb define template t1 >/dev/null
"$bin/fshost" cdb define database db1 data_directory="$work/data" os_user="$user" port="$port" \
  socket_directory="$work/sock" table=fshost_probe retries=0 --value-from-stdin password <<<"$password" >/dev/null
# The same server, level 2 with libpq's PQping (the companion loaded).
"$bin/fshost" cdb define database db1libpq data_directory="$work/data" os_user="$user" port="$port" \
  socket_directory="$work/sock" ping_client=libpq retries=0 >/dev/null
"$bin/fshost" database start db1
PGPASSWORD=$password "$pg/psql" -h "$work/sock" -p "$port" -U postgres -d postgres -X -q \
  -c "CREATE TABLE fshost_probe (id int); INSERT INTO fshost_probe VALUES (1)"
for level in 1 2 3; do
  "$bin/fshost" database monitor db1 --level $level 2>/dev/null \
    || { echo "fshost database monitor --level $level failed (status $?)" >&2; exit 1; }
done
isready=("$pg/pg_isready" -q -h "$work/sock" -p "$port" -d postgres -U postgres)
"${isready[@]}" || { echo "pg_isready does not succeed against the server" >&2; exit 1; }

# The agent checks the same table with the same query, as the same role.
ocf=(env OCF_ROOT=/usr/lib/ocf OCF_RESKEY_pgctl=$pg/pg_ctl OCF_RESKEY_psql=$pg/psql OCF_RESKEY_pgdata=$work/data
     OCF_RESKEY_pgdba=$user OCF_RESKEY_pgport=$port OCF_RESKEY_socketdir=$work/sock OCF_RESKEY_pgdb=postgres
     OCF_RESKEY_monitor_user=postgres OCF_RESKEY_monitor_password=$password
     "OCF_RESKEY_monitor_sql=SELECT 1 FROM fshost_probe LIMIT 1")
set +e
"${ocf[@]}" "$agent" monitor >/dev/null 2>&1; agentrc=$?
set -e
echo "ocf:heartbeat:pgsql monitor: exit $agentrc (0 = OCF_SUCCESS)"
[ "$agentrc" = 0 ] || { echo "the shell agent does not succeed against the running server" >&2; exit 1; }
# hyperfine -N splits on spaces: the agent's SQL goes through a small wrapper.
cat > "$work/agent-monitor" <<EOS
#!/bin/sh
exec env OCF_ROOT=/usr/lib/ocf OCF_RESKEY_pgctl=$pg/pg_ctl OCF_RESKEY_psql=$pg/psql OCF_RESKEY_pgdata=$work/data \
  OCF_RESKEY_pgdba=$user OCF_RESKEY_pgport=$port OCF_RESKEY_socketdir=$work/sock OCF_RESKEY_pgdb=postgres \
  OCF_RESKEY_monitor_user=postgres OCF_RESKEY_monitor_password=$password \
  "OCF_RESKEY_monitor_sql=SELECT 1 FROM fshost_probe LIMIT 1" $agent monitor
EOS
chmod 0700 "$work/agent-monitor"

hyperfine -N --warmup 10 --runs 200 --export-json "$work/db.json" \
  -n "fshost template monitor" "$bin/fshost template monitor t1" \
  -n "fshost database level 1" "$bin/fshost database monitor db1 --level 1" \
  -n "pg_isready (C)" "${isready[*]}" \
  -n "fshost database level 2" "$bin/fshost database monitor db1 --level 2" \
  -n "fshost database level 2 (libpq)" "$bin/fshost database monitor db1libpq --level 2" >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 40 --export-json "$work/agent.json" \
  -n "fshost database level 3" "$bin/fshost database monitor db1 --level 3" \
  -n "ocf pgsql monitor" "$work/agent-monitor" >/dev/null 2>&1
tm=$(median_ms "$work/db.json" 0); f1=$(median_ms "$work/db.json" 1)
ir=$(median_ms "$work/db.json" 2); f2=$(median_ms "$work/db.json" 3); f2b=$(median_ms "$work/db.json" 4)
f3=$(median_ms "$work/agent.json" 0); ag=$(median_ms "$work/agent.json" 1)
r1=$(ratio "$f1" "$tm"); r2=$(ratio "$f2" "$ir"); r2b=$(ratio "$f2b" "$ir"); r3=$(ratio "$ag" "$f3")
m1=$(peak_rss_kib "$bin/fshost" database monitor db1 --level 1)
m2=$(peak_rss_kib "$bin/fshost" database monitor db1 --level 2)
m3=$(peak_rss_kib "$bin/fshost" database monitor db1 --level 3)
atmost() { python3 -c 'import sys; print("yes" if float(sys.argv[1]) <= float(sys.argv[2]) else "NO")' "$1" "$2"; }
atleast() { python3 -c 'import sys; print("yes" if float(sys.argv[1]) >= float(sys.argv[2]) else "NO")' "$1" "$2"; }

cat >> "$report" <<EOT
## Database: fshost vs pg_isready and ocf:heartbeat:pgsql (same server, same run)

One PostgreSQL 15 cluster (initdb, scram-sha-256), started by fshost, on
its Unix socket in a temporary directory. fshost's level 2 is the builtin
start-up exchange by default (\`ping_client=libpq\`: PQping in the
\`database-libpq\` companion); level 3 is the builtin client too (SCRAM-SHA-256, no libpq; \`query_client=libpq\`: the companion). \`pg_isready\` is the C program
(\`$pg/pg_isready\`, not the Perl wrapper in /usr/bin). The agent runs with
\`OCF_RESKEY_pgdata pgdba pgport socketdir pgdb monitor_user
monitor_password monitor_sql\` and the same query as fshost's level 3
(\`SELECT 1 FROM fshost_probe LIMIT 1\`); it exited $agentrc before timing.
hyperfine -N: 200 runs (levels 1-2, template, pg_isready), 40 runs (level 3, the agent).

| check | fshost | peer | ratio | target | met |
|---|---|---|---|---|---|
| level 2 (default: builtin, no libpq) vs pg_isready | $f2 ms | $ir ms | fshost/peer $r2 | ≤ 1.2 | $(atmost "$r2" 1.2) |
| level 2 (\`ping_client=libpq\`, PQping) vs pg_isready | $f2b ms | $ir ms | fshost/peer $r2b | ≤ 1.2 | $(atmost "$r2b" 1.2) |
| level 3 (query) vs ocf:heartbeat:pgsql monitor | $f3 ms | $ag ms | peer/fshost $r3 | ≥ 5 | $(atleast "$r3" 5) |
| level 1 (process) vs template monitor | $f1 ms | $tm ms | fshost/peer $r1 | ≤ 1.2 | $(atmost "$r1" 1.2) |
| level 1 (process) vs ocf:heartbeat:pgsql monitor (the agent has no lighter check than its query) | $f1 ms | $ag ms | peer/fshost $(ratio "$ag" "$f1") | — | — |

Peak RSS (the largest process of the call, supervisor or worker; median of 9 runs, treerun.c): level 1 $m1 KiB, level 2 $m2 KiB, level 3 $m3 KiB.

EOT
echo "database: level 2 $f2 ms (libpq $f2b ms) vs pg_isready $ir ms (${r2}x, ${r2b}x); level 3 $f3 ms vs agent $ag ms (${r3}x faster); level 1 $f1 ms vs template $tm ms (${r1}x); RSS $m1/$m2/$m3 KiB"
