#!/usr/bin/env bash
# test_faults.sh: a disk that fills up or a run folder that stops being writable, during every
# kind of write a training run makes (checkpoint, generator, picture, report, GIF, log, config,
# TensorBoard event file) and during `ganforge export` (ONNX, standalone C):
# exit 1 with a message naming the file and the cause (and, once a checkpoint exists, that it is
# intact and how to resume), no temporary files left, nothing partial under a final name, the
# previous checkpoint loadable and resumable. Faults come from the library's write seam
# (GANFORGE_FAULT_WRITE=ERR,N,MATCH: the N-th write of a path containing MATCH fails with ERR);
# then for real: a run folder that is not writable from the start (as an unprivileged user, or a
# read-only tmpfs), and a tiny tmpfs that really fills up (when this user may mount; else skipped).
# usage: bash tests/test_faults.sh /path/to/ganforge   (env: GF_TMP)
set -u
G=${1:?usage: test_faults.sh /path/to/ganforge}
case "$G" in /*) ;; *) G="$PWD/$G" ;; esac
T=${GF_TMP:-/tmp/ganforge-test}/faults
rm -rf "$T" && mkdir -p "$T" || exit 2
export GANFORGE_CACHE="$T/cache" OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
unset GANFORGE_DATA XDG_CACHE_HOME GANFORGE_MIRROR GANFORGE_FAULT_WRITE
cd "$T" || exit 2

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# 3 epochs of 8 steps, a checkpoint, picture, generator, report and GIF after each
SMALL=(gauss1d --set data.n=1024 --set model.g_hidden=8 --set model.d_hidden=8 --set train.batch=128 --epochs 3
  --set train.grid=100 --quiet)

# clean RUN: no temporary file left anywhere in the run folder, and every file under a final name
# is whole: each .safetensors opens (ganforge info), each PNG has its IEND chunk, log.csv rows are complete
clean() {
  local run=$1 f
  if [ -n "$(find "$run" -name '*.tmp.*' 2>/dev/null)" ]; then bad "$run: temporary files left: $(find "$run" -name '*.tmp.*')"; else ok; fi
  for f in $(find "$run" -name '*.safetensors' 2>/dev/null); do
    timeout 30 "$G" info "$f" >/dev/null 2>"$T/info.err" && ok || bad "$f does not load: $(cat "$T/info.err")"
  done
  for f in $(find "$run" -name '*.png' 2>/dev/null); do
    [ "$(tail -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "49454e44ae426082" ] && ok || bad "$f is cut short (no IEND)"
  done
  if [ -f "$run/log.csv" ]; then
    awk -F, 'NR == 1 { n = NF } NF != n { exit 1 }' "$run/log.csv" && ok || bad "$run/log.csv has a partial row"
  fi
}
# fault NAME ERR,N,MATCH PATTERN: a fresh run with that fault exits 1 with a message matching PATTERN
fault() {
  local name=$1 spec=$2 pat=$3
  rm -rf "$T/$name"
  GANFORGE_FAULT_WRITE=$spec timeout 120 "$G" train "${SMALL[@]}" --out "$T/$name" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  if [ "$rc" = 1 ] && grep -Eq -- "$pat" "$T/$name.err"; then ok; else
    bad "$spec: exit $rc, expected 1 and /$pat/; stderr: $(head -c 600 "$T/$name.err")"
  fi
  clean "$T/$name"
}
# resumes RUN: the intact checkpoint continues to the end
resumes() {
  timeout 120 "$G" train --resume "$1" --quiet >/dev/null 2>"$T/res.err" && ok || bad "resume of $1 failed: $(head -c 400 "$T/res.err")"
  grep -q "^24,3," "$1/log.csv" && ok || bad "resumed $1 did not reach step 24: $(tail -1 "$1/log.csv")"
  clean "$1"
}
step_of() { timeout 30 "$G" info "$1" 2>/dev/null | sed -n 's/^g_steps: //p'; }

echo "== a clean run (the control)"
timeout 120 "$G" train "${SMALL[@]}" --out "$T/ref" 2>"$T/ref.err" && ok || bad "the control run failed: $(cat "$T/ref.err")"
clean "$T/ref"
[ "$(step_of "$T/ref/checkpoints/latest.safetensors")" = 24 ] && ok || bad "the control run's checkpoint is not at step 24"

echo "== disk full while writing the second checkpoint"
fault ck2 ENOSPC,2,checkpoints/step_ \
  "step_00000016\.safetensors: write failed: No space left on device; training stopped at step 16; the last checkpoint, .*/ck2/checkpoints/latest\.safetensors, is intact: .*--resume"
[ ! -e "$T/ck2/checkpoints/step_00000016.safetensors" ] && ok || bad "the failed checkpoint exists under its final name"
[ "$(step_of "$T/ck2/checkpoints/latest.safetensors")" = 8 ] && ok || bad "latest is not the step-8 checkpoint"
resumes "$T/ck2"

echo "== disk full at the first checkpoint: nothing to resume, and the message says so"
fault ck1 ENOSPC,1,checkpoints/step_ "step_00000008\.safetensors: write failed: No space left on device; training stopped at step 8, before its first checkpoint"

echo "== the run folder stops being writable at the second checkpoint"
fault ckacc EACCES,2,checkpoints/ "checkpoints/step_00000016\.safetensors: cannot write: Permission denied; training stopped.*is intact"
resumes "$T/ckacc"

echo "== disk full while writing a picture, the generator, the report, the GIF, the log, the config"
fault pic ENOSPC,2,samples/epoch_ "samples/epoch_002\.png: write failed: No space left on device; training stopped at step 16; the last checkpoint.*is intact"
[ ! -e "$T/pic/samples/epoch_002.png" ] && ok || bad "the failed picture exists"
resumes "$T/pic"
fault gen ENOSPC,2,generator.safetensors "generator\.safetensors: write failed: No space left on device; training stopped"
[ "$(step_of "$T/gen/generator.safetensors")" = 8 ] && ok || bad "generator.safetensors is not the intact step-8 one"
fault rep ENOSPC,2,report.html "report\.html: write failed: No space left on device; training stopped"
fault gif ENOSPC,2,progress.gif "progress\.gif: write failed: No space left on device; training stopped"
# the log: the 1st write is its creation, the 2nd its first flush (end of epoch 1)
fault logw ENOSPC,2,log.csv "log\.csv: write failed: No space left on device; training stopped"
fault logr EROFS,1,log.csv "log\.csv: cannot write: Read-only file system"
fault cfg ENOSPC,1,config.txt "config\.txt: write failed: No space left on device"
[ ! -e "$T/cfg/config.txt" ] && ok || bad "the failed config.txt exists"
# a disk full while a resumed run rewrites its log keeps the old log whole
cp -r "$T/ck2" "$T/ck2b" 2>/dev/null
rm -f "$T/ck2b/log.csv" && cp "$T/ref/log.csv" "$T/ck2b/log.csv"
GANFORGE_FAULT_WRITE=ENOSPC,1,log.csv timeout 60 "$G" train --resume "$T/ck2b" --quiet >/dev/null 2>"$T/ck2b.err"
[ $? = 1 ] && grep -q "log\.csv: write failed: No space left" "$T/ck2b.err" && ok || bad "resume with a full disk: $(head -c 300 "$T/ck2b.err")"
cmp -s "$T/ref/log.csv" "$T/ck2b/log.csv" && ok || bad "a resume that could not rewrite log.csv damaged it"
# a row cut short by a full disk is dropped when the run resumes
head -c -9 "$T/ck2/log.csv" >"$T/cut.csv"; cp "$T/cut.csv" "$T/ck2/log.csv"
timeout 120 "$G" train --resume "$T/ck2" --set train.max_steps=20 --quiet 2>"$T/cut.err" && ok || bad "resume after a cut row failed: $(cat "$T/cut.err")"
awk -F, 'NR == 1 { n = NF } NF != n { exit 1 }' "$T/ck2/log.csv" && ok || bad "the cut row survived the resume"

echo "== TensorBoard event files (train.tensorboard=1): a full disk mid-record, an unwritable folder"
# whole_records FILE...: each file is whole TFRecord records (length, masked CRC-32C of it, data,
# masked CRC-32C of the data) to its last byte
whole_records() {
  python3 - "$@" <<'PY' 2>&1
import struct, sys
T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def masked(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return ((c >> 15 | c << 17) + 0xA282EAD8) & 0xFFFFFFFF
for path in sys.argv[1:]:
    d, o, n = open(path, "rb").read(), 0, 0
    while o < len(d):
        ok = o + 12 <= len(d)
        k = struct.unpack_from("<Q", d, o)[0] if ok else 0
        ok = ok and struct.unpack_from("<I", d, o + 8)[0] == masked(d[o:o + 8]) and o + 16 + k <= len(d)
        ok = ok and struct.unpack_from("<I", d, o + 12 + k)[0] == masked(d[o + 12:o + 12 + k])
        if not ok:
            sys.exit("%s: record %d at byte %d of %d is not whole" % (path, n, o, len(d)))
        o, n = o + 16 + k, n + 1
    if n < 2:
        sys.exit("%s: only %d records" % (path, n))
PY
}
SMALL0=("${SMALL[@]}")
SMALL+=(--set train.tensorboard=1)
# records: the version, 6 scalars per step, the picture per epoch: the 60th is at step 10
fault tb ENOSPC,60,events.out.tfevents \
  "events\.out\.tfevents\.[^:]*: write failed: No space left on device; training stopped at step 10; the last checkpoint, .*/tb/checkpoints/latest\.safetensors, is intact"
msg=$(whole_records "$T"/tb/events.out.tfevents.*) && ok || bad "the event file after a full disk: $msg"
resumes "$T/tb"
[ "$(find "$T/tb" -name 'events.out.tfevents.*' | wc -l)" = 2 ] && ok || bad "the resumed run did not write its own event file"
msg=$(whole_records "$T"/tb/events.out.tfevents.*) && ok || bad "the event files after the resume: $msg"
fault tbro EROFS,1,events.out.tfevents "events\.out\.tfevents\.[^:]*: cannot write: Read-only file system$"
[ -z "$(find "$T/tbro" -name 'events.out.tfevents.*')" ] && ok || bad "an event file without its first record was left"
SMALL=("${SMALL0[@]}")

echo "== export (ONNX, standalone C): a full disk leaves no file, and an earlier export whole"
# export NAME SPEC PATTERN ARGS...: ganforge export with that fault exits 1 with a message matching PATTERN
export_fault() {
  local name=$1 spec=$2 pat=$3
  shift 3
  GANFORGE_FAULT_WRITE=$spec timeout 60 "$G" export "$T/ref" "$@" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  if [ "$rc" = 1 ] && grep -Eq -- "$pat" "$T/$name.err"; then ok; else
    bad "export $* with $spec: exit $rc, expected 1 and /$pat/; stderr: $(head -c 600 "$T/$name.err")"
  fi
}
mkdir -p "$T/exp"
export_fault onnx1 ENOSPC,1,g.onnx "exp/g\.onnx: write failed: No space left on device" --format onnx -o "$T/exp/g.onnx"
[ -z "$(ls -A "$T/exp")" ] && ok || bad "a failed ONNX export left: $(ls -A "$T/exp")"
timeout 60 "$G" export "$T/ref" --format onnx -o "$T/exp/g.onnx" >/dev/null 2>"$T/exp.err" && ok || bad "ONNX export: $(cat "$T/exp.err")"
cp "$T/exp/g.onnx" "$T/g0.onnx"
export_fault onnx2 EACCES,1,g.onnx "exp/g\.onnx: cannot write: Permission denied" --format onnx -o "$T/exp/g.onnx"
cmp -s "$T/exp/g.onnx" "$T/g0.onnx" && [ "$(ls -A "$T/exp")" = g.onnx ] && ok || bad "a failed ONNX export damaged the earlier one: $(ls -A "$T/exp")"
# the C export: three files, staged then moved into place
export_fault c1 ENOSPC,1,gen.c "expc/gen\.c: write failed: No space left on device" --format c -o "$T/expc"
[ -z "$(ls -A "$T/expc" 2>/dev/null)" ] && ok || bad "a failed C export left: $(ls -A "$T/expc")"
timeout 60 "$G" export "$T/ref" --format c -o "$T/expc" >/dev/null 2>"$T/exp.err" && ok || bad "C export: $(cat "$T/exp.err")"
rm -rf "$T/expc0" && cp -r "$T/expc" "$T/expc0"
export_fault c2 ENOSPC,1,gen.h "expc/gen\.h: write failed: No space left on device" --format c --weights blob -o "$T/expc"
diff -r "$T/expc0" "$T/expc" >/dev/null && ok || bad "a failed C export changed the earlier one: $(ls -A "$T/expc")"

echo "== a run folder that is not writable from the start"
ro_run() { # ro_run DIR: training into DIR/run must fail at once, naming the folder
  local d=$1
  shift
  "$@" "$G" train "${SMALL[@]}" --out "$d/run" >/dev/null 2>"$T/ro.err"
  local rc=$?
  if [ "$rc" = 1 ] && grep -Eq "$d/run: cannot create directory: (Permission denied|Read-only file system)" "$T/ro.err"; then ok; else
    bad "unwritable $d: exit $rc, $(head -c 300 "$T/ro.err")"
  fi
}
mkdir -p "$T/ro" && chmod 555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
  ro_run "$T/ro"
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$G" 2>/dev/null; then
  ro_run "$T/ro" setpriv --reuid=65534 --regid=65534 --clear-groups
else
  echo "note: running as root and $G is not reachable as nobody: the chmod case is skipped"
fi
chmod 755 "$T/ro"
can_mount=0
mkdir -p "$T/mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$T/mnt" 2>/dev/null; then can_mount=1; umount "$T/mnt"; fi
if [ "$can_mount" = 1 ]; then
  mount -t tmpfs -o ro,size=1m tmpfs "$T/mnt" && ro_run "$T/mnt"
  umount "$T/mnt"

  echo "== a real tmpfs that fills up"
  # 120 KiB: the first epoch's files fit, the run's do not
  mount -t tmpfs -o size=120k tmpfs "$T/mnt"
  timeout 120 "$G" train "${SMALL[@]}" --epochs 12 --out "$T/mnt/run" >/dev/null 2>"$T/full.err"
  rc=$?
  if [ "$rc" = 1 ] && grep -q "No space left on device" "$T/full.err"; then ok; else bad "full tmpfs: exit $rc, $(head -c 400 "$T/full.err")"; fi
  clean "$T/mnt/run"
  if [ -e "$T/mnt/run/checkpoints/latest.safetensors" ]; then
    s=$(step_of "$T/mnt/run/checkpoints/latest.safetensors")
    mount -o remount,size=8m "$T/mnt"
    timeout 120 "$G" train --resume "$T/mnt/run" --quiet >/dev/null 2>"$T/full_res.err" && ok ||
      bad "resume after making room failed: $(head -c 400 "$T/full_res.err")"
    grep -q "^96,12," "$T/mnt/run/log.csv" && ok || bad "the resumed run (from step $s) did not finish: $(tail -1 "$T/mnt/run/log.csv")"
    clean "$T/mnt/run"
  else
    bad "the full tmpfs run left no checkpoint: $(cat "$T/full.err")"
  fi
  umount "$T/mnt"
else
  echo "note: this user cannot mount a tmpfs: the real full-disk and read-only-mount cases are skipped (the write seam covers them)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
