#!/usr/bin/env bash
# bench/compress.sh: CPU speed of a compressed student against its teacher through `ganforge
# translate` (docs/compress.md): every image of a folder, at 1 and 2 threads, teacher and student
# alternated ROUNDS times in the same run; prints the best round's ms per image in the generator
# (the forward pass, as translate reports it) and in all (the command's wall time / images: reading
# JPEGs, converting, the forward, writing PNGs), the command's CPU time (user + system) per image,
# which a loaded machine distorts less than wall time, and the speed-ups.
#   bench/compress.sh TEACHER_RUN STUDENT_RUN IMAGE_DIR [ROUNDS=3] [BUILD_DIR=build]
set -u
[ $# -ge 3 ] || { echo "usage: bench/compress.sh TEACHER_RUN STUDENT_RUN IMAGE_DIR [ROUNDS=3] [BUILD_DIR=build]" >&2; exit 2; }
here="$(cd "$(dirname "$0")/.." && pwd)"
teacher=$1 student=$2 images=$3 rounds=${4:-3}
gf="${5:-$here/build}/ganforge"
[ -x "$gf" ] || { echo "no $gf: build first" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
n=$(ls "$images" | wc -l)
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); $n images in $images"
run() { # threads run -> prints "gen_ms all_ms cpu_ms"
  local t0 t1
  t0=$(date +%s.%N)
  OMP_NUM_THREADS=$1 /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$gf" translate "$2" --direction AtoB "$images" -o "$tmp/out" \
    > /dev/null 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  local gen
  gen=$(sed -n 's/.*: \([0-9.]*\) ms per image in the generator.*/\1/p' "$tmp/err")
  awk -v g="$gen" -v a="$t0" -v b="$t1" -v n="$n" -v c="$(tail -1 "$tmp/cpu")" \
    'BEGIN { split(c, u, " "); printf "%s %.1f %.1f\n", g, 1000 * (b - a) / n, 1000 * (u[1] + u[2]) / n }'
}
min() { awk -v x="$1" -v y="$2" 'BEGIN{print (y < x ? y : x)}'; }
for threads in 1 2; do
  bt=1e30 bta=1e30 btc=1e30 bs=1e30 bsa=1e30 bsc=1e30
  for r in $(seq "$rounds"); do
    read -r g a c < <(run "$threads" "$teacher")
    bt=$(min "$bt" "$g"); bta=$(min "$bta" "$a"); btc=$(min "$btc" "$c")
    read -r g a c < <(run "$threads" "$student")
    bs=$(min "$bs" "$g"); bsa=$(min "$bsa" "$a"); bsc=$(min "$bsc" "$c")
  done
  printf 'threads %d  ms per image: teacher %7.1f generator %7.1f all %7.1f cpu | student %6.1f / %6.1f / %6.1f | speed-up %.2fx / %.2fx / %.2fx\n' \
    "$threads" "$bt" "$bta" "$btc" "$bs" "$bsa" "$bsc" "$(awk -v a="$bt" -v b="$bs" 'BEGIN{print a/b}')" \
    "$(awk -v a="$bta" -v b="$bsa" 'BEGIN{print a/b}')" "$(awk -v a="$btc" -v b="$bsc" 'BEGIN{print a/b}')"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
