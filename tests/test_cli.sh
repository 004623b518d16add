#!/usr/bin/env bash
# test_cli.sh: the `ganforge` command line as a user runs it: help, presets, a tiny training run,
# sample / interpolate outputs (PNG size, .npy layout), and every bad input with its exit code
# (2: usage, 1: runtime) and the message on stderr.
# usage: bash tests/test_cli.sh /path/to/ganforge   (env: GF_TEST_DATA, GF_TMP)
set -u
G=${1:?usage: test_cli.sh /path/to/ganforge}
case "$G" in /*) ;; *) G="$PWD/$G" ;; esac
DATA=${GF_TEST_DATA:-$(dirname "$0")/../../shared/data}
DATA=$(cd "$DATA" 2>/dev/null && pwd || echo "$DATA")
T=${GF_TMP:-/tmp/ganforge-test}/cli
rm -rf "$T" && mkdir -p "$T" || exit 2
# keep every lookup inside the scratch folder: no user cache, no download
export GANFORGE_CACHE="$T/cache"
unset GANFORGE_DATA XDG_CACHE_HOME GANFORGE_MIRROR
cd "$T" || exit 2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1; shift
  if "$@"; then ok; else bad "$what"; fi
}

# run RC PATTERN ARGS...: runs ganforge ARGS (timeout 120 s), expects exit code RC and, when PATTERN
# is not empty, an stderr line matching PATTERN (grep -E). stdout/stderr are kept in $T/out, $T/err.
run() {
  local want=$1 pat=$2; shift 2
  timeout 120 "$G" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" != "$want" ]; then
    bad "ganforge $* -> exit $rc, expected $want; stderr: $(head -c 600 "$T/err")"
    return 1
  fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/err"; then
    bad "ganforge $* -> stderr does not match /$pat/: $(head -c 600 "$T/err")"
    return 1
  fi
  ok
  return 0
}

# png_size FILE: prints "W H" from the IHDR chunk (after checking the signature).
png_size() {
  local sig
  sig=$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n')
  [ "$sig" = "89504e470d0a1a0a" ] || { echo "notpng"; return; }
  od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%d %d\n", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }'
}
# png_ok FILE W H: the file is a PNG of W x H that decodes (python3 + zlib when available).
png_ok() {
  local f=$1 w=$2 h=$3 got
  got=$(png_size "$f")
  if [ "$got" != "$w $h" ]; then bad "$f: size '$got', expected '$w $h'"; return; fi
  ok
  if command -v python3 >/dev/null 2>&1; then
    if python3 - "$f" "$w" "$h" <<'EOF'
import struct, sys, zlib
f, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = open(f, 'rb').read()
pos, idat, ihdr, end = 8, b'', None, False
while pos < len(b):
    n, t = struct.unpack('>I4s', b[pos:pos + 8])
    data = b[pos + 8:pos + 8 + n]
    if zlib.crc32(t + data) & 0xffffffff != struct.unpack('>I', b[pos + 8 + n:pos + 12 + n])[0]:
        sys.exit('bad CRC in ' + t.decode())
    if t == b'IHDR': ihdr = struct.unpack('>IIBBBBB', data)
    elif t == b'IDAT': idat += data
    elif t == b'IEND': end = True
    pos += 12 + n
assert ihdr and end, 'no IHDR/IEND'
W, H, depth, ctype = ihdr[:4]
assert (W, H, depth) == (w, h, 8), ihdr
ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
raw = zlib.decompress(idat)
assert len(raw) == H * (1 + W * ch), (len(raw), H, W, ch)
EOF
    then ok; else bad "$f does not decode"; fi
  fi
}
# npy_ok FILE SHAPE: a float32 .npy v1 file of that shape, e.g. "(16, 1, 28, 28)", with all its data.
npy_ok() {
  local f=$1 shape=$2
  local magic hl hdr size count
  magic=$(od -An -tx1 -N8 "$f" 2>/dev/null | tr -d ' \n')
  if [ "$magic" != "934e554d50590100" ]; then bad "$f: not an .npy v1.0 file ($magic)"; return; fi
  hl=$(od -An -tu2 -j8 -N2 --endian=little "$f" | tr -d ' ')
  hdr=$(dd if="$f" bs=1 skip=10 count="$hl" 2>/dev/null)
  case "$hdr" in *"'descr': '<f4'"*"'shape': $shape"*) ok ;; *) bad "$f: header '$hdr', expected shape $shape"; return ;; esac
  count=$(echo "$shape" | tr -d '() ' | tr ',' '\n' | awk 'NF { p = p ? p * $1 : $1 } END { print p }')
  size=$(stat -c %s "$f")
  if [ "$size" = $((10 + hl + 4 * count)) ] && [ $(((10 + hl) % 64)) = 0 ]; then ok; else bad "$f: $size bytes, header $hl, $count floats"; fi
}
# no_generator DIR: a failed run left no generator.safetensors behind.
no_generator() {
  if [ -e "$1/generator.safetensors" ]; then bad "failed run left $1/generator.safetensors"; else ok; fi
}

echo "== help, version, presets"
run 0 "" --help && check "--help lists the commands" grep -q "train \[PRESET\]" "$T/out"
run 0 "" train --help && check "train --help names --set" grep -q -- "--set KEY=VALUE" "$T/out"
run 0 "" sample --help && check "sample --help" grep -q "usage: ganforge sample" "$T/out"
run 0 "" interpolate --help && check "interpolate --help" grep -q "usage: ganforge interpolate" "$T/out"
run 0 "" train --help-keys && check "--help-keys lists train.lr" grep -q "^train.lr " "$T/out"
run 0 "" version && check "version" grep -q "^ganforge [0-9]" "$T/out" && check "version names the backend" grep -q "^cpu: convolutions by " "$T/out"
run 2 "usage: ganforge COMMAND"
if run 0 "" presets; then
  check "presets: one line each, at least 12" [ "$(grep -c . "$T/out")" -ge 12 ]
  for p in mlp-shapes mlp-mnist goodfellow-mnist digits gauss1d ring8 grid25 dcgan-mnist dcgan-cifar10 dcgan64 \
    dcgan-faces dcgan-shapes; do
    check "presets lists $p" grep -q "^$p " "$T/out"
  done
fi

echo "== usage errors (exit 2)"
run 2 "unknown command 'bogus'" bogus
run 2 "unknown preset 'nopreset'" train nopreset
run 2 "unknown option '--bogus'" train gauss1d --bogus
run 2 "unknown config key 'train\.bogus'" train gauss1d --set train.bogus=1
run 2 "unknown config key 'lr'" train gauss1d --set lr=1e-3
run 2 "not of the form" train gauss1d --set train.lr
run 2 "--batch 'abc' is not an integer" train gauss1d --batch abc
run 2 "--epochs '1\.5' is not an integer" train gauss1d --epochs 1.5
run 2 "--batch.*train\.batch.*between 1 and" train gauss1d --batch 0
run 2 "--epochs.*train\.epochs.*0 or positive" train gauss1d --epochs -1
run 2 "train\.lr.*positive" train gauss1d --set train.lr=-1
run 2 "train\.lr.*'abc' is not a finite number" train gauss1d --set train.lr=abc
run 2 "train\.batch.*'x' is not an integer" train gauss1d --set train.batch=x
run 2 "data\.name.*'nosuch' is not one of" train gauss1d --set data.name=nosuch
run 2 "--batch needs a value" train gauss1d --batch
run 1 "nonexistent\.cfg: cannot open config file" train gauss1d --config "$T/nonexistent.cfg"
run 2 "missing RUN" sample
run 2 "unknown option '--bogus'" sample "$T/x" --bogus
run 2 "-n needs an integer" sample "$T/x" -n 0
run 2 "--steps needs an integer" interpolate "$T/x" --steps 1
# nothing was trained by any of these (the default --out is runs/PRESET under the working folder)
check "usage errors wrote no run folder" [ ! -e "$T/runs" ]

echo "== a preset's own settings validate (gauss1d with 0 epochs: init weights only)"
run 0 "" train gauss1d --epochs 0 --quiet --out "$T/g0"

echo "== tiny training runs"
if run 0 "" train mlp-shapes --epochs 1 --set data.n=512 --set train.max_steps=5 --out "$T/shapes" --quiet; then
  check "shapes run has generator.safetensors" [ -s "$T/shapes/generator.safetensors" ]
  check "shapes run has config.txt" [ -s "$T/shapes/config.txt" ]
  check "shapes run log has 5 rows" [ "$(grep -c '^[0-9]' "$T/shapes/log.csv")" = 5 ]
fi
# progress output (not --quiet, stderr not a tty: plain lines)
if run 0 "epoch 1/1 step 5/5" train gauss1d --epochs 1 --set data.n=1024 --set train.max_steps=5 \
  --set train.grid=200 --out "$T/g1"; then
  check "gauss1d run has generator.safetensors" [ -s "$T/g1/generator.safetensors" ]
fi

echo "== sample / interpolate"
# 16 samples, 4 per row, 28x28, pad 2: 4 * (28 + 2) + 2 = 122
run 0 "" sample "$T/shapes" -n 16 --nrow 4 -o "$T/s16.png" && png_ok "$T/s16.png" 122 122
check "sample prints the file name" grep -qx "$T/s16.png" "$T/out"
# zoom 2: 4 * (56 + 2) + 2 = 234; 10 samples with 4 per row: 3 rows
run 0 "" sample "$T/shapes" -n 10 --nrow 4 --upscale 2 -o "$T/s10.png" && png_ok "$T/s10.png" 234 176
# same seed: the same file; the generator file path works as well as the folder
run 0 "" sample "$T/shapes/generator.safetensors" -n 16 --nrow 4 -o "$T/s16b.png"
check "same seed gives the same PNG" cmp -s "$T/s16.png" "$T/s16b.png"
run 0 "" sample "$T/shapes" -n 16 --nrow 4 --seed 2 -o "$T/s16c.png"
differ() { ! cmp -s "$1" "$2"; }
check "another seed gives another PNG" differ "$T/s16.png" "$T/s16c.png"
# interpolate: 3 rows of 5 steps: 5 * 30 + 2 = 152 wide, 3 * 30 + 2 = 92 high
run 0 "" interpolate "$T/shapes" --rows 3 --steps 5 -o "$T/interp.png" && png_ok "$T/interp.png" 152 92
run 0 "" sample "$T/shapes" -n 16 -o "$T/s.npy" && npy_ok "$T/s.npy" "(16, 1, 28, 28)"
run 0 "" sample "$T/g1" -n 100 -o "$T/g.npy" && npy_ok "$T/g.npy" "(100, 1, 1, 1)"
run 0 "" sample "$T/g1" -n 500 -o "$T/g.png" && check "gauss1d histogram is a PNG" [ "$(png_size "$T/g.png")" != notpng ]

echo "== bench --profile: the timed line, then a row per layer of G and D"
if run 0 "" bench dcgan-mnist --batch 4 --steps 1 --warmup 0 --profile; then
  grep -q "^preset=dcgan-mnist device=cpu batch=4 ms_per_step=" "$T/out" && grep -q "^profile of dcgan-mnist on cpu, batch 4" "$T/out" &&
    grep -q "^G\.net\.3  .*ConvTranspose2d(256 -> 128" "$T/out" && grep -q "^D\.net\.2  .*Conv2d(64 -> 128" "$T/out" &&
    grep -q "^the step, profiled  " "$T/out" && ok || bad "bench --profile output: $(head -c 900 "$T/out")"
fi

echo "== runtime errors (exit 1)"
run 1 "$T/none: no such run folder" sample "$T/none" -o "$T/none.png"
check "no output for a missing run" [ ! -e "$T/none.png" ]
run 1 "$T/none: no such run folder" interpolate "$T/none" -o "$T/none.png"
# corrupt generator: truncated to half, then garbage
mkdir -p "$T/corrupt"
head -c $(($(stat -c %s "$T/shapes/generator.safetensors") / 2)) "$T/shapes/generator.safetensors" >"$T/corrupt/generator.safetensors"
run 1 "$T/corrupt/generator.safetensors" sample "$T/corrupt" -o "$T/c.png"
printf 'not a safetensors file at all' >"$T/corrupt/generator.safetensors"
run 1 "$T/corrupt/generator.safetensors" sample "$T/corrupt" -o "$T/c.png"
run 1 "$T/corrupt/generator.safetensors" interpolate "$T/corrupt" -o "$T/c.png"
check "no output for a corrupt generator" [ ! -e "$T/c.png" ]
# output file names
run 2 "must end in \.png or \.npy" sample "$T/shapes" -o "$T/x.txt"
check "no file for a bad extension" [ ! -e "$T/x.txt" ]
run 2 "must end in \.npy" sample "$T/shapes" --npy "$T/x.png"
run 1 "/proc/x" sample "$T/shapes" -o /proc/x/s.png
run 1 "$T/nodir/s.png" sample "$T/shapes" -o "$T/nodir/s.png"
# unwritable run folders
run 1 "/proc/x" train gauss1d --epochs 1 --set data.n=1024 --set train.grid=200 --out /proc/x --quiet
touch "$T/afile"
run 1 "$T/afile" train gauss1d --epochs 1 --set data.n=1024 --set train.grid=200 --out "$T/afile" --quiet
# MNIST: missing, truncated, corrupt (download disabled: nothing leaves this machine)
M="$DATA/mnist"
run 1 "mnist.*(--data|data fetch)" train mlp-mnist --set data.download=0 --out "$T/r_missing" --quiet
check "missing-data message names the files" grep -q "train-images-idx3-ubyte" "$T/err"
check "missing-data hint says how to provide them" grep -q "pass --data DIR" "$T/err"
no_generator "$T/r_missing"
run 1 "$T/nonexistent" train mlp-mnist --data "$T/nonexistent" --set data.download=0 --out "$T/r_ne" --quiet
no_generator "$T/r_ne"
mkdir -p "$T/empty"
run 1 "$T/empty.*train-images-idx3-ubyte" train mlp-mnist --data "$T/empty" --set data.download=0 --out "$T/r_empty" --quiet
no_generator "$T/r_empty"
if [ -s "$M/train-images-idx3-ubyte.gz" ]; then
  mkdir -p "$T/trunc" "$T/gztrunc" "$T/gzbad"
  for d in trunc gztrunc gzbad; do cp "$M"/train-labels-idx1-ubyte.gz "$M"/t10k-*.gz "$T/$d/"; done
  # plain IDX file cut short
  gzip -dc "$M/train-images-idx3-ubyte.gz" | head -c 100000 >"$T/trunc/train-images-idx3-ubyte"
  run 1 "$T/trunc/train-images-idx3-ubyte.*truncated" train mlp-mnist --data "$T/trunc" --set data.download=0 \
    --out "$T/r_trunc" --quiet
  no_generator "$T/r_trunc"
  # gzip stream cut short
  head -c 5000 "$M/train-images-idx3-ubyte.gz" >"$T/gztrunc/train-images-idx3-ubyte.gz"
  run 1 "$T/gztrunc/train-images-idx3-ubyte\.gz.*truncated" train mlp-mnist --data "$T/gztrunc" \
    --set data.download=0 --out "$T/r_gztrunc" --quiet
  no_generator "$T/r_gztrunc"
  # corrupt deflate data after a valid gzip header
  { head -c 10 "$M/train-images-idx3-ubyte.gz"; head -c 20000 /dev/zero | tr '\0' '\377'; } >"$T/gzbad/train-images-idx3-ubyte.gz"
  run 1 "$T/gzbad/train-images-idx3-ubyte\.gz" train mlp-mnist --data "$T/gzbad" --set data.download=0 \
    --out "$T/r_gzbad" --quiet
  no_generator "$T/r_gzbad"
else
  bad "$M/train-images-idx3-ubyte.gz missing: set GF_TEST_DATA"
fi

echo "== a run that diverges at its first step leaves no trained-looking generator"
# plain SGD at lr 1000 on both nets diverges within a few steps, before any weights are saved
run 1 "loss_[DG] is -?nan" train gauss1d --epochs 1 --set data.n=1024 --set train.grid=200 --set train.optimizer=sgd \
  --set train.lr=1000 --out "$T/r_nan0" --quiet
run 2 "train.lr" train gauss1d --set train.lr=1e30 --out "$T/r_nan1" --quiet
if [ -e "$T/r_nan0/generator.safetensors" ]; then
  bad "diverged before any generator step, yet $T/r_nan0/generator.safetensors exists (untrained init weights) and the message says: $(head -c 300 "$T/err")"
else
  ok
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
