# fshost's resources in the lab: installed per `make install` (OCF agents
# ocf:fshost:<type>), a group ordered and colocated, preferring node 1, with
# monitors at the deepest level and the interval and timeout the agents'
# meta-data give. Sourced after lib.sh by test.sh, demo.sh and the bench.

GROUP_PORT=8080
GROUP_FILTERED=8081
GROUP_REPO=$(cd "$LAB_HERE/../.." && pwd)
# The shared disk (FailSafe's model): a directory under $LAB_DIR, which every node's mount
# namespace sees (a copy of the host's mounts); PostgreSQL's data directory lives there.
GROUP_PGDATA=$LAB_DIR/shared/pgdata
GROUP_PGBIN=/usr/lib/postgresql/15/bin

# group_install BIN_DIR → fshost under $LAB_DIR/prefix (make install-files), its OCF
# agents linked into the nodes' /usr/lib/ocf/resource.d as provider "fshost"
# (Pacemaker 2.1 looks there only). fshost's state goes to /run (per node, fresh at boot).
group_install() {
  local bin=$1
  make -s -C "$GROUP_REPO" install-files BIN="$bin" PREFIX="$LAB_DIR/prefix" >/dev/null \
    || { lab_fail "make install-files BIN=$bin PREFIX=$LAB_DIR/prefix failed"; return 1; }
  [ -d "$LAB_DIR/prefix/lib/ocf/resource.d/fshost" ] \
    || { lab_fail "make install laid out no OCF agents (lib/ocf/resource.d/fshost): issue 13 not merged?"; return 1; }
  ln -sfn "$LAB_DIR/prefix/lib/ocf/resource.d/fshost" "$LAB_DIR/ocf/fshost"
  # The page names the node it runs on: nginx's $hostname is the node's UTS name.
  install -d -m 0755 "$LAB_DIR/web"
  cat > "$LAB_DIR/web/nginx.conf" <<EOF
worker_processes 1;
pid /run/fsh-web.pid;
error_log /run/fsh-web-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path /run/fsh-web-body;
  proxy_temp_path /run/fsh-web-proxy;
  fastcgi_temp_path /run/fsh-web-fastcgi;
  uwsgi_temp_path /run/fsh-web-uwsgi;
  scgi_temp_path /run/fsh-web-scgi;
  server {
    listen $GROUP_PORT;
    listen $GROUP_FILTERED;   # the ipfilter ruleset drops this port
    location / { default_type text/plain; return 200 "served by \$hostname\n"; }
  }
}
EOF
  # ipfilter's ruleset: its own table only; drops the second port nginx listens on.
  install -d -m 0755 "$LAB_DIR/ipf"
  cat > "$LAB_DIR/ipf/fsh.nft" <<EOF
table inet fsh_fw {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport $GROUP_FILTERED drop
  }
}
EOF
  group_db_init
}

# group_db_init → a PostgreSQL 15 cluster in the shared directory, initdb'd as postgres once
# per run. Local connections by peer credentials, mapped: root (fshost's monitor, as user
# postgres) and postgres itself; nothing else, no TCP login.
group_db_init() {
  install -d -m 0755 "$LAB_DIR/shared" && install -d -o postgres -g postgres -m 0700 "$GROUP_PGDATA" \
    || { lab_fail "cannot make $GROUP_PGDATA"; return 1; }
  local out; out=$(cd / && runuser -u postgres -- "$GROUP_PGBIN/initdb" -D "$GROUP_PGDATA" -U postgres \
    --auth-local=peer --auth-host=reject --no-sync 2>&1) || { echo "$out" >&2; lab_fail "initdb of $GROUP_PGDATA failed"; return 1; }
  printf 'local all all peer map=fsh\n' > "$GROUP_PGDATA/pg_hba.conf" \
    && printf 'fsh root postgres\nfsh postgres postgres\n' >> "$GROUP_PGDATA/pg_ident.conf" \
    || { lab_fail "cannot write $GROUP_PGDATA/pg_hba.conf"; return 1; }
}

# group_hold_pid N PID → a live process that is not a postmaster holds PID in node N's PID
# namespace (as a crashed node's stale postmaster.pid may name there): the one that has it
# already, else a `sleep` started when PID is next (kernel.ns_last_pid, the node's own).
# Prints "made COMM" or "found COMM"; fails when PID cannot be had within 100 tries.
group_hold_pid() {
  node_exec "$1" bash -c '
    p=$1
    if [ -e "/proc/$p" ]; then echo "found $(cat "/proc/$p/comm")"; exit 0; fi
    for _ in $(seq 100); do
      echo $((p - 1)) > /proc/sys/kernel/ns_last_pid || exit 1
      setsid sleep 600 </dev/null >/dev/null 2>&1 & s=$!
      [ "$s" = "$p" ] && { echo "made sleep"; exit 0; }
      kill "$s"
    done
    exit 1' _ "$2"
}

# group_psql N SQL → SQL through psql as postgres over node N's socket (/run/postgresql), unaligned.
group_psql() { node_exec "$1" runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -h /run/postgresql -p 5432 -d postgres -c "$2"; }

# group_monitor_ops ID [MAX_DEPTH] (meta-data on stdin) → one <op> per monitor the agent's
# meta-data lists (one per level of the type: interval, timeout, and OCF_CHECK_LEVEL = its
# depth), deepest included unless MAX_DEPTH is given (database's depth 30, replication, needs
# a standby or expected_standbys).
group_monitor_ops() {
  python3 -c '
import sys, xml.etree.ElementTree as E
rid, top = sys.argv[1], int(sys.argv[2])
ms = [a for a in E.parse(sys.stdin).getroot().iter("action") if a.get("name") == "monitor" and int(a.get("depth", "0")) <= top]
if not ms: sys.exit("no monitor action in the meta-data")
for m in ms:
    d, iv, to = m.get("depth", "0"), m.get("interval", "10s"), m.get("timeout", "20s")
    print(("<op id=\"%s-monitor-%s\" name=\"monitor\" interval=\"%s\" timeout=\"%s\"><instance_attributes id=\"%s-monitor-%s-ia\">"
           "<nvpair id=\"%s-monitor-%s-depth\" name=\"OCF_CHECK_LEVEL\" value=\"%s\"/></instance_attributes></op>") % (rid, d, iv, to, rid, d, rid, d, d))' "$1" "${2:-1000}"
}

# group_action_timeout ACTION (meta-data on stdin) → the timeout the agent's meta-data gives ACTION.
group_action_timeout() {
  python3 -c '
import sys, xml.etree.ElementTree as E
for a in E.parse(sys.stdin).getroot().iter("action"):
    if a.get("name") == sys.argv[1]: print(a.get("timeout", "30s")); break
else: print("30s")' "$1"
}

# group_primitive ID TYPE NAME=VALUE… → the primitive's XML, ops from the agent's meta-data, read
# once on node 1 (monitors up to depth GROUP_MAX_DEPTH when set). Fails when the meta-data
# cannot be read (node_exec's line says why) or parsed.
group_primitive() {
  local id=$1 type=$2; shift 2
  local md mons start stop
  md=$(node_exec 1 "/usr/lib/ocf/resource.d/fshost/$type" meta-data) || return 1
  mons=$(group_monitor_ops "$id" "${GROUP_MAX_DEPTH:-}" <<<"$md") \
    && start=$(group_action_timeout start <<<"$md") && stop=$(group_action_timeout stop <<<"$md") || return 1
  local attrs="" kv
  for kv in "$@"; do attrs+="<nvpair id=\"$id-${kv%%=*}\" name=\"${kv%%=*}\" value=\"$(xml_escape "${kv#*=}")\"/>"; done
  cat <<EOF
<primitive id="$id" class="ocf" provider="fshost" type="$type">
  <instance_attributes id="$id-ia">$attrs</instance_attributes>
  <operations>
    <op id="$id-start" name="start" interval="0s" timeout="$start"/>
    <op id="$id-stop" name="stop" interval="0s" timeout="$stop"/>
    $mons
  </operations>
</primitive>
EOF
}

# (bash 5.2 reads & in a replacement as the match: off here)
shopt -u patsub_replacement 2>/dev/null
xml_escape() { local v=${1//&/&amp;}; v=${v//</&lt;}; v=${v//>/&gt;}; v=${v//\"/&quot;}; echo "$v"; }
group_has() { [ -x "$LAB_DIR/ocf/fshost/$1" ]; }

# group_cib SECTION XML WHAT → XML created in SECTION of the CIB (cibadmin -C on node 1); a
# refusal is one line naming WHAT, cibadmin's status and its message. When cibadmin did not
# run (node 1 down), node_exec's own line is the one told.
group_cib() {
  local out rc
  out=$(node_exec 1 cibadmin -C -o "$1" -X "$2" 2>&1); rc=$?
  [ "$rc" != 0 ] || return 0
  if [[ $out == "lab: FAIL: "* ]]; then echo "$out" >&2; LAB_LAST_FAIL=${out#lab: FAIL: }; return 1; fi
  lab_fail "the CIB (cibadmin -C -o $1 on node 1) refused $3: status $rc: $(tr '\n' ' ' <<<"$out")"
}

# group_prim VAR ID TYPE NAME=VALUE… → VAR = group_primitive's XML, or one line saying it could
# not be built (the agent's meta-data, read on node 1, is what it is built from).
group_prim() {
  local -n out=$1; shift
  out=$(group_primitive "$@") \
    || { lab_fail "cannot build primitive $1 (ocf:fshost:$2) from its agent's meta-data on node 1"; return 1; }
}

# group_define → group "fsh", in this order: ipf (ipfilter: the firewall first), web
# (webserver), logw (logwriter); the types not built are left out (GROUP_MEMBERS says
# which are in). A group is ordered and colocated; it prefers node 1. Fails with the line
# of the step that failed (a primitive not built, or the CIB's refusal).
group_define() {
  local xml="" m
  GROUP_MEMBERS=""
  if group_has ipfilter; then
    group_prim m ipf ipfilter ruleset="$LAB_DIR/ipf/fsh.nft" table=fsh_fw family=inet || return 1
    xml+=$m; GROUP_MEMBERS+=" ipf"
  fi
  group_prim m web webserver config="$LAB_DIR/web/nginx.conf" port="$GROUP_PORT" pidfile=/run/fsh-web.pid || return 1
  xml+=$m; GROUP_MEMBERS+=" web"
  if group_has logwriter; then
    group_prim m logw logwriter \
      start_command='["/bin/sh","-c","while :; do echo heartbeat from $(hostname); sleep 1; done"]' \
      log_file=/run/fsh-logw.log growth_window=5s expected_message=heartbeat error_pattern=ERROR || return 1
    xml+=$m; GROUP_MEMBERS+=" logw"
  fi
  GROUP_MEMBERS=${GROUP_MEMBERS# }
  group_cib resources "<group id=\"fsh\">$xml</group>" "group fsh" \
    && group_cib constraints "<rsc_location id=\"fsh-prefers-node1\" rsc=\"fsh\" node=\"$(node_name 1)\" score=\"100\"/>" "fsh's location" \
    || return 1
  # The database: a resource of its own, where the group is, started after it (the group's
  # failover time stays the group's); monitors to depth 20 (query), depth 30 is replication.
  group_has database || { lab_fail "no ocf:fshost:database agent installed"; return 1; }
  GROUP_MAX_DEPTH=20 group_prim m db database data_directory="$GROUP_PGDATA" os_user=postgres \
      port=5432 socket_directory=/run/postgresql || return 1
  group_cib resources "$m" "primitive db" \
    && group_cib constraints '<rsc_colocation id="db-with-fsh" rsc="db" with-rsc="fsh" score="INFINITY"/>' "db's colocation" \
    && group_cib constraints '<rsc_order id="fsh-then-db" first="fsh" then="db" kind="Optional"/>' "db's order"
}

# group_page N → the page as served on node N's address (asked from node N's network namespace).
group_page() { LAB_EXEC_TIMEOUT=3 client curl -s --max-time 1 "http://$(node_addr "$1"):$GROUP_PORT/"; }
# group_serves N → node N's address answers with a page naming node N.
group_serves() { [ "$(group_page "$1")" = "served by $(node_name "$1")" ]; }

# group_filters N → node N's kernel drops the filtered port (the client's connect times out)
# while nginx answers on the other: the ipfilter ruleset is in force there.
group_filters() {
  group_serves "$1" || return 1
  LAB_EXEC_TIMEOUT=3 client curl -s --max-time 0.5 "http://$(node_addr "$1"):$GROUP_FILTERED/" >/dev/null
  [ $? = 28 ]
}

# group_procs N → "pid:comm" of the group's processes on node N (nginx, the log writer's sh).
group_procs() {
  local p i c
  i=$(node_pid "$1") || return 0
  for p in $(node_procs "$(readlink "/proc/$i/ns/pid")"); do
    c=""; read -r c 2>/dev/null < "/proc/$p/comm"
    case "$c" in
      nginx) echo "$p:nginx";;
      postgres) echo "$p:postgres";;
      sh) grep -qa 'heartbeat from' "/proc/$p/cmdline" 2>/dev/null && echo "$p:logwriter";;
    esac
  done
}

# group_failcount RESOURCE N → Pacemaker's fail-count of RESOURCE on node N (0 when none).
group_failcount() {
  local v; v=$(node_exec "$2" crm_failcount --query -r "$1" -N "$(node_name "$2")" 2>/dev/null | sed -n 's/.*value=\([0-9A-Za-z]*\).*/\1/p')
  echo "${v:-0}"
}

# group_kill_nginx N → SIGKILL nginx's master on node N (by its pidfile, in the node's PID namespace)
# once the cluster is idle (nothing in flight would cancel the monitor that is to see it);
# DETECT_S = seconds until Pacemaker counts the failure, RECOVER_S = until the page answers on
# node N again; DETECT_OP = the op that detected it (group_detection: a monitor of fshost's
# answering a failure, never a timeout or a cancelled op). Fail-count before: FC_BEFORE.
group_kill_nginx() {
  local n=$1 fc0 pid t0 off log
  lab_idle "$n" 30 || return 1
  fc0=$(group_failcount web "$n")
  pid=$(node_exec "$n" cat /run/fsh-web.pid) || { lab_fail "no nginx pidfile on node $n"; return 1; }
  log="$(node_dir "$n")/log-pacemaker/pacemaker.log"
  off=$(stat -c %s "$log" 2>/dev/null) || off=0
  t0=$(now)
  node_exec "$n" kill -KILL "$pid" || return 1
  lab_until 60 group_failcount_above web "$n" "$fc0" \
    || { lab_fail "nginx killed on node $n: no failure counted within 60 s"; return 1; }
  DETECT_S=$(elapsed "$t0")
  lab_until 60 group_serves "$n" || { lab_fail "nginx killed on node $n: the page did not answer again within 60 s"; return 1; }
  RECOVER_S=$(elapsed "$t0")
  FC_AFTER=$(group_failcount web "$n")
  FC_BEFORE=$fc0
  DETECT_OP=$(group_detection "$n" "$off" "$((t0 / 1000000))") || { lab_fail "nginx killed on node $n: $DETECT_OP"; return 1; }
}

# group_detection N LOG_OFFSET SINCE → "web_monitor_MS (depth D): fshost's line" when the failure
# Pacemaker last recorded for web on node N (web_last_failure_0 in its CIB status, at or after
# SINCE, epoch s) is a recurring monitor that completed (op-status 0; 1 would be a cancel, 2 a
# timeout: Pacemaker's own synthetic results) with a failure rc, and pacemaker-execd logged
# fshost's failure line for that op in node N's log past LOG_OFFSET (bytes). Else why not.
group_detection() {
  local n=$1 cib
  cib=$(node_exec "$n" cibadmin -Q 2>&1) || { echo "cibadmin -Q on node $n failed: $cib"; return 1; }
  python3 -c '
import re, sys, xml.etree.ElementTree as E
log, off, since, node = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def ms(v):
    m = re.fullmatch(r"\s*(\d+)\s*(ms|msec|s|sec|m|min|h|hr)?\s*", v or "")
    return None if not m else int(m.group(1)) * {"ms": 1, "msec": 1, None: 1000, "s": 1000, "sec": 1000, "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000}[m.group(2)]
root = E.fromstring(sys.stdin.read())
f = None
for st in root.iter("node_state"):
    if st.get("uname") == node:
        f = next((o for r in st.iter("lrm_resource") if r.get("id") == "web" for o in r.iter("lrm_rsc_op") if o.get("id") == "web_last_failure_0"), None)
if f is None: sys.exit("no web_last_failure_0 in %s status of the CIB" % node)
key, status, rc, iv, when = f.get("operation_key"), f.get("op-status"), f.get("rc-code"), int(f.get("interval", "0")), int(f.get("last-rc-change", "0"))
if when < since: sys.exit("the last failure recorded (%s) is older than the kill" % key)
if iv == 0 or status != "0" or rc == "0":
    sys.exit("the failure counted is %s with op-status %s, rc-code %s: not an answer of a recurring fshost monitor (op-status 0 = completed, 1 = cancelled, 2 = timed out)" % (key, status, rc))
depth = "?"
for p in root.iter("primitive"):
    if p.get("id") == "web":
        for op in p.iter("op"):
            if op.get("name") == "monitor" and ms(op.get("interval")) == iv:
                depth = next((v.get("value") for v in op.iter("nvpair") if v.get("name") == "OCF_CHECK_LEVEL"), "?")
with open(log, "rb") as fh:
    fh.seek(off); text = fh.read().decode(errors="replace")
lines = [l for l in text.splitlines() if "log_op_output" in l and key + "[" in l and "fshost: type=webserver resource=web action=monitor " in l and " status=" in l and "status=HA_SUCCESS" not in l]
if not lines: sys.exit("pacemaker-execd logged no failure line of fshost for %s after the kill" % key)
print("%s (depth %s): %s" % (key, depth, lines[-1].split("output [ ", 1)[-1].rstrip(" ]")))
' "$(node_dir "$n")/log-pacemaker/pacemaker.log" "$2" "$3" "$(node_name "$n")" <<<"$cib" 2>&1
}

# group_cleanup_web N → Pacemaker forgets web's failure on node N (crm_resource --cleanup) with the
# cluster idle before (the recovery's monitors all started: a cleanup cancels in-flight ones,
# and the DC then waits op timeout + cluster-delay for a result that never comes) and after
# (the cleanup's re-probe and the monitors it restarts done). Fails at either deadline.
group_cleanup_web() {
  lab_idle "$1" 30 || return 1
  node_exec "$1" crm_resource --cleanup -r web >/dev/null 2>&1 || { lab_fail "crm_resource --cleanup -r web on node $1 failed"; return 1; }
  lab_idle "$1" 30
}
group_failcount_above() { [ "$(group_failcount "$1" "$2")" -gt "$3" ] 2>/dev/null; }

# group_test BIN_DIR → the cluster test's fshost cases (test.sh's ok/fail). The bare
# ocf:heartbeat:Dummy agent runs beside the group as an independent resource with the same
# node-1 preference, so every crash measures both (the cluster's own cost and fshost's).
group_test() {
  local bin=$1 s
  group_install "$bin" || return 1
  group_define || { lab_fail "the group is not defined (the line above says which step failed)"; return 1; }
  lab_dummy || { lab_fail "cannot define the Dummy resource"; return 1; }
  ok "fshost installed (make install-files PREFIX=$LAB_DIR/prefix), agents ocf:fshost:* on both nodes; group fsh = $GROUP_MEMBERS, monitors from the meta-data (deepest: OCF_CHECK_LEVEL $(group_deepest webserver)); Dummy beside it, both prefer node 1"
  lab_wait_on fsh "$(node_name 1)" 60 || { lab_why 1; return 1; }
  lab_wait_on dummy "$(node_name 1)" 30 || return 1
  lab_until 30 group_serves 1 || { lab_fail "node 1's address answers '$(group_page 1)', not a page naming node 1"; return 1; }
  ok "group and Dummy run on node 1: http://$(node_addr 1):$GROUP_PORT/ answers '$(group_page 1)'"
  group_members_on 1 || return 1
  lab_wait_on db "$(node_name 1)" 60 || { lab_why 1; return 1; }
  local row="committed on $(node_name 1) at $(now)" got pid1 pid2
  group_psql 1 "CREATE TABLE fsh_rows (v text); INSERT INTO fsh_rows VALUES ('$row')" >/dev/null \
    && [ "$(group_psql 1 'SELECT v FROM fsh_rows')" = "$row" ] \
    || { lab_fail "db: cannot write a row on node 1 (psql as postgres over /run/postgresql)"; return 1; }
  pid1=$(head -1 "$GROUP_PGDATA/postmaster.pid")
  ok "db: PostgreSQL 15 on node 1 from the shared $GROUP_PGDATA (postmaster pid $pid1 in node 1); row '$row' committed over node 1's socket"
  local held; held=$(group_hold_pid 2 "$pid1") \
    || { lab_fail "db: cannot have pid $pid1 held by a process in node 2's namespace"; return 1; }

  # Crash → node 2, repeated (the first one is the functional check).
  GROUP_DIFFS=() GROUP_PAGES=() GROUP_DUMMIES=() GROUP_CLUSTER=() GROUP_DCS=() DUMMY_DCS=()
  group_crash || return 1
  ok "node 1 crashed: http://$(node_addr 2):$GROUP_PORT/ answers '$(group_page 2)' $FO_PROBE s after the SIGKILL (crm_mon on node 2: group there after $FO_A s, Dummy after $FO_B s)"
  lab_wait_on db "$(node_name 2)" 60 2 || { lab_why 2; return 1; }
  got=$(group_psql 2 'SELECT v FROM fsh_rows') pid2=$(head -1 "$GROUP_PGDATA/postmaster.pid")
  [ "$got" = "$row" ] || { lab_fail "db on node 2 after the crash: 'SELECT v FROM fsh_rows' answers '$got', expected '$row'"; return 1; }
  [ "$pid2" != "$pid1" ] && [ "$(node_exec 2 cat "/proc/$pid1/comm")" = "${held#* }" ] \
    || { lab_fail "db: pid $pid1 in node 2 (${held#* }, $held) is gone or is the postmaster ($pid2) after the start"; return 1; }
  ok "db: after node 1's crash PostgreSQL runs on node 2 from the same directory (node 1's postmaster.pid named pid $pid1, in node 2 a live '${held#* }' ($held): taken as stale and left alone; postmaster now pid $pid2) and the row committed on node 1 answers: nothing committed is lost"
  [ "$held" = "made sleep" ] && node_exec 2 kill "$pid1"
  lab_wait_on fsh "$(node_name 2)" 30 2 && group_members_on 2 || return 1
  ! node_pid 1 >/dev/null && ! group_page 1 >/dev/null \
    || { lab_fail "node 1 crashed but its namespace still has processes or answers"; return 1; }
  # A command on the crashed node fails after both looks with the line that says why.
  local down; down=$(node_exec 1 true 2>&1) && { lab_fail "node_exec on the crashed node 1 succeeded"; return 1; }
  grep -q "^lab: FAIL: node 1 is down: its init (pid [0-9]*) has exited" <<<"$down" \
    || { lab_fail "node_exec on the crashed node 1 does not say why it is down: $down"; return 1; }
  ok "nothing runs in node 1's namespace while it is down; its address does not answer; a command there fails: ${down#lab: FAIL: }"

  # Rejoin in standby: nothing of the group comes back to node 1 by itself.
  node_exec 2 crm_attribute --node "$(node_name 1)" --name standby --update on --lifetime forever >/dev/null || return 1
  node_boot 1 && lab_wait_dc 2 60 "$(node_name 1)" "$(node_name 2)" >/dev/null 2>&1 || return 1
  sleep 3   # the rejoined node's probes run
  [ -z "$(group_procs 1)" ] && ! group_page 1 >/dev/null && lab_is_on fsh 2 \
    && ! node_net 1 nft list tables 2>/dev/null | grep -q fsh_fw \
    || { lab_fail "after node 1 rejoined (standby): group on '$(lab_where fsh 2)', node 1 processes: $(group_procs 1), tables: $(node_net 1 nft list tables 2>&1)"; return 1; }
  ok "node 1 rebooted and rejoined: nothing of the group in its namespaces (no nginx, no log writer, no postgres, no fsh_fw table, no page); the group stays on node 2"
  node_exec 2 crm_attribute --node "$(node_name 1)" --name standby --update off --lifetime forever >/dev/null || return 1
  lab_wait_on fsh "$(node_name 1)" 60 2 && lab_until 20 group_serves 1 || return 1
  [ -z "$(group_procs 2)" ] && ! node_net 2 nft list tables 2>/dev/null | grep -q fsh_fw \
    || { lab_fail "the group moved back to node 1 but node 2 still has: $(group_procs 2) $(node_net 2 nft list tables 2>&1)"; return 1; }
  ok "out of standby the group moves back to node 1 (its preference); nothing of it is left on node 2"

  # Resource failure on the active node: the fshost monitor sees it, Pacemaker restarts it there.
  group_kill_nginx 1 || return 1
  [ "$FC_AFTER" = $((FC_BEFORE + 1)) ] || { lab_fail "fail-count of web on node 1: $FC_BEFORE → $FC_AFTER, expected +1"; return 1; }
  lab_is_on fsh 1 || { lab_fail "after nginx was killed the group runs on '$(lab_where fsh 1)', expected node 1 (local restart)"; return 1; }
  local left; left=$(group_procs 1 | grep -c ':nginx$')
  [ "$left" = 2 ] || { lab_fail "after the restart node 1 runs $left nginx processes (expected the master and its one worker): $(group_procs 1 | tr '\n' ' ')"; return 1; }
  ok "nginx SIGKILLed on node 1: failure counted after $DETECT_S s (fail-count $FC_BEFORE → $FC_AFTER) by $DETECT_OP; restarted on node 1, page answers after $RECOVER_S s"
  group_cleanup_web 1 || return 1
  ok "web's failure cleaned up with the cluster idle before and after (crm_resource --wait, 30 s each)"

  # Performance: per crash, the group's failover (crm_mon's view) less Dummy's in the same crash.
  for s in 2 3; do
    lab_until 20 group_serves 1 \
      || { lab_fail "crash $s: node 1's page does not answer before the crash ('$(group_page 1)')"; return 1; }
    group_crash || { lab_fail "crash $s: the group or Dummy did not fail over to node 2 ($(lab_where fsh 2), $(lab_where dummy 2))"; return 1; }
    group_back || { lab_fail "crash $s: after node 1 rebooted the group is on '$(lab_where fsh 2)', Dummy on '$(lab_where dummy 2)'"; return 1; }
  done
  # The baseline in crashes of its own: Dummy agents alone placed (group and database stopped);
  # the fshost group is compared with dgrp, a group of three Dummy members (the same shape).
  DUMMY_ALONE=() DGRP_ALONE=()
  group_dummy_alone 2 || return 1
  local dm; dm=$(python3 -c 'import sys,statistics as s; a,b=sys.argv[1].split(),sys.argv[2].split(); print("%.3f" % (s.median(map(float,a)) - s.median(map(float,b))))' "${GROUP_CLUSTER[*]}" "${DGRP_ALONE[*]}")
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)' "$dm" \
    || { lab_fail "fshost group's failover median − Dummy group's median = $dm s (fshost group ${GROUP_CLUSTER[*]}; Dummy group ${DGRP_ALONE[*]}; single Dummy ${DUMMY_ALONE[*]}), not under 1 s"; return 1; }
  ok "failover, crm_mon's view from node 2: fshost group ${GROUP_CLUSTER[*]} s (DC at the crash: ${GROUP_DCS[*]}); in crashes of their own (DC: ${DUMMY_DCS[*]}) a group of three Dummy members ${DGRP_ALONE[*]} s, a single Dummy ${DUMMY_ALONE[*]} s: fshost group − Dummy group medians $dm s, under 1 s; Dummy beside the fshost group in its crashes ${GROUP_DUMMIES[*]} s (per crash $(lab_stats "${GROUP_DIFFS[@]}")); page from node 2 after ${GROUP_PAGES[*]} s"
}

# group_dummy_alone COUNT → COUNT crashes of node 1 with only Dummy agents placed (the group
# stopped by its target-role, the database with it: colocated): the single "dummy" and
# "dgrp", three Dummy members in a group (lab_dummy_group: the fshost group's shape), timed in
# the same crm_mon snapshots. Appended to DUMMY_ALONE, DGRP_ALONE (DC at each crash: DUMMY_DCS).
# Node 1 rejoins after each; at the end dgrp is stopped and the group runs on node 1 again.
group_dummy_alone() {
  local i
  node_exec 1 crm_resource -r fsh --meta -p target-role -v Stopped >/dev/null \
    || { lab_fail "cannot stop the group (target-role Stopped)"; return 1; }
  lab_until 60 group_stopped || { lab_fail "the group or the database still runs 60 s after target-role Stopped: fsh on '$(lab_where fsh)', db on '$(lab_where db)'"; return 1; }
  lab_dummy_group || { lab_fail "cannot define the Dummy group dgrp"; return 1; }
  lab_wait_on dgrp "$(node_name 1)" 60 && lab_idle 1 60 || return 1
  for i in $(seq "$1"); do
    lab_failover_pair dummy dgrp true || { lab_fail "Dummy-alone crash $i: Dummy or dgrp did not fail over"; return 1; }
    DUMMY_ALONE+=("$FO_A"); DGRP_ALONE+=("$FO_B"); DUMMY_DCS+=("$FO_DC")
    lab_rejoin dummy && lab_wait_on dgrp "$(node_name 1)" 60 \
      || { lab_fail "Dummy-alone crash $i: after node 1 rebooted Dummy is on '$(lab_where dummy 2)', dgrp on '$(lab_where dgrp 2)'"; return 1; }
  done
  node_exec 1 crm_resource -r dgrp --meta -p target-role -v Stopped >/dev/null \
    && node_exec 1 crm_resource -r fsh --meta -d target-role >/dev/null \
    || { lab_fail "cannot stop dgrp and start the group again"; return 1; }
  lab_wait_on fsh "$(node_name 1)" 60 && lab_until 30 group_serves 1
}
group_stopped() { [ -z "$(lab_where fsh)" ] && [ -z "$(lab_where db)" ]; }

# group_crash → one crash of node 1 with the group and Dummy there (lab_failover_pair); the
# samples appended to GROUP_CLUSTER, GROUP_DUMMIES, GROUP_DIFFS (group − Dummy) and
# GROUP_PAGES. Node 1 stays down.
group_crash() {
  lab_failover_pair fsh dummy group_serves 2 || return 1
  GROUP_CLUSTER+=("$FO_A"); GROUP_DUMMIES+=("$FO_B"); GROUP_PAGES+=("$FO_PROBE"); GROUP_DCS+=("$FO_DC")
  GROUP_DIFFS+=("$(python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) - float(sys.argv[2])))' "$FO_A" "$FO_B")")
}
# group_back → node 1 reboots; the group and Dummy move back to it, the page answers there.
group_back() { lab_rejoin fsh && lab_wait_on dummy "$(node_name 1)" 30 && lab_until 20 group_serves 1; }

# group_members_on N → each member of the group does its job on node N (test.sh's ok lines).
group_members_on() {
  local n=$1 m
  for m in $GROUP_MEMBERS; do
    case "$m" in
      ipf) lab_until 10 group_filters "$n" \
             || { lab_fail "ipfilter: port $GROUP_FILTERED at node $n's address is not dropped"; return 1; }
           ok "ipf: node $n's kernel drops port $GROUP_FILTERED (table inet fsh_fw in its namespace), port $GROUP_PORT answers" ;;
      web) ;;
      logw) lab_until 10 node_exec "$n" grep -q "heartbeat from $(node_name "$n")" /run/fsh-logw.log \
             || { lab_fail "logwriter: no 'heartbeat from $(node_name "$n")' in node $n's /run/fsh-logw.log"; return 1; }
            ok "logw: node $n's writer runs, its log says 'heartbeat from $(node_name "$n")'" ;;
    esac
  done
}

# group_deepest TYPE → the deepest OCF_CHECK_LEVEL the agent's meta-data lists.
group_deepest() { node_exec 1 "/usr/lib/ocf/resource.d/fshost/$1" meta-data | grep -o 'depth="[0-9]*"' | tr -dc '0-9\n' | sort -n | tail -1; }
