#!/usr/bin/env bash
# run.sh: the test command: builds (Release and ASan+UBSan) and runs the whole ctest suite in each.
# The Release build has the CUDA backend when nvcc is found (GANFORGE_CUDA=AUTO); its tests are the
# CPU-side ones (shared op bodies, step-graph bookkeeping, the error paths), which need no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
if [ "${GF_SKIP_SANITIZE:-0}" != 1 ]; then
  # the sanitizers watch our C code; the CUDA runtime is not theirs to check (and needs a GPU to run)
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGANFORGE_SANITIZE=ON -DGANFORGE_CUDA=OFF >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    GF_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j"$jobs"
fi
