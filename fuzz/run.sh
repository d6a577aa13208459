#!/usr/bin/env bash
# Runs one fuzz target for a while: ./run.sh TARGET [SECONDS] [extra libFuzzer flags]
#
# Targets: lua_parse, mir_text, cache_entry, policy (see fuzz_targets/). Needs the
# nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz`). The corpus (fuzz/corpus/TARGET) is seeded from the
# project's own files the first time; findings land in fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: run.sh TARGET [SECONDS]}
seconds=${2:-600}
shift $(( $# < 2 ? $# : 2 ))
root=$(cd .. && pwd)
shared=$root/../shared
corpus=corpus/$target
if [ ! -d "$corpus" ]; then
    mkdir -p "$corpus"
    case $target in
        lua_parse)
            cp "$root"/tests/lua/*.lua "$corpus"/
            [ -d "$shared/conformance" ] && find "$shared/conformance" -name '*.lua' -exec cp {} "$corpus"/ \;
            ;;
        mir_text)
            find "$root/ir/tests" "$root/passes" "$root/tests" -name '*.mir' -exec cp --backup=numbered {} "$corpus"/ \;
            ;;
        policy)
            cp "$root"/policies/*.ron "$corpus"/
            ;;
        cache_entry)
            # Real entries: the cache of a run of a small program.
            tmp=$(mktemp -d)
            printf 'local function f(x) return x * 2 end\nprint(f(21))\n' > "$tmp/p.lua"
            "$root/target/release/orcrun" --cache-dir "$tmp/cache" "$tmp/p.lua" > /dev/null
            find "$tmp/cache" -type f -exec cp {} "$corpus"/ \;
            rm -rf "$tmp"
            ;;
    esac
fi
exec cargo +nightly fuzz run -O "$target" "$corpus" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 "$@"
