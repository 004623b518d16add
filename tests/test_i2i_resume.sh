#!/usr/bin/env bash
# test_i2i_resume.sh: CycleGAN runs resume exactly: N steps + --resume to 2N steps gives the same
# weights, bit for bit, as 2N straight steps (image pools, RNG streams, Adam moments restored); and
# train.optimizer (Adam, SGD, RMSprop) is honoured.
set -u
gf=$1
cmpp="$(dirname "$gf")/gf_compare_params"
T=${GF_TMP:-/tmp/ganforge-test}/i2i_resume
D=${GF_TEST_DATA:-../shared/data}/horse2zebra
rm -rf "$T" && mkdir -p "$T"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if [ ! -d "$D/trainA" ]; then echo "skipped: $D not found"; echo "0 passed, 0 failed"; exit 0; fi
C=(--data "$D" --set data.load_size=36 --set data.crop_size=32 --set model.ngf=8 --set model.ndf=8
   --set model.n_blocks=2 --set data.limit=12 --set train.n_epochs=2 --set train.n_epochs_decay=1
   --set train.checkpoint_every=5 --quiet)
timeout 300 "$gf" train cyclegan "${C[@]}" --set train.max_steps=30 --out "$T/a" 2> "$T/a.err" && ok || bad "straight run: $(tail -2 "$T/a.err")"
timeout 300 "$gf" train cyclegan "${C[@]}" --set train.max_steps=17 --out "$T/b" 2> "$T/b.err" && ok || bad "first half: $(tail -2 "$T/b.err")"
[ -f "$T/b/checkpoints/latest.safetensors" ] && ok || bad "no checkpoint after a stop inside epoch 2"
timeout 300 "$gf" train --resume "$T/b" --set train.max_steps=30 --quiet 2> "$T/r.err" && ok || bad "resume: $(tail -2 "$T/r.err")"
cmp -s "$T/a/cyclegan.safetensors" "$T/b/cyclegan.safetensors" && ok || bad "resumed weights differ from the straight run"
diff <(cut -d, -f1-12 "$T/a/log.csv") <(cut -d, -f1-12 "$T/b/log.csv") > /dev/null && ok || bad "resumed log differs"
"$gf" info "$T/b/checkpoints/latest.safetensors" > "$T/info" 2>&1 && grep -q "G_A" "$T/info" && ok || bad "info on a cyclegan checkpoint: $(head -3 "$T/info")"
# train.optimizer reaches the image-to-image models (it was once silently Adam whatever it said):
# one step each with Adam, SGD and RMSprop from the same seed gives three different generators
for o in adam sgd rmsprop; do
  timeout 300 "$gf" train cyclegan "${C[@]}" --set train.max_steps=1 --set train.optimizer=$o --out "$T/o_$o" 2> "$T/o_$o.err" ||
    bad "train.optimizer=$o: $(tail -2 "$T/o_$o.err")"
done
# (the tensors compared, at atol 0 rtol 0: the files' metadata name the optimizer anyway)
differ() { ! "$cmpp" "$T/o_$1/cyclegan.safetensors" "$T/o_$2/cyclegan.safetensors" --atol 0 --rtol 0 > /dev/null 2>&1; }
if [ -x "$cmpp" ]; then
  differ adam sgd && ok || bad "train.optimizer=sgd trained as Adam"
  differ adam rmsprop && ok || bad "train.optimizer=rmsprop trained as Adam"
  differ sgd rmsprop && ok || bad "train.optimizer=rmsprop trained as SGD"
else
  bad "no $cmpp (built with ganforge)"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
