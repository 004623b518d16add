# shellcheck shell=bash
# presets.sh: the data each preset trains on in check.sh's parity part (3 steps, CPU vs GPU): one
# of the kit's tiny sets (tools/gpu/make_data.py), chosen by the preset's own data.name and
# model.arch (`ganforge presets --keys`), so a new preset on a known dataset needs nothing here;
# a preset on a dataset the kit lacks is reported by tests/test_gpu_kit.sh. Sourced (bash).

# kit_data_args DATA NAME ARCH: train arguments for data.name NAME and model.arch ARCH from the
# kit's data folder DATA; prints why and returns 1 when the kit has no such set.
kit_data_args() {
  local d=$1 name=$2 arch=$3
  case "$name" in
    mnist) echo "--data $d/mnist" ;;
    fashion-mnist) echo "--data $d/fashion-mnist" ;;
    stacked-mnist) echo "--data $d/mnist --set data.n=256" ;; # triples drawn from the 512 digits
    digits) echo "--data $d/digits" ;;
    cifar10) echo "--data $d/cifar10" ;;
    faces) echo "--data $d/faces" ;;
    shapes|gauss1d|ring8|grid25) echo "--set data.n=1024" ;;    # built in: a smaller set
    folder)
      case "$arch" in
        *cyclegan*) echo "--data $d/h2z" ;;                   # unaligned trainA / trainB
        *pix2pix*) echo "--data $d/pix2pix" ;;                # aligned A|B pairs in train/
        *) echo "--data $d/h2z/trainA --set train.batch=4" ;; # 4 images
      esac ;;
    *) echo "the kit has no tiny set for data.name=$name (add one: tools/gpu/make_data.py, tools/gpu/presets.sh)"; return 1 ;;
  esac
}

# Variants: training paths no preset takes by default, run like presets (NAME = PRESET+TAG; check.sh
# trains PRESET with these settings after the kit's data arguments): the conditional critics' penalties
# through the conditional layers' second-order passes, and RaGAN's augmented G step.
KIT_VARIANTS=(
  "cdcgan-mnist+gp --set train.loss=wgan-gp --set model.dcgan_d_norm=none"
  "cdcgan-mnist+r1sn --set train.r1_gamma=10 --set model.dcgan_d_norm=spectral"
  "cgan-mnist+gp --set train.loss=wgan-gp"
  "dcgan-shapes+ragan-aug --set train.loss=ragan --set train.diffaug=color,translation,cutout"
)

# kit_presets GANFORGE DATA: one line per preset of that ganforge, then per variant (KIT_VARIANTS):
# NAME<TAB>ARGS, or NAME<TAB>!WHY.
kit_presets() {
  local p dn ar a v tab
  tab=$("$1" presets --keys data.name,model.arch | while IFS=$'\t' read -r p dn ar; do
    if a=$(kit_data_args "$2" "${dn#data.name=}" "${ar#model.arch=}"); then printf '%s\t%s\n' "$p" "$a"
    else printf '%s\t!%s\n' "$p" "$a"
    fi
  done)
  printf '%s\n' "$tab"
  for v in "${KIT_VARIANTS[@]}"; do
    p=${v%% *}
    a=$(printf '%s\n' "$tab" | awk -F'\t' -v p="${p%%+*}" '$1 == p { print $2 }')
    case "$a" in '') printf '%s\t!no preset %s\n' "$p" "${p%%+*}" ;; '!'*) printf '%s\t%s\n' "$p" "$a" ;;
      *) printf '%s\t%s %s\n' "$p" "$a" "${v#* }" ;; esac
  done
}
