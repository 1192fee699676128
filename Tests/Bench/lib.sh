# Shared by the bench sections: hyperfine medians and peak RSS.
bench_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# median_ms JSON INDEX → median in ms of command INDEX of a hyperfine JSON export
median_ms() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; print("%.2f" % (r["median"]*1000))' "$1" "$2"; }
# ratio A B → A/B with two decimals
ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b if b else float("nan")))' "$1" "$2"; }
# treerun (Tests/Bench/treerun.c): a command's whole process tree measured, orphans included;
# built when missing or older than its source, into the package's .build (not /tmp: root runs it).
bench_treerun=$bench_lib_dir/../../.build/bench-treerun
if [ ! -x "$bench_treerun" ] || [ "$bench_lib_dir/treerun.c" -nt "$bench_treerun" ]; then
  mkdir -p "$(dirname "$bench_treerun")"
  cc -O2 -o "$bench_treerun.tmp.$$" "$bench_lib_dir/treerun.c" && mv -f "$bench_treerun.tmp.$$" "$bench_treerun" \
    || echo "lib.sh: Tests/Bench/treerun.c does not build" >&2
fi
treerun() { "$bench_treerun" "$@"; }
# peak_rss_kib CMD… → median over 9 runs of the largest peak RSS (KiB) of any one process
# of CMD's tree (fshost's supervisor and its worker alike)
peak_rss_kib() { treerun rss 9 "$@"; }
# tree_cpu_ms RUNS CMD… → median over RUNS of the CPU time (user + sys, ms) of CMD and of every
# process below it, however it forked (fshost's worker, which nobody waits for, included)
tree_cpu_ms() { treerun cpu "$@"; }
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
