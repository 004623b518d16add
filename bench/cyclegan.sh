#!/usr/bin/env bash
# bench/cyclegan.sh: ganforge vs PyTorch (shared/bench/torch_ref.py --models cyclegan, 2 threads, every
# PyTorch build found: Debian 1.13 and /opt/t2 PyPI 2.x, via bench/torch_best.sh)
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
[ -x "$gf" ] || { echo "no $gf: build first" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=2 /usr/bin/time -f "%M" -o "$tmp/gf.rss" "$gf" bench cyclegan --batch 1 --steps "$steps" --warmup 1 > "$tmp/gf.out" 2>&1
cat "$tmp/gf.out"
gms=$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$tmp/gf.out")
"$here/bench/torch_best.sh" cyclegan 1 3 2 | tee "$tmp/pt.out" | grep -v "^#vars"
eval "$(sed -n 's/^#vars //p' "$tmp/pt.out")"; pms=$PT_MS prss=$PT_RSS pwho=$PT_WHO
ratio=$(awk -v a="$gms" -v b="$pms" 'BEGIN { if (b > 0 && b < 1e29) printf "%.2f", a / b; else print "n/a" }')
printf 'cyclegan256  ganforge %7.2f s/step  rss %6d MB | pytorch best %7.2f s/step  rss %6d MB (%s) | ratio %s\n' \
  "$(awk -v a="$gms" 'BEGIN{print a/1000}')" $(( $(tail -1 "$tmp/gf.rss") / 1024 )) \
  "$(awk -v a="$pms" 'BEGIN{print a/1000}')" "$prss" "$pwho" "$ratio"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
