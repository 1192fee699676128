#!/usr/bin/env bash
# bench section: failover between two real Pacemaker nodes (Tests/Cluster's lab, token 1000 ms).
#   Tests/Bench/cluster-failover.sh BIN_DIR REPORT.md      (FSHOST_BENCH_REPS: repetitions, default 5)
# Failover time = SIGKILL of node 1's init → the resource answers on node 2: for the bare
# ocf:heartbeat:Dummy agent, "crm_resource --locate" names node 2 alone; for fshost's group,
# the page at node 2's address names node 2. Same lab, same run, same polling (every 50 ms).
# Detection time = SIGKILL of nginx's master → Pacemaker counts the failure (the fshost
# monitor at OCF_CHECK_LEVEL 0, interval from the meta-data, said so); recovery = the page again.
set -uo pipefail
bin=$(cd "$1" && pwd); report=$2
reps=${FSHOST_BENCH_REPS:-5}
here=$(cd "$(dirname "$0")/../Cluster" && pwd)
. "$here/lib.sh"
. "$here/group.sh"
trap 'lab_down 3 >/dev/null 2>&1 || lab_down 3' EXIT
trap 'exit 1' INT TERM HUP
lab_check_clean 2>/dev/null || lab_down 3 >/dev/null 2>&1

lab_up 90 || exit 1
lab_dummy || exit 1
dummy=()
for _ in $(seq "$reps"); do
  lab_failover dummy lab_is_on dummy 2 && dummy+=("$FAILOVER_S") && lab_rejoin dummy || exit 1
done
node_exec 1 crm_resource --delete -r dummy -t primitive >/dev/null 2>&1
node_exec 1 cibadmin -D -o constraints -X '<rsc_location id="dummy-prefers-node1"/>' >/dev/null 2>&1

group_install "$bin" && group_define && lab_wait_on fsh "$(node_name 1)" 60 && lab_until 20 group_serves 1 || exit 1
group=()
for _ in $(seq "$reps"); do
  lab_failover fsh group_serves 2 && group+=("$FAILOVER_S") && lab_rejoin fsh && lab_until 20 group_serves 1 || exit 1
done
interval=$(node_exec 1 /usr/lib/ocf/resource.d/fshost/webserver meta-data | grep -o '<action name="monitor"[^>]*depth="0"' | grep -o 'interval="[^"]*"' | cut -d'"' -f2)
detect=(); recover=()
for _ in $(seq "$reps"); do
  # A random phase against the monitor's interval (its timer restarts with the resource),
  # so detection samples the whole interval.
  sleep "$(python3 -c 'import random,sys; print("%.2f" % random.uniform(0, float(sys.argv[1].rstrip("s"))))' "$interval")"
  group_kill_nginx 1 && detect+=("$DETECT_S") && recover+=("$RECOVER_S") || exit 1
  node_exec 1 crm_resource --cleanup -r web >/dev/null 2>&1
  # Let the cleanup's re-probe finish: a kill during a probe is a "not running" answer,
  # which Pacemaker starts without counting a failure.
  LAB_EXEC_TIMEOUT=40 node_exec 1 crm_resource --wait --timeout=30s >/dev/null 2>&1
done
dm=$(lab_median "${dummy[@]}"); gm=$(lab_median "${group[@]}")
{
  echo "## Failover under Pacemaker (two real nodes, token ${LAB_TOKEN} ms)"
  echo
  echo "Tests/Cluster's lab: corosync 3 + Pacemaker 2.1 in per-node namespaces, knet over veth pairs into a switch namespace, stonith off."
  echo "Crash = SIGKILL of node 1's init. $reps repetitions each; seconds, min / median / max."
  echo
  echo "| what | min / median / max (s) |"
  echo "|---|---|"
  echo "| ocf:heartbeat:Dummy: crash → running on node 2 (the cluster's own cost) | $(lab_stats "${dummy[@]}") |"
  echo "| fshost group ($GROUP_MEMBERS): crash → page answers on node 2 | $(lab_stats "${group[@]}") |"
  echo "| difference of the medians (target: < 1 s) | $(python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$dm" "$gm") |"
  echo "| nginx SIGKILLed → failure counted by Pacemaker (fshost monitor, depth 0 every $interval) | $(lab_stats "${detect[@]}") |"
  echo "| nginx SIGKILLed → page answers again (local restart) | $(lab_stats "${recover[@]}") |"
  echo
  echo "Samples: Dummy ${dummy[*]}; group ${group[*]}; detection ${detect[*]}; recovery ${recover[*]}."
  echo "Detection is bounded by the monitor interval (the descriptor's), not by fshost's monitor (milliseconds)."
  echo
} >> "$report"
