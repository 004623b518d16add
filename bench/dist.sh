#!/usr/bin/env bash
# bench/dist.sh: data-parallel scaling of the training step over 1 and N MPI ranks at the same
# global batch (strong scaling), 1 OpenMP thread per rank:
#   bench/dist.sh [BUILD_DIR=build] [ROUNDS=3] [N=2] [PRESET=dcgan64] [GLOBAL_BATCH=64] [STEPS=3] [EXTRA...]
# Each round runs `ganforge bench PRESET --batch B` in 1 process, then under
# `mpirun -np N` (the job's step: the slowest rank's time), alternating, and prints every time,
# the medians and the efficiency t1 / (N tN) (1 = perfect scaling).
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"; rounds="${2:-3}"; n="${3:-2}"; preset="${4:-dcgan64}"; batch="${5:-64}"; steps="${6:-3}"
shift $(( $# < 6 ? $# : 6 ))
gf="$build/ganforge"
[ -x "$gf" ] || { echo "no $gf: build first" >&2; exit 2; }
export OMP_NUM_THREADS=1
echo "# $(date -u +%FT%TZ) $(getconf _NPROCESSORS_ONLN) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); $preset, global batch $batch, 1 thread per rank"
t1s=(); tns=()
for r in $(seq 1 "$rounds"); do
  a=$("$gf" bench "$preset" --batch "$batch" --steps "$steps" --warmup 1 "$@" | sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p')
  b=$(mpirun -np "$n" --oversubscribe --allow-run-as-root "$gf" bench "$preset" --batch "$batch" --steps "$steps" \
      --warmup 1 "$@" | sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p')
  echo "round $r: 1 rank $a ms, $n ranks $b ms"
  t1s+=("$a"); tns+=("$b")
done
med() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
m1=$(med "${t1s[@]}"); mn=$(med "${tns[@]}")
awk -v a="$m1" -v b="$mn" -v n="$n" -v p="$preset" -v B="$batch" \
  'BEGIN { printf "%s, global batch %d: 1 rank %.0f ms, %d ranks %.0f ms (medians): speed-up %.2f, efficiency t1/(N tN) %.2f\n", p, B, a, n, b, a / b, a / (n * b) }'
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
