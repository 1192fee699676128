#!/usr/bin/env bash
# make test-cluster: fshost's resources fail over between two real Pacemaker nodes.
#   Tests/Cluster/test.sh [BIN_DIR]     (BIN_DIR: a release or debug products directory with fshost)
# Every case prints "ok - …" or "FAIL - …" with the reason; any FAIL ends the run with
# status 1. A lab that cannot come up is a FAIL naming the log lines that say why, never a
# skip. Whatever happens, the lab is torn down (trap) and checked to leave nothing behind.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/group.sh"
bin=${1:-}
[ "$(id -u)" = 0 ] || { echo "FAIL - test-cluster needs root (namespaces, mounts)"; exit 1; }
for tool in corosync pacemakerd crm_mon cibadmin crm_resource nsenter unshare ip curl; do
  command -v "$tool" >/dev/null || { echo "FAIL - $tool is not installed (make deps)"; exit 1; }
done

started=$(now); failed=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; failed=1; exit 1; }
finish() {
  local rc=$?
  if ! lab_down 3 >/dev/null 2>"$LAB_DOWN_ERR"; then cat "$LAB_DOWN_ERR"; echo "FAIL - teardown left something behind"; rc=1; fi
  lab_check_clean 2>/dev/null && echo "ok - teardown: no process, namespace, link, mount or directory of the lab left"
  rm -f "$LAB_DOWN_ERR"
  echo "test-cluster: $([ "$rc" = 0 ] && echo passed || echo FAILED) in $(elapsed "$started") s"
  exit "$rc"
}
LAB_DOWN_ERR=$(mktemp)
trap finish EXIT
trap 'exit 1' INT TERM HUP
lab_check_clean 2>/dev/null || lab_down 3 >/dev/null 2>&1   # a lab a killed run left behind

# --- Bad input: a node that cannot join is reported with the lines that say why, within a deadline.
t=$(now); out=$(FSHOST_LAB_BREAK=transport:2 lab_up 20 2>&1); rc=$?; took=$(elapsed "$t")
lab_down 3 >/dev/null 2>&1
[ "$rc" != 0 ] || fail "a node whose corosync.conf names no real transport: the lab came up"
grep -q 'Invalid transport type' <<<"$out" || { echo "$out"; fail "wrong transport: corosync's own line is not in the report"; }
[ "${took%.*}" -lt 30 ] || fail "wrong transport: reported after $took s (deadline 20 s)"
ok "node 2 with a wrong transport: reported in $took s with corosync's line: $(grep -m1 -o 'Invalid transport type.*' <<<"$out")"

t=$(now); out=$(FSHOST_LAB_BREAK=peer:2 lab_up 15 2>&1); rc=$?; took=$(elapsed "$t")
lab_down 3 >/dev/null 2>&1
[ "$rc" != 0 ] || fail "a node that has the other one at a wrong address: the lab came up"
grep -q 'no DC with nodes .* online within 15 s' <<<"$out" || { echo "$out"; fail "wrong peer address: no deadline message"; }
grep -qE 'has no active links|Packet rejected' <<<"$out" || { echo "$out"; fail "wrong peer address: corosync's knet lines are not in the report"; }
[ "${took%.*}" -lt 30 ] || fail "wrong peer address: reported after $took s (deadline 15 s, and one crm_mon call of at most 8 s)"
ok "node 2 with a wrong peer address: reported in $took s with knet's lines ($(grep -m1 -oE 'host: [0-9]+ has no active links|Packet rejected from [0-9.:]+' <<<"$out"))"

# --- The real lab.
t=$(now)
lab_up 90 || fail "the two-node lab did not come up (lines above say why)"
ok "two nodes online, DC elected, in $(elapsed "$t") s"

# --- Baseline: the bare Dummy agent, crash of node 1, on node 2, back after the rejoin.
lab_dummy || fail "cannot define the Dummy resource"
lab_wait_on dummy "$(node_name 1)" 30 || fail "Dummy does not run on node 1 (its location preference)"
ok "Dummy runs on node 1"
lab_failover dummy lab_is_on dummy 2 || fail "Dummy did not fail over to node 2"
dummy_s=$FAILOVER_S
ok "node 1 crashed (SIGKILL of its init): Dummy runs on node 2 after $dummy_s s"
lab_rejoin dummy || fail "node 1 did not rejoin, or Dummy did not move back"
ok "node 1 rebooted and rejoined; Dummy is back on node 1"
dummy_all=("$dummy_s")
for rep in 2 3; do   # three samples: the baseline of the performance check below
  lab_failover dummy lab_is_on dummy 2 && dummy_all+=("$FAILOVER_S") && lab_rejoin dummy || fail "Dummy failover $rep"
done
node_exec 1 crm_resource --delete -r dummy -t primitive >/dev/null 2>&1
node_exec 1 cibadmin -D -o constraints -X '<rsc_location id="dummy-prefers-node1"/>' >/dev/null 2>&1

# --- fshost's resources (the OCF agents of `make install`), when BIN_DIR is given.
if [ -n "$bin" ]; then
  group_test "$bin" "${dummy_all[@]}" || fail "fshost group (see above)"
else
  fail "no BIN_DIR given: fshost's resources were not tested (make test-cluster passes it)"
fi
