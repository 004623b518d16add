#!/usr/bin/env bash
# test_runs.sh: runs from the command line: SIGTERM/SIGINT/SIGKILL during `ganforge train`, resume,
# `ganforge info`, sample/interpolate from checkpoints and run folders (PNG and .npy), the progress
# line, the report in headless Chromium, and tools/load_in_pytorch.py on MNIST runs.
# usage: bash test_runs.sh /path/to/ganforge   (env: GF_TEST_DATA, GF_TMP, GF_SRC)
set -u
GF=$(readlink -f "${1:?usage: test_runs.sh /path/to/ganforge}")
SRC=${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
DATA=${GF_TEST_DATA:-$SRC/../shared/data}
T=${GF_TMP:-/tmp/ganforge-test}/runs
PY=python3
PNG="$PY $SRC/tests/runs_png.py"
rm -rf "$T" && mkdir -p "$T" || exit 2
pass=0
fail=0
t_start=$SECONDS

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check "what" COMMAND...: passes when COMMAND succeeds
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
# expect_eq "what" got want
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', expected '$3'"; fi; }
has() { grep -q -- "$2" "$1"; }
# g_steps of a checkpoint or run, via `ganforge info`
info_steps() { timeout 30 "$GF" info "$1" 2>/dev/null | sed -n 's/^g_steps: //p'; }

# a small but otherwise complete mlp-shapes configuration: 16x16 shapes, 20 batches per epoch
SMALL=(--set data.n=640 --set data.size=16 --batch 32 --set model.g_hidden=64,128 --set model.d_hidden=128,64
       --set train.grid=16 --set train.nrow=4)

# start_bg NAME ARGS...: `ganforge train ARGS` in the background (stdout/stderr to files), with a
# watchdog that SIGKILLs it after 90 s; sets BG_PID and BG_WD
start_bg() {
  local name=$1; shift
  "$GF" train "$@" >"$T/$name.out" 2>"$T/$name.err" &
  BG_PID=$!
  # the watchdog's sleep must not outlive it (it would hold ctest's output pipe open)
  (
    exec >/dev/null 2>&1
    sleep 90 &
    s=$!
    trap 'kill $s; exit 0' TERM
    wait $s
    kill -9 "$BG_PID"
  ) &
  BG_WD=$!
}
stop_watchdog() { kill "$BG_WD" 2>/dev/null; wait "$BG_WD" 2>/dev/null; }
# wait_for FILE: up to 40 s
wait_for() {
  local i
  for ((i = 0; i < 400; i++)); do
    [ -e "$1" ] && return 0
    kill -0 "$BG_PID" 2>/dev/null || { [ -e "$1" ]; return; }
    sleep 0.1
  done
  return 1
}

# ---- 7a. SIGTERM and SIGINT: exit 130, checkpoint, resume continues -------------------------------
for sig in TERM INT; do
  run="$T/sig_$sig"
  start_bg "sig_$sig" mlp-shapes --out "$run" "${SMALL[@]}" --epochs 1000 --set train.checkpoint_every=5 \
    --set train.report=0
  check "SIG$sig: a first checkpoint appears" wait_for "$run/checkpoints/latest.safetensors"
  sleep 0.3
  kill -s "$sig" "$BG_PID" 2>/dev/null
  wait "$BG_PID"
  rc=$?
  stop_watchdog
  expect_eq "SIG$sig: exit code" "$rc" 130
  check "SIG$sig: stderr says the checkpoint was saved" has "$T/sig_$sig.err" "stopped by signal; checkpoint saved"
  S=$(info_steps "$run/checkpoints/latest.safetensors")
  check "SIG$sig: latest checkpoint has a step (got '$S')" test -n "$S"
  S=${S:-0}
  check "SIG$sig: step_$(printf %08d "$S") exists" test -f "$run/checkpoints/$(printf step_%08d.safetensors "$S")"
  check "SIG$sig: generator.safetensors written at the stop" test -f "$run/generator.safetensors"
  last=$(tail -n 1 "$run/log.csv" | cut -d, -f1)
  expect_eq "SIG$sig: last log row is the checkpoint's step" "$last" "$S"
  # resume: the config comes from the checkpoint; --set overrides on top
  timeout 60 "$GF" train --resume "$run" --set train.max_steps=$((S + 7)) >"$T/res_$sig.out" 2>"$T/res_$sig.err"
  expect_eq "SIG$sig: resume exit code" "$?" 0
  check "SIG$sig: resume names the checkpoint" has "$T/res_$sig.err" "resuming $run/checkpoints/latest.safetensors"
  expect_eq "SIG$sig: steps after resume" "$(info_steps "$run/checkpoints/latest.safetensors")" $((S + 7))
  # log rows continue: steps 1..S+7, one each, in order
  steps=$(tail -n +2 "$run/log.csv" | cut -d, -f1 | tr '\n' ' ')
  expect_eq "SIG$sig: log steps continue after resume" "$steps" "$(seq -s ' ' 1 $((S + 7))) "
done

# ---- 7b. kill -9 mid-run: latest stays loadable ----------------------------------------------------
run="$T/sig_KILL"
start_bg sig_KILL mlp-shapes --out "$run" "${SMALL[@]}" --epochs 1000 --set train.checkpoint_every=1 --set train.keep=2 \
  --set train.report=0
check "SIGKILL: a first checkpoint appears" wait_for "$run/checkpoints/latest.safetensors"
sleep 0.5
kill -9 "$BG_PID" 2>/dev/null
wait "$BG_PID" 2>/dev/null
stop_watchdog
timeout 30 "$GF" info "$run/checkpoints/latest.safetensors" >"$T/kill.info" 2>&1
expect_eq "SIGKILL: info on latest exit code" "$?" 0
check "SIGKILL: latest is a training checkpoint" has "$T/kill.info" "training checkpoint"
S=$(info_steps "$run")
check "SIGKILL: the run folder resolves to a checkpoint with a step" test -n "$S"
strays=$(ls "$run/checkpoints" | grep -c '\.tmp\.' || true)
[ "$strays" -gt 0 ] && echo "note: $strays temporary file(s) left in $run/checkpoints by the SIGKILL"
timeout 60 "$GF" train --resume "$run" --set train.max_steps=$((${S:-0} + 3)) --quiet 2>"$T/kill_res.err"
expect_eq "SIGKILL: resume exit code" "$?" 0
expect_eq "SIGKILL: steps after resume" "$(info_steps "$run")" $((${S:-0} + 3))

# ---- 7c. info -------------------------------------------------------------------------------------
run="$T/sig_TERM"
ck="$run/checkpoints/latest.safetensors"
timeout 30 "$GF" info "$ck" >"$T/info.txt" 2>&1
expect_eq "info exit code" "$?" 0
check "info: kind" has "$T/info.txt" "(training checkpoint,"
check "info: architecture" has "$T/info.txt" "architecture: mlp, data shapes (1x16x16), noise normal 64-d"
# G: Linear(64,64)+BN(64)+Linear(64,128)+BN(128)+Linear(128,256); D: 256-128-64-1
check "info: G parameter count" has "$T/info.txt" "^G: 45888 parameters"
check "info: D parameter count" has "$T/info.txt" "^D: 41217 parameters"
check "info: layers" has "$T/info.txt" "G.net.2 *BatchNorm(64)"
S=$(sed -n 's/^g_steps: //p' "$T/info.txt")
check "info: step (got '$S')" test -n "$S"
# 20 batches per epoch: step S is epoch S/20+1, batch S%20 (an epoch end is the next epoch's batch 0)
check "info: epoch" has "$T/info.txt" "^epoch: $((${S:-0} / 20 + 1))$"
check "info: batch" has "$T/info.txt" "^batch: $((${S:-0} % 20))$"
check "info: config" has "$T/info.txt" "^  model.g_hidden = 64,128$"
timeout 30 "$GF" info "$run" >"$T/info_run.txt" 2>&1
check "info on the run folder describes its latest checkpoint" cmp -s "$T/info.txt" "$T/info_run.txt"
timeout 30 "$GF" info "$run/generator.safetensors" >"$T/info_gen.txt" 2>&1
check "info on generator.safetensors" has "$T/info_gen.txt" "(generator weights,"
timeout 30 "$GF" info "$T/nonexistent" >/dev/null 2>"$T/info_err.txt"
expect_eq "info on a missing path: exit code" "$?" 1
check "info on a missing path: message" has "$T/info_err.txt" "nonexistent"

# ---- 7d. sample / interpolate from a run folder and a checkpoint ----------------------------------
for src in run ckpt; do
  [ $src == run ] && R="$run" || R="$ck"
  timeout 30 "$GF" sample "$R" --seed 3 -n 6 --nrow 3 --upscale 2 -o "$T/s_$src.png" >/dev/null
  expect_eq "sample from $src: exit code" "$?" 0
  # 3 columns x 2 rows of 32x32 cells, 2-pixel padding
  expect_eq "sample from $src: grid size" "$($PNG size "$T/s_$src.png" 2>&1)" "104 70"
  timeout 30 "$GF" interpolate "$R" --seed 4 --steps 5 --rows 2 --upscale 1 -o "$T/i_$src.png" >/dev/null
  expect_eq "interpolate from $src: exit code" "$?" 0
  expect_eq "interpolate from $src: size" "$($PNG size "$T/i_$src.png" 2>&1)" "92 38"
done
check "sample: run folder and its latest checkpoint give the same picture" cmp -s "$T/s_run.png" "$T/s_ckpt.png"
check "interpolate: run folder and checkpoint give the same picture" cmp -s "$T/i_run.png" "$T/i_ckpt.png"
timeout 30 "$GF" sample "$ck" --seed 5 -n 6 --nrow 3 --upscale 2 -o "$T/s_seed5.png" >/dev/null
check "sample: another --seed gives another picture" eval '! cmp -s "$T/s_ckpt.png" "$T/s_seed5.png"'
timeout 30 "$GF" sample "$ck" --seed 3 -n 5 --npy "$T/x.npy" --noise-out "$T/z.npy" >/dev/null
expect_eq "sample --npy: exit code" "$?" 0
read -r dt shape fin lo hi < <($PNG npy "$T/x.npy" 2>&1)
expect_eq "sample --npy: dtype and shape" "$dt $shape $fin" "<f4 5x1x16x16 finite"
check "sample --npy: values in [-1, 1] (tanh) ($lo..$hi)" $PY -c "import sys; sys.exit(not (-1 <= float('$lo') <= float('$hi') <= 1))"
read -r dt shape fin _ < <($PNG npy "$T/z.npy" 2>&1)
expect_eq "sample --noise-out: shape" "$dt $shape $fin" "<f4 5x64 finite"
timeout 30 "$GF" sample "$ck" --upscale 0 -o "$T/bad.png" >/dev/null 2>&1
expect_eq "sample --upscale 0: usage error" "$?" 2
timeout 30 "$GF" sample "$ck" --npy "$T/x.png" >/dev/null 2>&1
expect_eq "sample --npy without .npy: usage error" "$?" 2

# ---- 7e. progress line: plain lines when stderr is not a terminal; --quiet is silent --------------
timeout 60 "$GF" train mlp-shapes --out "$T/plain" "${SMALL[@]}" --set train.max_steps=5 >/dev/null 2>"$T/plain.err"
expect_eq "plain run: exit code" "$?" 0
check "plain run: a progress line for the last step" grep -q "^epoch 1/12 step 5/5 it/s [0-9.]* eta_s [0-9]* loss_D" "$T/plain.err"
check "plain run: no carriage returns on a non-terminal" eval '! grep -q $'"'"'\r'"'"' "$T/plain.err"'
check "plain run: the done line" has "$T/plain.err" "^ganforge: done: "
timeout 60 "$GF" train mlp-shapes --out "$T/quiet" "${SMALL[@]}" --set train.max_steps=5 --quiet >/dev/null 2>"$T/quiet.err"
expect_eq "quiet run: exit code" "$?" 0
expect_eq "quiet run: bytes on stderr" "$(wc -c <"$T/quiet.err")" 0

# ---- 5. the report in headless Chromium -----------------------------------------------------------
run="$T/report"
timeout 60 "$GF" train mlp-shapes --out "$run" "${SMALL[@]}" --set data.n=64 --epochs 2 --quiet
expect_eq "2-epoch run for the report: exit code" "$?" 0
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "skipped: chromium not installed"
else
  CHR=("$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
       --user-data-dir="$T/chromium-profile" --virtual-time-budget=5000)
  HOME="$T" timeout 90 "${CHR[@]}" --dump-dom "file://$run/report.html" >"$T/dom.html" 2>"$T/chromium.err"
  expect_eq "chromium --dump-dom: exit code" "$?" 0
  body=$(grep -o '<body[^>]*>' "$T/dom.html" | head -n 1)
  total=$(sed -n 's/.*data-images-total="\([0-9]*\)".*/\1/p' <<<"$body")
  loaded=$(sed -n 's/.*data-images-loaded="\([0-9]*\)".*/\1/p' <<<"$body")
  # 2 epoch PNGs + progress.gif
  expect_eq "chromium: images in the report (body: $body)" "${total:-none}" 3
  expect_eq "chromium: images loaded" "${loaded:-none}" "${total:-none}"
  HOME="$T" timeout 90 "${CHR[@]}" --window-size=800,600 --screenshot="$T/shot.png" "file://$run/report.html" \
    >/dev/null 2>>"$T/chromium.err"
  expect_eq "chromium --screenshot: exit code" "$?" 0
  read -r sw sh distinct < <(timeout 60 $PNG distinct "$T/shot.png" 2>&1)
  expect_eq "screenshot size" "$sw $sh" "800 600"
  check "screenshot is not blank ($distinct distinct pixel values)" test "${distinct:-0}" -ge 50 2>/dev/null
fi

# ---- 6. tools/load_in_pytorch.py on brief MNIST runs ----------------------------------------------
PYT=/usr/bin/python3
[ -x "$PYT" ] || PYT=python3
for preset in mlp-mnist goodfellow-mnist dcgan-mnist; do
  run="$T/$preset"
  timeout 60 "$GF" train "$preset" --out "$run" --data "$DATA/mnist" --set data.download=0 --set data.limit=1000 \
    --set train.max_steps=3 --epochs 1 --quiet
  expect_eq "$preset: 3-step run exit code" "$?" 0
  for target in "$run" "$run/checkpoints/latest.safetensors"; do
    out=$(timeout 120 "$PYT" "$SRC/tools/load_in_pytorch.py" "$target" --ganforge "$GF" -n 16 2>&1)
    rc=$?
    echo "load_in_pytorch $preset $(basename "$target"): $out" | tail -n 3
    expect_eq "load_in_pytorch.py $target: exit code" "$rc" 0
    check "load_in_pytorch.py $target: PASS or skipped" eval 'grep -Eq "^(PASS|skipped:)" <<<"$out"'
  done
done

echo "test_runs: $((SECONDS - t_start)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
