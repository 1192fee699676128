#!/usr/bin/env bash
# make test-cluster: fshost's resources fail over between two real Pacemaker nodes.
#   Tests/Cluster/test.sh [BIN_DIR]     (BIN_DIR: a release or debug products directory with fshost)
# Every case prints "ok - …" or "FAIL - …" with the reason; any FAIL ends the run with
# status 1. A lab that cannot come up is a FAIL naming the log lines that say why, never a
# skip. Whatever happens, the lab is torn down and checked to leave nothing behind.
# INT, TERM, HUP or PIPE end the run at once (status 130 / 143 / 129 / 141 after the
# teardown; after a PIPE the teardown and the verdict go to stderr): the
# cases run in a child (body) that this shell waits for with `wait`, which a trapped signal
# interrupts; the handler only sets a flag, the shell then kills the body's process tree
# (by PID) and tears the lab down. An interrupted run never says "passed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/group.sh"
bin=${1:-}
[ "$(id -u)" = 0 ] || { echo "FAIL - test-cluster needs root (namespaces, mounts)"; exit 1; }
for tool in corosync pacemakerd crm_mon cibadmin crm_resource nsenter unshare ip curl; do
  command -v "$tool" >/dev/null || { echo "FAIL - $tool is not installed (make deps)"; exit 1; }
done

ok() { echo "ok - $*"; }
# fail → the FAIL line, then (a lab being there) the facts to diagnose it from (lab_report).
fail() { echo "FAIL - $*"; [ ! -d "$LAB_DIR" ] || lab_report; exit 1; }

# end_lookalike → nobody's look-alike (and its sleep) killed by PID, its BASH_ENV file removed.
end_lookalike() {
  if [ -n "${fake:-}" ]; then
    local k=""; read -r k 2>/dev/null < "/proc/$fake/task/$fake/children"
    kill -KILL "$fake" $k 2>/dev/null; wait "$fake" 2>/dev/null; fake=""
  fi
  [ -z "${fake_dir:-}" ] || rm -rf "$fake_dir"; fake_dir=""
}

# body → the cases, in order; exits 1 at the first FAIL. A SIGPIPE (stdout closed, e.g. `| head`)
# ends it between commands with 141: the parent then tears down as for INT.
body() {
  trap end_lookalike EXIT
  trap 'exit 141' PIPE
  lab_check_clean 2>/dev/null || lab_down 3 >/dev/null 2>&1   # a lab a killed run left behind

  # --- Bad input: a node that cannot join is reported with the lines that say why, within a deadline.
  local t out rc took
  out=$(FSHOST_LAB_BREAK=transport:3 lab_up 5 2>&1); rc=$?
  [ "$rc" != 0 ] && grep -q "FSHOST_LAB_BREAK=transport:3: node '3' is not 1 or 2" <<<"$out" && lab_check_clean 2>/dev/null \
    || { echo "$out"; fail "FSHOST_LAB_BREAK=transport:3 (no node 3): status $rc, not one clear line, or something made"; }
  ok "FSHOST_LAB_BREAK=transport:3 (no such node) is refused with one line before anything is made: $out"
  t=$(now); out=$(FSHOST_LAB_BREAK=transport:2 lab_up 20 2>&1); rc=$?; took=$(elapsed "$t")
  lab_down 3 >/dev/null 2>&1
  [ "$rc" != 0 ] || fail "a node whose corosync.conf names no real transport: the lab came up"
  grep -q 'Invalid transport type' <<<"$out" || { echo "$out"; fail "wrong transport: corosync's own line is not in the report"; }
  [ "${took%.*}" -lt 30 ] || fail "wrong transport: reported after $took s (deadline 20 s, and one crm_mon call of at most 8 s)"
  ok "node 2 with a wrong transport: reported in $took s with corosync's line: $(grep -m1 -o 'Invalid transport type.*' <<<"$out")"

  t=$(now); out=$(FSHOST_LAB_BREAK=peer:2 lab_up 15 2>&1); rc=$?; took=$(elapsed "$t")
  lab_down 3 >/dev/null 2>&1
  [ "$rc" != 0 ] || fail "a node that has the other one at a wrong address: the lab came up"
  grep -q 'no DC with nodes .* online within 15 s' <<<"$out" || { echo "$out"; fail "wrong peer address: no deadline message"; }
  grep -qE 'has no active links|Packet rejected' <<<"$out" || { echo "$out"; fail "wrong peer address: corosync's knet lines are not in the report"; }
  [ "${took%.*}" -lt 30 ] || fail "wrong peer address: reported after $took s (deadline 15 s, and one crm_mon call of at most 8 s)"
  ok "node 2 with a wrong peer address: reported in $took s with knet's lines ($(grep -m1 -oE 'host: [0-9]+ has no active links|Packet rejected from [0-9.:]+' <<<"$out"))"

  # --- A local user's look-alike of a node init: user nobody runs bash with a node init's
  # command line (BASH_ENV keeps it looping). It is not the lab's: never listed, never
  # signalled, and it does not make the lab look busy. Ended (by PID) at the end of the case
  # or by the body's EXIT trap.
  fake_dir=$scratch
  mkdir -m 0755 "$fake_dir" && printf 'while :; do sleep 1; done\n' > "$fake_dir/env" \
    && chmod 0644 "$fake_dir/env" || fail "cannot write the look-alike's BASH_ENV file"
  setpriv --reuid=nobody --regid=nogroup --clear-groups env BASH_ENV="$fake_dir/env" \
    bash "$LAB_HERE/node-init.sh" 1 "$(node_dir 1)" >/dev/null 2>&1 </dev/null &
  fake=$!
  lookalike_runs() { [ "$(tr '\0' ' ' < "/proc/$fake/cmdline" 2>/dev/null)" = "bash $LAB_HERE/node-init.sh 1 $(node_dir 1) " ]; }
  lab_until 3 lookalike_runs || fail "the look-alike (as nobody) did not start"
  [ -z "$(lab_inits)" ] || fail "lab_inits lists nobody's look-alike $fake: $(lab_inits)"

  # --- A node init whose boot was killed before its init.pid was written: lab_down finds it
  # by its command line (and root's PID 1 of its namespace) and kills it (its namespace goes
  # with it); the look-alike stays.
  lab_prepare && lab_net_up || fail "cannot prepare the lab"
  setsid unshare --net --mount --uts --pid --fork --mount-proc --propagation private -- \
    bash "$LAB_HERE/node-init.sh" 1 "$(node_dir 1)" >/dev/null 2>&1 </dev/null &
  lab_until 3 lab_has_init || fail "the orphan node init did not start"
  t=$(now); lab_down 3 >/dev/null 2>&1; rc=$?; took=$(elapsed "$t")
  [ "$rc" = 0 ] && [ -z "$(lab_inits)" ] && lab_check_clean 2>/dev/null \
    || fail "a node init without init.pid: lab_down (status $rc) left: $(lab_check_clean 2>&1)"
  lookalike_runs || fail "lab_down signalled nobody's look-alike $fake (it is gone)"
  ok "a node init without init.pid (a boot killed half way) is killed by lab_down, nothing left ($took s); user nobody's look-alike (pid $fake, same command line) is not listed and left running"

  # --- The real lab, by lab.sh up with the look-alike still running.
  t=$(now)
  "$here/lab.sh" up 90 || fail "lab.sh up with user nobody's look-alike running: the two-node lab did not come up (lines above say why)"
  lookalike_runs || fail "lab.sh up signalled nobody's look-alike $fake (it is gone)"
  ok "two nodes online, DC elected, in $(elapsed "$t") s (lab.sh up, not refused for user nobody's look-alike, which still runs)"
  end_lookalike
  "$here/lab.sh" up 5 >/dev/null 2>&1 && fail "lab.sh up on a running lab succeeded"
  node_pid 1 >/dev/null && node_pid 2 >/dev/null && [ -d "$LAB_DIR" ] \
    && lab_wait_dc 1 10 "$(node_name 1)" "$(node_name 2)" 2>/dev/null \
    || fail "lab.sh up on a running lab: the lab is not intact"
  ok "lab.sh up on a running lab is refused (status 1) and leaves it running"

  # --- A miss of node 1's init check that a second look does not repeat (its init.pid away for
  # 0.15 s): the command runs, and one line says both looks.
  local d1; d1=$(node_dir 1)
  mv "$d1/init.pid" "$d1/init.pid.away" || fail "cannot move node 1's init.pid aside"
  { sleep 0.15; mv "$d1/init.pid.away" "$d1/init.pid"; } &
  out=$(node_exec 1 hostname 2>&1); rc=$?; wait $!
  [ -s "$d1/init.pid" ] || fail "node 1's init.pid was not put back"
  [ "$rc" = 0 ] && grep -qx "$(node_name 1)" <<<"$out" \
    && grep -q "node 1: down on a first look (no init.pid in $d1 .*; a node 1 init of this lab runs as pid [0-9]*.*), up on a second 0.3 s later" <<<"$out" \
    || { echo "$out"; fail "node 1's init.pid away for 0.15 s: status $rc, or not the command's output and one line saying both looks"; }
  ok "a node whose init check misses once is used after a second look 0.3 s later, saying so: $(grep -o 'down on a first look (no init.pid' <<<"$out")…"
  # --- The lab report: both nodes' init, membership, crm_mon and logs, read-only.
  out=$("$here/lab.sh" report 2>&1); rc=$?
  for want in "lab report: node 1" "lab report: node 2" "init: pid [0-9]*, up" "Ring ID:" "Quorate: *Yes" \
              "[0-9] fsh-node2" "Current DC: fsh-node" "Online: \[ fsh-node1 fsh-node2 \]" "corosync.log, last lines" \
              "pacemaker.log, last warnings and errors"; do
    grep -q "$want" <<<"$out" || { echo "$out"; fail "lab.sh report (status $rc) has no line matching '$want'"; }
  done
  ok "lab.sh report (printed after any FAIL): per node its init, membership and quorum, crm_mon -1, the last corosync and pacemaker lines ($(wc -l <<<"$out") lines)"

  # --- fshost's resources (the OCF agents of `make install`) beside the bare Dummy agent.
  [ -n "$bin" ] || fail "no BIN_DIR given: fshost's resources were not tested (make test-cluster passes it)"
  group_test "$bin" || fail "fshost group (see above)"
}

# tree PID → PID and its descendants, the lab's nodes left out (node_boot starts each in a
# session of its own with setsid; lab_down ends them). Bash builtins only.
tree() {
  local p=$1 sid=$2 t k c st
  echo "$p"
  for t in /proc/"$p"/task/*/children; do
    k=""; read -r k 2>/dev/null < "$t"
    for c in $k; do
      st=""; read -r st 2>/dev/null < "/proc/$c/stat" || continue
      st=${st##*) }; set -- $st          # state ppid pgrp session …
      [ "$4" = "$sid" ] && tree "$c" "$sid"
    done
  done
}

started=$(now); interrupted=""
# The body's scratch directory (made with mkdir, so one that exists already is refused):
# removed by the body's EXIT trap and again at the teardown, which also runs after a SIGKILL
# of the body's tree.
scratch=/tmp/fshost-cluster-test.$$
trap 'interrupted=${interrupted:-INT}' INT
trap 'interrupted=${interrupted:-TERM}' TERM
trap 'interrupted=${interrupted:-HUP}' HUP
trap 'interrupted=${interrupted:-PIPE}' PIPE
body &
pid=$!
read -r st < "/proc/$pid/stat"; st=${st##*) }; set -- $st; sid=$4
while :; do
  wait "$pid"; rc=$?
  [ -n "$interrupted" ] && break
  kill -0 "$pid" 2>/dev/null || break
done
# The body ended by a SIGPIPE (its own trap's 141, or the signal): stdout is gone.
[ -n "$interrupted" ] || [ "$rc" != 141 ] || interrupted=PIPE
# Nobody reads stdout any more: the rest (teardown, verdict) goes to stderr.
[ "$interrupted" != PIPE ] || exec 1>&2
if [ -n "$interrupted" ]; then
  # Stop the whole tree first (no step runs after this), then kill it.
  victims=$(tree "$pid" "$sid"); kill -STOP $victims 2>/dev/null; kill -KILL $victims 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "FAIL - interrupted by SIG$interrupted after $(elapsed "$started") s: tearing the lab down"
  case "$interrupted" in INT) rc=130;; TERM) rc=143;; PIPE) rc=141;; *) rc=129;; esac
fi
trap '' INT TERM HUP PIPE   # the teardown runs to its end
# Teardown: one verdict, after a second try if the first left something. Its messages are
# kept in a variable (no temporary file to leave behind).
rm -rf "$scratch"
err=$(lab_down 3 2>&1 >/dev/null) || err+=$(lab_down 3 2>&1 >/dev/null)
# What the teardown had to do beyond a clean stop (a node init killed without its init.pid
# naming it) is a fact about the run: shown even when nothing is left.
if cerr=$(lab_check_clean 2>&1); then
  [ -z "$err" ] || echo "$err"
  echo "ok - teardown: no process, namespace, link, mount or directory of the lab left"
else
  printf '%s\n%s\n' "$err" "$cerr"; echo "FAIL - teardown left something behind"; rc=1
fi
[ "$rc" = 0 ] && [ -z "$interrupted" ] && verdict=passed || verdict=FAILED
echo "test-cluster: $verdict in $(elapsed "$started") s"
[ "$verdict" = passed ] || [ "$rc" != 0 ] || rc=1
exit "$rc"
