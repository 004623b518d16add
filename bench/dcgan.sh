#!/usr/bin/env bash
# bench/dcgan.sh: ganforge vs PyTorch (shared/bench/torch_ref.py) on the DCGAN training step
# (D step + G step, batch 64), measured in the same run, plus peak memory (max RSS).
#   bench/dcgan.sh [BUILD_DIR=build] [STEPS=10]
# ganforge's time is the median of 3 runs (2 before PyTorch, 1 after); PyTorch's time is its best over the builds found (Debian 1.13, /opt/t2 PyPI 2.x) at 1 and 2
# threads (bench/torch_best.sh). Prints ms/step, max RSS and the ratio ganforge / PyTorch's best
# (target <= 0.6), and ganforge's effective GFLOP/s against this machine's sgemm peak.
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"
steps="${2:-10}"
gf="$build/ganforge"
[ -x "$gf" ] || { echo "no $gf: build first" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
peak=$("$gf" bench --sgemm | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
echo "sgemm peak (2048^3, 2 threads): $peak GFLOP/s"
for pair in "dcgan-mnist dcgan28" "dcgan64 dcgan64"; do
  set -- $pair
  : > "$tmp/gf.all"
  gfrun() { /usr/bin/time -f "%M" -o "$tmp/gf.rss" "$gf" bench "$1" --batch 64 --steps "$steps" --warmup 2 > "$tmp/gf.out" 2>&1
            sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$tmp/gf.out" >> "$tmp/gf.all"; }
  gfrun "$1"; gfrun "$1"                                    # ganforge before and after PyTorch
  "$here/bench/torch_best.sh" "$2" 64 "$steps" "1 2" | tee "$tmp/pt.out" | grep -v "^#vars"
  gfrun "$1"
  echo "  ganforge runs (ms/step): $(tr '\n' ' ' < "$tmp/gf.all")"
  gms=$(sort -g "$tmp/gf.all" | sed -n 2p)                  # the median of 3
  gfl=$(sed -n 's/.*gflop_per_step=\([0-9.]*\).*/\1/p' "$tmp/gf.out")
  eval "$(sed -n 's/^#vars //p' "$tmp/pt.out")"; pms=$PT_MS prss=$PT_RSS pwho=$PT_WHO
  ratio=$(awk -v a="$gms" -v b="$pms" 'BEGIN { if (b > 0 && b < 1e29) printf "%.2f", a / b; else print "n/a" }')
  eff=$(awk -v f="$gfl" -v ms="$gms" -v pk="$peak" 'BEGIN { g = f / (ms * 1e-3); printf "%.0f GFLOP/s = %.0f%% of sgemm", g, 100 * g / pk }')
  printf '%-12s ganforge %9.1f ms/step  rss %6d MB (%s) | pytorch best %9.1f ms/step  rss %6d MB (%s) | ratio %s\n' \
    "$1" "$gms" $(( $(tail -1 "$tmp/gf.rss") / 1024 )) "$eff" "$pms" "$prss" "$pwho" "$ratio"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
