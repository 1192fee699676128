#!/usr/bin/env bash
# bench section: failover between two real Pacemaker nodes (Tests/Cluster's lab, token 1000 ms).
#   Tests/Bench/cluster-failover.sh BIN_DIR REPORT.md      (FSHOST_BENCH_REPS: repetitions, default 5)
# Failover time = SIGKILL of node 1's init → the resource runs on node 2, as one crm_mon snapshot
# per poll (every 50 ms, from node 2) shows it. The lab runs without Pacemaker's load throttling
# (lib.sh's lab_up), so a transition's actions are not serialised by the machine's load.
# The baseline, the cluster's own cost, in crashes of its own (the group and the database
# stopped): "dgrp", a group of three ocf:heartbeat:Dummy members (the fshost group's shape:
# three starts in order), and a single Dummy, timed in the same snapshots. For reference, the
# single Dummy also runs beside the fshost group (independent, same node-1 preference) in
# the group's crashes.
# Separately: crash → the page at node 2's address names node 2.
# Detection time = SIGKILL of nginx's master (the cluster idle) → Pacemaker counts the failure;
# each sample is checked to be an fshost monitor's own answer (group_detection: the op,
# op-status 0, fshost's failure line in the execd log) and names that op; a kill whose
# sample is not (or whose cleanup finds the cluster busy past its deadline) is redone and
# the report says so; recovery = the page again.
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
GROUP_DIFFS=() GROUP_PAGES=() GROUP_DUMMIES=() GROUP_CLUSTER=() GROUP_DCS=() DUMMY_ALONE=() DGRP_ALONE=() DUMMY_DCS=()
for _ in $(seq "$reps"); do
  group_crash && group_back || exit 1
done
group_dummy_alone "$reps" || exit 1
interval=$(node_exec 1 /usr/lib/ocf/resource.d/fshost/webserver meta-data | grep -o '<action name="monitor"[^>]*depth="0"' | grep -o 'interval="[^"]*"' | cut -d'"' -f2)
detect=(); recover=(); ops=(); redone=()
while [ "${#detect[@]}" -lt "$reps" ]; do
  # A random phase against the shortest monitor interval (the timers restart with the
  # resource), so detection samples the whole interval.
  sleep "$(python3 -c 'import random,sys; print("%.2f" % random.uniform(0, float(sys.argv[1].rstrip("s"))))' "$interval")"
  LAB_LAST_FAIL=""
  if group_kill_nginx 1 && group_cleanup_web 1; then
    detect+=("$DETECT_S"); recover+=("$RECOVER_S"); ops+=("${DETECT_OP%%:*}")
    continue
  fi
  redone+=("$LAB_LAST_FAIL")
  [ "${#redone[@]}" -le "$reps" ] || { lab_fail "more than $reps kills redone: ${redone[*]}"; exit 1; }
  # Back to a quiet cluster with web running on node 1 before the next kill.
  lab_idle 1 120; group_cleanup_web 1 && lab_until 30 group_serves 1 || exit 1
done
throttled=0
for n in 1 2; do
  c=$(grep -ac 'New throttle mode: \(high\|extreme\)' "$(node_dir "$n")/log-pacemaker/pacemaker.log"); throttled=$((throttled + c))
done
tally=$(printf '%s\n' "${ops[@]}" | sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/\2 ×\1/' | paste -sd, - | sed 's/,/, /g')
diffmed=$(python3 -c 'import sys,statistics as s; a,b=sys.argv[1].split(),sys.argv[2].split(); print("%.2f" % (s.median(map(float,a)) - s.median(map(float,b))))' "${GROUP_CLUSTER[*]}" "${DGRP_ALONE[*]}")
{
  echo "## Failover under Pacemaker (two real nodes, token ${LAB_TOKEN} ms)"
  echo
  echo "Tests/Cluster's lab: corosync 3 + Pacemaker 2.1 in per-node namespaces, knet over veth pairs into a switch namespace, stonith off, no load throttling (load-threshold ${FSHOST_LAB_LOAD_THRESHOLD:-10000%}, node-action-limit 32; throttle-mode lines in the nodes' logs this run: $throttled)."
  echo "Crash = SIGKILL of node 1's init. $reps crashes with fshost's group (and a single Dummy beside it), then $reps with Dummy agents alone (fshost's group and the database stopped): a group of three Dummy members and a single Dummy; seconds, min / median / max."
  echo
  echo "| what | min / median / max (s) |"
  echo "|---|---|"
  echo "| group of three ocf:heartbeat:Dummy members (crashes of its own): crash → crm_mon on node 2 shows every member started there (the cluster's own cost) | $(lab_stats "${DGRP_ALONE[@]}") |"
  echo "| single ocf:heartbeat:Dummy (same crashes as the Dummy group) | $(lab_stats "${DUMMY_ALONE[@]}") |"
  echo "| fshost group ($GROUP_MEMBERS): crash → crm_mon on node 2 shows every member started there | $(lab_stats "${GROUP_CLUSTER[@]}") |"
  echo "| fshost group median − Dummy group median (target < 1 s) | $diffmed |"
  echo "| Dummy beside the group, same crashes (reference) | $(lab_stats "${GROUP_DUMMIES[@]}") |"
  echo "| per crash, group − Dummy beside it | $(lab_stats "${GROUP_DIFFS[@]}") |"
  echo "| fshost group: crash → page at node 2's address names node 2 | $(lab_stats "${GROUP_PAGES[@]}") |"
  echo "| nginx SIGKILLed → failure counted by Pacemaker, from an fshost monitor's own answer (by: $tally) | $(lab_stats "${detect[@]}") |"
  echo "| nginx SIGKILLed → page answers again (local restart) | $(lab_stats "${recover[@]}") |"
  echo
  echo "Samples: Dummy group ${DGRP_ALONE[*]}, single Dummy ${DUMMY_ALONE[*]} (DC at the crash: ${DUMMY_DCS[*]}); group ${GROUP_CLUSTER[*]} (DC: ${GROUP_DCS[*]}); Dummy beside it ${GROUP_DUMMIES[*]}; difference ${GROUP_DIFFS[*]}; page ${GROUP_PAGES[*]}; detection ${detect[*]}; recovery ${recover[*]}."
  echo "Detecting ops in sample order: $(printf '%s; ' "${ops[@]}")kills redone: ${#redone[@]}$([ "${#redone[@]}" = 0 ] || printf ' (%s)' "${redone[*]}")."
  echo "Detection waits for the next run of any of web's monitors (every depth runs the shallower levels first, so each sees a dead master; depth 0 every $interval is the most frequent, fshost's convention in the meta-data), then Pacemaker's reaction; fshost's monitor itself takes milliseconds."
  echo
} >> "$report"
