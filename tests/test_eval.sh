#!/usr/bin/env bash
# test_eval.sh: `ganforge eval` on tiny trained runs (ring8, gauss1d, mlp-mnist) and on .npy files:
# the machine-readable lines, run == .npy of the same samples, and the bad inputs (missing file,
# bad .npy, wrong sample dimension, unknown metric or option) with their exit codes (2 usage, 1 runtime).
# usage: bash test_eval.sh /path/to/ganforge   (env: GF_TEST_DATA, GF_TMP, GF_SRC)
set -u
GF=$(readlink -f "${1:?usage: test_eval.sh /path/to/ganforge}")
SRC=${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
DATA=${GF_TEST_DATA:-$SRC/../shared/data}
T=${GF_TMP:-/tmp/ganforge-test}/eval
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
rm -rf "$T" && mkdir -p "$T" || exit 2
pass=0
fail=0
t_start=$SECONDS

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', expected '$3'"; fi; }
expect_has() { if grep -q -- "$3" <<<"$2"; then ok; else bad "$1: '$3' not in: $2"; fi; }
# ev NAME ARGS...: runs `ganforge eval ARGS`, stdout in $OUT, stderr in $ERR, status in $RC
ev() {
  local name=$1; shift
  timeout 300 "$GF" eval "$@" >"$T/$name.out" 2>"$T/$name.err"
  RC=$?
  OUT=$(cat "$T/$name.out")
  ERR=$(cat "$T/$name.err")
}
# the machine-readable line without the fields that differ between equal evaluations
key() { head -n 1 <<<"$1" | sed -e 's/ source=[a-z]*//' -e 's/ seconds=[0-9.]*//'; }

# ---- tiny runs -------------------------------------------------------------------------------------
TINY=(--set model.g_hidden=32,32 --set model.d_hidden=32,32 --set data.n=2000 --epochs 1 --quiet)
timeout 120 "$GF" train ring8 --out "$T/ring8" "${TINY[@]}"
expect_eq "train tiny ring8" "$?" 0
timeout 120 "$GF" train gauss1d --out "$T/gauss1d" "${TINY[@]}"
expect_eq "train tiny gauss1d" "$?" 0

# ---- modes on a ring8 run and on the .npy of the same samples ---------------------------------------
ev modes_run "$T/ring8" --metric modes
expect_eq "modes on a run: exit" "$RC" 0
expect_has "modes on a run: machine line" "$OUT" '^modes_captured=[0-8] modes_total=8 high_quality=[0-9.]* reverse_kl=[0-9.]* n_samples=2500 set=ring8 source=run'
expect_has "modes on a run: sentence" "$OUT" 'ring8: [0-8] of 8 modes captured'
expect_has "modes on a run: protocol named" "$OUT" 'VEEGAN/PacGAN protocol followed'
timeout 60 "$GF" sample "$T/ring8" -n 2500 --seed 1 -o "$T/ring8.npy" >/dev/null
expect_eq "sample ring8 .npy" "$?" 0
ev modes_npy "$T/ring8.npy" --metric modes --modes ring8
expect_eq "modes on .npy: exit" "$RC" 0
expect_eq "modes: run and .npy of the same samples agree" "$(key "$(cat "$T/modes_run.out")")" "$(key "$OUT")"
ev modes_seed "$T/ring8" --metric modes --seed 2 -n 1000
expect_has "modes -n 1000: count and protocol note" "$OUT" 'n_samples=1000'
expect_has "modes -n 1000: deviation said" "$OUT" '1000 samples (protocol: 2500)'
ev modes_grid "$T/ring8.npy" --metric modes --modes grid25
expect_eq "ring8 samples scored against grid25: exit" "$RC" 0
expect_has "grid25 scoring: 25 modes" "$OUT" 'modes_total=25'

# ---- modes: bad inputs -------------------------------------------------------------------------------
ev nomodes "$T/ring8.npy" --metric modes
expect_eq ".npy without --modes: exit 2" "$RC" 2
expect_has ".npy without --modes: message" "$ERR" 'ring8.npy: --modes ring8|grid25 is needed'
ev conflict "$T/ring8" --metric modes --modes grid25
expect_eq "--modes against the run's set: exit 2" "$RC" 2
expect_has "--modes conflict: message" "$ERR" "run was trained on 'ring8'"
ev g1modes "$T/gauss1d" --metric modes
expect_eq "modes on gauss1d: exit 2" "$RC" 2
expect_has "modes on gauss1d: message" "$ERR" "trained on 'gauss1d'; the modes metric needs a ring8 or grid25 run"
ev g1parzen "$T/gauss1d" --metric parzen
expect_eq "parzen on gauss1d (1 value per sample): exit 2" "$RC" 2
expect_has "parzen on gauss1d: message" "$ERR" 'each sample has 1 value(s); the parzen metric needs 784'
ev r8parzen "$T/ring8.npy" --metric parzen
expect_eq "parzen on 2-D .npy: exit 2" "$RC" 2
expect_has "parzen on 2-D .npy: message names the file" "$ERR" 'ring8.npy: each sample has 2 value(s)'
ev toomany "$T/ring8.npy" --metric modes --modes ring8 -n 3000
expect_eq "-n beyond the file's rows: exit 2" "$RC" 2
expect_has "-n beyond rows: message" "$ERR" 'holds only 2500 samples'

# ---- usage errors ------------------------------------------------------------------------------------
ev unknown_metric "$T/ring8" --metric fid
expect_eq "unknown metric: exit 2" "$RC" 2
expect_has "unknown metric: message" "$ERR" "metric fid: unknown metric (parzen | modes | fid-SET"
ev no_metric "$T/ring8"
expect_eq "missing --metric: exit 2" "$RC" 2
expect_has "missing --metric: message" "$ERR" 'missing --metric'
ev bad_opt "$T/ring8" --metric modes --frobnicate
expect_eq "unknown option: exit 2" "$RC" 2
expect_has "unknown option: message" "$ERR" "unknown option '--frobnicate'"
ev bad_n "$T/ring8" --metric modes -n zero
expect_eq "-n zero: exit 2" "$RC" 2
ev bad_modes "$T/ring8.npy" --metric modes --modes ring9
expect_eq "--modes ring9: exit 2" "$RC" 2
ev no_input --metric modes
expect_eq "no input: exit 2" "$RC" 2
ev help --help
expect_eq "eval --help: exit 0" "$RC" 0
expect_has "eval --help: protocol" "$OUT" 'logspace(-1, 0, 10)'
expect_has "ganforge --help lists eval" "$("$GF" --help)" 'eval RUN|NPY'

# ---- runtime errors: missing and bad files ----------------------------------------------------------
ev missing "$T/nope.npy" --metric modes --modes ring8
expect_eq "missing file: exit 1" "$RC" 1
expect_has "missing file: message names it" "$ERR" "nope.npy: no such run folder, generator/checkpoint file or .npy file"
printf 'hello, this is not numpy\n' >"$T/garbage.npy"
ev garbage "$T/garbage.npy" --metric modes --modes ring8
expect_eq "garbage .npy: exit 1" "$RC" 1
expect_has "garbage .npy: message" "$ERR" 'garbage.npy: not a .npy file'
head -c 1000 "$T/ring8.npy" >"$T/trunc.npy"
ev trunc "$T/trunc.npy" --metric modes --modes ring8
expect_eq "truncated .npy: exit 1" "$RC" 1
expect_has "truncated .npy: message" "$ERR" 'trunc.npy: truncated .npy file'
# float64 .npy: same header with '<f8'
sed '1s/<f4/<f8/' "$T/ring8.npy" >"$T/f8.npy"
ev f8 "$T/f8.npy" --metric modes --modes ring8
expect_eq "float64 .npy: exit 1" "$RC" 1
expect_has "float64 .npy: message" "$ERR" "f8.npy: .npy dtype is '<f8', expected little-endian float32"
mkdir -p "$T/empty_run"
ev emptyrun "$T/empty_run" --metric modes
expect_eq "run folder without generator: exit 1" "$RC" 1
expect_has "run folder without generator: message" "$ERR" 'empty_run/generator.safetensors'

# ---- classifier-space metrics (fid-/kid-/pr-/score-shapes) and train.eval_metric ---------------------
PNGTOOL="python3 ${GF_SRC:-$(dirname "$0")/..}/tests/runs_png.py"
# (the decaying rate settles the last epochs: at a constant rate the final accuracy of so small a
# run swings between 0.85 and 0.99 with the last bits of the convolutions' rounding)
timeout 300 "$GF" train classifier-shapes --out "$T/cls" --set data.n=2048 --set data.size=16 --set model.ndf=16 \
  --set train.batch=64 --set train.lr_decay=1.004 --epochs 6 --quiet
expect_eq "train a small classifier-shapes" "$?" 0
acc=$(tail -n 1 "$T/cls/accuracy.csv" | cut -d, -f2)
expect_eq "classifier-shapes test accuracy $acc >= 0.9" "$(awk -v a="$acc" 'BEGIN { print (a >= 0.9) ? "yes" : "no" }')" yes
timeout 300 "$GF" train mlp-shapes --out "$T/shapes" --set data.size=16 --set data.n=2048 --set model.g_hidden=64,64 \
  --set model.d_hidden=64,64 --epochs 2 --set train.eval_metric=fid-shapes --set train.eval_classifier="$T/cls" \
  --set train.eval_n=500 --quiet
expect_eq "train with train.eval_metric=fid-shapes: exit" "$?" 0
expect_eq "metrics.csv: header + 2 epochs" "$(wc -l <"$T/shapes/metrics.csv")" 3
expect_has "metrics.csv: fid column" "$(head -n 1 "$T/shapes/metrics.csv")" '^step,epoch,fid-shapes,n_samples,score'
expect_eq "best.safetensors kept" "$([ -s "$T/shapes/best.safetensors" ] && echo yes)" yes
expect_has "report draws the metric" "$(cat "$T/shapes/report.html")" 'Metric fid-shapes'
for m in fid kid pr score; do
  ev "${m}_run" "$T/shapes" --metric "$m-shapes" --classifier "$T/cls" -n 1000
  expect_eq "$m-shapes on a run: exit" "$RC" 0
done
expect_has "fid-shapes: machine line" "$(cat "$T/fid_run.out")" '^fid-shapes=[0-9.]* n_samples=1000 n_real=10000 source=run'
expect_has "fid-shapes: never called Inception" "$(cat "$T/fid_run.out")" 'not Inception FID'
expect_has "kid-shapes: machine line" "$(cat "$T/kid_run.out")" '^kid-shapes=-\?[0-9.]* kid-shapes_std=[0-9.]*'
expect_has "pr-shapes: machine line" "$(cat "$T/pr_run.out")" '^precision=[0-9.]* recall=[0-9.]* k=3'
expect_has "score-shapes: machine line" "$(cat "$T/score_run.out")" '^score-shapes=[0-9.]*'
timeout 60 "$GF" sample "$T/shapes" -n 1000 --seed 1 -o "$T/shapes.npy" >/dev/null
ev fid_npy "$T/shapes.npy" --metric fid-shapes --classifier "$T/cls"
expect_eq "fid-shapes: run and .npy of the same samples agree" "$(key "$(cat "$T/fid_run.out")")" "$(key "$OUT")"
$PNGTOOL tiles "$T/shapes.npy" "$T/shapes_png"
ev fid_png "$T/shapes_png" --metric fid-shapes --classifier "$T/cls"
expect_eq "fid-shapes on a folder of PNGs: exit" "$RC" 0
a=$(sed -n 's/^fid-shapes=\([0-9.]*\) .*/\1/p' "$T/fid_npy.out")
b=$(sed -n 's/^fid-shapes=\([0-9.]*\) .*/\1/p' "$T/fid_png.out")
expect_eq "fid-shapes of 8-bit PNGs within 5% of the float samples ($a vs $b)" \
  "$(awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; print (a != "" && d <= 0.05 * a + 1e-3) ? "yes" : "no" }')" yes
ev nocls "$T/shapes" --metric fid-shapes
expect_eq "fid without a classifier: exit 2" "$RC" 2
expect_has "fid without a classifier: says how" "$ERR" "ganforge train classifier-shapes"
ev wrongset "$T/shapes" --metric fid-mnist --classifier "$T/cls"
expect_eq "fid-mnist with a shapes classifier: exit 2" "$RC" 2
expect_has "wrong classifier: message" "$ERR" "trained on 'shapes'; fid-mnist needs one trained on 'mnist'"
ev wrongdim "$T/ring8.npy" --metric fid-shapes --classifier "$T/cls"
expect_eq "2-D samples for fid-shapes: exit 2" "$RC" 2
expect_has "wrong dimension: message" "$ERR" 'each sample has 2 values; fid-shapes needs 256'
ev notcls "$T/shapes" --metric fid-shapes --classifier "$T/shapes/generator.safetensors"
expect_eq "a generator as --classifier: exit 1" "$RC" 1
expect_has "a generator as --classifier: message" "$ERR" 'not a ganforge classifier'

# ---- parzen (needs MNIST) ---------------------------------------------------------------------------
if [ -f "$DATA/mnist/t10k-images-idx3-ubyte.gz" ] || [ -f "$DATA/mnist/t10k-images-idx3-ubyte" ]; then
  timeout 120 "$GF" train mlp-mnist --out "$T/mnist" --data "$DATA/mnist" --set data.download=0 \
    --set data.limit=500 --set model.g_hidden=32,64 --set model.d_hidden=64,32 --set train.max_steps=5 \
    --epochs 1 --quiet
  expect_eq "train tiny mlp-mnist" "$?" 0
  ev parzen_run "$T/mnist" --metric parzen --data "$DATA/mnist" -n 300 --verbose
  expect_eq "parzen on a run: exit" "$RC" 0
  expect_has "parzen: machine line" "$OUT" '^parzen_ll=-\?[0-9.]* parzen_se=[0-9.]* sigma=[0-9.]* n_samples=300 n_val=1000 n_test=10000 source=run'
  expect_has "parzen: tanh output mapped" "$OUT" 'mapped from \[-1,1\] to \[0,1\]'
  expect_has "parzen: protocol stated" "$OUT" 'first 1000 validation images, MNIST train\[50000:60000\]'
  expect_has "parzen: deviation stated" "$OUT" '300 samples (protocol: 10000)'
  expect_eq "parzen --verbose: 10 sigma lines" "$(grep -c '^parzen_val sigma=' <<<"$ERR")" 10
  expect_has "parzen --verbose: chosen sigma marked" "$ERR" '(chosen)'
  timeout 60 "$GF" sample "$T/mnist" -n 300 --seed 1 -o "$T/mnist.npy" >/dev/null
  ev parzen_npy "$T/mnist.npy" --metric parzen --data "$DATA/mnist" --range tanh
  expect_eq "parzen on .npy: exit" "$RC" 0
  expect_eq "parzen: run and .npy of the same samples agree" "$(key "$(cat "$T/parzen_run.out")")" "$(key "$OUT")"
  ev parzen_f32 "$T/mnist.npy" --metric parzen --data "$DATA/mnist" --range tanh --float32
  expect_eq "parzen --float32: exit" "$RC" 0
  a=$(sed -n 's/^parzen_ll=\([-0-9.]*\) .*/\1/p' "$T/parzen_npy.out")
  b=$(sed -n 's/^parzen_ll=\([-0-9.]*\) .*/\1/p' "$T/parzen_f32.out")
  expect_eq "parzen --float32 within 0.02 nats of double ($a vs $b)" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; print (a != "" && d <= 0.02) ? "yes" : "no" }')" yes
  ev parzen_unit "$T/mnist.npy" --metric parzen --data "$DATA/mnist" --range unit
  expect_eq "tanh samples declared [0,1]: exit 2" "$RC" 2
  expect_has "out-of-range values: message" "$ERR" 'mnist.npy: sample values span'
  ev parzen_nodata "$T/mnist.npy" --metric parzen --data "$T/no_such_dir"
  expect_eq "parzen with a missing --data folder: exit 1" "$RC" 1
else
  echo "skip: no MNIST in $DATA/mnist (parzen tests)"
fi

echo "test_eval: $((SECONDS - t_start)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
