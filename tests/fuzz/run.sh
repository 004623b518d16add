#!/usr/bin/env bash
# run.sh: builds the libFuzzer targets (clang, ASan + UBSan; build-fuzz/) and runs each for a time.
# usage: bash tests/fuzz/run.sh SECONDS [TARGET ...]   (TARGET: idx, png, ...; default: all of
# tests/fuzz/fuzz_*.c). Each starts from its seeds (tests/fuzz/corpus/T) and regression inputs
# (tests/fuzz/regress/T); what it finds new goes to build-fuzz/corpus/T, crashes to
# build-fuzz/crashes/T/. Exit status 1 when any target crashed, leaked or hung.
# GF_FUZZ_FLAGS adds libFuzzer flags (e.g. "-runs=1000000" for a long run).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET ...]}
shift
if [ $# -gt 0 ]; then targets=("$@"); else
  targets=()
  for f in tests/fuzz/fuzz_*.c; do t=${f#tests/fuzz/fuzz_}; targets+=("${t%.c}"); done
fi
command -v clang >/dev/null || { echo "run.sh: clang is needed (apt-get install clang libclang-rt-14-dev libomp-dev)" >&2; exit 2; }
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DGANFORGE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# parsers that take a path read the input from a scratch file: in memory when /dev/shm is there
scratch=/dev/shm
[ -d "$scratch" ] && [ -w "$scratch" ] || scratch=$PWD/build-fuzz
export GF_FUZZ_TMP=$scratch/gf-fuzz-run.$$ OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
trap 'rm -rf "$GF_FUZZ_TMP"' EXIT
failed=()
printf '%-12s %10s %8s %6s %8s  %s\n' target execs exec/s cov corpus result
for t in "${targets[@]}"; do
  bin=build-fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "run.sh: no target $t ($bin)" >&2; exit 2; }
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  dirs=("build-fuzz/corpus/$t" "tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regress/$t" ] && dirs+=("tests/fuzz/regress/$t")
  log=build-fuzz/fuzz_$t.log
  rc=0
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$t/" ${GF_FUZZ_FLAGS:-} "${dirs[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  units=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" = 0 ]; then res=ok; else res="FAILED (exit $rc; see $log)"; failed+=("$t"); fi
  printf '%-12s %10s %8s %6s %8s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${units:-?}" "$res"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: ${failed[*]} failed; inputs in build-fuzz/crashes/" >&2
  for t in "${failed[@]}"; do grep -m3 -E "ERROR|SUMMARY|fuzz property|runtime error" "build-fuzz/fuzz_$t.log" >&2 || true; done
  exit 1
fi
