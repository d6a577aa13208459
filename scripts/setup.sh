#!/usr/bin/env bash
# Installs what building and testing lazyjit needs, when it is missing:
# a Rust toolchain, LLVM 19 (Debian's llvm-19-dev, with the static libraries the JIT
# links: libpolly-19-dev and libzstd-dev), and the Lua oracle and peers
# (lua5.4, luajit) and valgrind used by the tests and benchmarks; with
# LAZYJIT_SETUP_BROWSER=1 (./x test), Chromium for the HTML report's tests.
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
[ -x /usr/lib/llvm-19/bin/llvm-config ] || need_apt+=(llvm-19-dev zlib1g-dev)
# LLVM's components are linked statically (a process starts ~8 ms sooner than with
# libLLVM.so, whose relocations dominate start-up); its archives name Polly and zstd.
[ -f /usr/lib/llvm-19/lib/libPolly.a ] || need_apt+=(libpolly-19-dev)
[ -f /usr/include/zstd.h ] || need_apt+=(libzstd-dev)
command -v lua5.4 >/dev/null || need_apt+=(lua5.4)
command -v luajit >/dev/null || need_apt+=(luajit)
command -v python3 >/dev/null || need_apt+=(python3)
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
# Headless Chromium for the HTML report's tests (./x test only: it is large).
if [ "${LAZYJIT_SETUP_BROWSER:-}" = 1 ] && ! command -v chromium >/dev/null; then
  need_apt+=(chromium)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${need_apt[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing the Rust toolchain (rustup)" >&2
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
