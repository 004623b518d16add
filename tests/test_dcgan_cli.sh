#!/usr/bin/env bash
# test_dcgan_cli.sh: the DCGAN presets train end to end on tiny settings (built-in shapes, an image
# folder, a CIFAR-10 batch file) and write their sample grids; bad settings fail with a message.
set -u
gf="$1"
tmp="${GF_TMP:-/tmp}/dcgan_cli"
rm -rf "$tmp"; mkdir -p "$tmp"
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
small="--set model.ngf=4 --set model.ndf=4 --set model.nz=8 --set train.grid=4 --set train.nrow=2 --quiet"
export OMP_NUM_THREADS=1

"$gf" train dcgan-shapes --epochs 1 --batch 8 --set data.n=32 --set data.size=16 --set model.size=16 $small \
  --out "$tmp/shapes" && [ -s "$tmp/shapes/samples/epoch_001.png" ] && ok shapes || bad "dcgan-shapes"

# stop + resume gives the same weights as one run (prefetched batches and flips included)
rs="--set data.n=64 --set data.size=16 --set model.size=16 --set data.flip=1 --batch 8 $small"
"$gf" train dcgan-shapes --epochs 3 $rs --out "$tmp/ra" \
  && "$gf" train dcgan-shapes --epochs 3 $rs --set train.max_steps=13 --out "$tmp/rb" \
  && "$gf" train --resume "$tmp/rb" --set train.max_steps=0 --quiet \
  && cmp -s "$tmp/ra/generator.safetensors" "$tmp/rb/generator.safetensors" && ok "resume identical" || bad "resume differs"

# an image folder: grey PGM faces (subject s1) into an RGB 16x16 model, flips on
faces="${GF_TEST_DATA:-}/faces/orl_faces/s1"
if [ -d "$faces" ]; then
  "$gf" train dcgan64 --data "$faces" --epochs 2 --batch 4 --set model.size=16 --set data.flip=1 $small \
    --out "$tmp/folder" && [ -s "$tmp/folder/samples/epoch_002.png" ] && ok folder || bad "dcgan64 on a folder"
  "$gf" sample "$tmp/folder" -n 4 -o "$tmp/folder/s.png" >/dev/null && [ -s "$tmp/folder/s.png" ] && ok sample || bad sample
fi

# a CIFAR-10 batch file of 16 records
python3 -c "
import sys, random
random.seed(1)
with open(sys.argv[1], 'wb') as f:
    for i in range(16): f.write(bytes([i % 10]) + bytes(random.randrange(256) for _ in range(3072)))
" "$tmp/data_batch_1.bin"
"$gf" train dcgan-cifar10 --data "$tmp/data_batch_1.bin" --epochs 1 --batch 8 $small --out "$tmp/cifar" \
  && [ -s "$tmp/cifar/samples/epoch_001.png" ] && ok cifar || bad "dcgan-cifar10 on a batch file"

# errors name the problem
head -c 5000 "$tmp/data_batch_1.bin" > "$tmp/trunc.bin"
msg=$("$gf" train dcgan-cifar10 --data "$tmp/trunc.bin" --epochs 1 --batch 8 $small --out "$tmp/x" 2>&1)
echo "$msg" | grep -q "not a whole number of 3073-byte" && ok "truncated cifar message" || bad "truncated cifar: $msg"
msg=$("$gf" train dcgan64 --epochs 1 $small --out "$tmp/y" 2>&1)
echo "$msg" | grep -q "needs the image folder" && ok "folder without path" || bad "folder without path: $msg"
msg=$("$gf" train dcgan-mnist --set model.size=30 --out "$tmp/z" 2>&1)
echo "$msg" | grep -q "model.size" && ok "bad dcgan size" || bad "bad size: $msg"

# a stored config with a bad model.size (RELIABILITY.md finding 15) is refused when its file is
# opened, in one line naming the file and the key: sample, the inference API, resume; info says so
size4() { # SRC DST: the file with its stored config's model.size = 4
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h['__metadata__']
meta['config'] = '\n'.join('model.size = 4' if ln.split(' = ')[0] == 'model.size' else ln for ln in meta['config'].split('\n'))
hb = json.dumps(h).encode()
hb += b' ' * (-len(hb) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(hb)) + hb + b[8 + n:])
PY
}
key="bad config in [a-z]*: config key 'model.size': size must be 28 or a power of two from 16 to 256 for model.arch=dcgan"
refused() { # LABEL STATUS FILE command...: exit STATUS, one error line naming FILE and the key
  local label=$1 want=$2 file=$3; shift 3
  "$@" > /dev/null 2> "$tmp/size4.err"; local rc=$?
  [ $rc = "$want" ] && [ "$(grep -c 'error: ' "$tmp/size4.err")" = 1 ] && grep -q -- "$file: $key" "$tmp/size4.err" \
    && ok "$label refused: $(head -1 "$tmp/size4.err")" || bad "$label: exit $rc: $(cat "$tmp/size4.err")"
}
size4 "$tmp/shapes/generator.safetensors" "$tmp/size4.safetensors"
refused "sample, model.size 4" 1 "$tmp/size4.safetensors" "$gf" sample "$tmp/size4.safetensors" -n 2 -o "$tmp/size4.png"
[ ! -e "$tmp/size4.png" ] && ok "nothing sampled" || bad "size4.png written"
refused "inference API, model.size 4" 1 "$tmp/size4.safetensors" \
  "$(dirname "$gf")/gf_infer_example" "$tmp/size4.safetensors" "$tmp/size4.npy" 2
"$gf" info "$tmp/size4.safetensors" > "$tmp/size4.info" 2>&1 && grep -q "architecture: not described ($key)" "$tmp/size4.info" \
  && grep -q "^  model.size = 4$" "$tmp/size4.info" && ok "info describes the file, not its networks" \
  || bad "info on model.size 4: $(cat "$tmp/size4.info")"
cp -r "$tmp/rb" "$tmp/rb4" && size4 "$tmp/rb/checkpoints/latest.safetensors" "$tmp/rb4/checkpoints/latest.safetensors"
refused "resume, model.size 4" 1 "$tmp/rb4/checkpoints/latest.safetensors" "$gf" train --resume "$tmp/rb4" --quiet
exit $fail
