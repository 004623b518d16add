#!/usr/bin/env bash
# bench/torch_best.sh: PyTorch's best time for one torch_ref.py model: every PyTorch build found
# (Debian's /usr/bin/python3 = 1.13, /opt/t2/bin/python = a PyPI 2.x) at each thread count.
#   bench/torch_best.sh MODEL BATCH N "THREADS..."   e.g. bench/torch_best.sh dcgan28 64 10 "1 2"
# Prints one line per (build, threads), then "best ms=... rss_mb=... (torch V, T threads)" and a
# line "#vars PT_MS=... PT_RSS=... PT_WHO=..." for callers to eval.
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
model="$1"; batch="$2"; n="$3"; threads="${4:-1 2}"
ref="${TORCH_REF:-$here/../shared/bench/torch_ref.py}"
[ -f "$ref" ] || ref=/work/shared/bench/torch_ref.py
pys="${PYTHONS:-/usr/bin/python3 /opt/t2/bin/python}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
best=""; bms=1e30; brss=0
for py in $pys; do
  [ -x "$py" ] && "$py" -c 'import torch' 2>/dev/null || { echo "  (no PyTorch at $py)"; continue; }
  v=$("$py" -c 'import torch; print(torch.__version__)')
  for t in $threads; do
    OMP_NUM_THREADS=$t /usr/bin/time -f "%M" -o "$tmp/rss" "$py" "$ref" --models "$model" --batches "$batch" \
      --n "$n" --threads "$t" > "$tmp/out" 2>&1
    ms=$(sed -n 's/.*median_ms_per_step= *\([0-9.]*\).*/\1/p' "$tmp/out" | head -1)
    rss=$(( $(tail -1 "$tmp/rss") / 1024 ))
    [ -n "$ms" ] || { echo "  torch $v $t threads: failed"; tail -3 "$tmp/out"; continue; }
    printf '  pytorch %-14s %d thread(s) %10.1f ms/step  rss %6d MB\n' "$v" "$t" "$ms" "$rss"
    if awk -v a="$ms" -v b="$bms" 'BEGIN{exit !(a<b)}'; then bms=$ms; brss=$rss; best="torch $v, $t threads"; fi
  done
done
echo "best ms=$bms rss_mb=$brss ($best)"
echo "#vars PT_MS=$bms PT_RSS=$brss PT_WHO='$best'"
