#!/usr/bin/env bash
# bench/cyclegan.sh: ganforge vs PyTorch (shared/bench/torch_ref.py --models cyclegan --threads 2)
# on the full 256x256 batch-1 CycleGAN step (G_A, G_B with D frozen, G update, D_A, D_B halved,
# D update; resnet_9blocks, 70x70 PatchGAN), measured in the same run, plus max RSS.
#   bench/cyclegan.sh [BUILD_DIR=build] [STEPS=3]
# torch_ref.py times 3 warm-up + 3 steps (median); ganforge 1 warm-up + STEPS (mean).
# Prints s/step of each and the ratio ganforge / PyTorch (target <= 0.7).
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"
steps="${2:-3}"
gf="$build/ganforge"
ref="${TORCH_REF:-$here/../shared/bench/torch_ref.py}"
[ -f "$ref" ] || ref=/work/shared/bench/torch_ref.py
py="${PYTHON:-/usr/bin/python3}"
[ -x "$gf" ] || { echo "no $gf: build first" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=2 /usr/bin/time -f "%M" -o "$tmp/gf.rss" "$gf" bench cyclegan --batch 1 --steps "$steps" --warmup 1 > "$tmp/gf.out" 2>&1
cat "$tmp/gf.out"
gms=$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$tmp/gf.out")
/usr/bin/time -f "%M" -o "$tmp/pt.rss" "$py" "$ref" --models cyclegan --threads 2 > "$tmp/pt.out" 2>&1
cat "$tmp/pt.out"
pms=$(sed -n 's/.*median_ms_per_step= *\([0-9.]*\).*/\1/p' "$tmp/pt.out")
ratio=$(awk -v a="$gms" -v b="$pms" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
printf 'cyclegan256  ganforge %7.2f s/step  rss %6d MB | pytorch(2 threads) %7.2f s/step  rss %6d MB | ratio %s\n' \
  "$(awk -v a="$gms" 'BEGIN{print a/1000}')" $(( $(tail -1 "$tmp/gf.rss") / 1024 )) \
  "$(awk -v a="$pms" 'BEGIN{print a/1000}')" $(( $(tail -1 "$tmp/pt.rss") / 1024 )) "$ratio"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
