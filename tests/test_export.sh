#!/usr/bin/env bash
# test_export.sh: tiny mlp-mnist, dcgan-mnist, dcgan64, CycleGAN and pix2pix runs; the inference
# API's example program, the ONNX file in onnxruntime and the exported standalone C each reproduce
# `ganforge sample` / `translate` for the same latents / images (example and C <= 1e-5, ONNX <=
# 1e-4); conditional generators (model.cond = concat and acgan MLPs, concat DCGAN, projection MLP and
# DCGAN with conditional BatchNorm) take the class label (ONNX input "label", gen_forward's label)
# and reproduce `sample` with one class per row (i mod K) and with `--class 2`; labels out of range
# are refused (C: -1, nothing written; onnxruntime: an error); bad inputs fail with one line and
# leave nothing behind.
set -u
gf=$1
bin=$(dirname "$gf")
T=${GF_TMP:-/tmp/ganforge-test}/export
D=${GF_TEST_DATA:-../shared/data}
S=${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
rm -rf "$T" && mkdir -p "$T"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
export OMP_NUM_THREADS=1
PY=${GF_PYTHON:-}
if [ -z "$PY" ] || ! "$PY" -c "import onnxruntime, onnx, numpy" 2>/dev/null; then
  if [ "${CI:-}" = true ]; then
    bad "GF_PYTHON ('$PY') must name a python with onnxruntime, onnx and numpy in CI (.ci/run makes the venv)"
  else
    echo "note: GF_PYTHON with onnxruntime, onnx and numpy not set: the ONNX checks are skipped"
  fi
  PY=""
fi
CC=${CC:-cc}
CFLAGS="-std=c99 -O2 -Wall -Werror"
diffnpy() { python3 "$S/tests/npy_maxdiff.py" "$@"; }

# compiles an exported folder with the driver and compares with the reference (<= 1e-5);
# gen.c must need nothing but libm and memcpy (no heap)
check_c() { # DIR IN.npy REF.npy LABEL [blob] [LABELS: mod | K, a conditional generator's classes]
  local dir=$1 inp=$2 ref=$3 label=$4 blob=${5:-} labels=${6:-}
  local srcs=("$dir/gen.c") extra=()
  [ -z "$blob" ] && srcs+=("$dir/gen_weights.c")
  [ -n "$blob" ] && extra=(-DGEN_BLOB)
  if ! $CC $CFLAGS "${extra[@]}" -I"$dir" -o "$dir/driver" "$S/tests/export_c_driver.c" "${srcs[@]}" -lm 2> "$dir/cc.err"; then
    bad "$label: the exported C does not compile with $CFLAGS: $(head -5 "$dir/cc.err")"; return
  fi
  $CC $CFLAGS -c -o "$dir/gen.o" "$dir/gen.c" && und=$(nm -u "$dir/gen.o" | awk '{print $2}' | grep -vxE 'memcpy|memset|tanhf|expf|sqrt|gen_weights' | tr '\n' ' ')
  [ -z "$und" ] && ok "$label: gen.c uses only libm, memcpy / memset and its weights" || bad "$label: gen.c needs $und"
  "$dir/driver" "$inp" "$ref" 1e-5 ${blob:+"blob=$dir/gen_weights.bin"} ${labels:+"labels=$labels"} && ok "$label: C export" \
    || bad "$label: C export differs"
}

check_onnx() { # MODEL IN REF LABEL [LABELS]
  [ -n "$PY" ] || return 0
  "$PY" "$S/tests/onnx_check.py" "$1" "$2" "$3" 1e-4 ${5:+"$5"} && ok "$4: ONNX in onnxruntime" || bad "$4: ONNX"
}

# ---- generators from latents ----
noise_run() { # NAME PRESET args...
  local name=$1 preset=$2; shift 2
  if ! "$gf" train "$preset" --quiet --set train.grid=4 --set train.nrow=2 --out "$T/$name" "$@" > "$T/$name.log" 2>&1; then
    bad "$name: training failed: $(tail -2 "$T/$name.log")"; return
  fi
  local R=$T/$name
  "$gf" sample "$R" -n 6 --seed 7 --npy "$R.ref.npy" --noise-out "$R.z.npy" > /dev/null || { bad "$name: sample"; return; }
  "$bin/gf_infer_example" "$R" "$R.ex.npy" 6 7 > /dev/null && diffnpy "$R.ex.npy" "$R.ref.npy" 1e-5 "$name: example" \
    && ok "$name: example program (libganforge_infer)" || bad "$name: example program"
  "$gf" export "$R" --format c -o "$R.c" > /dev/null && check_c "$R.c" "$R.z.npy" "$R.ref.npy" "$name" || true
  "$gf" export "$R" --format onnx -o "$R.onnx" > /dev/null && check_onnx "$R.onnx" "$R.z.npy" "$R.ref.npy" "$name" \
    || [ -n "$PY" ] || true
}
noise_run mlp mlp-mnist --data "$D/mnist" --set data.limit=256 --epochs 1 --batch 32 --set model.g_hidden=32,64 \
  --set model.d_hidden=32 --set model.nz=16
# Linear-BatchNorm-act (BatchNorm folded into the Gemm) and a sigmoid output (mlp-mnist has Linear-act-BatchNorm: a scale node)
noise_run mlp_bn mlp-mnist --data "$D/mnist" --set data.limit=128 --epochs 1 --batch 32 --set model.g_hidden=24 \
  --set model.d_hidden=16 --set model.nz=8 --set model.g_norm=bn --set model.g_out=sigmoid
# a wider weight init than the presets' N(0, 0.02), so that untrained outputs span [-1, 1] (the
# errors are compared on values of the size a trained generator gives)
small="--set model.ngf=8 --set model.ndf=4 --set model.nz=8"
noise_run dcgan28 dcgan-mnist --data "$D/mnist" --set data.limit=64 --batch 8 --set train.max_steps=4 $small \
  --set model.g_init_scale=0.3
noise_run dcgan64 dcgan64 --data "$D/faces/orl_faces/s1" --epochs 1 --batch 4 $small --set model.g_init_scale=0.15
# ---- conditional generators: the class label as a second input ----
# sample i is of class i mod K (3 shapes); `--class 2` draws the same latents (same seed) in class 2
cond_run() { # NAME PRESET args...
  local name=$1 preset=$2; shift 2
  if ! "$gf" train "$preset" --quiet --set train.grid=3 --set train.nrow=1 --out "$T/$name" "$@" > "$T/$name.log" 2>&1; then
    bad "$name: training failed: $(tail -2 "$T/$name.log")"; return
  fi
  local R=$T/$name
  "$gf" sample "$R" -n 7 --seed 7 --npy "$R.ref.npy" --noise-out "$R.z.npy" > /dev/null \
    && "$gf" sample "$R" -n 7 --seed 7 --class 2 --npy "$R.ref2.npy" --noise-out "$R.z2.npy" > /dev/null \
    || { bad "$name: sample"; return; }
  diffnpy "$R.z.npy" "$R.z2.npy" 0 "$name: latents of --class 2" > /dev/null || bad "$name: --class 2 drew other latents"
  # the label matters: rows 0 and 1 of classes 0 and 1 differ from class 2's
  diffnpy "$R.ref.npy" "$R.ref2.npy" 1e-4 "$name" > /dev/null && bad "$name: the class does not change the samples" \
    || ok "$name: the class changes the samples"
  if "$gf" export "$R" --format c -o "$R.c" > /dev/null; then
    grep -q "^#define GEN_CLASSES 3 " "$R.c/gen.h" && grep -q "^int gen_forward(const float \*z, int label, float \*out, float \*work);" \
      "$R.c/gen.h" && ok "$name: gen.h declares GEN_CLASSES and gen_forward(z, label, out, work)" || bad "$name: gen.h: $(grep gen_forward "$R.c/gen.h")"
    check_c "$R.c" "$R.z.npy" "$R.ref.npy" "$name (class i mod 3)" "" mod
    check_c "$R.c" "$R.z.npy" "$R.ref2.npy" "$name (class 2)" "" 2
    # the labels and the refused ones again under AddressSanitizer + UBSan, where the compiler has them
    if $CC -std=c99 -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -I"$R.c" -o "$R.c/driver_san" \
      "$S/tests/export_c_driver.c" "$R.c/gen.c" "$R.c/gen_weights.c" -lm 2> /dev/null; then
      "$R.c/driver_san" "$R.z.npy" "$R.ref.npy" 1e-5 labels=mod > /dev/null && ok "$name: C export under ASan + UBSan" \
        || bad "$name: C export under ASan + UBSan"
    else echo "note: $CC has no -fsanitize=address,undefined: $name's sanitizer check skipped"; fi
  else bad "$name: export c"; fi
  if "$gf" export "$R" --format onnx -o "$R.onnx" > /dev/null; then
    check_onnx "$R.onnx" "$R.z.npy" "$R.ref.npy" "$name (class i mod 3)" mod
    check_onnx "$R.onnx" "$R.z.npy" "$R.ref2.npy" "$name (class 2)" 2
  else bad "$name: export onnx"; fi
}
cmlp="--set data.n=64 --epochs 1 --batch 16 --set model.g_hidden=24 --set model.d_hidden=16 --set model.nz=8"
cond_run cmlp mlp-shapes $cmlp --set model.cond=concat --set model.g_norm=bn
cond_run amlp mlp-shapes $cmlp --set model.cond=acgan
# conditional BatchNorm after the activation (its normalisation a scale node, not folded)
cond_run pmlp mlp-shapes $cmlp --set model.cond=projection --set model.g_norm=bn_after --set train.lr=0.005
csmall="--set data.n=64 --epochs 1 --batch 16 --set data.size=16 --set model.size=16 $small --set model.g_init_scale=0.3"
cond_run cdcgan dcgan-shapes $csmall --set model.cond=concat
cond_run pdcgan dcgan-shapes $csmall --set model.cond=projection --set train.lr=0.005

if [ -d "$T/mlp.c" ]; then # the weights as a blob handed over with gen_set_weights
  "$gf" export "$T/mlp" --format c --weights blob -o "$T/mlp.blob" > /dev/null && [ -f "$T/mlp.blob/gen_weights.bin" ] \
    && [ ! -f "$T/mlp.blob/gen_weights.c" ] && check_c "$T/mlp.blob" "$T/mlp.z.npy" "$T/mlp.ref.npy" "mlp (blob)" blob \
    || bad "mlp: --weights blob"
fi

# ---- translators: CycleGAN both directions, pix2pix ----
python3 "$S/tests/make_npy.py" "$T/img.npy" 1 3 3 32 32
python3 "$S/tests/make_npy.py" "$T/img2.npy" 2 2 3 64 32
i2i="--set data.load_size=36 --set data.crop_size=32 --set model.ngf=4 --set model.ndf=4 --set train.n_epochs=1
  --set train.n_epochs_decay=0 --set train.max_steps=3 --set train.grid=2 --quiet"
H2Z=$D/horse2zebra
if [ -d "$H2Z/trainA" ]; then
  "$gf" train cyclegan --data "$H2Z" --set data.limit=4 --set model.n_blocks=2 $i2i --out "$T/cg" > "$T/cg.log" 2>&1 \
    || bad "cyclegan training: $(tail -2 "$T/cg.log")"
  mkdir -p "$T/p2pdata/train"
  for f in $(ls "$H2Z/trainA" | head -4); do ln -sf "$(cd "$H2Z/trainA" && pwd)/$f" "$T/p2pdata/train/$f"; done
  "$gf" train pix2pix --data "$T/p2pdata" --set model.n_blocks=5 $i2i --out "$T/p2p" > "$T/p2p.log" 2>&1 \
    || bad "pix2pix training: $(tail -2 "$T/p2p.log")"
  for spec in "cg AtoB" "cg BtoA" "p2p AtoB"; do
    set -- $spec
    R=$T/$1 d=$2 L="$1 $2"
    "$gf" translate "$R" --direction $d "$T/img.npy" -o "$R.$d.ref.npy" > /dev/null || { bad "$L: translate .npy"; continue; }
    "$gf" translate "$R" --direction $d "$T/img2.npy" -o "$R.$d.ref2.npy" > /dev/null || bad "$L: translate 64x32"
    "$bin/gf_infer_example" "$R" "$R.$d.ex.npy" --translate "$T/img.npy" $d && diffnpy "$R.$d.ex.npy" "$R.$d.ref.npy" 1e-5 "$L: example" \
      && ok "$L: example program" || bad "$L: example program"
    "$gf" export "$R" --direction $d --format c -o "$R.$d.c" > /dev/null && check_c "$R.$d.c" "$T/img.npy" "$R.$d.ref.npy" "$L" || true
    if "$gf" export "$R" --direction $d --format onnx -o "$R.$d.onnx" > /dev/null; then
      check_onnx "$R.$d.onnx" "$T/img.npy" "$R.$d.ref.npy" "$L"
      check_onnx "$R.$d.onnx" "$T/img2.npy" "$R.$d.ref2.npy" "$L at 64x32 (dynamic height and width)"
    else bad "$L: export onnx"; fi
  done
else
  echo "note: $H2Z not found: translator checks skipped"
fi

# ---- bad input: one line, exit status, nothing left behind ----
expect() { # STATUS PATTERN LABEL -- command...
  local want=$1 pat=$2 label=$3; shift 4
  "$@" > "$T/out.txt" 2> "$T/err.txt"; local rc=$?
  if [ $rc = "$want" ] && [ "$(wc -l < "$T/err.txt")" = 1 ] && grep -q -- "$pat" "$T/err.txt"; then ok "$label: $(cat "$T/err.txt")"
  else bad "$label: status $rc, stderr: $(head -3 "$T/err.txt")"; fi
}
"$gf" train classifier-shapes --set data.n=64 --epochs 1 --batch 32 --quiet --out "$T/cls" > /dev/null 2>&1 || bad "classifier run"
expect 1 "a classifier model, not a generator" "another model kind" -- "$gf" export "$T/cls/classifier.safetensors" --format onnx -o "$T/cls.onnx"
[ ! -e "$T/cls.onnx" ] && ok "nothing written for another model kind" || bad "cls.onnx written"
expect 1 "not a generator" "example on another model kind" -- "$bin/gf_infer_example" "$T/cls/classifier.safetensors" "$T/cls.npy" 2 1
"$gf" train mlp-mnist --data "$D/mnist" --set data.limit=64 --epochs 1 --set model.g_hidden=8 --set model.d_hidden=8 \
  --set model.sample_bn=batch --quiet --out "$T/bsb" > /dev/null 2>&1 || bad "sample_bn=batch run"
expect 1 "(BatchNorm) with batch statistics" "unsupported layer (onnx)" -- "$gf" export "$T/bsb" --format onnx -o "$T/bsb.onnx"
expect 1 "the c format cannot express layer" "unsupported layer (c)" -- "$gf" export "$T/bsb" --format c -o "$T/bsb.c"
[ ! -e "$T/bsb.onnx" ] && [ ! -e "$T/bsb.c" ] && ok "nothing written for an unsupported layer" || bad "bsb output written"
# conditional BatchNorm with batch statistics: the same refusal
"$gf" train mlp-shapes --set data.n=64 --epochs 1 --set model.g_hidden=8 --set model.d_hidden=8 --set model.cond=projection \
  --set model.g_norm=bn --set model.sample_bn=batch --quiet --out "$T/pbsb" > /dev/null 2>&1 || bad "projection sample_bn=batch run"
expect 1 "(ConditionalBatchNorm) with batch statistics" "conditional BatchNorm, batch statistics (onnx)" -- "$gf" export "$T/pbsb" --format onnx -o "$T/pbsb.onnx"
expect 1 "(ConditionalBatchNorm) with batch statistics" "conditional BatchNorm, batch statistics (c)" -- "$gf" export "$T/pbsb" --format c -o "$T/pbsb.c"
[ ! -e "$T/pbsb.onnx" ] && [ ! -e "$T/pbsb.c" ] && ok "nothing written for conditional BatchNorm with batch statistics" || bad "pbsb output written"
touch "$T/afile"
expect 1 "afile/g.onnx: cannot write" "unwritable onnx path" -- "$gf" export "$T/mlp" --format onnx -o "$T/afile/g.onnx"
expect 1 "afile/gen" "unwritable C folder" -- "$gf" export "$T/mlp" --format c -o "$T/afile/gen"
[ -z "$(find "$T" -name '*.tmp*' -o -name '.*tmp*' | head -1)" ] && ok "no temporary files left" || bad "temporary files: $(find "$T" -name '*tmp*' | head -3)"
[ -d "$T/p2p" ] && expect 2 "translates one way only" "pix2pix BtoA" -- "$gf" export "$T/p2p" --direction BtoA --format onnx -o "$T/p.onnx"
expect 2 "must be onnx or c" "unknown format" -- "$gf" export "$T/mlp" --format tflite -o "$T/g.tfl"
expect 2 "draws from latents" "direction on a noise generator" -- "$gf" export "$T/mlp" --direction BtoA --format onnx -o "$T/g.onnx"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
