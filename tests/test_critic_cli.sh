#!/usr/bin/env bash
# test_critic_cli.sh: the Wasserstein / hinge / spectral-norm presets from the command line: bad
# combinations refused with one line (exit 2, no run folder), short runs of wgan-gp-mnist,
# wgan-mnist, wgan-gp-grid25 and sngan-folder with their log columns and report charts, an exact
# resume through the gradient penalty's random stream, and `info` naming spectral-norm layers.
set -u
gf="$1"
tmp="${GF_TMP:-/tmp}/critic_cli"
rm -rf "$tmp"; mkdir -p "$tmp"
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
export OMP_NUM_THREADS=1
data="${GF_TEST_DATA:-}"
small="--set model.ngf=4 --set model.ndf=4 --set model.nz=8 --set train.grid=4 --set train.nrow=2 --quiet"

# refuse NAME EXPECTED-TEXT ARGS...: exit 2, one error line containing the text, no run folder written
refuse() {
  local name="$1" want="$2"; shift 2
  local out="$tmp/refused_$name"
  msg=$("$gf" train "$@" --quiet --out "$out" 2>&1); rc=$?
  err=$(grep "error:" <<<"$msg")
  if [ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && grep -qF -- "$want" <<<"$err" && [ ! -e "$out" ]; then
    ok "refused $name: $err"
  else
    bad "$name: exit $rc, $(test -e "$out" && echo 'run folder written, ')message: $msg"
  fi
}
refuse gp_bn "D.net.3 (BatchNorm) has no second-order pass" wgan-gp-mnist --set model.dcgan_d_norm=bn
refuse r1_dropout "D.net.0 (Dropout) has no second-order pass" goodfellow-mnist --set train.r1_gamma=10
refuse clip_gp "train.clip=0.01 with a gradient penalty" wgan-gp-mnist --set train.clip=0.01
refuse clip_r1 "train.clip=0.01 with a gradient penalty (train.r1_gamma)" mlp-mnist --set train.loss=wgan \
  --set train.clip=0.01 --set train.r1_gamma=1
refuse wgan_unconstrained "train.loss=wgan needs a Lipschitz constraint" mlp-mnist --set train.loss=wgan
refuse g_loss "train.g_loss=minimax is a form of train.loss=bce" mlp-mnist --set train.loss=hinge --set train.g_loss=minimax
refuse two_penalties "one gradient penalty at a time" wgan-gp-mnist --set train.r1_gamma=10
refuse unknown_loss "train.loss" mlp-mnist --set train.loss=wasserstein
refuse cyclegan_loss "train.loss" cyclegan --set train.loss=hinge
refuse rms_alpha "train.rms_alpha" wgan-mnist --set train.rms_alpha=1

mnist="$data/mnist"
if [ -d "$mnist" ]; then
  # WGAN-GP: the critic's columns and the report's Wasserstein chart
  run="$tmp/wgp"
  "$gf" train wgan-gp-mnist --data "$mnist" --set data.limit=256 --batch 16 --epochs 1 $small --out "$run" \
    && ok "wgan-gp-mnist ran" || bad "wgan-gp-mnist run"
  head -n 1 "$run/log.csv" | grep -qx "step,epoch,loss_D,loss_G,D_x,D_G_z,seconds,wasserstein,penalty,grad_norm" \
    && ok "wgan-gp log columns" || bad "wgan-gp log header: $(head -n 1 "$run/log.csv")"
  rows=$(tail -n +2 "$run/log.csv" | wc -l)
  [ "$rows" -eq 3 ] && ok "3 G steps of 5 critic steps from 16 batches" || bad "log rows: $rows"
  # wasserstein = D_x - D_G_z, the penalty positive
  awk -F, 'NR > 1 { if (($5 - $6 - $8) > 1e-4 || ($5 - $6 - $8) < -1e-4 || $9 <= 0) bad = 1 } END { exit bad }' \
    "$run/log.csv" && ok "wasserstein = D_x - D_G_z, penalty > 0" || bad "log values: $(tail -n 2 "$run/log.csv")"
  grep -q "Wasserstein estimate" "$run/report.html" && grep -q "Gradient penalty" "$run/report.html" \
    && ok "report charts" || bad "report lacks the critic charts"

  # stop + resume through the penalty's random stream = one run
  rs="--data $mnist --set data.limit=320 --batch 16 --epochs 2 $small"
  "$gf" train wgan-gp-mnist $rs --out "$tmp/ra" \
    && "$gf" train wgan-gp-mnist $rs --set train.max_steps=3 --out "$tmp/rb" \
    && "$gf" train --resume "$tmp/rb" --set train.max_steps=0 --quiet \
    && cmp -s "$tmp/ra/generator.safetensors" "$tmp/rb/generator.safetensors" \
    && ok "wgan-gp resume identical" || bad "wgan-gp resume differs"

  # WGAN: clipping + RMSprop on the BatchNorm critic; only the wasserstein column
  "$gf" train wgan-mnist --data "$mnist" --set data.limit=160 --batch 16 --epochs 1 $small --out "$tmp/wgan" \
    && head -n 1 "$tmp/wgan/log.csv" | grep -qx "step,epoch,loss_D,loss_G,D_x,D_G_z,seconds,wasserstein" \
    && ok "wgan-mnist" || bad "wgan-mnist: $(head -n 1 "$tmp/wgan/log.csv" 2>&1)"
fi

# WGAN-GP on the grid through maxout, and its mode-coverage plot
"$gf" train wgan-gp-grid25 --set data.n=500 --set train.grid=100 --set model.g_hidden=16,16 --set model.d_hidden=16,16 \
  --epochs 1 --quiet --out "$tmp/grid" && [ -s "$tmp/grid/samples/epoch_001.png" ] && ok "wgan-gp-grid25" || bad "wgan-gp-grid25"

# SNGAN-style hinge + spectral norm on an image folder; info names the normalised layers
faces="$data/faces/orl_faces/s1"
if [ -d "$faces" ]; then
  "$gf" train sngan-folder --data "$faces" --epochs 2 --batch 4 --set model.size=16 $small --out "$tmp/sn" \
    && [ -s "$tmp/sn/samples/epoch_002.png" ] && ok "sngan-folder" || bad "sngan-folder"
  n=$("$gf" info "$tmp/sn" | grep -c "(spectral norm)")
  [ "$n" -eq 3 ] && ok "info: 3 spectral-norm convolutions" || bad "info: $n spectral-norm layers"
fi
exit $fail
