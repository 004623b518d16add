#!/usr/bin/env bash
# bench/dcgan.sh: ganforge vs PyTorch (shared/bench/torch_ref.py) on the DCGAN training step
# (D step + G step, batch 64), measured in the same run, plus peak memory (max RSS).
#   bench/dcgan.sh [BUILD_DIR=build] [STEPS=10]
# Prints ms/step and max RSS of each, and the ratio ganforge / PyTorch (target <= 0.6).
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"
steps="${2:-10}"
gf="$build/ganforge"
ref="${TORCH_REF:-$here/../shared/bench/torch_ref.py}"
py="${PYTHON:-/usr/bin/python3}"
[ -x "$gf" ] || { echo "no $gf: build first" >&2; exit 2; }
[ -f "$ref" ] || { echo "no $ref (set TORCH_REF)" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for pair in "dcgan-mnist dcgan28" "dcgan64 dcgan64"; do
  set -- $pair
  /usr/bin/time -f "%M" -o "$tmp/gf.rss" "$gf" bench "$1" --batch 64 --steps "$steps" --warmup 2 > "$tmp/gf.out" 2>&1
  gms=$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$tmp/gf.out")
  /usr/bin/time -f "%M" -o "$tmp/pt.rss" "$py" "$ref" --models "$2" --batches 64 --n "$steps" > "$tmp/pt.out" 2>&1
  pms=$(sed -n 's/.*median_ms_per_step= *\([0-9.]*\).*/\1/p' "$tmp/pt.out")
  pthr=$(sed -n 's/.*threads=\([0-9]*\).*/\1/p' "$tmp/pt.out" | head -1)
  ratio=$(awk -v a="$gms" -v b="$pms" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf '%-12s ganforge %9.1f ms/step  rss %6d MB | pytorch(%s threads) %9.1f ms/step  rss %6d MB | ratio %s\n' \
    "$1" "$gms" $(( $(tail -1 "$tmp/gf.rss") / 1024 )) "${pthr:-?}" "$pms" $(( $(tail -1 "$tmp/pt.rss") / 1024 )) "$ratio"
done
