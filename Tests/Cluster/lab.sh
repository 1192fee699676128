#!/usr/bin/env bash
# The two-node cluster lab by hand (lib.sh does the work).
#   lab.sh up [SECONDS]        fresh cluster settled within SECONDS (default 90): both nodes online
#                              and joined, one DC with quorum seen by both; stonith off; on failure
#                              the lab report, then the teardown; refused (status 1, nothing
#                              touched) while a lab is up
#   lab.sh down                stop both nodes (and any node init of this lab, with or without an
#                              init.pid), remove namespaces, link and $LAB_DIR; check nothing is left
#   lab.sh crash N             SIGKILL node N's init (the node and everything on it dies)
#   lab.sh boot N              boot node N again (it rejoins)
#   lab.sh stop N              clean shutdown of node N
#   lab.sh status [N]          crm_mon -1 on node N (default 1)
#   lab.sh on N CMD…           CMD in node N's namespaces (crm_resource, cibadmin, crm_attribute…)
#   lab.sh why                 the log lines of both nodes that say why something failed
#   lab.sh report              per node: init up or why down, membership, crm_mon -1, last log lines
# Environment: FSHOST_LAB (name prefix, default fshlab), FSHOST_LAB_DIR, FSHOST_LAB_TOKEN (ms).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "lab.sh: needs root (namespaces, mounts)" >&2; exit 1; }
cmd=${1:-}; shift || true
case "$cmd" in
  up)     # A lab already up (or something of one) is left alone: lab.sh down first.
          lab_check_clean 2>/dev/null \
            || { echo "lab.sh: a lab is up or left something behind (lab.sh down first); nothing changed" >&2; exit 1; }
          lab_up "${1:-90}" || { lab_report; lab_down >/dev/null 2>&1; exit 1; } ;;
  down)   lab_down ;;
  crash)  node_crash "$1" ;;
  boot)   node_boot "$1" ;;
  stop)   node_stop "$1" ;;
  status) node_exec "${1:-1}" crm_mon -1 ;;
  on)     n=$1; shift; node_exec "$n" "$@" ;;
  why)    lab_why 1 2 ;;
  report) lab_report ;;
  *)      sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
