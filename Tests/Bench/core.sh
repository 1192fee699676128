#!/usr/bin/env bash
# Core: one `fshost template monitor` process vs a plain Swift hello-world and
# /bin/true (wall time and peak RSS), and the ELF verification of one plugin.
set -euo pipefail
bin=$1; report=$2
. "$(dirname "$0")/lib.sh"
bench_tree
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# The run directory lies where /tmp is (a disk here, as /run on many hosts):
# the verification cache holds this boot's entries on any file system.
export FSHOST_PLUGIN_PATH=$plugins FSHOST_CDB=$work/cdb.sqlite FSHOST_RUN_DIR=$work/run FSHOST_STATE_DIR=$work/state

"$bin/fshost" cdb define template bench >/dev/null
# A plugin changed less than 2 s ago is verified in full on every call (the
# verification cache's racy-timestamp rule): a bench right after the build waits.
sleep 2
"$bin/fshost" template monitor bench 2>/dev/null || { echo "template monitor failed" >&2; exit 1; }
printf 'print("hello")\n' > "$work/hello.swift"
swiftc -O "$work/hello.swift" -o "$work/hello" 2>/dev/null

hyperfine -N --warmup 20 --runs 300 --export-json "$work/core.json" \
  -n "fshost template monitor" "$bin/fshost template monitor bench" \
  -n "swift hello" "$work/hello" \
  -n "/bin/true" "/bin/true" >/dev/null 2>&1
f=$(median_ms "$work/core.json" 0); h=$(median_ms "$work/core.json" 1); t=$(median_ms "$work/core.json" 2)
rf=$(peak_rss_kib "$bin/fshost" template monitor bench); rh=$(peak_rss_kib "$work/hello"); rt=$(peak_rss_kib /bin/true)

# Plugin verification and the other phases, as fshost itself measures them:
# remembered (the verification cache under the run directory; libelf
# not loaded), and in full (a fresh run directory each call: nothing remembered).
for _ in $(seq 50); do FSHOST_TIMING=1 "$bin/fshost" template monitor bench 2>&1 | grep -o 'timing="[^"]*"'; done > "$work/timing.txt"
for i in $(seq 50); do FSHOST_RUN_DIR=$work/fresh$i FSHOST_TIMING=1 "$bin/fshost" template monitor bench 2>&1 | grep -o 'timing="[^"]*"'; done > "$work/timing-full.txt"
median_verify() {
  python3 - "$1" <<'PY'
import re, statistics, sys
v=[int(m.group(1)) for l in open(sys.argv[1]) for m in [re.search(r"verify (\d+)us", l)] if m]
print(statistics.median(v) if v else "n/a")
PY
}
verify=$(median_verify "$work/timing.txt"); verify_full=$(median_verify "$work/timing-full.txt")
phases=$(sort "$work/timing.txt" | sed -n 25p)

cat >> "$report" <<EOT
## Core: one action process

fshost: \`$bin/fshost\` (plugins: \`$plugins\`).

| command | median wall | peak RSS (largest process) |
|---|---|---|
| \`fshost template monitor bench\` | $f ms | $rf KiB |
| Swift hello-world (\`print\`, -O) | $h ms | $rh KiB |
| \`/bin/true\` | $t ms | $rt KiB |

- fshost / Swift hello: **$(ratio "$f" "$h")×** (target ≤ 1.3×); fshost / \`/bin/true\`: $(ratio "$f" "$t")×.
- Plugin verification before dlopen, median of 50 calls: remembered **$verify µs** (owner, mode, containment and every directory up to \`/\`; libelf not loaded), in full **$verify_full µs** (libelf; target < 1000 µs).
- One call's phases (\`FSHOST_TIMING=1\`, a median-ish sample): \`$phases\`.

EOT
