#!/usr/bin/env bash
# test_messages.sh: what a newcomer meets: a folder with fewer images than the batch (names the
# folder, the real count and --batch), an MNIST file with bytes after its declared data (refused,
# naming the file and the extra byte count), and a config file with an over-long line (refused,
# never cut into two settings).
# usage: bash tests/test_messages.sh /path/to/ganforge   (env: GF_TEST_DATA, GF_TMP)
set -u
G=${1:?usage: test_messages.sh /path/to/ganforge}
case "$G" in /*) ;; *) G="$PWD/$G" ;; esac
DATA=${GF_TEST_DATA:-$(dirname "$0")/../../shared/data}
T=${GF_TMP:-/tmp/ganforge-test}/messages
rm -rf "$T" && mkdir -p "$T" || exit 2
export GANFORGE_CACHE="$T/cache"
unset GANFORGE_DATA XDG_CACHE_HOME GANFORGE_MIRROR
cd "$T" || exit 2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# run RC PATTERN ARGS...: ganforge ARGS must exit RC with an stderr line matching PATTERN (grep -E)
run() {
  local want=$1 pat=$2; shift 2
  timeout 120 "$G" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" != "$want" ]; then bad "ganforge $* -> exit $rc, expected $want; stderr: $(head -c 600 "$T/err")"; return 1; fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/err"; then bad "ganforge $* -> stderr does not match /$pat/: $(head -c 600 "$T/err")"; return 1; fi
  ok
}
# idx FILE MAGIC COUNT [ROWS COLS] EXTRA: an IDX file of COUNT zero items plus EXTRA trailing bytes
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
idx_images() { { be32 2051; be32 "$2"; be32 28; be32 28; head -c $(($2 * 784 + $3)) /dev/zero; } >"$1"; }
idx_labels() { { be32 2049; be32 "$2"; head -c $(($2 + $3)) /dev/zero; } >"$1"; }

echo "== a folder with fewer images than the batch"
mkdir -p "$T/eight"
n=0
for f in "$DATA"/faces/orl_faces/s1/*.pgm; do
  [ $n -lt 8 ] || break
  cp "$f" "$T/eight/$n.pgm" && n=$((n + 1))
done
if [ "$n" = 8 ]; then
  run 2 "$T/eight .*has 8 images, fewer than the batch size 64: pass --batch 8 or smaller" \
    train dcgan64 --data "$T/eight" --out "$T/r_eight" --quiet
  # the advice works: the same folder trains with --batch 8
  run 0 "" train dcgan64 --data "$T/eight" --batch 8 --set model.ngf=4 --set model.ndf=4 --set train.max_steps=1 \
    --set train.grid=4 --set train.nrow=2 --out "$T/r_eight8" --quiet
else
  bad "no ORL faces under $DATA/faces/orl_faces/s1: set GF_TEST_DATA"
fi
run 2 "dataset shapes has 16 samples, fewer than the batch size 64: pass --batch 16 or smaller .*data\.n" \
  train mlp-shapes --set data.n=16 --out "$T/r_shapes" --quiet

echo "== MNIST files with bytes after the declared data are refused"
mkdir -p "$T/mn_img" "$T/mn_lab" "$T/mn_ok"
idx_images "$T/mn_ok/train-images-idx3-ubyte" 64 0
idx_labels "$T/mn_ok/train-labels-idx1-ubyte" 64 0
idx_images "$T/mn_img/train-images-idx3-ubyte" 64 5
idx_labels "$T/mn_img/train-labels-idx1-ubyte" 64 0
idx_images "$T/mn_lab/train-images-idx3-ubyte" 64 0
idx_labels "$T/mn_lab/train-labels-idx1-ubyte" 64 3
for d in mn_ok mn_img mn_lab; do # the lookup wants the test split too
  idx_images "$T/$d/t10k-images-idx3-ubyte" 64 0
  idx_labels "$T/$d/t10k-labels-idx1-ubyte" 64 0
done
small="--set model.g_hidden=8 --set model.d_hidden=8 --set train.max_steps=1 --set train.grid=4 --set train.nrow=2 --quiet"
run 0 "" train mlp-mnist --data "$T/mn_ok" --set data.download=0 $small --out "$T/r_mn_ok"
# data.n sizes generated sets only: on a set read from files it is named as ignored, with the key that works
run 0 "warning: data\.n=32 is ignored: data\.name=mnist reads its files \(data\.limit=N takes the first N\)" \
  train mlp-mnist --data "$T/mn_ok" --set data.download=0 --set data.n=32 $small --out "$T/r_mn_n"
run 1 "$T/mn_img/train-images-idx3-ubyte: 5 bytes after the 64 images its header declares" \
  train mlp-mnist --data "$T/mn_img" --set data.download=0 $small --out "$T/r_mn_img"
run 1 "$T/mn_lab/train-labels-idx1-ubyte: 3 bytes after the 64 labels its header declares" \
  train mlp-mnist --data "$T/mn_lab" --set data.download=0 $small --out "$T/r_mn_lab"
# the same through gzip
mkdir -p "$T/mn_gz"
gzip -c "$T/mn_img/train-images-idx3-ubyte" >"$T/mn_gz/train-images-idx3-ubyte.gz"
for f in train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  gzip -c "$T/mn_img/$f" >"$T/mn_gz/$f.gz"
done
run 1 "$T/mn_gz/train-images-idx3-ubyte\.gz: 5 bytes after the 64 images" \
  train mlp-mnist --data "$T/mn_gz" --set data.download=0 $small --out "$T/r_mn_gz"
[ ! -e "$T/r_mn_img/generator.safetensors" ] && ok || bad "a refused MNIST file still produced a generator"

echo "== config files: whole lines only"
{ printf 'train.lr = 1e-3\n# comment\n[train]\nbatch = 32\n'; } >"$T/good.cfg"
run 0 "" train gauss1d --config "$T/good.cfg" --epochs 0 --out "$T/r_cfg" --quiet
grep -q "^train.batch = 32$" "$T/r_cfg/config.txt" && grep -q "^train.lr = 0.001$" "$T/r_cfg/config.txt" && ok ||
  bad "the [section] config file was not applied: $(grep -E '^train\.(lr|batch) ' "$T/r_cfg/config.txt")"
# a long comment is a comment to its end (the old reader cut lines at 511 bytes and applied the
# rest, here train.lr=5, as a setting of its own)
{ printf 'train.batch = 8  # '; head -c 492 /dev/zero | tr '\0' 'x'; printf ' train.lr=5\n'; } >"$T/longc.cfg"
run 0 "" train gauss1d --config "$T/longc.cfg" --epochs 0 --out "$T/r_longc" --quiet
grep -q "^train.batch = 8$" "$T/r_longc/config.txt" && grep -q "^train.lr = 0.001$" "$T/r_longc/config.txt" && ok ||
  bad "a long comment line was misread: $(grep -E '^train\.(lr|batch) ' "$T/r_longc/config.txt" | tr '\n' ' ')"
# (the line buffer holds the longest list key, model.g_channels: GF_CONFIG_LSTR + 512)
{ printf 'model.g_hidden = 8'; head -c 1600 /dev/zero | tr '\0' ' '; printf 'x\n'; } >"$T/long.cfg"
run 2 "long\.cfg:1: setting longer than 1535 characters" train gauss1d --config "$T/long.cfg" --out "$T/r_long" --quiet
# a value is never cut short (train.epochs = 000...0012 was read as 0 past the buffer's characters)
run 2 "train\.epochs.*value longer than 1087" train gauss1d --set "train.epochs=$(head -c 1100 /dev/zero | tr '\0' 0)12" \
  --out "$T/r_val" --quiet
printf 'train.lr = 1e-3\0\n' >"$T/nul.cfg"
run 2 "nul\.cfg:1: NUL byte" train gauss1d --config "$T/nul.cfg" --out "$T/r_nul" --quiet
# a pipe works as a file does
run 0 "" train gauss1d --config <(printf 'train.batch = 16\n') --epochs 0 --out "$T/r_pipe" --quiet
grep -q "^train.batch = 16$" "$T/r_pipe/config.txt" && ok || bad "--config from a pipe was not applied"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
