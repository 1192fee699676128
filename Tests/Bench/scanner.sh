#!/usr/bin/env bash
# Scanner: `fshost exec2 -s 0 -t NAME` (one whole process: start, /proc scan,
# match) against the usual ways to ask "does NAME run?" — pgrep -f, pidof,
# killall -0, ps | grep — at this machine's own process count and with
# 5,000 extra processes, for a NAME that runs and one that does not, plus
# the in-process scan cost (`fshost exec2 --scan-stats`) and the practical
# limit: a minimal C program that reads every /proc/PID/cmdline once
# (Tests/Bench/cmdline_scan.c, compiled here). Appends a section.
#   Tests/Bench/scanner.sh FSHOST_BINARY_OR_BIN_DIR REPORT.md
# SCANNER_EXTRA_PROCESSES (default 5000) sets the crowd; 0 skips it.
# Targets (issue 8), ABSENT rows at the crowd: fshost within 1.5x of the C
# program, and at least 4x faster than pgrep -f.
# Every process it starts is stopped on exit (trap), also after an error.
set -euo pipefail
arg=${1:?usage: scanner.sh FSHOST_BINARY_OR_BIN_DIR REPORT.md}
report=${2:?usage: scanner.sh FSHOST_BINARY_OR_BIN_DIR REPORT.md}
if [ -d "$arg" ]; then fshost=$(cd "$arg" && pwd)/fshost; else fshost=$arg; fi
[ -x "$fshost" ] || { echo "scanner.sh: $fshost is not an executable" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
for tool in hyperfine pgrep pidof killall ps python3 cc; do
  command -v "$tool" >/dev/null || { echo "scanner.sh: $tool is missing" >&2; exit 2; }
done

EXTRA=${SCANNER_EXTRA_PROCESSES:-5000}
work=$(mktemp -d)
cc -O2 -o "$work/cmdline_scan" "$(dirname "$0")/cmdline_scan.c"
target_pid=""
crowd_group=""
start_target() { "$work/$NAME" 3600 & target_pid=$!; sleep 0.2; }
stop_target() {
  if [ -n "$target_pid" ]; then kill -KILL "$target_pid" 2>/dev/null || true; wait "$target_pid" 2>/dev/null || true; fi
  target_pid=""
}
cleanup() {
  # The crowd is one process group (its starter called setsid); the target is one process.
  if [ -n "$crowd_group" ]; then kill -KILL -- "-$crowd_group" 2>/dev/null || true; fi
  stop_target
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The process to look for: a copy of sleep with a 13-byte name, so comm,
# argv[0]'s basename and the command line all hold it and every tool can find it.
NAME=fsbenchtarget
ABSENT=fsbenchabsent
cp "$(command -v sleep)" "$work/$NAME"
count_processes() { find /proc -maxdepth 1 -name '[0-9]*' | wc -l; }
# How many processes a scan in pid order reads before it reaches the target.
before_target() { find /proc -maxdepth 1 -name '[0-9]*' -printf '%f\n' | awk -v t="$target_pid" '$1 < t' | wc -l; }

# Rows 0-4: NAME runs (each must find it, status 0, before it is timed).
# Rows 5-6: nobody is called ABSENT (status 1: every process is read).
names=(
  "fshost exec2 -s 0 -t NAME"
  "pgrep -f NAME"
  "pidof NAME"
  "killall -0 NAME"
  "ps -eo pid,args | grep NAME"
  "fshost exec2 -s 0 -t ABSENT"
  "pgrep -f ABSENT"
  "C: read every cmdline (practical limit) ABSENT"
)
cmds=(
  "$fshost exec2 -s 0 -t $NAME"
  "pgrep -f $NAME"
  "pidof $NAME"
  "killall -0 $NAME"
  "sh -c 'ps -eo pid,args | grep -q \"[f]sbenchtarget\"'"
  "$fshost exec2 -s 0 -t $ABSENT"
  "pgrep -f $ABSENT"
  "$work/cmdline_scan $ABSENT"
)
present=5

# measure LABEL WARMUP RUNS → medians[LABEL,i], procs, scan, match, before
declare -A medians procs scan match before
measure() {
  local label=$1 warmup=$2 runs=$3 i status
  local found=() absent=()
  for i in "${!cmds[@]}"; do
    status=0; bash -c "${cmds[$i]}" >/dev/null 2>&1 || status=$?
    if [ "$i" -lt "$present" ] && [ "$status" != 0 ]; then
      echo "scanner.sh: '${cmds[$i]}' did not find $NAME (status $status)" >&2; exit 1
    fi
    if [ "$i" -ge "$present" ] && [ "$status" != 1 ]; then
      echo "scanner.sh: '${cmds[$i]}' answered $status for a name nobody has" >&2; exit 1
    fi
    if [ "$i" -lt "$present" ]; then found+=(-n "${names[$i]}" "${cmds[$i]}"); else absent+=(-n "${names[$i]}" "${cmds[$i]}"); fi
  done
  before[$label]=$(before_target)
  hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$work/$label.found.json" "${found[@]}" >/dev/null 2>&1
  hyperfine -N -i --warmup "$warmup" --runs "$runs" --export-json "$work/$label.absent.json" "${absent[@]}" >/dev/null 2>&1
  for i in "${!cmds[@]}"; do
    if [ "$i" -lt "$present" ]; then medians[$label,$i]=$(median_ms "$work/$label.found.json" "$i")
    else medians[$label,$i]=$(median_ms "$work/$label.absent.json" $((i - present))); fi
  done
  local stats; stats=$("$fshost" exec2 --scan-stats -n 20 "$NAME")
  scan[$label]=$(sed -n 's/.*scan_median_us \([0-9]*\).*/\1/p' <<<"$stats")
  match[$label]=$(sed -n 's/.*match_median_us \([0-9]*\).*/\1/p' <<<"$stats")
  procs[$label]=$(sed -n 's/^processes \([0-9]*\).*/\1/p' <<<"$stats")
}

start_target
measure small 10 100

# ---- 5,000 more processes ------------------------------------------------
pid_max=$(cat /proc/sys/kernel/pid_max)
threads_max=$(cat /proc/sys/kernel/threads-max)
nproc_limit=$(ulimit -u)
now=$(count_processes)
crowd_note=""
if [ "$EXTRA" -le 0 ]; then
  crowd_note="skipped (SCANNER_EXTRA_PROCESSES=$EXTRA)"
elif [ $((now + EXTRA + 1000)) -gt "$pid_max" ] || [ $((now + EXTRA + 1000)) -gt "$threads_max" ] ||
     { [ "$nproc_limit" != unlimited ] && [ "$(id -u)" != 0 ] && [ $((now + EXTRA + 100)) -gt "$nproc_limit" ]; }; then
  crowd_note="skipped: $EXTRA more processes would not fit (pid_max $pid_max, threads-max $threads_max, ulimit -u $nproc_limit, now $now)"
else
  # One starter process: setsid (its own group, so one kill ends all), then
  # posix_spawn `sleep 600` EXTRA times, report, and wait to be killed.
  setsid python3 - "$EXTRA" "$work/crowd.ready" <<'PY' &
import os, signal, sys
n, ready = int(sys.argv[1]), sys.argv[2]
sleep = "/bin/sleep" if os.path.exists("/bin/sleep") else "/usr/bin/sleep"
started = 0
for _ in range(n):
    try:
        os.posix_spawn(sleep, ["sleep", "600"], os.environ)
        started += 1
    except OSError as e:
        print("crowd: spawn failed after %d: %s" % (started, e), file=sys.stderr)
        break
with open(ready + ".tmp", "w") as f:
    f.write("%d %d\n" % (started, os.getpgrp()))
os.rename(ready + ".tmp", ready)
while True:
    signal.pause()
PY
  crowd_group=$!
  disown "$crowd_group" 2>/dev/null || true   # no "Killed" job notice when it is stopped
  for _ in $(seq 600); do [ -s "$work/crowd.ready" ] && break; sleep 0.1; done
  [ -s "$work/crowd.ready" ] || { echo "scanner.sh: the $EXTRA processes did not start in 60 s" >&2; exit 1; }
  read -r started crowd_group < "$work/crowd.ready"   # the group to kill (setsid may have forked)
  [ "$started" -eq "$EXTRA" ] || crowd_note="only $started of $EXTRA extra processes started"
  # The target again, now after the crowd: normally the last pid, so a scan
  # that stops at the first match still reads (nearly) everything.
  stop_target
  start_target
  measure large 2 10
  kill -KILL -- "-$crowd_group" 2>/dev/null || true
  crowd_group=""
fi

# ---- report ------------------------------------------------------------------
row() {  # row INDEX
  local i=$1 base=0 name line
  [ "$i" -ge "$present" ] && base=$present
  name=${names[$i]//|/\\|}
  line="| \`$name\` | ${medians[small,$i]} ms | $(ratio "${medians[small,$i]}" "${medians[small,$base]}")×"
  if [ -n "${medians[large,$i]:-}" ]; then
    line+=" | ${medians[large,$i]} ms | $(ratio "${medians[large,$i]}" "${medians[large,$base]}")×"
  else
    line+=" | – | –"
  fi
  echo "$line |"
}
{
  echo "## Scanner: is NAME running?"
  echo
  echo "One whole process per check, median wall time (hyperfine, no shell except for the pipe)."
  echo "NAME is \`$NAME\`, a copy of sleep that runs; ABSENT is a name no process has. Ratio: that"
  echo "command's time / fshost's for the same question (above 1: fshost is faster)."
  echo
  echo "| command | ${procs[small]} processes | ratio | ${procs[large]:-+$EXTRA} processes | ratio |"
  echo "|---|---|---|---|---|"
  for i in "${!cmds[@]}"; do row "$i"; done
  echo
  echo "\`exec2 -s 0\` stops reading /proc at the first match; every other tool here reads every process."
  echo "Processes before NAME in pid order: ${before[small]} of ${procs[small]}$( [ -n "${before[large]:-}" ] && echo ", and ${before[large]} of ${procs[large]} (NAME started after the crowd)")."
  echo "A NAME nobody has (the ABSENT rows) is the full-scan cost."
  echo
  echo "In-process cost (\`fshost exec2 --scan-stats -n 20 $NAME\`, median of 20): one full /proc scan"
  echo "(readdir, then stat + cmdline per process) **${scan[small]} µs** at ${procs[small]} processes"
  if [ -n "${scan[large]:-}" ]; then
    echo "and **${scan[large]} µs** at ${procs[large]} ($(python3 -c "print('%.1f' % (${scan[large]}/${procs[large]}))") µs per process);"
  else
    echo "($EXTRA extra: $crowd_note);"
  fi
  echo "the \`-t\` match over the snapshot ${match[small]} µs$( [ -n "${match[large]:-}" ] && echo " / ${match[large]} µs")."
  if [ -n "$crowd_note" ] && [ -n "${scan[large]:-}" ]; then echo "Note: $crowd_note."; fi
  echo "Target (docs/ARCHITECTURE.md §7): fshost faster than \`pgrep -f\` at both sizes: its ratio above 1, NAME and ABSENT."
  echo
  if [ -n "${medians[large,5]:-}" ]; then
    f=${medians[large,5]}; p=${medians[large,6]}; c=${medians[large,7]}
    fc=$(ratio "$f" "$c"); pf=$(ratio "$p" "$f")
    echo "At ${procs[large]} processes (ABSENT, a full scan): fshost / C program **$fc** (target ≤ 1.5:"\
      "$(python3 -c 'import sys; print("yes" if float(sys.argv[1]) <= 1.5 else "NO")' "$fc")),"\
      "pgrep -f / fshost **$pf** (target ≥ 4: $(python3 -c 'import sys; print("yes" if float(sys.argv[1]) >= 4 else "NO")' "$pf"))."
    echo "At ${procs[small]} processes the scan is short and process start-up decides: fshost / C"\
      "$(ratio "${medians[small,5]}" "${medians[small,7]}") (a Swift executable's start against a static C one)."
  fi
  echo
} >> "$report"
echo "scanner: section appended to $report"
