#!/usr/bin/env bash
# mlp.sh: times the mlp-mnist training step (batch 64) of ganforge beside the PyTorch peer
# (../shared/bench/torch_ref.py --models mlp) in the same run, rounds interleaved, 1 and 2 threads;
# prints the medians and the ratio ours / PyTorch's best.
# usage: bench/mlp.sh [ROUNDS] [BATCH] [--write]
#   env: GANFORGE=path; PYTHONS="python ..." with torch (default: Debian's /usr/bin/python3 and,
#   when present, /opt/t2/bin/python with a PyPI torch 2.x); the ratio uses the fastest of them.
#   --write replaces the mlp block of docs/BENCHMARKS.md with this run's numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
args=()
for a in "$@"; do if [ "$a" = --write ]; then write=1; else args+=("$a"); fi; done
rounds=${args[0]:-5}; batch=${args[1]:-64}
gf=${GANFORGE:-build/ganforge}
ref=${TORCH_REF:-../shared/bench/torch_ref.py}
[ -x "$gf" ] || { echo "build first: $gf missing" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. bench/peers.sh
torch_pythons
have_torch=$(( ${#torch_pys[@]} > 0 ? 1 : 0 ))
for r in $(seq "$rounds"); do
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$gf" bench mlp-mnist --batch "$batch" --steps 60 --warmup 5 \
      | sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' >> "$tmp/gf$t"
    for k in "${!torch_pys[@]}"; do
      OMP_NUM_THREADS=$t "${torch_pys[$k]}" "$ref" --models mlp --batches "$batch" --threads "$t" --n 60 \
        | sed -n 's/.*median_ms_per_step= *\([0-9.]*\).*/\1/p' >> "$tmp/pt${k}_$t"
    done
  done
done
gf1=$(median "$tmp/gf1"); gf2=$(median "$tmp/gf2")
echo "ganforge mlp-mnist batch=$batch: 1 thread ${gf1} ms, 2 threads ${gf2} ms (median of $rounds rounds)"
gfl=$("$gf" bench mlp-mnist --batch "$batch" --steps 3 --warmup 1 | sed -n 's/.*gflop_per_step=\([0-9.]*\).*/\1/p')
peak=$("$gf" bench --sgemm | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
peak1=$(OMP_NUM_THREADS=1 "$gf" bench --sgemm | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
echo "sgemm peak (2048^3): 2 threads ${peak} GFLOP/s, 1 thread ${peak1} GFLOP/s"
summary=""
ptrows=""
if [ $have_torch = 1 ]; then
  pt1=1e30; pt2=1e30; ptv=""
  for k in "${!torch_pys[@]}"; do
    v=$("${torch_pys[$k]}" -c 'import torch; print(torch.__version__)')
    a=$(median "$tmp/pt${k}_1"); b=$(median "$tmp/pt${k}_2")
    echo "pytorch $v mlp batch=$batch: 1 thread ${a} ms, 2 threads ${b} ms"
    ptrows="${ptrows}| PyTorch ${v} \`torch_ref.py --models mlp\` | ${a} ms | ${b} ms |"$'\n'
    best_k=$(awk -v a="$a" -v b="$b" 'BEGIN{print (a<b?a:b)}')
    if awk -v x="$best_k" -v y="$(awk -v a="$pt1" -v b="$pt2" 'BEGIN{print (a<b?a:b)}')" 'BEGIN{exit !(x<y)}'; then
      pt1=$a; pt2=$b; ptv=$v
    fi
  done
  summary=$(awk -v g1="$gf1" -v g2="$gf2" -v p1="$pt1" -v p2="$pt2" -v f="$gfl" -v pk="$peak" 'BEGIN {
    g = g1 < g2 ? g1 : g2; p = p1 < p2 ? p1 : p2;
    printf "best: ganforge %.2f ms, pytorch (fastest build) %.2f ms, ratio %.2fx (target <= 0.8x); ganforge %.1f GFLOP/s effective (%.3f GFLOP/step) = %.0f%% of the %.0f GFLOP/s sgemm peak", g, p, g / p, f / (g * 1e-3), f, 100 * f / (g * 1e-3) / pk, pk }')
  echo "$summary"
fi
if [ $write = 1 ]; then
  doc=docs/BENCHMARKS.md
  [ -f $doc ] || printf '# Benchmarks\n\n<!-- mlp:begin -->\n<!-- mlp:end -->\n' > $doc
  grep -q '<!-- mlp:begin -->' $doc || printf '\n<!-- mlp:begin -->\n<!-- mlp:end -->\n' >> $doc
  block=$(mktemp)
  {
    echo "<!-- mlp:begin -->"
    echo "### mlp-mnist training step (batch $batch), CPU"
    echo
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
    echo "load average at start $(cut -d' ' -f1 /proc/loadavg), with \`bench/mlp.sh $rounds $batch --write\` ($rounds interleaved rounds, medians)."
    echo
    echo "| | 1 thread | 2 threads |"
    echo "|---|---|---|"
    echo "| ganforge \`bench mlp-mnist --batch $batch\` | ${gf1} ms | ${gf2} ms |"
    [ $have_torch = 1 ] && printf '%s' "$ptrows"
    echo
    [ -n "$summary" ] && echo "${summary^}."
    echo "One step = 1 D step + 1 G step, ${gfl} GFLOP as counted by ganforge (G forward + backward, D three"
    echo "forwards and the backward passes actually needed)."
    echo "<!-- mlp:end -->"
  } > "$block"
  awk -v f="$block" 'BEGIN{while((getline l < f)>0) b=b l "\n"} /<!-- mlp:begin -->/{printf "%s", b; skip=1; next} /<!-- mlp:end -->/{skip=0; next} !skip' $doc > $doc.new && mv $doc.new $doc
  rm -f "$block"
  echo "wrote $doc"
fi
