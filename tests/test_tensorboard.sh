#!/usr/bin/env bash
# test_tensorboard.sh: train.tensorboard=1 writes an event file that tensorboard's own reader (PyPI
# package) opens: every log.csv / metrics.csv column as a scalar series with the same steps and
# values, the learning rates, and each epoch picture as an image (same PNG bytes); 2-epoch runs of
# an MLP GAN with a training-time metric, a DCGAN and a CycleGAN.
set -u
gf=$1
T=${GF_TMP:-/tmp/ganforge-test}/tensorboard
D=${GF_TEST_DATA:-../shared/data}
S=${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
rm -rf "$T" && mkdir -p "$T"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
export OMP_NUM_THREADS=1
PY=${GF_PYTHON:-}
if [ -z "$PY" ] || ! "$PY" -c "import tensorboard" 2>/dev/null; then
  if [ "${CI:-}" = true ]; then bad "GF_PYTHON ('$PY') must name a python with tensorboard in CI (.ci/run makes the venv)"
  else echo "skipped: GF_PYTHON with the tensorboard package not set"; fi
  echo "$pass passed, $fail failed"
  [ $fail = 0 ]; exit
fi
check() { # RUN LABEL EXTRA_TAGS...
  local run=$1 label=$2; shift 2
  "$PY" "$S/tests/tb_check.py" "$run" "$@" && ok "$label" || bad "$label"
}
"$gf" train ring8 --epochs 2 --set data.n=400 --set train.eval_metric=modes --set train.eval_n=200 \
  --set train.tensorboard=1 --quiet --out "$T/ring8" > "$T/ring8.log" 2>&1 || bad "ring8 run: $(tail -2 "$T/ring8.log")"
check "$T/ring8" "MLP GAN (ring8, metric modes): losses, D outputs, lr, metrics, pictures" lr_G lr_D
"$gf" train dcgan-mnist --data "$D/mnist" --set data.limit=32 --epochs 2 --batch 8 --set model.ngf=4 --set model.ndf=4 \
  --set model.nz=8 --set train.grid=4 --set train.tensorboard=1 --quiet --out "$T/dcgan" > "$T/dcgan.log" 2>&1 \
  || bad "dcgan run: $(tail -2 "$T/dcgan.log")"
check "$T/dcgan" "DCGAN: losses, D outputs, lr, pictures" lr_G lr_D
if [ -d "$D/horse2zebra/trainA" ]; then
  "$gf" train cyclegan --data "$D/horse2zebra" --set data.load_size=36 --set data.crop_size=32 --set model.ngf=4 \
    --set model.ndf=4 --set model.n_blocks=2 --set data.limit=3 --set train.n_epochs=1 --set train.n_epochs_decay=1 \
    --set train.tensorboard=1 --quiet --out "$T/cg" > "$T/cg.log" 2>&1 || bad "cyclegan run: $(tail -2 "$T/cg.log")"
  check "$T/cg" "CycleGAN: every loss, lr, pictures"
fi
# without the key: no event file
ls "$T/dcgan"/events.out.tfevents.* > /dev/null 2>&1 && ok "event file in the run folder" || bad "no event file"
"$gf" train dcgan-mnist --data "$D/mnist" --set data.limit=16 --epochs 1 --batch 8 --set model.ngf=4 --set model.ndf=4 \
  --set model.nz=8 --quiet --out "$T/off" > /dev/null 2>&1
ls "$T/off"/events.out.tfevents.* > /dev/null 2>&1 && bad "event file without train.tensorboard" || ok "off by default"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
