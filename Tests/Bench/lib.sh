# Shared by the bench sections: hyperfine medians and peak RSS.
# median_ms JSON INDEX → median in ms of command INDEX of a hyperfine JSON export
median_ms() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; print("%.2f" % (r["median"]*1000))' "$1" "$2"; }
# ratio A B → A/B with two decimals
ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b if b else float("nan")))' "$1" "$2"; }
# peak_rss_kib CMD… → median peak RSS (KiB) over 9 runs, from /usr/bin/time
peak_rss_kib() {
  local out; out=$(for _ in 1 2 3 4 5 6 7 8 9; do /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 5p)
  echo "$out"
}
# tree_cpu_ms RUNS CMD… → median over RUNS of the CPU time (user + sys, ms) of CMD and of every
# process below it, however it forked: the runner is a subreaper and reaps every orphan, so a
# process nobody waits for (fshost's worker ends after its supervisor) is counted too, which
# hyperfine's rusage (waited-for children only) misses.
tree_cpu_ms() {
  python3 - "$@" <<'PY'
import ctypes, os, resource, statistics, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
runs, cmd = int(sys.argv[1]), sys.argv[2:]
samples = []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pid = os.fork()
    if pid == 0:
        null = os.open("/dev/null", os.O_RDWR); os.dup2(null, 1); os.dup2(null, 2)
        os.execvp(cmd[0], cmd)
    failed = False
    while True:
        try:
            p, status = os.wait()
        except ChildProcessError:
            break
        if p == pid and status != 0: failed = True
    if failed: sys.exit("tree_cpu_ms: %s failed" % " ".join(cmd))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    samples.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
print("%.2f" % statistics.median(samples))
PY
}
# bench_tree: which fshost a section measures. When run.sh installed the product
# (FSHOST_BENCH_PREFIX: `make install-files` into a temporary DESTDIR — RUNPATHs
# into its own runtime, unused Swift libraries dropped), that tree: bin=its bin,
# plugins=its lib/fshost/resource_types (objects named TYPE.so). Otherwise (a section
# run alone) the build directory BIN_DIR given as $1 (objects named libTYPE.so).
# Sets bin and plugins; plugin_so NAME prints the path of plugin NAME's object.
bench_tree() {
  plugins=$bin; plugin_lib=lib
  if [ -n "${FSHOST_BENCH_PREFIX:-}" ]; then
    bin=$FSHOST_BENCH_PREFIX/bin; plugins=$FSHOST_BENCH_PREFIX/lib/fshost/resource_types; plugin_lib=
  fi
}
plugin_so() { echo "$plugins/$plugin_lib$1.so"; }
