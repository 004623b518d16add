#!/usr/bin/env bash
# test_gpu_kit.sh: the GPU check kit (tools/gpu) cannot rot: its scripts parse, gf_backend_ops says
# cleanly that CUDA is unavailable, gf_compare_params tells equal runs from different ones, the
# .deb unpacking keeps links inside the prefix, make_data.py writes its sets, and check.sh runs its
# no-GPU path on the existing build and writes a summary that says what was skipped and why; the
# quality runs' script (quality.sh) is rehearsed on the CPU where torch and MNIST are at hand.
set -u
gf="$1"
bin="$(dirname "$gf")"
src="${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}"
tmp="${GF_TMP:-/tmp}/gpu_kit"
rm -rf "$tmp"; mkdir -p "$tmp"
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
export OMP_NUM_THREADS=2
PY=python3

# 1. the scripts parse
for s in check.sh prepare.sh prefix.sh presets.sh rehearse.sh quality.sh; do bash -n "$src/tools/gpu/$s" && ok "bash -n $s" || bad "bash -n $s"; done
for s in make_data.py summarize.py undeb.py; do
  $PY -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$src/tools/gpu/$s" && ok "python parses $s" || bad "$s does not parse"
done

# 2. --device cuda: a clean "not available" (or, on a machine with a CUDA backend and a GPU, a pass)
out=$("$bin/gf_backend_ops" --device cuda --ops fill --json "$tmp/cuda.json" 2>&1)
rc=$?
if [ $rc = 0 ]; then ok "gf_backend_ops --device cuda passed (a CUDA backend and a GPU are here)"
elif [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q "backend 'cuda' is not available: " \
     && grep -q '"status": "unavailable"' "$tmp/cuda.json"; then ok "gf_backend_ops --device cuda: $out"
else bad "gf_backend_ops --device cuda (exit $rc): $out"
fi
"$bin/gf_backend_ops" --ops nosuchop >/dev/null 2>&1; [ $? = 2 ] && ok "unknown op is a usage error" || bad "--ops nosuchop"

# 3. gf_compare_params: the same seed twice is equal, another seed is not
run() { "$gf" train mlp-shapes --set data.n=256 --set train.max_steps=3 --set train.report=0 --quiet "$@"; }
run --seed 1 --out "$tmp/a" && run --seed 1 --out "$tmp/b" && run --seed 2 --out "$tmp/c" || bad "training mlp-shapes"
"$bin/gf_compare_params" "$tmp/a" "$tmp/b" --json "$tmp/ab.json" > "$tmp/ab.log" 2>&1 \
  && grep -q '"status": "pass"' "$tmp/ab.json" && ok "same seed: equal" || { bad "same seed"; cat "$tmp/ab.log"; }
"$bin/gf_compare_params" "$tmp/a" "$tmp/c" --json "$tmp/ac.json" > "$tmp/ac.log" 2>&1
[ $? = 1 ] && grep -q "DIFFERENT" "$tmp/ac.log" && grep -q '"status": "fail"' "$tmp/ac.json" \
  && ok "another seed: different" || { bad "another seed not told apart"; cat "$tmp/ac.log"; }
"$bin/gf_compare_params" "$tmp/a" "$tmp/nonesuch" >/dev/null 2>&1; [ $? = 1 ] && ok "missing run is an error" || bad "missing run"

# 4. unpacking a .deb: dpkg -x or undeb.py, absolute links rewritten into the prefix
if command -v dpkg-deb >/dev/null 2>&1; then
  pk="$tmp/pkg"
  mkdir -p "$pk/DEBIAN" "$pk/usr/lib/x86_64-linux-gnu" "$pk/lib/x86_64-linux-gnu"
  printf 'Package: kit-test\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' > "$pk/DEBIAN/control"
  echo hello > "$pk/lib/x86_64-linux-gnu/libt.so.1"
  ln -s /lib/x86_64-linux-gnu/libt.so.1 "$pk/usr/lib/x86_64-linux-gnu/libt.so"
  mkdir -p "$tmp/debs" && dpkg-deb --root-owner-group -Zxz --build "$pk" "$tmp/debs/t.deb" >/dev/null
  $PY "$src/tools/gpu/undeb.py" "$tmp/debs/t.deb" "$tmp/undeb" 2>/dev/null
  [ "$(readlink "$tmp/undeb/usr/lib/x86_64-linux-gnu/libt.so")" = /lib/x86_64-linux-gnu/libt.so.1 ] \
    && ok "undeb.py unpacks files and links" || bad "undeb.py"
  ( KIT_SRC="$src/tools/gpu"; . "$src/tools/gpu/prefix.sh"; kit_unpack "$tmp/debs" "$tmp/prefix" )
  [ "$(cat "$tmp/prefix/usr/lib/x86_64-linux-gnu/libt.so" 2>/dev/null)" = hello ] \
    && [ "$(readlink "$tmp/prefix/usr/lib/x86_64-linux-gnu/libt.so")" = "$tmp/prefix/lib/x86_64-linux-gnu/libt.so.1" ] \
    && ok "kit_unpack: an absolute link points into the prefix" || bad "kit_unpack links"
fi

# 4b. cuDNN found as a GPU machine may have it: beside the toolkit; only in a pip wheel (no
#     libcudnn.so); in a wheel without headers (the carried ones, same major version only)
cu="$tmp/cudnn"
mkdir -p "$cu/tk/bin" "$cu/tk/lib64" "$cu/tk/include" "$cu/site/nvidia/cudnn/lib" "$cu/site/nvidia/cudnn/include" \
  "$cu/carried/include" "$cu/old/include"
ver() { printf '#define CUDNN_MAJOR %s\n#define CUDNN_MINOR %s\n#define CUDNN_PATCHLEVEL 0\n' "$1" "$2" > "$3/cudnn_version.h"; }
: > "$cu/site/nvidia/cudnn/lib/libcudnn.so.9"
ver 9 26 "$cu/carried/include"; ver 8 9 "$cu/old/include"
kc() { ( KIT_SRC="$src/tools/gpu"; . "$src/tools/gpu/prefix.sh"; KIT_SITE_DIRS="$cu/site" KIT_NO_SYSTEM=1 kit_cudnn "$@"
         echo "rc=$? lib=$KIT_CUDNN_LIB inc=$KIT_CUDNN_INC note=$KIT_CUDNN_NOTE" ) 2>&1 | tail -1; }
r=$(kc "$cu/tk" "$cu/none")
case "$r" in "rc=1 lib= inc= note=no cuDNN headers"*"libcudnn.so.9 without headers"*) ok "kit_cudnn: a wheel without headers and nothing carried: refused ($r)" ;; *) bad "kit_cudnn no headers: $r" ;; esac
r=$(kc "$cu/tk" "$cu/carried")
case "$r" in "rc=0 lib=$cu/site/nvidia/cudnn/lib/libcudnn.so.9 inc=$cu/carried/include note="*"(carried)") ok "kit_cudnn: the wheel's library with the carried headers" ;; *) bad "kit_cudnn carried: $r" ;; esac
r=$(kc "$cu/tk" "$cu/old")
case "$r" in "rc=1 "*"(major 9) with headers $cu/old/include (8.9.0)"*) ok "kit_cudnn: headers of another major version refused" ;; *) bad "kit_cudnn major: $r" ;; esac
ver 9 13 "$cu/site/nvidia/cudnn/include"
r=$(kc "$cu/tk" "$cu/carried")
case "$r" in "rc=0 lib=$cu/site/nvidia/cudnn/lib/libcudnn.so.9 inc=$cu/site/nvidia/cudnn/include note="*"pip wheel"*) ok "kit_cudnn: the wheel's own headers first" ;; *) bad "kit_cudnn wheel: $r" ;; esac
: > "$cu/tk/lib64/libcudnn.so.9"; ver 9 19 "$cu/tk/include"
r=$(kc "$cu/tk" "$cu/carried")
case "$r" in "rc=0 lib=$cu/tk/lib64/libcudnn.so.9 inc=$cu/tk/include note="*"toolkit"*) ok "kit_cudnn: beside the toolkit first" ;; *) bad "kit_cudnn toolkit: $r" ;; esac

# 4c. every preset trains on one of the kit's tiny sets in the parity part (a preset on a new
#     dataset needs one: tools/gpu/make_data.py and tools/gpu/presets.sh)
np=$("$gf" presets | wc -l)
tab=$( . "$src/tools/gpu/presets.sh"; kit_presets "$gf" /kitdata )
nv=$( . "$src/tools/gpu/presets.sh"; echo "${#KIT_VARIANTS[@]}" )
if [ "$(printf '%s\n' "$tab" | grep -c .)" = "$((np + nv))" ] && ! printf '%s\n' "$tab" | grep -q "$(printf '\t')!"; then
  ok "every one of the $np presets and $nv variants has kit data (ganforge presets --keys)"
else
  bad "presets without kit data: $(printf '%s\n' "$tab" | grep "$(printf '\t')!" | tr '\n' ' ') ($(printf '%s\n' "$tab" | grep -c .) of $np listed)"
fi
printf '%s\n' "$tab" | grep -q "^cyclegan$(printf '\t')--data /kitdata/h2z$" && ok "cyclegan reads the kit's h2z" || bad "cyclegan's kit data"
printf '%s\n' "$tab" | grep -q "^cdcgan-mnist+gp$(printf '\t')--data /kitdata/mnist --set train.loss=wgan-gp " \
  && ok "a variant: its preset's kit data, then its settings" || bad "variant cdcgan-mnist+gp's arguments"
"$gf" presets --keys no.such >/dev/null 2>&1; [ $? = 2 ] && ok "presets --keys: unknown key is a usage error" || bad "presets --keys no.such"

# 5. make_data.py: the tiny sets (when the shared data is here)
if [ -d "${GF_TEST_DATA:-}/mnist" ]; then
  $PY "$src/tools/gpu/make_data.py" "$GF_TEST_DATA" "$tmp/data" >/dev/null \
    && "$gf" train mlp-mnist --data "$tmp/data/mnist" --set train.max_steps=1 --set train.report=0 --quiet \
         --out "$tmp/mnist" && [ -s "$tmp/mnist/checkpoints/latest.safetensors" ] \
    && [ "$(ls "$tmp/data/cifar10/cifar-10-batches-bin" | wc -l)" = 5 ] && [ -s "$tmp/data/pix2pix/train/1.png" ] \
    && ok "make_data.py sets (mnist subset trains)" || bad "make_data.py"
fi

# 6. check.sh without a GPU, on this build: the CPU ops against the double reference, a clean
#    "unavailable" for CUDA, and a summary naming every skipped part and why
OMP_WAIT_POLICY=PASSIVE bash "$src/tools/gpu/check.sh" --no-build --build-dir "$bin" --no-gpu --out "$tmp/out" \
  --parts ops,parity,speed,profile,memcheck > "$tmp/check.log" 2>&1
rc=$?
if [ $rc = 0 ] && [ -s "$tmp/out/check.log" ] && $PY - "$tmp/out/summary.json" <<'EOF'; then ok "check.sh no-GPU path and its summary"; else bad "check.sh no-GPU path (exit $rc)"; tail -20 "$tmp/check.log"; fi
import json, sys
d = json.load(open(sys.argv[1]))
p = d['parts']
assert d['status'] == 'incomplete', d['status']
assert p['build']['status'] == 'skipped' and '--no-build' in p['build']['why'], p['build']
assert p['ops']['status'] == 'skipped' and p['ops']['cuda_unavailable_reported'] is True, p['ops']
assert ' 0 failed' in p['ops']['why'], p['ops']['why']
for k in ('parity', 'speed', 'profile', 'memcheck'):
    assert p[k]['status'] == 'skipped' and p[k]['why'] == 'no GPU (--no-gpu given)', p[k]
assert d['machine']['gpu'] == 0
EOF
bash "$src/tools/gpu/check.sh" --parts nope > /dev/null 2>&1; [ $? = 2 ] && ok "check.sh rejects an unknown part" || bad "check.sh --parts nope"

# 7. quality.sh (the long runs of one GPU call) rehearsed on the CPU: a classifier, one conditional
#    DCGAN epoch beside its PyTorch twin (tools/torch_twin.py) on 640 MNIST digits, both scored;
#    only where GF_PYTHON has torch and the shared MNIST is here
if [ -d "${GF_TEST_DATA:-}/mnist" ] && [ -n "${GF_PYTHON:-}" ] && "$GF_PYTHON" -c "import torch" 2>/dev/null; then
  OMP_WAIT_POLICY=PASSIVE bash "$src/tools/gpu/quality.sh" --rehearse --gf "$gf" --no-cat --models cd --seeds 1 \
    --cd-epochs 1 --budget 600 --out "$tmp/quality" > "$tmp/quality.log" 2>&1
  rc=$?
  gfv=$(awk -F'\t' '$1 == "cd_gf_1_e1_fid-mnist" { print $2 }' "$tmp/quality/scores.tsv" 2>/dev/null)
  twv=$(awk -F'\t' '$1 == "cd_tw_1_e1_cacc-mnist" { print $2 }' "$tmp/quality/scores.tsv" 2>/dev/null)
  if [ $rc = 0 ] && [ "$(wc -l < "$tmp/quality/scores.tsv")" = 5 ] && awk -v a="$gfv" -v b="$twv" 'BEGIN { exit !(a > 0 && b >= 0 && b <= 1) }' \
     && tar tzf "$tmp/quality/results.tar.gz" | grep -q '^runs/cd_gf_1/log.csv$' && [ -s "$tmp/quality/cd_gf_1_generator.safetensors" ]; then
    ok "quality.sh rehearsal: ganforge fid-mnist $gfv, twin cacc-mnist $twv after one epoch"
  else
    bad "quality.sh rehearsal (exit $rc)"; tail -20 "$tmp/quality.log"
  fi
else
  echo "note: GF_PYTHON with torch or GF_TEST_DATA/mnist missing: the quality.sh rehearsal is skipped"
fi
bash "$src/tools/gpu/quality.sh" --nope > /dev/null 2>&1; [ $? = 2 ] && ok "quality.sh rejects an unknown option" || bad "quality.sh --nope"

[ $fail = 0 ] && echo "test_gpu_kit: all passed" || echo "test_gpu_kit: FAILED"
exit $fail
