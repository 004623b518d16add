#!/usr/bin/env bash
# prepare.sh: run HERE (Debian 12, network) before lending the GPU check kit to a GPU machine that
# has no Debian packages and no network: gathers into .gpukit/ (git-ignored) what check.sh needs
# there, proves it complete, and prints the exact `run` call to make.
#   tools/gpu/prepare.sh [--shared DIR] [--refresh]
#     .gpukit/debs/      the runtime + development .debs of the build (tools/gpu/prefix.sh lists
#                        them; apt-get download, no install)
#     .gpukit/data/      tiny datasets for 3 steps of every preset (tools/gpu/make_data.py)
#     .gpukit/torch_ref.py  the PyTorch peer (a copy of ../shared/bench/torch_ref.py)
#     .gpukit/cudnn/include the cuDNN header files of this machine (cudnn*.h), for a GPU machine
#                        whose cuDNN (e.g. PyTorch's pip wheel) came without them; check.sh uses
#                        them only there, with a library of the same major version
# Then it unpacks the .debs into a scratch prefix, checks that every library they need is carried
# or part of the machine's baseline (libc, libstdc++, libgomp, ...), and that the working tree plus
# .gpukit fit the 64 MiB a call carries.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
KIT_SRC="$here"
# shellcheck source=tools/gpu/prefix.sh
. "$here/prefix.sh"
shared="$root/../shared"
refresh=0
while [ $# -gt 0 ]; do
  case "$1" in
    --shared) shared="${2:?--shared needs a folder}"; shift 2 ;;
    --refresh) refresh=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "prepare.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
  esac
done
kit="$root/.gpukit"
grep -qx '/.gpukit/' "$root/.gitignore" 2>/dev/null ||
  { echo "prepare.sh: .gitignore lacks /.gpukit/ (the kit must stay out of git)" >&2; exit 1; }
[ -f "$shared/bench/torch_ref.py" ] && [ -d "$shared/data/mnist" ] ||
  { echo "prepare.sh: $shared: not the shared folder (no bench/torch_ref.py or data/mnist; --shared DIR)" >&2; exit 1; }
mkdir -p "$kit/debs"

# 1. the packages: downloaded once (--refresh: again)
have_all=1
for p in "${KIT_PKGS[@]}"; do compgen -G "$kit/debs/${p}_*.deb" >/dev/null || have_all=0; done
if [ $refresh = 1 ] || [ $have_all = 0 ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "prepare.sh: apt-get download ${#KIT_PKGS[@]} packages"
  if ! (cd "$tmp" && apt-get download -q "${KIT_PKGS[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed"); then :; fi
  for p in "${KIT_PKGS[@]}"; do
    compgen -G "$tmp/${p}_*.deb" >/dev/null || { echo "prepare.sh: apt-get download $p failed (apt-get update first?)" >&2; exit 1; }
  done
  rm -f "$kit/debs/"*.deb
  for d in "$tmp"/*.deb; do # names of plain letters, digits, '.', '_' and '-' ('%3a' is an epoch's ':')
    n=$(basename "$d" | sed 's/%3a/-/g; s/[^A-Za-z0-9._-]/_/g')
    mv "$d" "$kit/debs/$n"
  done
fi
for d in "$kit/debs/"*.deb; do
  n=$(basename "$d"); n=${n%%_*}
  case " ${KIT_PKGS[*]} " in *" $n "*) ;; *) echo "prepare.sh: $d is not in the kit's list: removed"; rm -f "$d" ;; esac
done

# 2. data and the PyTorch peer
python3 "$here/make_data.py" "$shared/data" "$kit/data"
rm -f "$kit/torch_ref.py"
cp "$shared/bench/torch_ref.py" "$kit/torch_ref.py"
chmod 0644 "$kit/torch_ref.py"

# 2b. cuDNN's headers (NVIDIA's cuDNN license lists the .h files among its distributable runtime
#     files; they stay in the git-ignored .gpukit and are read only by the kit's build)
rm -rf "$kit/cudnn"
tk=/usr/local/cuda
[ -x "$tk/bin/nvcc" ] || { n=$(command -v nvcc || true); [ -n "$n" ] && tk=$(cd "$(dirname "$n")/.." && pwd); }
if kit_cudnn "$tk" /nonexistent; then
  mkdir -p "$kit/cudnn/include"
  cp -L "$KIT_CUDNN_INC"/cudnn*.h "$kit/cudnn/include/"
  chmod 0644 "$kit/cudnn/include/"*.h
  printf 'cuDNN %s header files copied by tools/gpu/prepare.sh from %s (%s)\n' "$(kit_cudnn_hver "$kit/cudnn/include")" \
    "$KIT_CUDNN_INC" "$KIT_CUDNN_NOTE" > "$kit/cudnn/README"
  echo "prepare.sh: carried the cuDNN $(kit_cudnn_hver "$kit/cudnn/include") headers ($(ls "$kit/cudnn/include" | wc -l) files) from $KIT_CUDNN_INC"
else
  echo "prepare.sh: no cuDNN headers here to carry ($KIT_CUDNN_NOTE): the GPU machine must have its own"
fi

# 3. the carry is complete: unpack as check.sh will, and close over the libraries' needs
scratch="$(mktemp -d)"
kit_unpack "$kit/debs" "$scratch/prefix"
if ! kit_closure "$scratch/prefix"; then
  rm -rf "$scratch"
  echo "prepare.sh: the carried libraries need more than the list in tools/gpu/prefix.sh" >&2
  exit 1
fi
rm -rf "$scratch"
echo "prepare.sh: every library the carried packages need is carried or part of the machine's baseline"

# 4. the size of what travels: tracked + untracked-not-ignored files, and .gpukit
cd "$root"
tree=$(git ls-files -z -c -o --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
kitb=$(find "$kit" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
total=$((tree + kitb))
printf 'prepare.sh: working tree %.1f MiB + .gpukit %.1f MiB (debs %.1f, data %.1f) = %.1f MiB of the 64 MiB a call carries\n' \
  "$(echo "$tree / 1048576" | bc -l)" "$(echo "$kitb / 1048576" | bc -l)" \
  "$(echo "$(du -sb "$kit/debs" | cut -f1) / 1048576" | bc -l)" "$(echo "$(du -sb "$kit/data" | cut -f1) / 1048576" | bc -l)" \
  "$(echo "$total / 1048576" | bc -l)"
if [ "$total" -gt $((60 * 1048576)) ]; then
  echo "prepare.sh: over 60 MiB: too close to the 64 MiB limit (remove large untracked files or build folders not ignored)" >&2
  exit 1
fi
cat <<EOF
prepare.sh: ready. With a GPU lent (the device tool's status says can_start_another), make this call
from this checkout (about 7-8 minutes; the kit stops its parts at 470 s):

  run(command="bash tools/gpu/check.sh", carry=[".gpukit"], timeout_s=570)

It writes check.log and summary.json (plus ops_*.json) under \$OUT; the reply's output_tail ends
with the summary table.
EOF
