#!/usr/bin/env bash
# Runs a few programs under Memcheck in every tier; exits non-zero on any invalid read or
# write (or any other error not in scripts/valgrind.supp, which only covers the
# collector's deliberate reads of uninitialised stack words).
#   scripts/valgrind.sh [path/to/orcrun]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
orcrun="${1:-$here/target/release/orcrun}"
bench="$here/../shared/bench/public"
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }
status=0
run() {
  local tier=$1; shift
  # The system allocator: Memcheck checks heap accesses against its blocks only.
  if LAZYJIT_SYSTEM_ALLOC=1 valgrind -q --error-exitcode=99 --suppressions="$here/scripts/valgrind.supp" \
      "$orcrun" --tier "$tier" "$@" > /dev/null 2> /tmp/valgrind.$$.log; then
    echo "ok   $tier $*"
  else
    echo "FAIL $tier $*"; sed 's/^/    /' /tmp/valgrind.$$.log | head -40; status=1
  fi
}
for tier in interp baseline compact; do
  run "$tier" "$bench/binary-trees.lua" 8
  run "$tier" "$bench/closures.lua" 3
  run "$tier" "$bench/fib.lua" 18
  run "$tier" "$bench/oop-dispatch.lua" 10
  run "$tier" "$here/tests/lua/error_names.lua"
  run "$tier" "$here/tests/lua/speculation/mixed_elements.lua"
  run "$tier" "$here/examples/hello.lua"
done
rm -f /tmp/valgrind.$$.log
exit $status
