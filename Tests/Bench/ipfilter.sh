#!/usr/bin/env bash
# IPFilter: fshost's ipfilter type against spawning nft(8) for the same
# work, in a network namespace this section creates, in one hyperfine run:
#   fshost ipfilter start          vs  nft -f FILE (the same one-batch replace
#                                      of the table: add, delete, the ruleset)
#   fshost ipfilter monitor -l 1   vs  nft -j list table … plus the template's
#                                      monitor (the host's own floor); again
#                                      after a commit (the table listed)
#   fshost ipfilter monitor -l 0   vs  the template's monitor (nothing loaded)
# Targets (the issue): start no slower than nft -f; level 1 no more than the
# template monitor plus nft -j list.
#   Tests/Bench/ipfilter.sh BIN_DIR REPORT.md
set -euo pipefail
bin=$(cd "$1" && pwd); report=$2
. "$(dirname "$0")/lib.sh"
bench_tree

skip() { printf '## IPFilter: fshost vs nft\n\nskipped: %s\n\n' "$1" >> "$report"; echo "skipped: $1" >&2; exit 0; }
command -v nft >/dev/null || skip "nft is not installed (Debian package nftables)"
command -v ip >/dev/null || skip "ip is not installed (Debian package iproute2)"
for f in "$bin/fshost" "$(plugin_so ipfilter)" "$(plugin_so ipfilter-nft)" "$(plugin_so template)"; do [ -e "$f" ] || skip "$f is not built"; done

work=$(mktemp -d /tmp/fshost-bench-ipf.XXXXXX)
chmod 0755 "$work"
ns=fsbench-ipf-$$
export FSHOST_PLUGIN_PATH=$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

# A small real firewall: a named set, counters, a named counter, service names.
cat > "$work/ruleset.nft" <<'NFT'
table inet bench {
    set blocked { type inet_service; elements = { 9090, 9999 } }
    counter web { }
    chain input {
        type filter hook input priority filter; policy accept;
        ct state established,related accept
        tcp dport @blocked counter reject with tcp reset
        tcp dport { http, https } counter name web accept
        tcp dport ssh counter accept
        iifname "lo" accept
    }
}
NFT
chmod 0644 "$work/ruleset.nft"
# What fshost does in one batch, for nft -f: replace the table whole.
{ printf 'add table inet bench\ndelete table inet bench\n'; cat "$work/ruleset.nft"; } > "$work/peer.nft"

"$bin/fshost" cdb define ipfilter fw ruleset="$work/ruleset.nft" table=bench netns="$ns" retries=0 >/dev/null
"$bin/fshost" cdb define template bench >/dev/null
"$bin/fshost" ipfilter start fw 2>/dev/null || { echo "fshost ipfilter start failed (status $?)" >&2; exit 1; }
for level in 0 1; do
  "$bin/fshost" ipfilter monitor fw --level $level 2>/dev/null \
    || { echo "fshost ipfilter monitor --level $level failed (status $?)" >&2; exit 1; }
done
ip netns exec "$ns" nft -f "$work/peer.nft" || { echo "nft -f of the peer file failed" >&2; exit 1; }

# Everything runs inside the namespace (hyperfine too), so nft pays no
# wrapper; fshost still enters it itself (netns=), as it would from outside.
ip netns exec "$ns" hyperfine -N --warmup 10 --runs 100 --export-json "$work/ipf.json" \
  -n "fshost ipfilter restart" "$bin/fshost ipfilter restart fw" \
  -n "nft -f FILE" "nft -f $work/peer.nft" \
  -n "fshost ipfilter monitor level 1" "$bin/fshost ipfilter monitor fw --level 1" \
  -n "nft -j list table" "nft -j list table inet bench" \
  -n "fshost template monitor" "$bin/fshost template monitor bench" \
  -n "fshost ipfilter monitor level 0" "$bin/fshost ipfilter monitor fw --level 0" >/dev/null 2>&1
fs=$(median_ms "$work/ipf.json" 0); nf=$(median_ms "$work/ipf.json" 1)
f1=$(median_ms "$work/ipf.json" 2); nl=$(median_ms "$work/ipf.json" 3)
ft=$(median_ms "$work/ipf.json" 4); f0=$(median_ms "$work/ipf.json" 5)
floor=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) + float(sys.argv[2])))' "$ft" "$nl")
# Level 1 lists the table only after a commit in the namespace (its
# nftables generation moved): the same monitor, each run after a commit
# that adds and deletes another table.
printf 'add table ip fsbench_bump\ndelete table ip fsbench_bump\n' > "$work/bump.nft"
# The peers get the same commit before each run (the kernel's deferred
# clean-up of the deleted table runs meanwhile, for both).
ip netns exec "$ns" hyperfine -N --warmup 5 --runs 100 --export-json "$work/listed.json" \
  --prepare "nft -f $work/bump.nft" --prepare "nft -f $work/bump.nft" --prepare "nft -f $work/bump.nft" \
  -n "fshost ipfilter monitor level 1 after a commit" "$bin/fshost ipfilter monitor fw --level 1" \
  -n "nft -j list table after a commit" "nft -j list table inet bench" \
  -n "fshost template monitor after a commit" "$bin/fshost template monitor bench" >/dev/null 2>&1
fl=$(median_ms "$work/listed.json" 0); nlc=$(median_ms "$work/listed.json" 1); ftc=$(median_ms "$work/listed.json" 2)
floorc=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) + float(sys.argv[2])))' "$ftc" "$nlc")
rl=$(ratio "$floorc" "$fl")
rs=$(ratio "$nf" "$fs"); r1=$(ratio "$floor" "$f1"); r0=$(ratio "$ft" "$f0")
atleast1() { python3 -c 'import sys; print("yes" if float(sys.argv[1]) >= 1 else "NO")' "$1"; }
m0=$(peak_rss_kib "$bin/fshost" ipfilter monitor fw --level 0)
m1=$(peak_rss_kib "$bin/fshost" ipfilter monitor fw --level 1)
"$bin/fshost" ipfilter stop fw 2>/dev/null || { echo "fshost ipfilter stop failed" >&2; exit 1; }

cat >> "$report" <<EOT
## IPFilter: fshost vs nft (same namespace, same run)

A network namespace made for this section (\`ip netns add\`), a ruleset with a
named set, counters and service names in table \`inet bench\`. hyperfine -N
runs inside the namespace, 100 runs each; fshost's resource has
\`netns=\` that namespace and enters it itself (setns). The peer of start is
\`nft -f\` of the same one-batch replace (\`add table; delete table;\` and the
ruleset). The load is measured as \`restart\`, which always replaces the
table: a \`start\` of the file already loaded and unchanged compares the
table's listing and does not reload (it keeps dynamic sets and counters).
Level 1 reads the namespace's nftables generation first and lists the
table (libnftables, its companion) only when a commit came since its last
equal comparison: the first row is an unchanged firewall; the second runs
each monitor, and each of its two peers, after a commit of another table
(\`--prepare\`, not timed), in a second hyperfine run.

| operation | fshost | peer | peer / fshost | target met |
|---|---|---|---|---|
| start (as restart: a load) vs \`nft -f FILE\` | $fs ms | $nf ms | $rs | $(atleast1 "$rs") (no slower) |
| monitor level 1 vs template monitor + \`nft -j list table\` ($ft + $nl ms) | $f1 ms | $floor ms | $r1 | $(atleast1 "$r1") (no more) |
| monitor level 1 after a commit in the namespace (lists the table) vs the same, each after a commit ($ftc + $nlc ms) | $fl ms | $floorc ms | $rl | $(atleast1 "$rl") (no more) |
| monitor level 0 (the default) vs template monitor | $f0 ms | $ft ms | $r0 | — |

Peak RSS of the largest process of the call, supervisor or worker (median of 9 runs, treerun.c): level 0 $m0 KiB,
level 1 $m1 KiB. hyperfine runs the commands one after another, not
interleaved: on a loaded machine compare each row's two columns, taken
minutes apart at most, with care (\`FSHOST_TIMING=1\` gives the action's own time).

EOT
echo "ipfilter: start $fs ms vs nft -f $nf ms; level 1 $f1 ms (after a commit $fl ms vs $floorc ms) vs $floor ms; level 0 $f0 ms vs template $ft ms"
