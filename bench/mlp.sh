#!/usr/bin/env bash
# mlp.sh: times the mlp-mnist training step (batch 64) of ganforge beside the PyTorch peer
# (../shared/bench/torch_ref.py --models mlp) in the same run, rounds interleaved, 1 and 2 threads;
# prints the medians and the ratio ours / PyTorch's best.
# usage: bench/mlp.sh [ROUNDS] [BATCH]   (env: GANFORGE=path, PYTHON=python with torch)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}; batch=${2:-64}
gf=${GANFORGE:-build/ganforge}
py=${PYTHON:-/usr/bin/python3}
ref=${TORCH_REF:-../shared/bench/torch_ref.py}
[ -x "$gf" ] || { echo "build first: $gf missing" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
have_torch=1; "$py" -c 'import torch' 2>/dev/null || { have_torch=0; echo "note: no PyTorch for $py: ganforge only" >&2; }
for r in $(seq "$rounds"); do
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$gf" bench mlp-mnist --batch "$batch" --steps 60 --warmup 5 \
      | sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' >> "$tmp/gf$t"
    if [ $have_torch = 1 ]; then
      OMP_NUM_THREADS=$t "$py" "$ref" --models mlp --batches "$batch" --threads "$t" --n 60 \
        | sed -n 's/.*median_ms_per_step= *\([0-9.]*\).*/\1/p' >> "$tmp/pt$t"
    fi
  done
done
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
gf1=$(median "$tmp/gf1"); gf2=$(median "$tmp/gf2")
echo "ganforge mlp-mnist batch=$batch: 1 thread ${gf1} ms, 2 threads ${gf2} ms (median of $rounds rounds)"
gfl=$("$gf" bench mlp-mnist --batch "$batch" --steps 3 --warmup 1 | sed -n 's/.*gflop_per_step=\([0-9.]*\).*/\1/p')
if [ $have_torch = 1 ]; then
  pt1=$(median "$tmp/pt1"); pt2=$(median "$tmp/pt2")
  echo "pytorch $("$py" -c 'import torch; print(torch.__version__)') mlp batch=$batch: 1 thread ${pt1} ms, 2 threads ${pt2} ms"
  awk -v g1="$gf1" -v g2="$gf2" -v p1="$pt1" -v p2="$pt2" -v f="$gfl" 'BEGIN {
    g = g1 < g2 ? g1 : g2; p = p1 < p2 ? p1 : p2;
    printf "best: ganforge %.2f ms, pytorch %.2f ms, ratio %.2fx (target <= 0.8x); ganforge %.1f GFLOP/s effective (%.3f GFLOP/step)\n", g, p, g / p, f / (g * 1e-3), f }'
fi
