#!/usr/bin/env bash
# quality.sh: the long quality runs of issues 16 and 17 in one call of the device tool (a lent GPU):
#   issue 16  cdcgan-mnist and wgan-gp-mnist, ganforge (--device cuda) beside the PyTorch twin
#             (tools/torch_twin.py --device cuda), seeds 1-3 each side, a checkpoint / samples after
#             every epoch; scored with a classifier-mnist trained in the same call: fid-mnist (and
#             cacc-mnist for cdcgan) at the last epoch all six runs of a model reached, then at epoch
#             5 (cdcgan's preset length), then cacc-mnist after every other epoch
#   issue 17  cat-teacher128 on the horse2zebra training images, then `ganforge compress --macs 10%
#             --epochs 16`; both A->B generators come back for the CPU speed / agreement measurements
# Here first (where apt-get works): tools/gpu/prepare.sh, then tools/gpu/quality.sh --prepare, which
# adds .gpukit/qdata: MNIST as it is, and the horse2zebra training images scaled to 143 px (the
# teacher's load size; Pillow's bilinear, JPEG quality 95) so that the call's carry stays under 64 MiB.
# Then, with a GPU lent:
#   run(command="bash tools/gpu/quality.sh", carry=[".gpukit"], timeout_s=600)
# It builds with the GPU kit (tools/gpu/check.sh, whose parity part then checks the kit's variants
# beside the runs), tries CUDA MPS so that the runs' small kernels share the GPU, trains everything
# at once, stops training at budget - 140 s (the teacher at budget - 300 s), scores until budget -
# 15 s, and writes under $OUT: quality.log, scores.tsv, results.tar.gz (logs, configs, eval
# outputs, the classifier, last pictures, the kit's summary), cd_gf_1_generator.safetensors and
# wg_gf_1_generator.safetensors (seed 1's generators), teacher_GA.safetensors and
# student_GA.safetensors (the A->B generators with their config: `ganforge translate` reads them).
#   tools/gpu/quality.sh [--budget S] [--seeds "1 2 3"] [--models "cd wg"] [--cd-epochs N] [--wg-epochs N]
#                        [--no-cat] [--teacher-stop S] [--train-stop S] [--classifier FILE] [--wg-curve]
#                        [--par N] [--kit-presets LIST] [--rehearse --gf PATH]
#   --classifier FILE  score with this classifier-mnist file instead of training one (e.g. one an
#                      earlier call brought back, carried in .gpukit/qdata)
#   --wg-curve         also fid-mnist after every earlier epoch of wgan-gp-mnist (last epoch first)
#   --rehearse         CPU, tiny data, an existing build (--gf): proves the script here
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
kit="$root/.gpukit"
Q="$kit/qdata"
build="$root/build-gpukit"
out="${OUT:-$root/out/quality}"
budget=550 seeds="1 2 3" ecd=10 ewg=10 cat=1 rehearse=0 prepare=0 gfbin="" models="cd wg" clsfile="" tstop="" trstop=""
wgcurve=0 par=8 kitpresets=""
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --cd-epochs) ecd=$2; shift 2 ;;
    --wg-epochs) ewg=$2; shift 2 ;;
    --no-cat) cat=0; shift ;;
    --models) models=$2; shift 2 ;;
    --classifier) clsfile=$2; shift 2 ;;
    --teacher-stop) tstop=$2; shift 2 ;;
    --train-stop) trstop=$2; shift 2 ;;
    --wg-curve) wgcurve=1; shift ;;
    --par) par=$2; shift 2 ;;
    --kit-presets) kitpresets=$2; shift 2 ;;
    --rehearse) rehearse=1; shift ;;
    --gf) gfbin=$2; shift 2 ;;
    --prepare) prepare=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "quality.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
  esac
done

if [ $prepare = 1 ]; then
  shared="$root/../shared/data"
  [ -d "$shared/mnist" ] && [ -d "$shared/horse2zebra/trainA" ] || { echo "quality.sh: no $shared/mnist or horse2zebra" >&2; exit 1; }
  py=${GF_PYTHON:-python3}
  "$py" -c "import PIL" 2>/dev/null || { echo "quality.sh: --prepare needs Pillow in $py (GF_PYTHON=...)" >&2; exit 1; }
  rm -rf "$Q"
  mkdir -p "$Q/mnist" "$Q/h2z/trainA" "$Q/h2z/trainB"
  cp "$shared"/mnist/*-ubyte.gz "$Q/mnist/"
  "$py" - "$shared/horse2zebra" "$Q/h2z" <<'EOF' || exit 1
import os, sys
from PIL import Image
for d in ("trainA", "trainB"):
    for f in sorted(os.listdir(os.path.join(sys.argv[1], d))):
        im = Image.open(os.path.join(sys.argv[1], d, f)).convert("RGB").resize((143, 143), Image.BILINEAR)
        im.save(os.path.join(sys.argv[2], d, os.path.splitext(f)[0] + ".jpg"), quality=95)
EOF
  du -sh "$Q"/* "$kit"
  exit 0
fi

mkdir -p "$out" || exit 1
W="$(mktemp -d "${TMPDIR:-/tmp}/quality.XXXXXX")"
R="$W/runs"
mkdir -p "$R" "$W/scores"
exec > >(tee "$out/quality.log") 2>&1
tee_pid=$!
# on exit: every run still going is stopped, the log is complete before the command returns, and
# the scratch folder (the runs; what matters is under $out by then) goes
trap 'for p in "$R"/*.pid; do [ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null; done; exec 1>&- 2>&-; wait $tee_pid 2>/dev/null; rm -rf "$W"' EXIT
t0=$(date +%s)
el() { echo $(($(date +%s) - t0)); }
say() { printf '[%4ds] %s\n' "$(el)" "$*"; }
t_teacher=${tstop:-$((budget - 300))} t_train=${trstop:-$((budget - 140))} t_score=$((budget - 15))
DEV=cuda PY=python3 EVN=10000
lim_cd=() lim_wg=() lim_tw_cd=() lim_tw_wg=() lim_cls=() lim_t=() lim_s=() ntrain=60000
if [ $rehearse = 1 ]; then
  DEV=cpu PY=${GF_PYTHON:-/opt/t2/bin/python} EVN=1000 ntrain=640
  lim_cd=(--set data.limit=640) lim_wg=(--set data.limit=640) lim_tw_cd=(--limit 640 --n 1000) lim_tw_wg=(--limit 640 --n 1000)
  lim_cls=(--set data.limit=512 --set train.epochs=1) lim_t=(--set data.limit=3 --set train.epochs=1)
  lim_s=(--set data.limit=4)
  Q="${GF_TEST_DATA:-$root/../shared/data}"
  [ -d "$Q/h2z" ] || { mkdir -p "$W/h2z"; ln -s "$Q/horse2zebra/trainA" "$W/h2z/trainA"; ln -s "$Q/horse2zebra/trainB" "$W/h2z/trainB"; Qh="$W/h2z"; }
fi
Qh=${Qh:-$Q/h2z}
case "$clsfile" in ''|/*) ;; *) clsfile="$PWD/$clsfile" ;; esac
nb=$((ntrain / 64)) # batches per epoch of both MNIST models (batch 64)
say "quality runs: budget ${budget} s (teacher stops at ${t_teacher} s, training at ${t_train} s, scoring at ${t_score} s); seeds $seeds; cdcgan $ecd epochs, wgan-gp $ewg; device $DEV"

# ------------------------------------------------------------------ MPS (the runs' small kernels side by side)
mps=off
PATH="$PATH:/usr/local/nvidia/bin"
if [ $rehearse = 0 ] && command -v nvidia-cuda-mps-control >/dev/null 2>&1; then
  export CUDA_MPS_PIPE_DIRECTORY="$W/mps_pipe" CUDA_MPS_LOG_DIRECTORY="$W/mps_log"
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if nvidia-cuda-mps-control -d &&
     timeout 60 $PY -c "import torch; print('probe', float(torch.ones(4096, device='cuda').sum()))" > "$W/mps_probe.log" 2>&1; then
    mps=on
  else
    echo quit | nvidia-cuda-mps-control 2>/dev/null
    sleep 2
    mps="failed ($(tail -1 "$W/mps_probe.log" 2>/dev/null | cut -c1-200)); without"
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
  fi
fi
say "MPS: $mps"

# ------------------------------------------------------------------ build (the GPU kit's, its parity part beside the runs)
kitpid=""
if [ -n "$gfbin" ]; then
  G=$gfbin
else
  rm -f "$build/kit_env.sh"
  variants=$(. "$here/presets.sh"; for v in "${KIT_VARIANTS[@]}"; do printf '%s,' "${v%% *}"; done)
  bash "$here/check.sh" --parts parity --presets "${kitpresets:-${variants%,}}" --budget 300 --out "$W/kit" > "$W/kit.log" 2>&1 &
  kitpid=$!
  while [ ! -f "$build/kit_env.sh" ] && kill -0 $kitpid 2>/dev/null; do sleep 1; done
  sleep 1
  if [ ! -f "$build/kit_env.sh" ]; then
    say "build failed:"; tail -40 "$W/kit.log"; exit 1
  fi
  # shellcheck disable=SC1091
  . "$build/kit_env.sh"
  G=$build/ganforge
fi
say "ganforge: $("$G" version 2>&1 | head -1)"

# ------------------------------------------------------------------ the runs, all at once
bg() { local n=$1; shift; ("$@") > "$R/$n.out" 2>&1 & echo $! > "$R/$n.pid"; }
gfrun() { OMP_NUM_THREADS=1 exec "$G" "$@"; } # exec: the pid bg saved is the program's (SIGTERM reaches it)
twin() { # twin NAME CONFIG EPOCHS SEED LIMIT...: waits for ganforge's config.txt, then trains
  local n=$1 c=$2 e=$3 s=$4
  shift 4
  for _ in $(seq 120); do [ -s "$c" ] && break; sleep 0.5; done
  OMP_NUM_THREADS=1 exec $PY "$root/tools/torch_twin.py" "$c" "$Q/mnist" "$R/$n.npy" --seed "$s" --threads 1 --device "$DEV" \
    --every-epoch --epochs "$e" "$@"
}
has() { case " $models " in *" $1 "*) return 0 ;; esac; return 1; }
if [ -n "$clsfile" ]; then
  cls=$clsfile
else
  cls="$R/cls"
  bg cls gfrun train classifier-mnist --data "$Q/mnist" --out "$R/cls" --seed 1 --device "$DEV" --quiet "${lim_cls[@]}"
fi
if [ $cat = 1 ]; then
  bg teacher gfrun train cat-teacher128 --data "$Qh" --out "$R/teacher" --seed 1 --device "$DEV" --quiet "${lim_t[@]}"
fi
for s in $seeds; do
  if has cd; then
    bg "cd_gf_$s" gfrun train cdcgan-mnist --data "$Q/mnist" --out "$R/cd_gf_$s" --seed "$s" --device "$DEV" --quiet \
      --set train.epochs="$ecd" --set train.keep=1000 --set train.checkpoint_every=0 "${lim_cd[@]}"
    bg "cd_tw_$s" twin "cd_tw_$s" "$R/cd_gf_$s/config.txt" "$ecd" "$s" "${lim_tw_cd[@]}"
  fi
  if has wg; then
    bg "wg_gf_$s" gfrun train wgan-gp-mnist --data "$Q/mnist" --out "$R/wg_gf_$s" --seed "$s" --device "$DEV" --quiet \
      --set train.epochs="$ewg" --set train.keep=1000 --set train.checkpoint_every=0 "${lim_wg[@]}"
    bg "wg_tw_$s" twin "wg_tw_$s" "$R/wg_gf_$s/config.txt" "$ewg" "$s" "${lim_tw_wg[@]}"
  fi
done
alive() { [ -f "$R/$1.pid" ] && kill -0 "$(cat "$R/$1.pid")" 2>/dev/null; }
mnist_names() { [ -z "$clsfile" ] && echo cls; local s f; for s in $seeds; do for f in $models; do echo "${f}_gf_$s ${f}_tw_$s"; done; done; }
names() { mnist_names; [ $cat = 1 ] && echo teacher student; }
status_line() { # the last log row of each run
  local n l
  for n in $(names); do
    if [ -f "$R/$n/log.csv" ]; then l=$(tail -1 "$R/$n/log.csv" | cut -d, -f1-2)
    else l=$(grep -o 'epoch [0-9]*/[0-9]*' "$R/$n.out" 2>/dev/null | tail -1)
    fi
    printf '%s%s[%s] ' "$n" "$(alive "$n" && echo '*')" "${l:-}"
  done
}

# ------------------------------------------------------------------ scoring (in the background once the MNIST runs end)
# scored FAM SIDE SEED EPOCH: what is scored after that epoch: ganforge's end-of-epoch checkpoint
# (named by its G step: wgan-gp takes 5 critic steps per G step) or the twin's samples
scored() {
  if [ "$2" = tw ]; then echo "$R/$1_tw_$3_epoch$4.npy"; return; fi
  local st=$((nb * $4))
  [ "$1" = wg ] && st=$((st / 5))
  echo "$R/$1_gf_$3/checkpoints/$(printf 'step_%08d' "$st").safetensors"
}
epochs_done() { # epochs_done FAM SIDE SEED: the epochs whose files are there
  local e
  for e in $(seq 1 100); do [ -f "$(scored "$1" "$2" "$3" $e)" ] || { echo $((e - 1)); return; }; done
}
jobs="$W/jobs.txt"
addjob() { echo "$1_$2_$3_e$4_$5 $(scored "$1" "$2" "$3" "$4") $5" >> "$jobs"; } # addjob FAM SIDE SEED EPOCH METRIC
score_all() {
  : > "$jobs"
  [ -f "$cls" ] || [ -f "$cls/classifier.safetensors" ] || say "no classifier: nothing can be scored"
  [ -d "$cls" ] && say "classifier: $(tail -1 "$cls/accuracy.csv" 2>/dev/null)"
  declare -A E
  local f m s a b e side
  for f in $models; do
    m=1000
    for s in $seeds; do
      a=$(epochs_done $f gf "$s") b=$(epochs_done $f tw "$s")
      [ "$a" -lt $m ] && m=$a
      [ "$b" -lt $m ] && m=$b
      say "$f seed $s: ganforge $a epochs, twin $b"
    done
    E[$f]=$m
    say "$f: scored at epoch $m (the last all of its runs reached)"
  done
  for f in $models; do # 1. the last common epoch
    [ "${E[$f]}" -gt 0 ] || continue
    for s in $seeds; do for side in gf tw; do
      addjob $f $side "$s" "${E[$f]}" fid-mnist
      [ $f = cd ] && addjob $f $side "$s" "${E[$f]}" cacc-mnist
    done; done
  done
  if has cd && [ "${E[cd]}" -gt 5 ]; then # 2. cdcgan at 5 epochs
    for s in $seeds; do for side in gf tw; do addjob cd $side "$s" 5 cacc-mnist; addjob cd $side "$s" 5 fid-mnist; done; done
  fi
  if has cd; then # 3. the cacc curve
    for e in $(seq 1 $((E[cd] - 1))); do
      [ "$e" = 5 ] && continue
      for s in $seeds; do for side in gf tw; do addjob cd $side "$s" "$e" cacc-mnist; done; done
    done
  fi
  if has wg && [ $wgcurve = 1 ]; then # 4. the wgan-gp fid curve
    for e in $(seq "$((E[wg] - 1))" -1 1); do
      for s in $seeds; do for side in gf tw; do addjob wg $side "$s" "$e" fid-mnist; done; done
    done
  fi
  say "scoring: $(wc -l < "$jobs") evaluations, $par at a time, until ${t_score} s"
  local left=$((t_score - $(el)))
  [ $left -lt 10 ] && left=10
  export G cls EVN W
  timeout $left xargs -P "$par" -L 1 sh -c 'OMP_NUM_THREADS=2 "$G" eval "$1" --metric "$2" --classifier "$cls" -n "$EVN" > "$W/scores/$0.txt" 2>&1' < "$jobs"
  say "scoring: done or out of time"
}

student_started=0 teacher_stopped=0 scorepid="" last=0
while :; do
  now=$(el)
  if [ $cat = 1 ] && [ $student_started = 0 ]; then
    if alive teacher && [ "$now" -ge $t_teacher ] && [ $teacher_stopped = 0 ]; then
      say "teacher: time is up, SIGTERM (it saves a checkpoint)"
      kill -TERM "$(cat "$R/teacher.pid")"
      teacher_stopped=1
    fi
    if ! alive teacher; then
      wait "$(cat "$R/teacher.pid")" 2>/dev/null
      say "teacher done ($(tail -1 "$R/teacher/log.csv" 2>/dev/null | cut -d, -f1-2)); compress --macs 10% --epochs 16"
      bg student gfrun compress "$R/teacher" --macs 10% --epochs 16 --out "$R/student" --seed 1 --device "$DEV" --quiet "${lim_s[@]}"
      student_started=1
    fi
  fi
  if [ -z "$scorepid" ]; then
    any=0
    for n in $(mnist_names); do alive "$n" && any=1; done
    if [ $any = 0 ]; then
      say "MNIST runs done: scoring starts"
      score_all &
      scorepid=$!
    fi
  fi
  any=0
  for n in $(names); do alive "$n" && any=1; done
  [ $any = 0 ] && [ $student_started = $cat ] && break
  if [ "$now" -ge $t_train ]; then
    say "training: time is up; ganforge runs get SIGTERM (a checkpoint), twins are stopped"
    for n in $(names); do alive "$n" && kill -TERM "$(cat "$R/$n.pid")" 2>/dev/null; done
    pkill -TERM -f torch_twin.py 2>/dev/null
    sleep 8
    pkill -KILL -f torch_twin.py 2>/dev/null
    break
  fi
  if [ $((now - last)) -ge 30 ]; then say "$(status_line)"; last=$now; fi
  sleep 2
done
say "$(status_line)"
[ $mps = on ] && { echo quit | nvidia-cuda-mps-control 2>/dev/null; }
if [ -z "$scorepid" ]; then score_all & scorepid=$!; fi
wait "$scorepid"
{
  printf 'name\tvalue\textra\n'
  for t in "$W"/scores/*.txt; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .txt)
    l=$(grep -m1 -E '^(fid-mnist|cacc-mnist)=' "$t")
    [ -n "$l" ] || continue
    printf '%s\t%s\t%s\n' "$n" "$(echo "$l" | sed 's/^[^=]*=\([^ ]*\).*/\1/')" "$(echo "$l" | cut -d' ' -f2)"
  done
} > "$out/scores.tsv"
say "scored $(($(wc -l < "$out/scores.tsv") - 1)) of $(wc -l < "$jobs")"
# means per (model, side, epoch, metric)
awk -F'\t' 'NR > 1 { split($1, p, "_"); k = p[1] " " p[2] " " p[4] " " p[5]; s[k] += $2; n[k]++; v[k] = v[k] " " $2 }
  END { for (k in s) printf "%-28s mean %9.4f over %d: %s\n", k, s[k] / n[k], n[k], v[k] }' "$out/scores.tsv" | sort
# ------------------------------------------------------------------ what comes back
if [ $cat = 1 ]; then
  for x in teacher student; do
    f="$R/$x/cyclegan.safetensors"
    [ -f "$f" ] || f="$R/$x/checkpoints/latest.safetensors"
    [ -f "$f" ] || continue
    $PY - "$f" "$out/${x}_GA.safetensors" <<'EOF'
import sys
from safetensors import safe_open
from safetensors.numpy import save_file
f = safe_open(sys.argv[1], "np")
save_file({k: f.get_tensor(k) for k in f.keys() if k.startswith("G_A.")}, sys.argv[2], metadata=f.metadata())
EOF
    say "$x: $(ls -la "$out/${x}_GA.safetensors" 2>/dev/null | awk '{print $5}') bytes of G_A from $f"
  done
fi
(
  cd "$W" || exit
  files=(scores runs/*.out jobs.txt kit/summary.json kit/check.log mps_probe.log)
  for n in $(names); do
    for x in log.csv config.txt accuracy.csv compress.txt; do [ -f "runs/$n/$x" ] && files+=("runs/$n/$x"); done
    p=$(ls runs/"$n"/samples/*.png 2>/dev/null | tail -1)
    [ -n "$p" ] && files+=("$p")
  done
  [ -f runs/cls/classifier.safetensors ] && files+=(runs/cls/classifier.safetensors)
  s1=${seeds%% *}
  for x in cd wg; do # the first seed's generators beside the tar (7 MB each: the tar stays under 16 MiB)
    [ -f "runs/${x}_gf_$s1/generator.safetensors" ] && cp "runs/${x}_gf_$s1/generator.safetensors" "$out/${x}_gf_${s1}_generator.safetensors"
  done
  ls "${files[@]}" > /dev/null 2>&1
  tar czf "$out/results.tar.gz" --ignore-failed-read "${files[@]}" 2>/dev/null
)
say "results.tar.gz: $(du -h "$out/results.tar.gz" | cut -f1)"
[ -n "$kitpid" ] && { kill -0 $kitpid 2>/dev/null && say "kit parity still running: stopped"; kill $kitpid 2>/dev/null; }
[ -f "$W/kit/summary.json" ] && say "kit: $(python3 -c "import json,sys; d=json.load(open('$W/kit/summary.json')); print(d.get('parts', d) if isinstance(d, dict) else d)" 2>/dev/null | cut -c1-600)"
say "done"
