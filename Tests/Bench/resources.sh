#!/usr/bin/env bash
# Many resources: does a monitor's cost grow with the number of resources on
# the node (issue 16: "nothing slower on a node with … 5,000 resources")?
# The same `fshost template monitor r1` with a CDB of one resource and with a
# CDB of RESOURCES_EXTRA (default 5000) resources, every one of them started
# (by one FailSafe batch: a lock file each under the run directory).
#   Tests/Bench/resources.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_tree
N=${RESOURCES_EXTRA:-5000}
work=$(mktemp -d /tmp/fshost-bench-resources.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
export FSHOST_PLUGIN_PATH=$plugins

# node DIR COUNT: a CDB of COUNT template resources r1…rCOUNT under DIR, all started.
node() {
  local dir=$1 count=$2 i
  mkdir -m 0755 "$dir"
  : > "$dir/cdb.toml"; : > "$dir/batch.in"
  for i in $(seq 1 "$count"); do printf '[template.r%d]\n' "$i" >> "$dir/cdb.toml"; echo "r$i 0" >> "$dir/batch.in"; done
  FSHOST_CDB=$dir/cdb.sqlite "$bin/fshost" cdb import "$dir/cdb.toml" >/dev/null
  FSHOST_CDB=$dir/cdb.sqlite FSHOST_RUN_DIR=$dir/run FSHOST_STATE_DIR=$dir/state \
    "$bin/fshost" template start "$dir/batch.in" "$dir/batch.out" 2>/dev/null
  [ "$(grep -c ' 0$' "$dir/batch.out")" = "$count" ] || { echo "resources.sh: the batch start did not answer $count × 0" >&2; exit 1; }
}
node "$work/one" 1
node "$work/many" "$N"
# measure DIR LABEL: hyperfine of one monitor on the node DIR (its own CDB, run and state directories).
measure() {
  FSHOST_CDB=$1/cdb.sqlite FSHOST_RUN_DIR=$1/run FSHOST_STATE_DIR=$1/state \
    hyperfine -N --warmup 10 --runs 100 --export-json "$work/$2.json" -n "$2" "$bin/fshost template monitor r1" >/dev/null 2>&1
}
# Three alternating rounds, so that a change of the machine's load meets both.
for round in 1 2 3; do measure "$work/one" "one$round"; measure "$work/many" "many$round"; done
med() { for r in 1 2 3; do median_ms "$work/$1$r.json" 0; done | sort -n | sed -n 2p; }
one=$(med one); many=$(med many); r=$(ratio "$many" "$one")
cdb_kib=$(( $(stat -c %s "$work/many/cdb.sqlite") / 1024 ))
marks=$(find "$work/many" -path "$work/many/run/*" -type f -o -path "$work/many/state/*" -type f | wc -l)
cat >> "$report" <<EOT
## Many resources: a monitor's cost and the number of resources

\`fshost template monitor r1\` on a node whose CDB holds one resource and on one whose CDB holds $N
(a $cdb_kib KiB SQLite file, one attribute snapshot per resource), every resource started by one
FailSafe batch ($marks files under its run and state directories, one lock file per resource). hyperfine -N, 3 alternating rounds of 100 runs; the median round.

| node | median | many / one | ≤ 1.2 |
|---|---|---|---|
| 1 resource | $one ms | | |
| $N resources | $many ms | $r | $(python3 -c 'import sys; print("yes" if float(sys.argv[1]) <= 1.2 else "NO")' "$r") |

EOT
echo "resources: 1 → $one ms, $N → $many ms ($r)"
