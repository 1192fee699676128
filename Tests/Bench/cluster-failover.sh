#!/usr/bin/env bash
# bench section: failover between two real Pacemaker nodes (Tests/Cluster's lab, token 1000 ms).
#   Tests/Bench/cluster-failover.sh BIN_DIR REPORT.md      (FSHOST_BENCH_REPS: repetitions, default 5)
# Failover time = SIGKILL of node 1's init → the resource runs on node 2. The bare
# ocf:heartbeat:Dummy agent runs beside fshost's group as an independent resource with the
# same node-1 preference, so each crash moves both; one crm_mon snapshot per poll (every
# 50 ms, from node 2) says when each runs on node 2 alone: the same probe at the same instant.
# Compared per crash (group − Dummy). Separately: crash → the page at node 2's address names node 2.
# Detection time = SIGKILL of nginx's master → Pacemaker counts the failure (the fshost
# monitor at OCF_CHECK_LEVEL 0 said so); recovery = the page again.
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
group_install "$bin" && group_define && lab_dummy || exit 1
lab_wait_on fsh "$(node_name 1)" 60 && lab_wait_on dummy "$(node_name 1)" 30 && lab_until 20 group_serves 1 || exit 1
GROUP_DIFFS=() GROUP_PAGES=() GROUP_DUMMIES=() GROUP_CLUSTER=()
for _ in $(seq "$reps"); do
  group_crash && group_back || exit 1
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
{
  echo "## Failover under Pacemaker (two real nodes, token ${LAB_TOKEN} ms)"
  echo
  echo "Tests/Cluster's lab: corosync 3 + Pacemaker 2.1 in per-node namespaces, knet over veth pairs into a switch namespace, stonith off."
  echo "Crash = SIGKILL of node 1's init, with fshost's group and the bare Dummy agent both on node 1 (independent resources, same preference). $reps crashes; seconds, min / median / max."
  echo
  echo "| what | min / median / max (s) |"
  echo "|---|---|"
  echo "| ocf:heartbeat:Dummy: crash → crm_mon on node 2 shows it started there (the cluster's own cost) | $(lab_stats "${GROUP_DUMMIES[@]}") |"
  echo "| fshost group ($GROUP_MEMBERS): crash → crm_mon on node 2 shows every member started there | $(lab_stats "${GROUP_CLUSTER[@]}") |"
  echo "| per crash, group − Dummy (target: median < 1 s) | $(lab_stats "${GROUP_DIFFS[@]}") |"
  echo "| fshost group: crash → page at node 2's address names node 2 | $(lab_stats "${GROUP_PAGES[@]}") |"
  echo "| nginx SIGKILLed → failure counted by Pacemaker (fshost monitor, depth 0 every $interval) | $(lab_stats "${detect[@]}") |"
  echo "| nginx SIGKILLed → page answers again (local restart) | $(lab_stats "${recover[@]}") |"
  echo
  echo "Samples: Dummy ${GROUP_DUMMIES[*]}; group ${GROUP_CLUSTER[*]}; difference ${GROUP_DIFFS[*]}; page ${GROUP_PAGES[*]}; detection ${detect[*]}; recovery ${recover[*]}."
  echo "Detection waits for the next depth-0 monitor ($interval apart: fshost's convention in the meta-data, not a descriptor value), then Pacemaker's reaction; fshost's monitor itself takes milliseconds."
  echo
} >> "$report"
