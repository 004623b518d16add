#!/usr/bin/env bash
# test_cuda_cli.sh: --device cuda from the command line without a usable GPU: exit 1 and one line
# naming the cause (built without CUDA / no driver / no device), nothing written; bad device names,
# precisions and graph settings are usage errors (exit 2); `version` names the CUDA build.
# On a machine with a GPU the device cases are skipped (tools/gpu/check.sh covers them there).
set -u
G=${1:?usage: test_cuda_cli.sh /path/to/ganforge}
T=${GF_TMP:-/tmp/ganforge-test}/cuda_cli
rm -rf "$T" && mkdir -p "$T" && cd "$T" || exit 2
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# run RC PATTERN ARGS...: exit code RC and exactly one stderr line matching PATTERN
run() {
  local want=$1 pat=$2; shift 2
  timeout 60 "$G" "$@" >"$T/out" 2>"$T/err"
  local rc=$? lines
  lines=$(wc -l <"$T/err")
  if [ "$rc" != "$want" ]; then bad "ganforge $* -> exit $rc, expected $want: $(head -c 400 "$T/err")"; return; fi
  if ! grep -Eq -- "$pat" "$T/err"; then bad "ganforge $* -> stderr does not match /$pat/: $(head -c 400 "$T/err")"; return; fi
  if [ "$want" = 1 ] && [ "$lines" != 1 ]; then bad "ganforge $* -> $lines stderr lines, expected one: $(cat "$T/err")"; return; fi
  ok
}
"$G" version >"$T/version" 2>&1 && ok || bad "version failed"
cudaline=$(grep '^cuda: ' "$T/version")
[ -n "$cudaline" ] && ok || bad "version has no 'cuda:' line: $(cat "$T/version")"
echo "$cudaline"
gpu=0
if [ -e /dev/nvidia0 ] || { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }; then gpu=1; fi
if echo "$cudaline" | grep -q "not built"; then
  why="built without CUDA"
else
  why="no CUDA driver|no CUDA device"
fi
if [ $gpu = 0 ]; then
  run 1 "^ganforge: error: cuda:0: .*($why)" train mlp-shapes --device cuda --out "$T/run"
  [ ! -e "$T/run" ] && ok || bad "a run folder was written for a missing device"
  run 1 "^ganforge: error: cuda:2: .*($why)" train mlp-shapes --device cuda:2 --out "$T/run"
  run 1 "^ganforge: error: cuda:0: .*($why)" bench mlp-mnist --device cuda
  run 1 "^ganforge: error: cuda:1: .*($why)" train dcgan-shapes --set train.device=cuda:1 --precision bf16 --out "$T/run"
else
  echo "a GPU is present: the missing-device cases are skipped"
fi
run 2 "bad device 'cuda:x'" train mlp-shapes --device cuda:x --out "$T/run"
run 2 "unknown device 'gpu'" train mlp-shapes --device gpu --out "$T/run"
run 2 "train.precision" train mlp-shapes --precision fp16 --out "$T/run"
run 2 "train.cuda_graph" train mlp-shapes --set train.cuda_graph=2 --out "$T/run"
run 2 "train.tf32" train mlp-shapes --set train.tf32=yes --out "$T/run"
run 2 "bf16 needs a CUDA device" train mlp-shapes --precision bf16 --set train.max_steps=1 --out "$T/run2"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
