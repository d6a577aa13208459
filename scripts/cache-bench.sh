#!/usr/bin/env bash
# Measures the persistent code cache and compiling ahead, side by side in one run:
#   1. a generated program whose main calls 1,000 functions: a run with a cold cache
#      against a run with a warm one (LLVM milliseconds from --stats-json, wall time);
#   2. `orcrun compile` of that program on 1 and on 2 rayon threads;
#   3. a program whose main calls 200 leaf functions after a pause, with leaf
#      pre-compilation on: how many first calls found their code ready, and the wall
#      time with pre-compilation off and on (no cache).
# Each time is the best of RUNS runs (default 5); the compile times also the median.
# The work directory (and the cache in it) is made under $TMPDIR (default /tmp): file
# creation costs differ a lot between file systems, and stores are a part of compiling.
#   scripts/cache-bench.sh [path/to/orcrun]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
orcrun="${1:-$here/target/release/orcrun}"
runs="${RUNS:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The program of tests/tests/cache.rs: n functions, each called once from straight-line
# code; $2 = 1 adds a pause (a loop) before the calls.
generate() {
  local n=$1 pause=$2
  echo "local fs = {}"
  for ((i = 0; i < n; i++)); do echo "fs[$i] = function(x) return x * 2 + $i end"; done
  echo "local s = 0"
  if [ "$pause" = 1 ]; then echo "local t = 0 for i = 1, 300000 do t = t + i % 7 end"; fi
  for ((i = 0; i < n; i++)); do echo "s = s + fs[$i]($i)"; done
  echo "print(s)"
}
generate 1000 0 > "$work/many.lua"
generate 200 1 > "$work/leaves.lua"
sed 's/precompile_leaves: false/precompile_leaves: true/' "$here/policies/default.ron" > "$work/precompile.ron"

now() { date +%s.%N; }
# best WALL-SECONDS of $runs runs of "$@", each after running $setup.
best() {
  local setup=$1; shift
  local best=""
  for ((r = 0; r < runs; r++)); do
    eval "$setup"
    local t0 t1 t
    t0=$(now); "$@" > /dev/null; t1=$(now)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  printf '%.3f' "$best"
}
field() { grep -o "\"$1\":[0-9.]*" "$2" | head -1 | cut -d: -f2; }
llvm_ms() { awk -v a="$(field llvm_ir "$1")" -v b="$(field llvm_opt "$1")" -v c="$(field codegen "$1")" 'BEGIN { print a + b + c }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }

echo "== 1,000 functions, cold cache against warm cache"
cache="$work/cache"
rm -rf "$cache"; "$orcrun" --cache-dir "$cache" --stats-json "$work/cold.json" "$work/many.lua" > /dev/null
"$orcrun" --cache-dir "$cache" --stats-json "$work/warm.json" "$work/many.lua" > /dev/null
printf 'cold: functions_compiled %s, cache_hits %s, LLVM %.1f ms\n' "$(field functions_compiled "$work/cold.json")" "$(field cache_hits "$work/cold.json")" "$(llvm_ms "$work/cold.json")"
printf 'warm: functions_compiled %s, cache_hits %s, LLVM %.1f ms\n' "$(field functions_compiled "$work/warm.json")" "$(field cache_hits "$work/warm.json")" "$(llvm_ms "$work/warm.json")"
cold=$(best 'rm -rf "$cache"' "$orcrun" --cache-dir "$cache" "$work/many.lua")
warm=$(best ':' "$orcrun" --cache-dir "$cache" "$work/many.lua")
printf 'wall: cold %s s, warm %s s: %.1fx\n' "$cold" "$warm" "$(ratio "$cold" "$warm")"

echo "== orcrun compile of the 1,000 functions on 1 and 2 threads (runs alternating)"
# Alternating the two keeps a change in the machine's load from falling on one side.
ones=(); twos=()
for ((r = 0; r < runs; r++)); do
  for threads in 1 2; do
    rm -rf "$cache"
    t0=$(now); RAYON_NUM_THREADS=$threads "$orcrun" compile --cache-dir "$cache" "$work/many.lua" > /dev/null; t1=$(now)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    if [ "$threads" = 1 ]; then ones+=("$t"); else twos+=("$t"); fi
  done
done
stat_of() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f %.3f", v[1], v[int((NR + 1) / 2)] }'; }
read -r one_best one_median <<< "$(stat_of "${ones[@]}")"
read -r two_best two_median <<< "$(stat_of "${twos[@]}")"
printf 'wall, best: 1 thread %s s, 2 threads %s s: %.2fx\n' "$one_best" "$two_best" "$(ratio "$one_best" "$two_best")"
printf 'wall, median: 1 thread %s s, 2 threads %s s: %.2fx\n' "$one_median" "$two_median" "$(ratio "$one_median" "$two_median")"

echo "== 200 leaf functions called after a pause, leaf pre-compilation on (no cache)"
for ((r = 0; r < 3; r++)); do
  "$orcrun" --no-cache --policy "$work/precompile.ron" --stats-json "$work/leaves.json" "$work/leaves.lua" > /dev/null
  printf 'precompiled %s, first calls ready %s, waited %s (of 200)\n' "$(field precompiled "$work/leaves.json")" \
    "$(field first_calls_ready "$work/leaves.json")" "$(field first_calls_waited "$work/leaves.json")"
done
off=$(best ':' "$orcrun" --no-cache "$work/leaves.lua")
on=$(best ':' "$orcrun" --no-cache --policy "$work/precompile.ron" "$work/leaves.lua")
printf 'wall: pre-compilation off %s s, on %s s: %.2fx\n' "$off" "$on" "$(ratio "$off" "$on")"
