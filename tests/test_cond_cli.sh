#!/usr/bin/env bash
# test_cond_cli.sh: conditional GANs and DiffAugment from the command line, on tiny settings: a
# projection cDCGAN on the built-in shapes (3 classes) with train.eval_metric=cacc-shapes, its class
# grid, `sample --class` (and its bad values: exit 2, one line), `export` with the class-label input,
# `eval --metric cacc-shapes` on the run and on its .npy, ACGAN and label-as-channels models, a cGAN
# on ring8, labels from an image folder with one subfolder per class, the refusals (a conditional
# model on unlabelled data, bad model.cond / train.diffaug values, DiffAugment on points), the
# critic losses with labels and DiffAugment (what trains, what is refused), gradient penalties (WGAN-GP,
# R1) with the projection D and the label as input planes, the projection D with
# spectral norm throughout (trains, checkpoints the embedding's u / v, resumes exactly), and exact
# resume with labels and DiffAugment (N steps + resume to 2N = 2N steps, byte for byte).
# usage: bash test_cond_cli.sh /path/to/ganforge   (env: GF_TMP, GF_SRC)
set -u
GF=$(readlink -f "${1:?usage: test_cond_cli.sh /path/to/ganforge}")
SRC=${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
T=${GF_TMP:-/tmp/ganforge-test}/cond_cli
export OMP_NUM_THREADS=1
rm -rf "$T" && mkdir -p "$T" || exit 2
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', expected '$3'"; fi; }
expect_has() { if grep -q -- "$3" <<<"$2"; then ok; else bad "$1: '$3' not in: $2"; fi; }
PNG="python3 $SRC/tests/runs_png.py"
SMALL=(--set data.size=16 --set model.size=16 --set model.ngf=8 --set model.ndf=8 --set model.nz=16 --batch 16 --quiet)

# ---- a tiny shapes classifier (its accuracy does not matter here) and a projection cDCGAN scored while it trains
timeout 300 "$GF" train classifier-shapes --out "$T/cls" --set data.n=1024 --set data.size=16 --set model.ndf=8 \
  --set train.batch=64 --epochs 2 --quiet
expect_eq "train a small classifier-shapes" "$?" 0
timeout 300 "$GF" train dcgan-shapes --out "$T/proj" --set model.cond=projection --set data.n=512 --epochs 2 \
  --set train.nrow=4 --set train.eval_metric=cacc-shapes --set train.eval_classifier="$T/cls" --set train.eval_n=300 \
  "${SMALL[@]}"
expect_eq "train a projection cDCGAN on shapes: exit" "$?" 0
expect_has "model.n_classes taken from the data set" "$(cat "$T/proj/config.txt")" 'model.n_classes = 3'
expect_has "metrics.csv: cacc columns" "$(head -n 1 "$T/proj/metrics.csv")" '^step,epoch,cacc,fid_class_mean,score'
expect_eq "metrics.csv: header + 2 epochs" "$(wc -l <"$T/proj/metrics.csv")" 3
expect_has "report: class grid" "$(cat "$T/proj/report.html")" 'one row per class'
# the epoch picture is a class grid: 3 rows of train.nrow, as large as an unconditional grid of 12
timeout 120 "$GF" train dcgan-shapes --out "$T/plain" --set data.n=64 --epochs 1 --set train.nrow=4 --set train.grid=12 \
  "${SMALL[@]}"
expect_eq "train an unconditional dcgan-shapes" "$?" 0
expect_eq "class grid: 3 rows of 4" "$($PNG size "$T/proj/samples/epoch_002.png")" "$($PNG size "$T/plain/samples/epoch_001.png")"

# ---- sample --class ------------------------------------------------------------------------------------
"$GF" sample "$T/proj" --class 2 -n 8 -o "$T/c2.png" >/dev/null
expect_eq "sample --class 2: exit" "$?" 0
expect_eq "sample --class 2: picture" "$([ -s "$T/c2.png" ] && echo yes)" yes
"$GF" sample "$T/proj" --class 3 -n 8 -o "$T/c3.png" >"$T/c3.out" 2>"$T/c3.err"
expect_eq "sample --class 3 of 3 classes: exit 2" "$?" 2
expect_eq "sample --class 3: one line" "$(wc -l <"$T/c3.err")" 1
expect_has "sample --class 3: message" "$(cat "$T/c3.err")" "class 3: the model's classes are 0..2"
expect_eq "sample --class 3: no picture" "$([ -e "$T/c3.png" ] && echo yes || echo no)" no
"$GF" sample "$T/proj" --class -1 -n 8 -o "$T/cm.png" >/dev/null 2>"$T/cm.err"
expect_eq "sample --class -1: exit 2" "$?" 2
"$GF" sample "$T/plain" --class 0 -n 8 -o "$T/p0.png" >/dev/null 2>"$T/p0.err"
expect_eq "sample --class on an unconditional run: exit 2" "$?" 2
expect_has "sample --class on an unconditional run: message" "$(cat "$T/p0.err")" 'not a conditional model'

# ---- export: the class label as a second input (outputs compared with sample's in test_export.sh) ------
for fmt in onnx c; do
  "$GF" export "$T/proj" --format $fmt -o "$T/proj.$fmt" >/dev/null 2>"$T/exp_$fmt.err"
  rc=$?
  expect_eq "export --format $fmt of a conditional run: exit ($(head -c 300 "$T/exp_$fmt.err"))" "$rc" 0
done
expect_has "export --format c: gen.h has the classes" "$(cat "$T/proj.c/gen.h")" '^#define GEN_CLASSES 3 /\* conditional generator (model.cond=projection)'
expect_has "export --format c: gen_forward takes the label" "$(cat "$T/proj.c/gen.h")" '^int gen_forward(const float \*z, int label, float \*out, float \*work);'
expect_eq "export --format onnx: written" "$([ -s "$T/proj.onnx" ] && echo yes || echo no)" yes

# ---- eval --metric cacc-shapes: the run and the .npy of the same samples agree ----------------------
key() { head -n 1 "$1" | sed -e 's/ source=[a-z]*//' -e 's/ seconds=[0-9.]*//'; }
timeout 300 "$GF" eval "$T/proj" --metric cacc-shapes --classifier "$T/cls" -n 600 >"$T/cacc_run.out" 2>"$T/cacc_run.err"
expect_eq "eval cacc-shapes on a run: exit" "$?" 0
expect_has "cacc-shapes: machine line" "$(cat "$T/cacc_run.out")" '^cacc-shapes=[0-9.]* fid_class_mean=[0-9.]* n_samples=600'
expect_has "cacc-shapes: per-class lines" "$(cat "$T/cacc_run.out")" '  class 2: accuracy'
"$GF" sample "$T/proj" -n 600 --seed 1 -o "$T/proj.npy" >/dev/null
timeout 300 "$GF" eval "$T/proj.npy" --metric cacc-shapes --classifier "$T/cls" >"$T/cacc_npy.out" 2>&1
expect_eq "eval cacc-shapes on the .npy: exit" "$?" 0
expect_eq "cacc-shapes: run and .npy agree" "$(key "$T/cacc_run.out")" "$(key "$T/cacc_npy.out")"
timeout 300 "$GF" eval "$T/plain" --metric cacc-shapes --classifier "$T/cls" -n 60 >/dev/null 2>"$T/cacc_plain.err"
expect_eq "cacc of an unconditional run: exit 2" "$?" 2
expect_has "cacc of an unconditional run: message" "$(cat "$T/cacc_plain.err")" 'not a conditional model'

# ---- ACGAN, the label as image channels, a cGAN on points ----------------------------------------------
timeout 120 "$GF" train dcgan-shapes --out "$T/acgan" --set model.cond=acgan --set data.n=64 --epochs 1 "${SMALL[@]}"
expect_eq "train an ACGAN on shapes" "$?" 0
expect_has "ACGAN: D has 1 + 3 outputs" "$("$GF" info "$T/acgan")" 'Conv2d(16 -> 4, 4x4'
timeout 120 "$GF" train dcgan-shapes --out "$T/concat" --set model.cond=concat --set data.n=64 --epochs 1 "${SMALL[@]}"
expect_eq "train a cDCGAN with the label as channels" "$?" 0
expect_has "label as channels: D's input" "$("$GF" info "$T/concat")" 'OneHotConcat(3 classes: 1 -> 4 channels)'
timeout 120 "$GF" train ring8 --out "$T/ring" --set model.cond=concat --set data.n=400 --set model.g_hidden=16,16 \
  --set model.d_hidden=16,16 --set model.pack=1 --epochs 1 --quiet
expect_eq "train a cGAN on ring8 (8 mode labels)" "$?" 0
"$GF" sample "$T/ring" --class 5 -n 50 -o "$T/ring5.png" >/dev/null
expect_eq "ring8 sample --class 5" "$?" 0

# ---- image folders: one subfolder per class is labelled; a flat folder is not --------------------------
python3 - "$T/imgs" <<'PY'
import os, random, sys
random.seed(3)
root = sys.argv[1]
for cls in ("cats", "dogs"):
    os.makedirs(os.path.join(root, "labelled", cls), exist_ok=True)
os.makedirs(os.path.join(root, "flat"), exist_ok=True)
for i in range(24):
    px = bytes(random.randrange(256) for _ in range(16 * 16))
    for path in (os.path.join(root, "labelled", ("cats", "dogs")[i % 2], f"{i:03d}.pgm"),
                 os.path.join(root, "flat", f"{i:03d}.pgm")):
        with open(path, "wb") as f:
            f.write(b"P5\n16 16\n255\n" + px)
PY
timeout 120 "$GF" train dcgan64 --data "$T/imgs/labelled" --out "$T/folder" --set model.cond=concat --set model.nc=1 \
  --epochs 1 --batch 8 --set model.size=16 --set model.ngf=8 --set model.ndf=8 --set model.nz=16 --quiet
expect_eq "conditional DCGAN on a folder with one subfolder per class" "$?" 0
expect_has "folder: 2 classes" "$(cat "$T/folder/config.txt")" 'model.n_classes = 2'
timeout 120 "$GF" train dcgan64 --data "$T/imgs/flat" --out "$T/flat" --set model.cond=projection --set model.nc=1 \
  --epochs 1 --batch 8 --set model.size=16 --quiet 2>"$T/flat.err"
expect_eq "conditional model on an unlabelled folder: exit 2" "$?" 2
expect_eq "unlabelled folder: one line" "$(wc -l <"$T/flat.err")" 1
expect_has "unlabelled folder: message" "$(cat "$T/flat.err")" 'model.cond=projection needs a labelled data set'
timeout 60 "$GF" train cgan-mnist --set data.name=gauss1d --out "$T/g1" --quiet 2>"$T/g1.err"
expect_eq "cgan on gauss1d (no labels): exit 2" "$?" 2
expect_has "cgan on gauss1d: message" "$(cat "$T/g1.err")" 'needs a labelled data set'

# ---- bad settings --------------------------------------------------------------------------------------
"$GF" train cdcgan-mnist --set model.cond=class --quiet 2>"$T/b1.err"
expect_eq "model.cond=class: exit 2" "$?" 2
expect_has "model.cond=class: message" "$(cat "$T/b1.err")" "'class' is not one of: none, concat, projection, acgan"
"$GF" train cdcgan-mnist --set train.diffaug=colour --quiet 2>"$T/b2.err"
expect_eq "train.diffaug=colour: exit 2" "$?" 2
expect_has "train.diffaug=colour: message" "$(cat "$T/b2.err")" "'colour' is not one of: color, translation, cutout"
"$GF" train ring8 --set model.cond=concat --quiet 2>"$T/b3.err"
expect_eq "model.cond with model.pack=2: exit 2" "$?" 2
expect_has "model.cond with model.pack: message" "$(cat "$T/b3.err")" 'model.pack must be 1'
"$GF" train ring8 --set train.diffaug=color --set data.n=400 --quiet 2>"$T/b4.err"
expect_eq "DiffAugment on 2-D points: exit 2" "$?" 2
expect_has "DiffAugment on points: message" "$(cat "$T/b4.err")" 'DiffAugment transforms images'

# ---- with the critic losses (src/models/critic.c): what combines, and what is refused in one line ------
timeout 120 "$GF" train dcgan-shapes --out "$T/hinge" --set model.cond=concat --set model.dcgan_d_norm=spectral \
  --set train.loss=hinge --set train.diffaug=color,translation --set data.n=64 --epochs 1 "${SMALL[@]}"
expect_eq "label as channels + spectral norm + hinge + DiffAugment: exit" "$?" 0
timeout 120 "$GF" train dcgan-shapes --out "$T/gpaug" --set train.loss=wgan-gp --set model.dcgan_d_norm=none \
  --set train.diffaug=color,translation,cutout --set data.n=64 --epochs 1 "${SMALL[@]}"
expect_eq "WGAN-GP with DiffAugment (the penalty on the augmented rows): exit" "$?" 0
timeout 120 "$GF" train dcgan-shapes --out "$T/ragaug" --set train.loss=ragan \
  --set train.diffaug=color,translation,cutout --set data.n=64 --epochs 1 "${SMALL[@]}"
expect_eq "RaGAN with DiffAugment (the relativistic G step augments real and fake): exit" "$?" 0
refuse() { # refuse NAME MESSAGE SETTINGS...: exit 2, one line, no run folder
  local name=$1 msg=$2
  shift 2
  "$GF" train dcgan-shapes --out "$T/$name" --set data.n=64 --epochs 1 "${SMALL[@]}" "$@" 2>"$T/$name.err"
  expect_eq "$name: exit 2" "$?" 2
  expect_eq "$name: one line" "$(wc -l <"$T/$name.err")" 1
  expect_has "$name: message" "$(cat "$T/$name.err")" "$msg"
  expect_eq "$name: no run folder" "$([ -e "$T/$name" ] && echo yes || echo no)" no
}
refuse acgan_hinge 'model.cond=acgan with train.loss=hinge' --set model.cond=acgan --set train.loss=hinge
# gradient penalties through the conditional layers' second-order passes (once refused): WGAN-GP with the
# projection D and with the label as input planes, R1 with both; the penalty and the norm of D's input
# gradient are logged and finite (lazy R1: 0 on the steps without it)
penalty_run() { # penalty_run NAME SETTINGS...: exit 0, no message, log.csv's penalty / grad_norm finite, not all 0
  local name=$1
  shift
  timeout 120 "$GF" train dcgan-shapes --out "$T/$name" --set data.n=64 --epochs 1 "${SMALL[@]}" "$@" 2>"$T/$name.err"
  expect_eq "$name: exit" "$?" 0
  expect_eq "$name: no message" "$(cat "$T/$name.err")" ""
  expect_eq "$name: penalty and grad_norm logged and finite" "$(python3 -c 'import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
v = [float(r[k]) for r in rows for k in ("penalty", "grad_norm")]
print("ok" if rows and all(math.isfinite(x) and x >= 0 for x in v) and max(v) > 0 else "bad: %s" % v[:6])' "$T/$name/log.csv" 2>&1)" ok
}
penalty_run gp_proj --set model.cond=projection --set train.loss=wgan-gp --set model.dcgan_d_norm=none
penalty_run gp_concat --set model.cond=concat --set train.loss=wgan-gp --set model.dcgan_d_norm=none
penalty_run r1_concat --set model.cond=concat --set train.r1_gamma=10 --set model.dcgan_d_norm=none
penalty_run r1_proj_sn --set model.cond=projection --set train.r1_gamma=1 --set train.r1_every=4 \
  --set model.dcgan_d_norm=spectral
# still impossible: BatchNorm in D (no second-order pass, named by layer), R1 on ACGAN's class logits
refuse cond_gp_bn 'train.loss=wgan-gp differentiates D' --set model.cond=projection --set train.loss=wgan-gp \
  --set model.dcgan_d_norm=bn
refuse acgan_r1 'train.r1_gamma with model.cond=acgan' --set model.cond=acgan --set train.r1_gamma=10

# ---- SNGAN-projection: spectral norm on every layer of D, the projection's class embedding included ------
# (once refused): trains, its checkpoint holds the embedding's weight_orig / weight_u / weight_v, and a
# resume from it is exact (the power-iteration vectors restored)
S=(--set model.cond=projection --set model.dcgan_d_norm=spectral --set data.n=128 --epochs 2 \
   --set train.checkpoint_every=3 "${SMALL[@]}")
timeout 300 "$GF" train dcgan-shapes --out "$T/sa" "${S[@]}" 2>"$T/sa.err"
expect_eq "projection D with spectral norm: exit" "$?" 0
expect_eq "projection D with spectral norm: no message" "$(cat "$T/sa.err")" ""
names=$(python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; print("\n".join(sorted(json.loads(f.read(n)))))' \
  "$T/sa/checkpoints/latest.safetensors" 2>&1)
for t in embed.weight_orig embed.weight_u embed.weight_v; do
  expect_has "projection D with spectral norm: checkpoint has D.net.*.$t" "$names" "^D\.net\.[0-9]*\.$t\$"
done
expect_eq "projection D with spectral norm: no plain embed.weight" "$(grep -c 'embed\.weight$' <<<"$names")" 0
timeout 300 "$GF" train dcgan-shapes --out "$T/sb" --set train.max_steps=7 "${S[@]}" && \
  timeout 300 "$GF" train --resume "$T/sb" --set train.max_steps=0 --quiet
expect_eq "projection D with spectral norm: resume runs: exit" "$?" 0
expect_eq "projection D with spectral norm: resume gives the identical generator" \
  "$(cmp -s "$T/sa/generator.safetensors" "$T/sb/generator.safetensors" && echo same)" same

# ---- exact resume with fake labels and DiffAugment ----------------------------------------------------
R=(--set model.cond=projection --set train.diffaug=color,translation,cutout --set data.n=256 --epochs 2 \
   --set train.checkpoint_every=5 "${SMALL[@]}")
timeout 300 "$GF" train dcgan-shapes --out "$T/ra" "${R[@]}" && \
  timeout 300 "$GF" train dcgan-shapes --out "$T/rb" --set train.max_steps=11 "${R[@]}" && \
  timeout 300 "$GF" train --resume "$T/rb" --set train.max_steps=0 --quiet
expect_eq "resume runs: exit" "$?" 0
expect_eq "resume with labels and DiffAugment: identical generator" \
  "$(cmp -s "$T/ra/generator.safetensors" "$T/rb/generator.safetensors" && echo same)" same
expect_eq "resume: identical losses in log.csv" \
  "$(diff <(cut -d, -f1-6 "$T/ra/log.csv") <(cut -d, -f1-6 "$T/rb/log.csv") >/dev/null && echo same)" same
"$GF" train dcgan-shapes --out "$T/rc" "${R[@]}" --set train.diffaug= --quiet
expect_eq "without DiffAugment: exit" "$?" 0
expect_eq "DiffAugment changes the training" \
  "$(cmp -s "$T/ra/generator.safetensors" "$T/rc/generator.safetensors" && echo same || echo differs)" differs

# ---- the conditional presets on MNIST load in PyTorch (tools/load_in_pytorch.py; skipped without torch) ---
DATA=${GF_TEST_DATA:-$SRC/../shared/data}
PYT=/opt/t2/bin/python
[ -x "$PYT" ] || PYT=python3
if [ -d "$DATA/mnist" ]; then
  for preset in cgan-mnist cdcgan-mnist acgan-mnist; do
    run="$T/$preset"
    timeout 120 "$GF" train "$preset" --out "$run" --data "$DATA/mnist" --set data.download=0 --set data.limit=1000 \
      --set train.max_steps=3 --epochs 1 --quiet
    expect_eq "$preset: 3-step run" "$?" 0
    for target in "$run" "$run/checkpoints/latest.safetensors"; do
      out=$(timeout 300 "$PYT" "$SRC/tools/load_in_pytorch.py" "$target" --ganforge "$GF" -n 16 2>&1)
      expect_eq "load_in_pytorch.py $preset $(basename "$target"): exit" "$?" 0
      expect_has "load_in_pytorch.py $preset: PASS or skipped" "$out" '^\(PASS\|skipped:\)'
      echo "load_in_pytorch $preset $(basename "$target"): $(tail -n 1 <<<"$out")"
    done
  done
  # cdcgan-mnist with model.d_norm=spectral (spectral norm beside D's BatchNorm, the projection head's
  # weight and embedding included): a 3-step run whose D loads strictly into the PyTorch twin
  # (tools/cond_modules.py: torch.nn.utils.spectral_norm on the nn.Embedding) and gives its logits
  run="$T/cdcgan-sn"
  timeout 120 "$GF" train cdcgan-mnist --out "$run" --data "$DATA/mnist" --set data.download=0 --set data.limit=1000 \
    --set model.d_norm=spectral --set train.max_steps=3 --epochs 1 --quiet
  expect_eq "cdcgan-mnist model.d_norm=spectral: 3-step run" "$?" 0
  if "$PYT" -c 'import torch' 2>/dev/null; then
    out=$(timeout 300 "$PYT" - "$run/checkpoints/latest.safetensors" "$SRC/tools" <<'PY' 2>&1
import sys
sys.path.insert(0, sys.argv[2])
import torch
from load_in_pytorch import parse_config, read_safetensors
from cond_modules import CondDiscriminator
tensors, meta = read_safetensors(sys.argv[1])
cfg = parse_config(meta["config"])
D = CondDiscriminator(cfg, (1, 28, 28))
sd = {k[2:]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("D.")}
D.load_state_dict(sd, strict=True)
assert "net.6.embed.weight_u" in sd, sorted(sd)
D.eval()
with torch.no_grad():
    out = D(torch.zeros(2, 1, 28, 28), torch.tensor([0, 3]))
assert out.shape == (2, 1) and torch.isfinite(out).all(), out
print("PASS D loads into the twin with spectral_norm(nn.Embedding)")
PY
)
    expect_eq "cdcgan-mnist spectral checkpoint: D loads in PyTorch: exit" "$?" 0
    expect_has "cdcgan-mnist spectral checkpoint: D loads in PyTorch" "$out" '^PASS'
    echo "cdcgan-mnist spectral: $(tail -n 1 <<<"$out")"
  fi
fi

echo "test_cond_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
