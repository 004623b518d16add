#!/usr/bin/env bash
# bench/dist.sh: data-parallel scaling of the training step over 1 and N MPI ranks at the same
# global batch (strong scaling), 1 OpenMP thread per rank:
#   bench/dist.sh [BUILD_DIR=build] [ROUNDS=3] [N=2] [PRESET=dcgan64] [GLOBAL_BATCH=64] [STEPS=3] [EXTRA...]
# Each round runs `ganforge bench PRESET --batch B` in 1 process, then under `mpirun -np N`,
# alternating, each with STEPS timed steps and again with 1, under /usr/bin/time. Prints per round
# the wall time of a step (the job's: the slowest rank's) and its CPU time (all ranks, user + sys:
# the difference of the two runs over STEPS - 1 steps, so start-up cancels), then the medians, the
# efficiency t1 / (N tN) (1 = perfect scaling of wall time) and cpu1 / cpuN (1 = no work added by
# splitting the batch and reducing gradients). On a shared host the wall times measure the host's
# load as much as ganforge; the CPU times much less.
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"; rounds="${2:-3}"; n="${3:-2}"; preset="${4:-dcgan64}"; batch="${5:-64}"; steps="${6:-3}"
shift $(( $# < 6 ? $# : 6 ))
gf="$build/ganforge"
[ -x "$gf" ] || { echo "no $gf: build first" >&2; exit 2; }
export OMP_NUM_THREADS=1
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $(getconf _NPROCESSORS_ONLN) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); $preset, global batch $batch, 1 thread per rank"
# run K STEPS: prints "wall_ms cpu_s" of one bench run with K ranks (1: no mpirun)
run() {
  local launch=()
  [ "$1" -gt 1 ] && launch=(mpirun -np "$1" --oversubscribe --allow-run-as-root)
  /usr/bin/time -f "%U %S" -o "$tmp/t" "${launch[@]}" "$gf" bench "$preset" --batch "$batch" --steps "$2" --warmup 1 "${EXTRA[@]}" \
    > "$tmp/o" 2> "$tmp/e" || { echo "bench failed: $(tail -2 "$tmp/e")" >&2; exit 1; }
  echo "$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$tmp/o") $(awk '{print $1 + $2}' "$tmp/t")"
}
EXTRA=("$@")
w1s=(); wns=(); c1s=(); cns=()
for r in $(seq 1 "$rounds"); do
  read -r w1 c1a < <(run 1 "$steps"); read -r _ c1b < <(run 1 1)
  read -r wn cna < <(run "$n" "$steps"); read -r _ cnb < <(run "$n" 1)
  c1=$(awk -v a="$c1a" -v b="$c1b" -v s="$steps" 'BEGIN {printf "%.0f", 1000 * (a - b) / (s - 1)}')
  cn=$(awk -v a="$cna" -v b="$cnb" -v s="$steps" 'BEGIN {printf "%.0f", 1000 * (a - b) / (s - 1)}')
  echo "round $r: 1 rank $w1 ms (cpu $c1 ms), $n ranks $wn ms (cpu $cn ms, all ranks) per step; load $(cut -d' ' -f1 /proc/loadavg)"
  w1s+=("$w1"); wns+=("$wn"); c1s+=("$c1"); cns+=("$cn")
done
med() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
awk -v a="$(med "${w1s[@]}")" -v b="$(med "${wns[@]}")" -v c="$(med "${c1s[@]}")" -v d="$(med "${cns[@]}")" -v n="$n" \
  -v p="$preset" -v B="$batch" 'BEGIN { printf "%s, global batch %d, medians: 1 rank %.0f ms, %d ranks %.0f ms: efficiency t1/(N tN) %.2f; cpu per step %.0f / %.0f ms: cpu1/cpuN %.2f\n", p, B, a, n, b, a / (n * b), c, d, c / d }'
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
