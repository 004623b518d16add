#!/usr/bin/env bash
# test_compress.sh: `ganforge compress` end to end on a tiny inception teacher (32 px, ngf 8): bad
# budgets and teachers that cannot be compressed are one line each (exit 2, nothing written), the
# run folder is complete (the student meets the budget), translate / info work on the student,
# BtoA is refused, the inference API (gf_infer_example), the standalone C export (<= 1e-5) and the
# ONNX export (Conv with group = C, in onnxruntime when GF_PYTHON has it, <= 1e-4) reproduce
# translate on the student, and N steps + --resume to 2N steps give the 2N-step weights bit for bit; a
# teacher file or a checkpoint too small for the nets its stored config describes is refused before allocation.
set -u
gf=$1
T=${GF_TMP:-/tmp/ganforge-test}/compress
S=${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
D=${GF_TEST_DATA:-../shared/data}/horse2zebra
rm -rf "$T" && mkdir -p "$T"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if [ ! -d "$D/trainA" ]; then echo "skipped: $D not found"; echo "0 passed, 0 failed"; exit 0; fi
export OMP_NUM_THREADS=2
small=(--data "$D" --set data.load_size=36 --set data.crop_size=32 --set model.ngf=8 --set model.ndf=8
       --set model.n_blocks=3 --set data.limit=8 --quiet)
timeout 300 "$gf" train cat-teacher128 "${small[@]}" --set train.max_steps=3 --out "$T/teacher" 2> "$T/t.err" && ok ||
  bad "teacher: $(tail -2 "$T/t.err")"
timeout 300 "$gf" train cyclegan "${small[@]}" --set train.max_steps=1 --out "$T/resnet" 2> "$T/r.err" && ok ||
  bad "resnet run: $(tail -2 "$T/r.err")"
timeout 300 "$gf" train mlp-shapes --set train.max_steps=2 --set data.n=64 --set train.report=0 --quiet --out "$T/mlp" \
  2> "$T/m.err" && ok || bad "mlp run: $(tail -2 "$T/m.err")"

# one line and exit 2 each; no run folder left behind
refuse() { # what, expected text, args... (exit 2; EXIT=1 for a runtime error)
  local what=$1 want=$2; shift 2
  rm -rf "$T/bad"
  timeout 120 "$gf" compress "$@" --out "$T/bad" --quiet > "$T/bad.out" 2> "$T/bad.err"
  local rc=$?
  [ $rc = "${EXIT:-2}" ] && ok || bad "$what: exit $rc ($(cat "$T/bad.err"))"
  grep -q -- "$want" "$T/bad.err" && ok || bad "$what: message '$(head -1 "$T/bad.err")' lacks '$want'"
  [ "$(grep -c '^ganforge: error' "$T/bad.err")" = 1 ] && ok || bad "$what: not one error line: $(cat "$T/bad.err")"
  [ ! -e "$T/bad" ] && ok || bad "$what: left $T/bad behind"
}
refuse "budget above the teacher" "not below the teacher's" "$T/teacher" --macs 1G
refuse "budget below the smallest student" "below the smallest student" "$T/teacher" --macs 10K
refuse "a resnet teacher" "cannot be compressed" "$T/resnet" --macs 1M
refuse "an mlp teacher" "a mlp model cannot be compressed" "$T/mlp" --macs 1M
refuse "no budget" "missing --macs" "$T/teacher"
refuse "a bad budget" "is not a positive number" "$T/teacher" --macs 3X
refuse "batch of one" "at least 2" "$T/teacher" --macs 40% --batch 1
EXIT=1 refuse "no such teacher" "no such teacher" "$T/nothere" --macs 1M
# a weights file whose stored config does not match its tensors (RELIABILITY.md finding 14): the
# nets are planned and refused, naming the file, before anything is allocated
restyle() { # SRC DST ngf|widths: model.ngf = 4096 and no tensors (3 KB asking for ~10^10 weights), or student widths x 100
  python3 - "$@" <<'PY'
import json, re, struct, sys
src, dst, mode = sys.argv[1:4]
b = open(src, 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h, data = json.loads(b[8:8 + n]), b[8 + n:]
meta = h['__metadata__']
lines = meta['config'].split('\n')
if mode == 'ngf':
    lines = ['model.ngf = 4096' if ln.split(' = ')[0] == 'model.ngf' else ln for ln in lines]
    h, data = {'__metadata__': meta}, b''
else:
    lines = [re.sub(r'\d+', lambda m: str(int(m.group()) * 100), ln) if ln.split(' = ')[0] == 'model.g_channels' else ln
             for ln in lines]
meta['config'] = '\n'.join(lines)
hb = json.dumps(h).encode()
hb += b' ' * (-len(hb) % 8)
open(dst, 'wb').write(struct.pack('<Q', len(hb)) + hb + data)
PY
}
restyle "$T/teacher/cyclegan.safetensors" "$T/huge-teacher.safetensors" ngf
[ "$(stat -c %s "$T/huge-teacher.safetensors")" -lt 20000 ] && ok || bad "the crafted teacher is not small"
EXIT=1 refuse "a teacher file too small for its config" "huge-teacher.safetensors: its stored config describes a network G_A" \
  "$T/huge-teacher.safetensors" --data "$D" --macs 1M

# a run: 2 epochs of 2 steps (8 images, batch 4), the agreement on 3 test images
C=(--set train.checkpoint_every=3 --set compress.min_channels=4 --epochs 2 --quiet)
timeout 300 "$gf" compress "$T/teacher" --macs 35% --out "$T/a" "${C[@]}" 2> "$T/a.err" && ok || bad "compress: $(tail -2 "$T/a.err")"
for f in config.txt log.csv samples/epoch_001.png samples/epoch_002.png checkpoints/latest.safetensors cyclegan.safetensors \
         teacher.safetensors compress.txt report.html compare.png; do
  [ -s "$T/a/$f" ] && ok || bad "run folder lacks $f"
done
[ "$(wc -l < "$T/a/log.csv")" = 5 ] && ok || bad "log.csv: $(wc -l < "$T/a/log.csv") lines, 4 steps expected"
tm=$(sed -n 's/^teacher_macs_32px: \([0-9]*\).*/\1/p' "$T/a/compress.txt")
sm=$(sed -n 's/^student_macs_32px: \([0-9]*\).*/\1/p' "$T/a/compress.txt")
[ -n "$tm" ] && [ -n "$sm" ] && [ $((sm * 100)) -le $((tm * 35)) ] && [ "$sm" -gt 0 ] && ok || bad "student $sm MACs for 35% of $tm"
grep -q "^agreement_psnr_db: [0-9]" "$T/a/compress.txt" && grep -q "^agreement_images: 8 " "$T/a/compress.txt" && ok ||
  bad "no agreement figures: $(tail -3 "$T/a/compress.txt")"
ls "$D/testA" | head -2 | sed "s|^|$D/testA/|" > "$T/imgs"
timeout 120 "$gf" translate "$T/a" --direction AtoB $(cat "$T/imgs") -o "$T/tr" > "$T/tr.out" 2> "$T/tr.err" && ok ||
  bad "translate with the student: $(cat "$T/tr.err")"
[ "$(ls "$T/tr" 2>/dev/null | wc -l)" = 2 ] && ok || bad "translate wrote $(ls "$T/tr" 2>/dev/null | wc -l) images"
grep -q "ms per image in the generator" "$T/tr.err" && ok || bad "translate reports no timing: $(cat "$T/tr.err")"
timeout 120 "$gf" translate "$T/a" --direction BtoA $(cat "$T/imgs") -o "$T/tr2" > /dev/null 2> "$T/tr2.err"
[ $? = 2 ] && grep -q "translates AtoB only" "$T/tr2.err" && ok || bad "BtoA on a student: $(cat "$T/tr2.err")"
"$gf" info "$T/a" > "$T/info" 2>&1 && grep -q "compressed from" "$T/info" && grep -q "^G_A: [0-9]* parameters, .* multiply-adds" "$T/info" &&
  ! grep -q "^G_B" "$T/info" && ok || bad "info on the student: $(head -12 "$T/info")"
# the student (depth-wise convs, branch taps and sums) through the inference API and both exports
python3 "$S/tests/make_npy.py" "$T/img.npy" 1 3 3 32 32
python3 "$S/tests/make_npy.py" "$T/img2.npy" 2 2 3 64 32
PY=${GF_PYTHON:-}
if [ -n "$PY" ] && ! "$PY" -c "import onnxruntime, onnx, numpy" 2>/dev/null; then PY=""; fi
[ -n "$PY" ] || echo "note: GF_PYTHON with onnxruntime, onnx and numpy not set: the student's ONNX checks are skipped"
for k in "" 2; do
  timeout 120 "$gf" translate "$T/a" --direction AtoB "$T/img$k.npy" -o "$T/ref$k.npy" > /dev/null 2> "$T/trn.err" && ok ||
    bad "translate .npy: $(cat "$T/trn.err")"
  "$(dirname "$gf")/gf_infer_example" "$T/a" "$T/ex$k.npy" --translate "$T/img$k.npy" AtoB > /dev/null 2> "$T/ex.err" &&
    python3 "$S/tests/npy_maxdiff.py" "$T/ex$k.npy" "$T/ref$k.npy" 1e-5 "student: example$k" && ok ||
    bad "the inference API on the student$k: $(cat "$T/ex.err")"
done
if "$gf" export "$T/a" --format c -o "$T/a.c" > /dev/null 2> "$T/exc.err"; then
  ${CC:-cc} -std=c99 -O2 -Wall -Werror -I"$T/a.c" -o "$T/a.c/driver" "$S/tests/export_c_driver.c" "$T/a.c/gen.c"     "$T/a.c/gen_weights.c" -lm 2> "$T/a.c/cc.err" && "$T/a.c/driver" "$T/img.npy" "$T/ref.npy" 1e-5 && ok ||
    bad "the student's C export: $(head -3 "$T/a.c/cc.err")"
else bad "export c: $(cat "$T/exc.err")"; fi
if "$gf" export "$T/a" --format onnx -o "$T/a.onnx" > /dev/null 2> "$T/exo.err"; then
  if [ -n "$PY" ]; then
    "$PY" "$S/tests/onnx_check.py" "$T/a.onnx" "$T/img.npy" "$T/ref.npy" 1e-4 && ok || bad "the student's ONNX"
    "$PY" "$S/tests/onnx_check.py" "$T/a.onnx" "$T/img2.npy" "$T/ref2.npy" 1e-4 && ok || bad "the student's ONNX at 64x32"
    "$PY" -c "import onnx, sys; m = onnx.load(sys.argv[1]); sys.exit(0 if any(a.name == 'group' and a.i > 1 for n in m.graph.node if n.op_type == 'Conv' for a in n.attribute) else 1)" \
      "$T/a.onnx" && ok || bad "the student's ONNX has no grouped Conv"
  fi
else bad "export onnx: $(cat "$T/exo.err")"; fi
"$gf" export "$T/a" --direction BtoA --format onnx -o "$T/b.onnx" > /dev/null 2> "$T/exb.err"
[ $? = 2 ] && [ "$(wc -l < "$T/exb.err")" = 1 ] && grep -q "translates AtoB only" "$T/exb.err" && [ ! -e "$T/b.onnx" ] && ok ||
  bad "export BtoA of a student: $(cat "$T/exb.err")"
# resume: 3 steps (stopped inside epoch 1 after a checkpoint), then on to the 4 of the straight run
timeout 300 "$gf" compress "$T/teacher" --macs 35% --out "$T/b" "${C[@]}" --set train.max_steps=3 2> "$T/b.err" && ok ||
  bad "first part: $(tail -2 "$T/b.err")"
timeout 300 "$gf" compress --resume "$T/b" --set train.max_steps=0 --quiet 2> "$T/b2.err" && ok || bad "resume: $(tail -2 "$T/b2.err")"
cmp -s "$T/a/cyclegan.safetensors" "$T/b/cyclegan.safetensors" && ok || bad "resumed student differs from the straight run"
diff <(cut -d, -f1-14 "$T/a/log.csv") <(cut -d, -f1-14 "$T/b/log.csv") > /dev/null && ok || bad "resumed log differs"
# --resume with a checkpoint whose stored student is 100x wider than its tensors: refused naming the
# checkpoint, the run folder untouched
cp -r "$T/b" "$T/bh"
restyle "$T/b/checkpoints/latest.safetensors" "$T/bh/checkpoints/latest.safetensors" widths
(cd "$T/bh" && find . -type f | sort | xargs md5sum) > "$T/bh.before"
timeout 120 "$gf" compress --resume "$T/bh" --set train.max_steps=0 --quiet > /dev/null 2> "$T/bh.err"
[ $? = 1 ] && [ "$(wc -l < "$T/bh.err")" = 1 ] &&
  grep -q "bh/checkpoints/latest.safetensors: its stored config describes a network G_A" "$T/bh.err" && ok ||
  bad "resume with a student too wide for its checkpoint: $(cat "$T/bh.err")"
diff "$T/bh.before" <(cd "$T/bh" && find . -type f | sort | xargs md5sum) > /dev/null && ok || bad "the refused resume changed $T/bh"
timeout 60 "$gf" train --resume "$T/b" --quiet > /dev/null 2> "$T/tr3.err"
[ $? != 0 ] && grep -q "compress --resume" "$T/tr3.err" && ok || bad "train --resume on a compress run: $(cat "$T/tr3.err")"
# the from-scratch variant (CAT's code re-initialises the pruned convolutions) runs too
timeout 300 "$gf" compress "$T/teacher" --macs 35% --out "$T/s" "${C[@]}" --set compress.init=scratch --set train.max_steps=1 \
  2> "$T/s.err" && grep -q "^init: scratch" "$T/s/compress.txt" && ok || bad "scratch: $(tail -2 "$T/s.err")"
# a pix2pix teacher (paired A|B images made here): the discriminator sees (input, output) pairs and
# the L1 goes to the target
python3 - "$T/paired/train" <<'PY'
import os, struct, sys, zlib
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
def png(path, w, h, px):
    raw = b''.join(b'\x00' + bytes(px[y * w * 3:(y + 1) * w * 3]) for y in range(h))
    def chunk(k, b): return struct.pack('>I', len(b)) + k + b + struct.pack('>I', zlib.crc32(k + b))
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
                           chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
for i in range(8):
    S = 36; px = []
    for y in range(S):
        row_a = [((x * 7 + y * 3 + i * 40) % 256, (x * y + i * 9) % 256, (y * 11 + i) % 256) for x in range(S)]
        row = row_a + [(255 - r, 255 - g, 255 - b) for r, g, b in row_a]
        px += [c for p in row for c in p]
    png(os.path.join(d, f'{i}.png'), 2 * S, S, px)
PY
timeout 300 "$gf" train pix2pix --data "$T/paired" --set data.load_size=36 --set data.crop_size=32 --set model.ngf=8 \
  --set model.ndf=8 --set model.netG=resnet_9blocks --set model.n_blocks=3 --set model.g_block=inception --quiet \
  --set train.max_steps=2 --out "$T/p2p" 2> "$T/p.err" && ok || bad "pix2pix teacher: $(tail -2 "$T/p.err")"
timeout 300 "$gf" compress "$T/p2p" --macs 35% --out "$T/pc" --epochs 2 --set compress.min_channels=4 --quiet 2> "$T/pc.err" &&
  [ -s "$T/pc/pix2pix.safetensors" ] && [ "$(wc -l < "$T/pc/log.csv")" = 5 ] && ok || bad "pix2pix compress: $(tail -2 "$T/pc.err")"
timeout 120 "$gf" translate "$T/pc" --direction AtoB "$T/paired/train/0.png" -o "$T/ptr" > /dev/null 2> "$T/ptr.err" &&
  [ -s "$T/ptr/0.png" ] && ok || bad "translate with the pix2pix student: $(cat "$T/ptr.err")"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
