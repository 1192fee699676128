#!/usr/bin/env bash
# make test-cluster: fshost's resources fail over between two real Pacemaker nodes.
#   Tests/Cluster/test.sh [BIN_DIR]     (BIN_DIR: a release or debug products directory with fshost)
# Every case prints "ok - …" or "FAIL - …" with the reason; any FAIL ends the run with
# status 1. A lab that cannot come up is a FAIL naming the log lines that say why, never a
# skip. Whatever happens, the lab is torn down and checked to leave nothing behind.
# INT, TERM or HUP end the run at once (status 130 / 143 / 129 after the teardown): the
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
fail() { echo "FAIL - $*"; exit 1; }

# body → the cases, in order; exits 1 at the first FAIL.
body() {
  lab_check_clean 2>/dev/null || lab_down 3 >/dev/null 2>&1   # a lab a killed run left behind

  # --- Bad input: a node that cannot join is reported with the lines that say why, within a deadline.
  local t out rc took
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

  # --- A node init whose boot was killed before its init.pid was written: lab_down finds it
  # by its command line and kills it (its namespace goes with it).
  lab_prepare && lab_net_up || fail "cannot prepare the lab"
  setsid unshare --net --mount --uts --pid --fork --mount-proc --propagation private -- \
    bash "$LAB_HERE/node-init.sh" 1 "$(node_dir 1)" >/dev/null 2>&1 </dev/null &
  lab_until 3 lab_has_init || fail "the orphan node init did not start"
  t=$(now); lab_down 3 >/dev/null 2>&1; rc=$?; took=$(elapsed "$t")
  [ "$rc" = 0 ] && [ -z "$(lab_inits)" ] && lab_check_clean 2>/dev/null \
    || fail "a node init without init.pid: lab_down (status $rc) left: $(lab_check_clean 2>&1)"
  ok "a node init without init.pid (a boot killed half way) is killed by lab_down, nothing left ($took s)"

  # --- The real lab.
  t=$(now)
  lab_up 90 || fail "the two-node lab did not come up (lines above say why)"
  ok "two nodes online, DC elected, in $(elapsed "$t") s"
  "$here/lab.sh" up 5 >/dev/null 2>&1 && fail "lab.sh up on a running lab succeeded"
  node_pid 1 >/dev/null && node_pid 2 >/dev/null && [ -d "$LAB_DIR" ] \
    && lab_wait_dc 1 10 "$(node_name 1)" "$(node_name 2)" 2>/dev/null \
    || fail "lab.sh up on a running lab: the lab is not intact"
  ok "lab.sh up on a running lab is refused (status 1) and leaves it running"

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
    k=""; read -r k < "$t" 2>/dev/null
    for c in $k; do
      st=""; read -r st < "/proc/$c/stat" 2>/dev/null || continue
      st=${st##*) }; set -- $st          # state ppid pgrp session …
      [ "$4" = "$sid" ] && tree "$c" "$sid"
    done
  done
}

started=$(now); interrupted=""
trap 'interrupted=${interrupted:-INT}' INT
trap 'interrupted=${interrupted:-TERM}' TERM
trap 'interrupted=${interrupted:-HUP}' HUP
body &
pid=$!
read -r st < "/proc/$pid/stat"; st=${st##*) }; set -- $st; sid=$4
while :; do
  wait "$pid"; rc=$?
  [ -n "$interrupted" ] && break
  kill -0 "$pid" 2>/dev/null || break
done
if [ -n "$interrupted" ]; then
  # Stop the whole tree first (no step runs after this), then kill it.
  victims=$(tree "$pid" "$sid"); kill -STOP $victims 2>/dev/null; kill -KILL $victims 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "FAIL - interrupted by SIG$interrupted after $(elapsed "$started") s: tearing the lab down"
  case "$interrupted" in INT) rc=130;; TERM) rc=143;; *) rc=129;; esac
fi
trap '' INT TERM HUP   # the teardown runs to its end
# Teardown: one verdict, after a second try if the first left something.
err=$(mktemp)
lab_down 3 >/dev/null 2>"$err" || lab_down 3 >/dev/null 2>>"$err"
if lab_check_clean 2>>"$err"; then
  echo "ok - teardown: no process, namespace, link, mount or directory of the lab left"
else
  cat "$err"; echo "FAIL - teardown left something behind"; rc=1
fi
rm -f "$err"
[ "$rc" = 0 ] && [ -z "$interrupted" ] && verdict=passed || verdict=FAILED
echo "test-cluster: $verdict in $(elapsed "$started") s"
[ "$verdict" = passed ] || [ "$rc" != 0 ] || rc=1
exit "$rc"
