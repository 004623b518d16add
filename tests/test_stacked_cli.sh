#!/usr/bin/env bash
# test_stacked_cli.sh: Stacked MNIST and PacGAN packing from the command line: the
# pacdcgan2-stacked-mnist preset trains (full 60,000-sample set, 3 steps) from the MNIST folder
# given with --data and from $GANFORGE_DATA, writes an RGB sample grid and a checkpoint whose D takes
# 6 channels, resumes, and samples; dcgan-stacked-mnist trains; a batch not divisible by
# model.pack and a missing MNIST folder fail with a message.
set -u
gf="$1"
tmp="${GF_TMP:-/tmp}/stacked_cli"
rm -rf "$tmp"; mkdir -p "$tmp"
mnist="${GF_TEST_DATA:-}/mnist"
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
export OMP_NUM_THREADS=2
# the PNG colour type (byte 25 of the file): 2 = RGB, 0 = grey
png_type() { od -An -tu1 -j25 -N1 "$1" | tr -d ' '; }

t0=$SECONDS
"$gf" train pacdcgan2-stacked-mnist --set train.max_steps=3 --data "$mnist" --out "$tmp/pac" --quiet \
  && [ -s "$tmp/pac/samples/epoch_001.png" ] && [ -s "$tmp/pac/checkpoints/latest.safetensors" ] \
  && ok "pacdcgan2-stacked-mnist, 3 steps ($((SECONDS - t0)) s)" || bad "pacdcgan2-stacked-mnist"
[ "$(png_type "$tmp/pac/samples/epoch_001.png")" = 2 ] && ok "sample grid is RGB" || bad "sample grid is not RGB"
[ "$(grep -c . "$tmp/pac/log.csv")" = 4 ] && ok "3 log rows" || bad "log: $(cat "$tmp/pac/log.csv")"
info=$("$gf" info "$tmp/pac" 2>&1)
echo "$info" | grep -q "data stacked-mnist (3x28x28)" && echo "$info" | grep -q "D.net.0 *Conv2d(6 -> 64" \
  && echo "$info" | grep -q "model.pack = 2" && ok "info: 3x28x28 data, D takes 2 x 3 channels" || bad "info: $info"

# resume the packed run for two more steps, then sample from it
"$gf" train --resume "$tmp/pac" --set train.max_steps=5 --quiet && [ "$(grep -c . "$tmp/pac/log.csv")" = 6 ] \
  && ok "resume packed run" || bad "resume packed run: $(cat "$tmp/pac/log.csv")"
"$gf" sample "$tmp/pac" -n 16 -o "$tmp/pac/s.png" >/dev/null && [ "$(png_type "$tmp/pac/s.png")" = 2 ] \
  && ok "sample RGB" || bad "sample"

# found through $GANFORGE_DATA/mnist as well (no --data), the unpacked preset, a smaller set
GANFORGE_DATA="${GF_TEST_DATA:-}" "$gf" train dcgan-stacked-mnist --set data.n=640 --set train.max_steps=2 \
  --set model.ngf=8 --set model.ndf=8 --set train.grid=4 --set train.nrow=2 --out "$tmp/dc" --quiet \
  && [ "$(png_type "$tmp/dc/samples/epoch_001.png")" = 2 ] && ok "dcgan-stacked-mnist via GANFORGE_DATA" \
  || bad "dcgan-stacked-mnist via GANFORGE_DATA"

# errors name the problem
msg=$("$gf" train pacdcgan2-stacked-mnist --batch 63 --data "$mnist" --out "$tmp/x" 2>&1); rc=$?
[ $rc = 2 ] && echo "$msg" | grep -q "model.pack" && echo "$msg" | grep -q "divisible" \
  && ok "batch 63 with pack 2: exit 2, '$msg'" || bad "batch 63 with pack 2: rc $rc: $msg"
mkdir -p "$tmp/empty"
msg=$(GANFORGE_DATA="$tmp/empty" GANFORGE_CACHE="$tmp/empty" "$gf" train dcgan-stacked-mnist --set data.download=0 \
  --out "$tmp/y" 2>&1); rc=$?
[ $rc != 0 ] && echo "$msg" | grep -q "mnist" && ok "missing MNIST: '$msg'" || bad "missing MNIST: rc $rc: $msg"
exit $fail
