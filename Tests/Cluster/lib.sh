# A real two-node Corosync + Pacemaker cluster on one machine, for fshost's
# cluster tests, demo and bench. Sourced by lab.sh, test.sh, demo.sh and
# Tests/Bench/cluster-failover.sh. Findings behind each step:
# /work/shared/CLUSTER-LAB.md.
#
# The network: a named namespace $L0 holds a bridge (the switch) and the
# client's address 10.200.0.254. A node = per boot, a fresh network, mount,
# UTS and PID namespace whose PID 1 is node-init.sh, plugged into the switch
# by a veth pair (10.200.0.N/24). A crash loses what a crashed machine
# loses: processes, mounts, and the kernel's network state (sockets,
# nftables tables) with the namespace. Per-node disk state under
# $LAB_DIR/nodeN. Nothing outside those namespaces and $LAB_DIR is touched.
# Every wait has a deadline; every command run on a node runs under timeout.

L=${FSHOST_LAB:-fshlab}                 # name prefix: switch netns, veth, lab dir
LAB_DIR=${FSHOST_LAB_DIR:-/var/lib/fshost-lab-$L}  # seen by both nodes (not /run: each node mounts its own)
LAB_NET=10.200.0
LAB_TOKEN=${FSHOST_LAB_TOKEN:-1000}     # corosync totem token, ms
LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lab_log() { echo "lab: $*" >&2; }
# (LAB_LAST_FAIL: the last message, for a caller that reports why it redid a step)
lab_fail() { LAB_LAST_FAIL=$*; echo "lab: FAIL: $*" >&2; return 1; }
# Clock in microseconds (bash's EPOCHREALTIME: no process per reading, polls stay cheap).
now() { local t=$EPOCHREALTIME; echo "${t/[.,]/}"; }
# elapsed START → seconds since START (from now), 3 decimals
elapsed() { local d=$(( $(now) - $1 )); printf '%d.%03d\n' $((d / 1000000)) $((d % 1000000 / 1000)); }
# past START SECONDS → true once SECONDS (an integer) have gone by since START
past() { (( $(now) - $1 > $2 * 1000000 )); }

node_name() { echo "fsh-node$1"; }
node_addr() { echo "$LAB_NET.$1"; }
node_dir() { echo "$LAB_DIR/node$1"; }

# lab_root_init PID → PID is a node init as only root can make one: every uid of it 0 (real,
# effective, saved, filesystem) and PID 1 of a PID namespace of its own (/proc/PID/status NSpid
# ends in 1). A local user can copy a node init's command line (or be PID 1 of a user and PID
# namespace of their own), not its uid: the lab signals no process that fails this.
lab_root_init() {
  local k a b c d e uid=no nspid=no
  while read -r k a b c d e; do
    case "$k" in
      Uid:) [ "$a$b$c$d" = 0000 ] && uid=yes ;;
      NSpid:) [ -n "$b" ] && [ "${e:-${d:-${c:-$b}}}" = 1 ] && nspid=yes ;;
    esac
  done 2>/dev/null < "/proc/$1/status"
  [ "$uid" = yes ] && [ "$nspid" = yes ]
}
# lab_starttime PID → its start time (clock ticks since boot, /proc/PID/stat field 22): with the
# PID it names one process for good (a PID is reused, the pair is not).
lab_starttime() {
  local st=""; { read -r st; } 2>/dev/null < "/proc/$1/stat"; st=${st##*) }
  [ -n "$st" ] || return 1
  set -- $st; echo "${20}"
}

# node_pid N → host PID of node N's init, or nothing if the node is down.
node_pid() {
  local f; f="$(node_dir "$1")/init.pid"
  [ -s "$f" ] || return 1
  # init.pid is "PID STARTTIME", written by node_boot in the root-owned node directory.
  local p t; read -r p t < "$f" || return 1
  # Still that init (not a reused PID): the same start time, root's, PID 1 of its namespace,
  # named bash. A killed init stays a zombie until the kernel has reaped its whole namespace
  # (many processes, e.g. PostgreSQL's, take a while): that node is down.
  local st=""; { read -r st; } 2>/dev/null < "/proc/$p/stat"; st=${st##*) }
  [ -n "$st" ] && [ "${st%% *}" != Z ] && [ "$(lab_starttime "$p")" = "$t" ] && lab_root_init "$p" \
    && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = bash ] || return 1
  echo "$p"
}

# node_down_why N → why node_pid finds node N down, as one phrase: the first of its checks
# that fails, node N's init still running by its command line (lab_inits N) when there is one,
# and the last line of the node's init.log (its own last word: "corosync died", "shut down").
# Asked after the fact: a check that passes again by then says so, so a miss that was only
# transient is told apart from a node that really went down.
node_down_why() {
  local n=$1 d f p="" t="" st="" c why
  d=$(node_dir "$n"); f="$d/init.pid"
  if [ ! -d "$d" ]; then why="$d is gone"
  elif [ ! -s "$f" ]; then why="no init.pid in $d (not booted, or its boot was cut)"
  elif ! { read -r p t < "$f"; } 2>/dev/null; then why="$f cannot be read"
  else
    { read -r st; } 2>/dev/null < "/proc/$p/stat"; st=${st##*) }
    c=$(cat "/proc/$p/comm" 2>/dev/null)
    if [ -z "$st" ]; then why="its init (pid $p) has exited"
    elif [ "${st%% *}" = Z ]; then why="its init (pid $p) has exited (a zombie until its namespace is reaped)"
    elif [ "$(lab_starttime "$p")" != "$t" ]; then why="pid $p is another process now (start time $(lab_starttime "$p"), init.pid says $t)"
    elif ! lab_root_init "$p"; then why="pid $p is not root's PID 1 of a namespace"
    elif [ "$c" != bash ]; then why="pid $p runs '$c', not bash"
    else why="its init (pid $p) passes every check now: the miss was transient"; fi
  fi
  local running; running=$(lab_inits "$n" | tr '\n' ' ')
  [ -z "$running" ] || why+="; a node $n init of this lab runs as pid ${running% }"
  [ ! -s "$d/init.log" ] || why+="; init.log: $(tail -n 1 "$d/init.log")"
  echo "$why"
}

# node_up N → NODE_PID = node N's init PID, for a command on the node (node_exec, node_net);
# fails with "node N is down: WHY". A node found down gets a second look 0.3 s later; one that
# passes it is used, with one line saying both looks. Why: CI once failed with "node 1 is
# down" at a cibadmin call, after the agents' meta-data calls on node 1 had run, while the
# kernel log shows node 1's network namespace alive until the teardown 2 s later (a crashed
# node's goes within ms of its init's death): a miss of the checks, whose cause was not
# found. A node that is down fails both looks.
node_up() {
  local n=$1 first why
  NODE_PID=$(node_pid "$n") && return 0
  first=$(node_down_why "$n")
  sleep 0.3
  if ! NODE_PID=$(node_pid "$n"); then
    why=$(node_down_why "$n"); [ "$why" = "$first" ] || why+=" (first look: $first)"
    lab_fail "node $n is down: $why"; return 1
  fi
  lab_log "node $n: down on a first look ($first), up on a second 0.3 s later (pid $NODE_PID)"
}

# node_exec N CMD… → CMD in node N's namespaces (all of them: /dev/shm is per node).
node_exec() {
  local n=$1; shift
  node_up "$n" || return 1
  timeout -k 2 "${LAB_EXEC_TIMEOUT:-15}" nsenter -t "$NODE_PID" -p -m -n -u -- "$@"
}
# node_net N CMD… → CMD in node N's network namespace only (nft, ss).
node_net() {
  local n=$1; shift
  node_up "$n" || return 1
  timeout -k 2 "${LAB_EXEC_TIMEOUT:-15}" nsenter -t "$NODE_PID" -n -- "$@"
}
# client CMD… → CMD on the switch's client address (10.200.0.254): a host on the nodes' network.
client() { timeout -k 2 "${LAB_EXEC_TIMEOUT:-15}" ip netns exec "${L}0" "$@"; }

# lab_corosync_conf N → corosync.conf of node N.
lab_corosync_conf() {
  cat <<EOF
totem {
	version: 2
	cluster_name: $L
	transport: knet
	crypto_cipher: none
	crypto_hash: none
	token: $LAB_TOKEN
}
logging {
	fileline: off
	to_stderr: no
	to_logfile: yes
	logfile: /var/log/corosync/corosync.log
	to_syslog: no
	timestamp: hires
}
quorum {
	provider: corosync_votequorum
	two_node: 1
}
nodelist {
	node {
		name: $(node_name 1)
		nodeid: 1
		ring0_addr: $(node_addr 1)
	}
	node {
		name: $(node_name 2)
		nodeid: 2
		ring0_addr: $(node_addr 2)
	}
}
EOF
}

# lab_prepare → fresh $LAB_DIR with per-node copies (cp -a keeps hacluster:haclient).
lab_prepare() {
  [ ! -e "$LAB_DIR" ] || lab_fail "$LAB_DIR exists: a lab is up (lab.sh down first)" || return 1
  # Bad input on purpose (test.sh's wrong-config cases), FSHOST_LAB_BREAK=KIND:N:
  #   transport:N  node N's corosync.conf names a transport that does not exist (corosync exits)
  #   peer:N       node N's nodelist puts the other node at an address nobody has (it never joins)
  # Checked before anything is made.
  local kind="" bn=""
  if [ -n "${FSHOST_LAB_BREAK:-}" ]; then
    kind=${FSHOST_LAB_BREAK%%:*} bn=${FSHOST_LAB_BREAK#*:}
    case "$kind" in transport|peer) ;; *) lab_fail "FSHOST_LAB_BREAK=$FSHOST_LAB_BREAK: unknown kind '$kind' (transport:N or peer:N)"; return 1 ;; esac
    case "$bn" in 1|2) ;; *) lab_fail "FSHOST_LAB_BREAK=$FSHOST_LAB_BREAK: node '$bn' is not 1 or 2 (KIND:N)"; return 1 ;; esac
  fi
  # 0755: pacemaker-controld (user hacluster) reads the agents installed below it.
  install -d -m 0755 "$LAB_DIR" || return 1
  cp -a /usr/lib/ocf/resource.d "$LAB_DIR/ocf" || return 1
  local n d
  for n in 1 2; do
    d=$(node_dir "$n"); install -d -m 0755 "$d"
    cp -a /etc/corosync "$d/etc-corosync" && cp -a /var/lib/corosync "$d/var-lib-corosync" \
      && cp -a /var/log/corosync "$d/log-corosync" && cp -a /var/lib/pacemaker "$d/var-lib-pacemaker" \
      && cp -a /var/log/pacemaker "$d/log-pacemaker" || return 1
    # Start from an empty CIB and logs whatever the host's copies hold.
    find "$d/var-lib-pacemaker" "$d/log-pacemaker" "$d/log-corosync" "$d/var-lib-corosync" -type f -delete
    lab_corosync_conf "$n" > "$d/etc-corosync/corosync.conf"
    : > "$d/mounts"
  done
  if [ -n "$kind" ]; then
    local f; f="$(node_dir "$bn")/etc-corosync/corosync.conf"
    case "$kind" in
      transport) sed -i 's/transport: knet/transport: knet-of-nowhere/' "$f" ;;
      peer)      sed -i "s/ring0_addr: $(node_addr $((3 - bn)))\$/ring0_addr: $LAB_NET.99/" "$f" ;;
    esac
  fi
}

# lab_net_up → the switch: namespace $L0, bridge, the client's address.
lab_net_up() {
  ip netns add "${L}0" || return 1
  ip -n "${L}0" link set lo up && ip -n "${L}0" link add br0 type bridge \
    && ip -n "${L}0" addr add "$LAB_NET.254/24" dev br0 && ip -n "${L}0" link set br0 up
}

# node_plug N PID → a veth pair from the switch into the network namespace of PID (node N's
# init), addressed and up. The pair goes away with that namespace.
node_plug() {
  local n=$1 p=$2
  ip link add "${L}s$n" netns "${L}0" type veth peer name eth0 netns "$p" || return 1
  ip -n "${L}0" link set "${L}s$n" master br0 && ip -n "${L}0" link set "${L}s$n" up \
    && nsenter -t "$p" -n -- sh -c "ip link set lo up && ip addr add $(node_addr "$n")/24 dev eth0 && ip link set eth0 up"
}

# node_boot N → start node N's init; waits until pacemakerd was started (≤ 15 s).
node_boot() {
  local n=$1 d; d=$(node_dir "$n")
  node_pid "$n" >/dev/null && { lab_fail "node $n is already up"; return 1; }
  rm -f "$d/init.pid"
  setsid unshare --net --mount --uts --pid --fork --mount-proc \
    --propagation private -- bash "$LAB_HERE/node-init.sh" "$n" "$d" >>"$d/init.log" 2>&1 < /dev/null &
  local up=$! child="" i
  for i in $(seq 100); do
    child=$(cat "/proc/$up/task/$up/children" 2>/dev/null | awk '{print $1}')
    [ -n "$child" ] && break; sleep 0.05
  done
  [ -n "$child" ] || { lab_fail "node $n: init did not start"; lab_why "$n"; return 1; }
  echo "$child $(lab_starttime "$child")" > "$d/init.pid"
  # The init waits for its network before it starts corosync.
  node_plug "$n" "$child" || { lab_fail "node $n: cannot plug it into the switch"; kill -KILL "$child"; return 1; }
  for i in $(seq 150); do
    grep -q "node$n init: pacemakerd started" "$d/init.log" 2>/dev/null && return 0
    kill -0 "$child" 2>/dev/null || break
    sleep 0.1
  done
  lab_fail "node $n did not come up"; lab_why "$n"; return 1
}

# node_procs NS → host PIDs of the processes in PID namespace NS (a /proc/PID/ns/pid link text,
# "pid:[INODE]"). One stat for all of /proc (no process per PID): cheap enough to poll.
node_procs() {
  local ino=${1#*[}; ino=${ino%]}
  stat -L -c '%i %n' /proc/[0-9]*/ns/pid 2>/dev/null | while read -r i f; do
    [ "$i" = "$ino" ] && { f=${f#/proc/}; echo "${f%%/*}"; }
  done
}

# node_crash N → SIGKILL node N's init (the whole node dies with it); waits until it is gone.
node_crash() {
  local n=$1 p ns; p=$(node_pid "$n") || return 0
  ns=$(readlink "/proc/$p/ns/pid")
  kill -KILL "$p"
  local i; for i in $(seq 100); do [ -d "/proc/$p" ] || break; sleep 0.02; done
  # The PID namespace is gone when its last process is reaped.
  for i in $(seq 100); do [ -z "$(node_procs "$ns")" ] && return 0; sleep 0.05; done
  lab_fail "node $n: processes left after its init was killed: $(node_procs "$ns" | tr '\n' ' ')"
}

# node_stop N [SECONDS] → clean shutdown (pacemaker, then corosync), SIGKILL at the deadline.
node_stop() {
  local n=$1 t=${2:-20} p; p=$(node_pid "$n") || return 0
  kill -TERM "$p" 2>/dev/null
  local i; for i in $(seq $((t * 10))); do [ -d "/proc/$p" ] || break; sleep 0.1; done
  node_crash "$n"
}

# lab_why N… → the log lines that say why a node did not join or a DC was not elected.
lab_why() {
  local n d f
  for n in "$@"; do
    d=$(node_dir "$n")
    echo "--- node $n ($(node_name "$n")): init, corosync and pacemaker log lines that say why" >&2
    for f in "$d/init.log" "$d/log-corosync/corosync.log" "$d/log-corosync/corosync.stderr" \
             "$d/log-pacemaker/pacemakerd.stderr" "$d/log-pacemaker/pacemaker.log"; do
      [ -s "$f" ] || continue
      grep -aiE 'error|crit|fail|cannot|unable|refus|parse|invalid|not |died|exit|warn' "$f" \
        | grep -avE 'RLIMIT_MEMLOCK|watchdog|Blind faith' | tail -n 8 | sed "s|^|  $(basename "$f"): |" >&2
    done
  done
}

# lab_xml N → crm_mon's XML status as node N sees it (empty on failure).
lab_xml() { LAB_EXEC_TIMEOUT=8 node_exec "$1" timeout 6 crm_mon -1 --output-as=xml 2>/dev/null; }

# lab_view N → node N's view of the cluster from one crm_mon snapshot: the DC's name when one
# is elected with quorum (else "-"), then the nodes that are online, joined (not pending) and
# clean, sorted; nothing when crm_mon does not answer.
lab_view() {
  lab_xml "$1" | python3 -c '
import sys, xml.etree.ElementTree as E
try: r = E.fromstring(sys.stdin.read())
except Exception: sys.exit(0)
dc = r.find("./summary/current_dc")
name = dc.get("name") if dc is not None and dc.get("present") == "true" and dc.get("with_quorum") == "true" else "-"
up = sorted(n.get("name") for n in r.findall("./nodes/node")
            if n.get("online") == "true" and n.get("pending") == "false" and n.get("unclean") == "false")
print(" ".join([name] + up))'
}

# lab_wait_dc N SECONDS [NODES…] → wait until node N sees a DC elected with quorum and every one
# of NODES (names) online, joined (not pending) and clean. (A rejoin's next step, waiting for
# a resource to start there, needs no more.)
lab_wait_dc() { lab_wait_views "$2" 1 "$1" "${@:3}"; }

# lab_wait_settled SECONDS → wait until the cold-started cluster has settled: both nodes see the
# same DC, elected with quorum, and both nodes online, joined and clean, in two polls in a row
# (0.5 s apart). The steps after a start write the CIB through node 1 and then talk to both
# nodes: a DC seen by one node only, a node still joining, or a membership that changes
# between two looks is not a ready cluster.
lab_wait_settled() { lab_wait_views "$1" 2 "1 2" "$(node_name 1)" "$(node_name 2)"; }

# lab_wait_views SECONDS ROUNDS VIEWERS NODES… → wait until each of VIEWERS (node numbers; the
# first is the one named in the messages) sees the same DC, with quorum, and NODES online,
# joined and clean, in ROUNDS polls in a row. On the deadline: one line with each viewer's
# view, and the log lines that say why (lab_why).
lab_wait_views() {
  local t=$1 rounds=$2 viewers=$3; shift 3
  local start; start=$(now)
  local n=${viewers%% *} m nd v dc views settled prev="" streak=0
  while :; do
    settled=1 dc="" views=""
    for m in $viewers; do
      v=$(lab_view "$m")
      views+="; node $m: ${v:-no answer}"
      [ "$m" = "$n" ] && dc=${v%% *}
      [ -n "$v" ] && [ "${v%% *}" != - ] && [ "${v%% *}" = "$dc" ] || settled=0
      for nd in "$@"; do [[ " ${v#* } " == *" $nd "* ]] || settled=0; done
    done
    if [ "$settled" = 1 ]; then
      [ "$dc" = "$prev" ] && streak=$((streak + 1)) || streak=1
      prev=$dc
      [ "$streak" -lt "$rounds" ] || { lab_log "DC $dc elected, online: $* ($(elapsed "$start") s)"; return 0; }
    else
      streak=0 prev=""
    fi
    if past "$start" "$t"; then
      [ "$dc" != - ] || dc=""
      lab_fail "no DC with nodes [$*] online within $t s (node $n sees DC '${dc:-none}'; views, DC then nodes online and joined${views})"
      lab_why 1 2
      return 1
    fi
    sleep 0.5
  done
}

# lab_report → on stderr, the facts a failed lab step is diagnosed from, per node: its init (up,
# or why it counts as down), its init.log's last lines, corosync's membership and quorum
# (corosync-quorumtool -s), crm_mon -1, corosync's last log lines and pacemaker's last warnings
# and errors. Every command under a deadline (at most 8 s); nothing is changed.
lab_report() {
  local n d p
  for n in 1 2; do
    d=$(node_dir "$n")
    [ -d "$d" ] || continue
    echo "=== lab report: node $n ($(node_name "$n")) at $(date -u +%T)"
    if p=$(node_pid "$n"); then echo "init: pid $p, up"; else p=""; echo "init: down: $(node_down_why "$n")"; fi
    [ ! -s "$d/init.log" ] || tail -n 4 "$d/init.log" | sed 's/^/  init.log: /'
    if [ -n "$p" ]; then
      echo "  membership and quorum (corosync-quorumtool -s: ring, quorate, flags, members):"
      LAB_EXEC_TIMEOUT=5 node_exec "$n" corosync-quorumtool -s 2>&1 \
        | grep -E '^(Ring ID|Quorate|Flags):|^[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]|[Cc]annot|[Ee]rror' | sed 's/^/    /'
      echo "  crm_mon -1:"
      LAB_EXEC_TIMEOUT=8 node_exec "$n" timeout 6 crm_mon -1 2>&1 | grep -v '^[[:space:]]*$' | sed 's/^/    /'
    fi
    if [ -s "$d/log-corosync/corosync.log" ]; then
      echo "  corosync.log, last lines:"; tail -n 12 "$d/log-corosync/corosync.log" | sed 's/^/    /'
    fi
    if [ -s "$d/log-pacemaker/pacemaker.log" ]; then
      echo "  pacemaker.log, last warnings and errors:"
      grep -aE '(warning|error|crit|emerg): ' "$d/log-pacemaker/pacemaker.log" \
        | grep -avE 'RLIMIT_MEMLOCK|watchdog|Blind faith' | tail -n 10 | sed 's/^/    /'
    fi
  done >&2
}

# lab_where RESOURCE [N] → the node names RESOURCE runs on, as node N (default: any up node) sees it.
lab_where() {
  local r=$1 n=${2:-} m
  if [ -z "$n" ]; then for m in 1 2; do node_pid "$m" >/dev/null && { n=$m; break; }; done; fi
  [ -n "$n" ] || return 1
  LAB_EXEC_TIMEOUT=5 node_exec "$n" timeout 4 crm_resource --locate -r "$r" 2>/dev/null \
    | sed -n 's/.*is running on: \([^ ]*\).*/\1/p'
}

# lab_wait_on RESOURCE NODE SECONDS [VIEWER] → wait until RESOURCE (every member, for a group)
# is Started on NODE (name) and nowhere else, as crm_mon on VIEWER (default: an up node) shows
# it: a start still in flight (recorded as pending) is not enough.
lab_wait_on() {
  local r=$1 want=$2 t=$3 v=${4:-} start m; start=$(now)
  local where
  if [ -z "$v" ]; then for m in 1 2; do node_pid "$m" >/dev/null && { v=$m; break; }; done; fi
  while :; do
    [ -n "$v" ] && [ "$(lab_xml "$v" | lab_placed "$want" "$r")" = 1 ] && return 0
    if past "$start" "$t"; then
      where=$(lab_where "$r" "$v" | tr '\n' ' ')
      lab_fail "$r is not started on $want alone within $t s (running on: ${where:-nowhere})"
      return 1
    fi
    sleep 0.1
  done
}

# lab_up [SECONDS] → a fresh two-node cluster, settled (lab_wait_settled) within SECONDS, stonith off.
lab_up() {
  local t=${1:-90}
  lab_prepare && lab_net_up && node_boot 1 && node_boot 2 && lab_wait_settled "$t" || return 1
  # No fencing device in the lab: without this Pacemaker starts nothing. (A CIB
  # seeded on disk with these was refused by the DC: "Protocol not supported".)
  node_exec 1 crm_attribute --type crm_config --name stonith-enabled --update false >/dev/null \
    && node_exec 1 crm_attribute --type crm_config --name cluster-recheck-interval --update 1min >/dev/null \
    || return 1
  # No throttling: on a loaded machine (two nodes and other work on 2 cores; load 10+ seen)
  # the controller's "High CPU load detected" mode runs one action at a time per node, which
  # serialises a failover's transition in an order nobody chose (Dummy's start queued behind
  # the group's starts, monitors and the database). load-threshold is a percentage of one
  # core per core; node-action-limit caps the jobs per node (default 2 x cores).
  node_exec 1 crm_attribute --type crm_config --name load-threshold --update "${FSHOST_LAB_LOAD_THRESHOLD:-10000%}" >/dev/null \
    && node_exec 1 crm_attribute --type crm_config --name node-action-limit --update 32 >/dev/null
}

# lab_idle N SECONDS → the cluster has no action pending or in flight, as node N sees it
# (crm_resource --wait), within SECONDS; fails naming the deadline and what crm_resource said.
lab_idle() {
  local out rc
  out=$(LAB_EXEC_TIMEOUT=$(( $2 + 10 )) node_exec "$1" crm_resource --wait --timeout="$2s" 2>&1); rc=$?
  [ "$rc" = 0 ] || { lab_fail "the cluster is not idle within $2 s (crm_resource --wait on node $1, status $rc): $(tr '\n' ' ' <<<"$out")"; return 1; }
}

# lab_down → no process, namespace, link, mount or directory of the lab left. Idempotent.
lab_down() {
  local n rc=0 p i
  # Both nodes shut down at once (TERM to each init), then whatever is left is crashed.
  for n in 1 2; do p=$(node_pid "$n") && kill -TERM "$p" 2>/dev/null; done
  for i in $(seq $(( ${1:-5} * 10 ))); do
    node_pid 1 >/dev/null || node_pid 2 >/dev/null || break
    sleep 0.1
  done
  for n in 1 2; do node_crash "$n" || rc=1; done
  # An init whose init.pid was never written (its boot was killed half way): found by its
  # command line; SIGKILL of a node's PID 1 ends its whole PID namespace.
  local orphans; orphans=$(lab_inits)
  if [ -n "$orphans" ]; then
    lab_log "killing node inits without an init.pid: $orphans"
    kill -KILL $orphans 2>/dev/null
    for i in $(seq 50); do [ -z "$(lab_inits)" ] && break; sleep 0.1; done
  fi
  if ip netns list 2>/dev/null | grep -qE "^${L}0( |$)"; then
    local left; left=$(ip netns pids "${L}0" 2>/dev/null)
    [ -z "$left" ] || { kill -KILL $left 2>/dev/null; sleep 0.2; }
    ip netns del "${L}0" || rc=1
  fi
  [ -d "$LAB_DIR" ] && rm -rf "$LAB_DIR"
  lab_check_clean || rc=1
  return $rc
}

# lab_inits [N] → host PIDs of this lab's node inits (bash running node-init.sh; node N's only
# when N is given), with or without an init.pid: the command line says which lab's node it
# is, lab_root_init that root made it (a look-alike of a local user's is not listed, so never
# signalled). Bash builtins only (no process per PID).
lab_inits() {
  local p a0 a1 a2 a3 want=${1:-[12]}
  for p in /proc/[0-9]*; do
    a1="" a3=""
    { IFS= read -r -d '' a0; IFS= read -r -d '' a1; IFS= read -r -d '' a2; IFS= read -r -d '' a3; } 2>/dev/null < "$p/cmdline"
    # (want unquoted: the pattern [12] when no node is named)
    [ "$a1" = "$LAB_HERE/node-init.sh" ] && [ "${a3%/node$want}" = "$LAB_DIR" ] && lab_root_init "${p#/proc/}" \
      && echo "${p#/proc/}"
  done
}

lab_has_init() { [ -n "$(lab_inits)" ]; }

# lab_check_clean → fails naming whatever of the lab is still there.
lab_check_clean() {
  local bad=""
  ip netns list 2>/dev/null | grep -qE "^${L}0( |$)" && bad+=" netns"
  ip link show "${L}s1" >/dev/null 2>&1 && bad+=" veth"
  [ -e "$LAB_DIR" ] && bad+=" $LAB_DIR"
  grep -q "$LAB_DIR" /proc/self/mountinfo && bad+=" mounts"
  local p
  for p in $(lab_inits); do bad+=" init:$p"; done
  [ -z "$bad" ] || { lab_fail "left behind:$bad"; return 1; }
}

# lab_until SECONDS CMD… → run CMD every 50 ms until it succeeds; fails at the deadline.
lab_until() {
  local t=$1; shift; local start; start=$(now)
  until "$@" >/dev/null 2>&1; do
    past "$start" "$t" && return 1
    sleep 0.05
  done
}

# lab_is_on RESOURCE NODE_NUMBER → RESOURCE runs on that node alone, as that node sees it.
lab_is_on() { [ "$(lab_where "$1" "$2" | tr '\n' ' ')" = "$(node_name "$2") " ]; }

# lab_failover RESOURCE PROBE… → crash node 1 while RESOURCE runs there; FAILOVER_S = seconds
# from the SIGKILL until PROBE (a command) succeeds (deadline 30 s). The node stays down.
lab_failover() {
  local r=$1; shift
  lab_wait_on "$r" "$(node_name 1)" 60 || return 1
  local t0; t0=$(now)
  node_crash 1 || return 1
  lab_until 30 "$@" || { lab_fail "$r: '$*' did not succeed within 30 s of node 1's crash"; lab_why 2; return 1; }
  FAILOVER_S=$(elapsed "$t0")
}

# lab_rejoin RESOURCE → boot node 1 again, wait until it is online and RESOURCE is back on it.
lab_rejoin() {
  node_boot 1 && lab_wait_dc 2 60 "$(node_name 1)" "$(node_name 2)" >/dev/null 2>&1 \
    && lab_wait_on "$1" "$(node_name 1)" 60 2
}

# lab_stats V… → "min / median / max" of the values (seconds, 2 decimals).
lab_stats() { python3 -c 'import sys,statistics as s; v=sorted(map(float,sys.argv[1:])); print("%.2f / %.2f / %.2f" % (v[0], s.median(v), v[-1]))' "$@"; }
lab_median() { python3 -c 'import sys,statistics as s; print("%.3f" % s.median(map(float,sys.argv[1:])))' "$@"; }

# lab_dummy_group → group "dgrp" of three ocf:heartbeat:Dummy members (d1 d2 d3) preferring node 1:
# the shape of fshost's group (three members started in order), so its failover is the
# cluster's own cost of such a group, the baseline the fshost group is compared with.
lab_dummy_group() {
  local m xml=""
  for m in d1 d2 d3; do
    xml+="<primitive id=\"$m\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\"><operations><op id=\"$m-monitor\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/></operations></primitive>"
  done
  node_exec 1 cibadmin -C -o resources -X "<group id=\"dgrp\">$xml</group>" \
    && node_exec 1 cibadmin -C -o constraints -X "<rsc_location id=\"dgrp-prefers-node1\" rsc=\"dgrp\" node=\"$(node_name 1)\" score=\"100\"/>"
}

# lab_dummy → an ocf:heartbeat:Dummy resource "dummy" preferring node 1 (the cluster's own cost, the baseline).
lab_dummy() {
  node_exec 1 cibadmin -C -o resources -X '<primitive id="dummy" class="ocf" provider="heartbeat" type="Dummy"><operations><op id="dummy-monitor" name="monitor" interval="2s" timeout="20s"/></operations></primitive>' \
    && node_exec 1 cibadmin -C -o constraints -X "<rsc_location id=\"dummy-prefers-node1\" rsc=\"dummy\" node=\"$(node_name 1)\" score=\"100\"/>"
}

# lab_placed NODE RID… (crm_mon's XML on stdin) → one line per RID: 1 when every primitive of
# RID (itself, or a group's members) is Started on NODE and on no other node, else 0.
lab_placed() {
  python3 -c '
import sys, xml.etree.ElementTree as E
want, rids = sys.argv[1], sys.argv[2:]
try: root = E.fromstring(sys.stdin.read())
except Exception: root = None
for rid in rids:
    el = None if root is None else next((e for e in root.iter() if e.tag in ("resource", "group") and e.get("id") == rid), None)
    prims = [] if el is None else ([el] if el.tag == "resource" else list(el.iter("resource")))
    ok = bool(prims) and all(p.get("role") == "Started" and [n.get("name") for n in p.iter("node")] == [want] for p in prims)
    print(1 if ok else 0)' "$@"
}

# lab_failover_pair A B PROBE… → with resources A and B both on node 1, crash node 1; then poll
# every 50 ms until, as node 2's crm_mon sees it (ONE snapshot per poll for both: the same probe
# at the same instant), A and B run on node 2 alone, and PROBE (a command) succeeds.
# FO_A, FO_B, FO_PROBE = seconds from the SIGKILL (deadline 30 s); FO_DC = the DC before the
# crash. The node stays down.
lab_failover_pair() {
  local a=$1 b=$2; shift 2
  lab_wait_on "$a" "$(node_name 1)" 60 && lab_wait_on "$b" "$(node_name 1)" 60 || return 1
  # Which node is DC at the crash (node 1's death then costs an election too): FO_DC.
  FO_DC=$(lab_xml 2 | grep -o '<current_dc present="true"[^>]*' | grep -o 'name="[^"]*"' | cut -d'"' -f2)
  FO_DC=${FO_DC:-none}
  local t0 st at; t0=$(now)
  FO_A="" FO_B="" FO_PROBE=""
  node_crash 1 || return 1
  while :; do
    if [ -z "$FO_A" ] || [ -z "$FO_B" ]; then
      st=$(lab_xml 2 | lab_placed "$(node_name 2)" "$a" "$b" | tr -d '\n'); at=$(elapsed "$t0")
      [ -z "$FO_A" ] && [ "${st:0:1}" = 1 ] && FO_A=$at
      [ -z "$FO_B" ] && [ "${st:1:1}" = 1 ] && FO_B=$at
    fi
    [ -z "$FO_PROBE" ] && "$@" >/dev/null 2>&1 && FO_PROBE=$(elapsed "$t0")
    [ -n "$FO_A" ] && [ -n "$FO_B" ] && [ -n "$FO_PROBE" ] && return 0
    if past "$t0" 30; then
      lab_fail "within 30 s of node 1's crash: $a on node 2 ${FO_A:-no}, $b ${FO_B:-no}, '$*' ${FO_PROBE:-no}"
      lab_why 2; return 1
    fi
    sleep 0.05
  done
}
