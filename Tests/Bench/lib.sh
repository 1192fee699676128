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
