#!/usr/bin/env bash
# export_c.sh: size and per-sample speed of the standalone C export beside `ganforge sample`, for
# the mlp-mnist and dcgan-mnist presets (networks at full size; one training step is enough for
# timing). usage: bash bench/export_c.sh [BUILD_DIR] (default build); writes into /tmp/gf_export_bench.
set -eu
B=${1:-build}
gf=$B/ganforge
T=/tmp/gf_export_bench
D=${GF_TEST_DATA:-../shared/data}
N=${N:-1000}
mkdir -p "$T"
for p in mlp-mnist dcgan-mnist; do
  R=$T/$p
  [ -f "$R/generator.safetensors" ] || "$gf" train $p --data "$D/mnist" --epochs 1 --set train.max_steps=1 --quiet --out "$R" > /dev/null 2>&1
  "$gf" export "$R" --format c -o "$R.c" > /dev/null
  "$gf" export "$R" --format c --weights blob -o "$R.blob" > /dev/null
  "$gf" export "$R" --format onnx -o "$R.onnx" > /dev/null
  cc -std=c99 -O2 -I"$R.c" -o "$R.bench" bench/export_c_bench.c "$R.c/gen.c" "$R.c/gen_weights.c" -lm
  cc -std=c99 -O2 -march=native -I"$R.c" -o "$R.bench.native" bench/export_c_bench.c "$R.c/gen.c" "$R.c/gen_weights.c" -lm
  cc -std=c99 -O2 -c -o "$R.c/gen.o" "$R.c/gen.c"
  cc -std=c99 -O2 -c -o "$R.c/gen_weights.o" "$R.c/gen_weights.c"
  echo "== $p: files gen.c $(stat -c %s "$R.c/gen.c") B, gen_weights.c $(stat -c %s "$R.c/gen_weights.c") B, gen_weights.bin $(stat -c %s "$R.blob/gen_weights.bin") B, model.onnx $(stat -c %s "$R.onnx") B; objects: gen.o text $(size -A "$R.c/gen.o" | awk '/^.text/ {print $2}') B, gen_weights.o $(stat -c %s "$R.c/gen_weights.o") B; generator.safetensors $(stat -c %s "$R/generator.safetensors") B"
  for th in 1 2; do
    s1=$( { /usr/bin/time -f %e env OMP_NUM_THREADS=$th "$gf" sample "$R" -n 1 --npy "$T/one.npy" > /dev/null; } 2>&1 )
    sn=$( { /usr/bin/time -f %e env OMP_NUM_THREADS=$th "$gf" sample "$R" -n $N --npy "$T/many.npy" > /dev/null; } 2>&1 )
    echo "ganforge sample, $th thread(s): -n 1 ${s1} s, -n $N ${sn} s: $(echo "scale=4; 1000 * ($sn - $s1) / ($N - 1)" | bc) ms per sample beyond startup"
  done
  echo "C export -O2:               $("$R.bench" 200)"
  echo "C export -O2 -march=native: $("$R.bench.native" 200)"
done
