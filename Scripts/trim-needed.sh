#!/usr/bin/env bash
# trim-needed.sh RUNTIME_DIR FILE [NAME]
#
# Called by `make install-files` on the temporary copy of each installed
# ELF file (fshost, fshost-admin, plugins, companions), after its RUNPATH
# is set: drops every DT_NEEDED Swift runtime library of RUNTIME_DIR (the
# toolchain's runtime directory) that FILE uses no symbol of, then checks
# that FILE still loads (`ldd -r` names no undefined symbol). NAME is the
# file's installed path, for messages. Status 0, or 1 with one line naming
# the file and the problem.
#
# Why: swiftc autolinks libswift_Concurrency (which pulls libdispatch and
# libBlocksRuntime), libswift_StringProcessing and libswift_RegexParser
# into every binary from its implicit imports, used or not, and each costs
# every process that loads it: a Swift hello took 2.7-3.0 ms, 2.5 ms
# without libswift_Concurrency, 1.7-1.9 ms without all three (release,
# `perf stat -r 200` task-clock; docs/ARCHITECTURE.md §7). fshost starts
# on every monitor call, and a plugin's DT_NEEDED entries are loaded at its
# dlopen. The compiler flags that avoid the autolink are unsafeFlags,
# which SwiftPM refuses in a package other packages depend on (FSKit), and
# the shared modules' objects carry the autolink entries anyway. So the
# linker's own --as-needed rule is applied here, at install: library L is
# removed only if no undefined dynamic symbol of FILE is defined by L
# (`nm -D --defined-only L`); it is kept otherwise. Libraries outside
# RUNTIME_DIR (libc, libcurl, ...) are never touched.
set -euo pipefail
export LC_ALL=C
runtime=$1 file=$2 name=${3:-$2}
fail() { echo "make install: $name: $*" >&2; exit 1; }
# Symbol names without a version suffix (sym@VER, sym@@VER).
symbols() { nm -D -P "$@" "$lib_or_file" 2>/dev/null | awk '{ sub(/@.*/, "", $1); print $1 }' | sort -u; }
lib_or_file=$file; undefined=$(symbols --undefined-only)
for needed in $(patchelf --print-needed "$file"); do
  lib=$runtime/$needed
  [ -f "$lib" ] || continue
  lib_or_file=$lib
  used=$(comm -12 <(echo "$undefined") <(symbols --defined-only) | sed -n 1p)
  [ -n "$used" ] || patchelf --remove-needed "$needed" "$file" || fail "patchelf --remove-needed $needed failed"
done
# The result must load: every library found, every undefined symbol defined by one.
status=0; report=$(ldd -r "$file" 2>&1) || status=$?
absent=$(echo "$report" | awk '$2 == "=>" && $3 == "not" { print $1; exit }')
[ -z "$absent" ] || fail "library $absent not found (ldd)"
missing=$(echo "$report" | sed -n 's/^undefined symbol: \([^[:space:]]*\).*/\1/p' | sed -n 1p)
[ -z "$missing" ] || fail "undefined symbol $missing after trimming its DT_NEEDED (ldd -r)"
[ "$status" = 0 ] || fail "ldd -r failed (status $status): $(echo "$report" | sed -n 1p)"
