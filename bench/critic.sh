#!/usr/bin/env bash
# critic.sh: times the wgan-gp-mnist training step (5 critic steps with the gradient penalty's
# second-order pass, then 1 G step; batch 64) of ganforge beside its PyTorch peer
# (bench/torch_critic.py: the same networks, torch.autograd.grad(create_graph=True)) in the same
# run, rounds interleaved, 1 and 2 threads; prints the medians and the ratio ours / PyTorch's best.
# usage: bench/critic.sh [ROUNDS=3] [STEPS=5]
#   env: GANFORGE=path (default build/ganforge); PYTHONS="python ..." with torch (default: Debian's
#   /usr/bin/python3 and, when present, /opt/t2/bin/python); the ratio uses the fastest of them.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; steps=${2:-5}
gf=${GANFORGE:-build/ganforge}
[ -x "$gf" ] || { echo "build first: $gf missing" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. bench/peers.sh
torch_pythons
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$gf" bench wgan-gp-mnist --batch 64 --steps "$steps" --warmup 1 \
      | sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' >> "$tmp/gf$t"
    for k in "${!torch_pys[@]}"; do
      OMP_NUM_THREADS=$t "${torch_pys[$k]}" bench/torch_critic.py --threads "$t" --steps "$steps" --warmup 1 \
        | sed -n 's/.*median_ms_per_step=\([0-9.]*\).*/\1/p' >> "$tmp/pt${k}_$t"
    done
  done
done
for t in 1 2; do
  g=$(median "$tmp/gf$t")
  line="wgan-gp-mnist $t thread(s): ganforge $g ms/step (runs: $(tr '\n' ' ' < "$tmp/gf$t"))"
  best=1e30; who=none
  for k in "${!torch_pys[@]}"; do
    [ -s "$tmp/pt${k}_$t" ] || continue
    p=$(median "$tmp/pt${k}_$t")
    v=$("${torch_pys[$k]}" -c 'import torch; print(torch.__version__)')
    line="$line | torch $v $p ms"
    if awk -v a="$p" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$p; who="torch $v"; fi
  done
  ratio=$(awk -v a="$g" -v b="$best" 'BEGIN { if (b < 1e29) printf "%.2f", a / b; else print "n/a" }')
  echo "$line | ratio $ratio (against $who)"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
