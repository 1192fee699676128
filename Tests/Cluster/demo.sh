#!/usr/bin/env bash
# make demo-cluster: fshost's resources under a real two-node Pacemaker cluster, step by step.
#   Tests/Cluster/demo.sh BIN_DIR
# Brings the lab up, installs fshost and its OCF agents, defines the group, crashes node 1,
# shows the group answering from node 2, brings node 1 back, tears everything down (trap).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/group.sh"
bin=$(cd "${1:?usage: demo.sh BIN_DIR}" && pwd)
[ "$(id -u)" = 0 ] || { echo "demo-cluster: needs root (namespaces, mounts)" >&2; exit 1; }
trap 'echo; echo "== teardown"; lab_down 5 && echo "nothing of the lab is left"' EXIT
trap 'exit 1' INT TERM HUP
lab_check_clean 2>/dev/null || lab_down 3 >/dev/null 2>&1
step() { echo; echo "== $*"; }
ok() { echo "   $*"; }

step "two nodes (namespaces), corosync + pacemakerd each, waiting for a DC"
lab_up 90 || exit 1
step "make install-files PREFIX=$LAB_DIR/prefix; agents linked as /usr/lib/ocf/resource.d/fshost on the nodes"
group_install "$bin" || exit 1
ls "$LAB_DIR/ocf/fshost/"
step "the group (ordered, colocated, prefers node 1; monitors from the agents' meta-data)"
group_define || exit 1
node_exec 1 cibadmin -Q -o resources | sed -n '1,40p'
lab_wait_on fsh "$(node_name 1)" 60 && lab_until 30 group_serves 1 || exit 1
node_exec 1 crm_mon -1 | sed -n '/Node List/,$p'
echo "   client → http://$(node_addr 1):$GROUP_PORT/ : $(group_page 1)"
group_members_on 1 || exit 1
step "crash node 1 (SIGKILL of its init)"
lab_failover fsh group_serves 2 || exit 1
echo "   client → http://$(node_addr 2):$GROUP_PORT/ : $(group_page 2)   ($FAILOVER_S s after the crash)"
lab_wait_on fsh "$(node_name 2)" 30 2 && node_exec 2 crm_mon -1 | sed -n '/Node List/,$p'
step "node 1 boots again and rejoins; the group moves back (location preference)"
t=$(now); lab_rejoin fsh && lab_until 30 group_serves 1 || exit 1
echo "   client → http://$(node_addr 1):$GROUP_PORT/ : $(group_page 1)   ($(elapsed "$t") s after the boot)"
step "nginx SIGKILLed on node 1: the fshost monitor notices, Pacemaker restarts it"
group_kill_nginx 1 || exit 1
echo "   failure counted after $DETECT_S s (fail-count $FC_BEFORE → $FC_AFTER) by $DETECT_OP"
echo "   page again after $RECOVER_S s: $(group_page 1)"
