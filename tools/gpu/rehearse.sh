#!/usr/bin/env bash
# rehearse.sh: check.sh's CUDA build as it will run on a lent GPU machine, rehearsed here: in a
# private mount namespace (unshare -m; needs root) the cuDNN of the CUDA toolkit and the system
# is hidden (overlay whiteouts), and python3 is a Python whose site-packages hold NVIDIA's pip
# wheels (nvidia-cudnn-cu13, as PyTorch installs them: libcudnn.so.9 without libcudnn.so), as on
# the H200 machines (.library/device/KINDS.md: nvcc 13.0 and PyTorch's wheels, no Debian
# packages). Then `check.sh --cuda on --parts ops` must configure and build the CUDA backend
# against the carried prefix (.gpukit, tools/gpu/prepare.sh) and reach the missing GPU:
#   tools/gpu/rehearse.sh [SCENARIO] [--python PY] [--out DIR]
#     wheel            cuDNN only in the pip wheel, with its headers (default)
#     wheel-noheaders  the wheel's include folder hidden too: the carried headers (.gpukit/cudnn)
#     cublas-wheel     cuBLAS hidden from the toolkit too: pip's nvidia/cu13 libraries and headers
#   --python PY  the Python with the nvidia wheels (default $GF_PYTHON, else /opt/t2/bin/python)
# KIT_CUDA_ARCHS (default 90) and KIT_BUILD_TIMEOUT (default 3000 s here) reach check.sh.
# Exit status: 0 when the build passed with CUDA and the op check said CUDA is unavailable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scenario=wheel py="${GF_PYTHON:-/opt/t2/bin/python}" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    wheel|wheel-noheaders|cublas-wheel) scenario=$1; shift ;;
    --python) py="${2:?--python needs a path}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "rehearse.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
out="${out:-$root/out/rehearse-$scenario}"
[ "$(id -u)" = 0 ] || { echo "rehearse.sh: needs root (a private mount namespace with overlays)" >&2; exit 1; }
wheel=$("$py" -c "import nvidia.cudnn as m; print(list(m.__path__)[0])" 2>/dev/null) ||
  { echo "rehearse.sh: $py has no nvidia.cudnn (pip install nvidia-cudnn-cu13; --python PY)" >&2; exit 1; }
[ -d "$root/.gpukit/debs" ] || { echo "rehearse.sh: no .gpukit (run tools/gpu/prepare.sh first)" >&2; exit 1; }
scratch=$(mktemp -d /tmp/rehearse.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/bin" "$out"
ln -s "$py" "$scratch/bin/python3"
export SCENARIO=$scenario WHEEL=$wheel SCRATCH=$scratch ROOT=$root OUTDIR=$out
unshare -m bash -euo pipefail -c '
  mount --make-rprivate /
  n=0
  # hide DIR GLOB...: an overlay on DIR with whiteouts for the entries GLOB matches
  hide() {
    local dir=$1 f hit=0
    shift
    [ -d "$dir" ] || return 0
    n=$((n + 1))
    mkdir -p "$SCRATCH/up$n" "$SCRATCH/work$n"
    for g in "$@"; do
      for f in "$dir"/$g; do
        if [ -e "$f" ] || [ -L "$f" ]; then mknod "$SCRATCH/up$n/$(basename "$f")" c 0 0; hit=1; fi
      done
    done
    [ $hit = 1 ] || return 0
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$SCRATCH/up$n,workdir=$SCRATCH/work$n" "$dir"
    echo "rehearse: hidden in $dir: $*"
  }
  tk=$(readlink -f /usr/local/cuda)
  for d in "$tk/include" "$tk/targets/x86_64-linux/include" /usr/include /usr/local/include /usr/include/x86_64-linux-gnu; do
    hide "$d" "cudnn*.h"
  done
  for d in "$tk/lib" "$tk/lib64" "$tk/targets/x86_64-linux/lib" /usr/lib/x86_64-linux-gnu /usr/local/lib /usr/lib64; do
    hide "$d" "libcudnn*"
  done
  [ "$SCENARIO" = wheel-noheaders ] && hide "$WHEEL" include
  if [ "$SCENARIO" = cublas-wheel ]; then
    for d in "$tk/include" "$tk/targets/x86_64-linux/include" /usr/local/include; do hide "$d" "cublas*.h"; done
    for d in "$tk/lib" "$tk/targets/x86_64-linux/lib"; do hide "$d" "libcublas*"; done
  fi
  export PATH="$SCRATCH/bin:$PATH"
  echo "rehearse: python3 is $(readlink "$SCRATCH/bin/python3"); cuDNN wheel $WHEEL"
  rc=0
  KIT_CUDA_ARCHS=${KIT_CUDA_ARCHS:-90} KIT_BUILD_TIMEOUT=${KIT_BUILD_TIMEOUT:-3000} \
    bash "$ROOT/tools/gpu/check.sh" --cuda on --parts ops --budget 4000 --out "$OUTDIR" \
    --build-dir "$ROOT/build-rehearse" || rc=$?
  echo "rehearse: check.sh exit $rc"
  ldd "$ROOT/build-rehearse/ganforge" | grep -E "cudnn|cublas" | sed "s/^/rehearse: ldd: /" || true
'
"$py" - "$out/summary.json" "$scenario" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d['parts']
ok = (p['build']['status'] == 'pass' and 'CUDA on' in p['build']['why'] and p['ops']['status'] == 'skipped'
      and p['ops'].get('cuda_unavailable_reported') is True and ' 0 failed' in p['ops']['why'])
print('rehearse %s: build: %s - %s' % (sys.argv[2], p['build']['status'], p['build']['why']))
print('rehearse %s: ops: %s - %s' % (sys.argv[2], p['ops']['status'], p['ops']['why']))
print('rehearse %s: %s' % (sys.argv[2], 'PASS: the CUDA build works as on the GPU machine and stops at the missing GPU'
                           if ok else 'FAIL'))
sys.exit(0 if ok else 1)
PY
