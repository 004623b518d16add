#!/usr/bin/env bash
# check.sh: the GPU check kit in one command (about 8 minutes on one H200, 16 cores):
#   (build)    ganforge with CUDA (Release) against the dependencies carried in .gpukit/debs,
#              unpacked into a private prefix (tools/gpu/prepare.sh gathers them), and the
#              machine's CUDA: nvcc (/usr/local/cuda, else PATH), cuBLAS beside it (else pip's
#              nvidia wheels), cuDNN beside it or in PyTorch's pip wheel (nvidia/cudnn), with
#              the wheel's headers or, lacking them, the carried ones (.gpukit/cudnn), named to
#              CMake as -DGF_CUDNN_LIB / -DGF_CUDNN_INCLUDE (tools/gpu/prefix.sh: kit_cudnn)
#   (ops)      gf_backend_ops: every member of the ops table on the GPU against the CPU backend
#              (and the double reference), every output element, whole training steps with
#              CUDA Graph replay included; TF32 and bf16 runs of the matrix ops and the steps
#   (parity)   3 training steps (1 for the image-to-image models) of every preset with plain SGD on
#              the CPU and on the GPU from the same seed, all parameters of G and D (and optimizer
#              state) within 1e-4 (gf_compare_params); each
#              preset on the kit's tiny set for its data.name (tools/gpu/presets.sh)
#   (speed)    ms/step of ganforge (fp32, TF32) beside the machine's PyTorch (eager,
#              cudnn.benchmark on) for mlp-mnist b64, dcgan28 b128, dcgan64 b128, CycleGAN 256 b1
#   (profile)  where the GPU step's time goes: `ganforge bench --profile` (TF32) of CycleGAN 256 b1
#              and dcgan64 b128, per layer forward / backward (profile_<preset>.txt)
#   (memcheck) compute-sanitizer memcheck on one training step and on the op check
# and writes check.log and summary.json (plus the op checks' JSON) under $OUT (or --out DIR).
# Without a GPU it builds (CUDA off), checks the CPU backend against the double-precision
# reference, says why each GPU part is skipped, and writes the same summary.
#
#   tools/gpu/check.sh [--out DIR] [--build-dir DIR] [--no-build] [--device cuda[:N]]
#                      [--cuda on|off|auto] [--parts ops,parity,speed,profile,memcheck] [--cpu-half]
#                      [--presets LIST] [--no-gpu] [--budget SECONDS] [--system-deps]
#   --no-build     use the programs already in --build-dir (ganforge, gf_backend_ops,
#                  gf_compare_params) instead of configuring and building
#   --cpu-half     without a GPU, still run the CPU half of the parity part (proves the data
#                  and the preset recipes)
#   --presets L    the parity part on these presets only (comma separated; default: every one
#                  `ganforge presets` lists, then the variants of tools/gpu/presets.sh, PRESET+TAG:
#                  conditional WGAN-GP / R1, RaGAN with DiffAugment)
#   --no-gpu       act as if no GPU were visible (tests)
#   --budget S     stop starting parts after S seconds (default 470: the 8 minutes less a margin)
#   --system-deps  build against the machine's own packages instead of the carried prefix
# Environment: KIT_CUDA_ARCHS (a CUDA build without a GPU: its architectures, e.g. 90),
# KIT_BUILD_TIMEOUT (seconds for the build, default 330); tools/gpu/rehearse.sh uses both.
# Exit status: 0 when no part failed (skipped parts allowed), 1 otherwise, 2 usage.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
KIT_SRC="$here"
# shellcheck source=tools/gpu/prefix.sh
. "$here/prefix.sh"
# shellcheck source=tools/gpu/presets.sh
. "$here/presets.sh"

out="${OUT:-$root/out/gpukit}"
kit="$root/.gpukit"
build="$root/build-gpukit"
device=cuda
cuda=auto
parts=ops,parity,speed,profile,memcheck
nobuild=0 nogpu=0 cpuhalf=0 sysdeps=0 budget=470 only_presets= werr= anote=
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --build-dir) build="${2:?--build-dir needs a folder}"; shift 2 ;;
    --no-build) nobuild=1; shift ;;
    --device) device="${2:?--device needs cuda or cuda:N}"; shift 2 ;;
    --cuda) cuda="${2:?--cuda needs on, off or auto}"; shift 2 ;;
    --parts) parts="${2:?--parts needs a list}"; shift 2 ;;
    --cpu-half) cpuhalf=1; shift ;;
    --presets) only_presets="${2:?--presets needs a list}"; shift 2 ;;
    --no-gpu) nogpu=1; shift ;;
    --budget) budget="${2:?--budget needs seconds}"; shift 2 ;;
    --system-deps) sysdeps=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "check.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
  esac
done
case "$cuda" in on|off|auto) ;; *) echo "check.sh: --cuda needs on, off or auto, not '$cuda'" >&2; exit 2 ;; esac
case "$device" in cuda|cuda:[0-9]*) ;; *) echo "check.sh: --device needs cuda or cuda:N, not '$device'" >&2; exit 2 ;; esac
case "$budget" in ''|*[!0-9]*) echo "check.sh: --budget needs whole seconds, not '$budget'" >&2; exit 2 ;; esac
for p in ${parts//,/ }; do
  case "$p" in ops|parity|speed|profile|memcheck) ;; *) echo "check.sh: --parts: unknown part '$p' (ops, parity, speed, profile, memcheck)" >&2; exit 2 ;; esac
done
want() { case ",$parts," in *",$1,"*) return 0 ;; esac; return 1; }

mkdir -p "$out" || { echo "check.sh: cannot create $out" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/gpukit.XXXXXX")"
exec > >(tee "$out/check.log") 2>&1
tee_pid=$!
# on exit: the scratch folder goes, and the log is complete before the command returns
trap 'rm -rf "$work"; exec 1>&- 2>&-; wait $tee_pid 2>/dev/null' EXIT
t0=$(date +%s)
elapsed() { echo $(($(date +%s) - t0)); }
left() { echo $((budget - $(elapsed))); }
say() { printf '[%4ds] %s\n' "$(elapsed)" "$*"; }
jesc() { printf '%s' "$1" | tr '\n\t' '  ' | sed 's/\\/\\\\/g; s/"/\\"/g' | cut -c1-600; }
# part NAME STATUS WHY SECONDS [EXTRA-JSON-MEMBERS]: one part's result for summarize.py
part() {
  printf '{"part": "%s", "status": "%s", "why": "%s", "seconds": %s%s}\n' "$1" "$2" "$(jesc "$3")" "$4" \
    "${5:+, $5}" > "$work/part_$1.json"
  python3 "$here/summarize.py" "$work" "$out/summary.json" > /dev/null || true
}
# tmo SECONDS CMD...: runs CMD with a time limit (at most what the budget leaves, at least 5 s)
tmo() {
  local s=$1 l
  shift
  l=$(left)
  [ "$l" -lt "$s" ] && s=$l
  [ "$s" -lt 5 ] && s=5
  timeout --kill-after=10 "$s" "$@"
}
say "GPU check kit: $root -> $out (budget ${budget} s)"

# ------------------------------------------------------------------ facts
gpu=0 gpu_why=""
if [ $nogpu = 1 ]; then gpu_why="--no-gpu given"
elif ! command -v nvidia-smi >/dev/null 2>&1; then gpu_why="no nvidia-smi: no NVIDIA driver on this machine"
elif [ "$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')" = 0 ]; then gpu_why="nvidia-smi lists no GPU"
else gpu=1
fi
for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do [ -d "$d" ] && PATH="$PATH:$d"; done
export PATH
gpu_line="" cc=""
if [ $gpu = 1 ]; then
  gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null | head -1)
  cc=$(echo "$gpu_line" | awk -F', ' '{print $4}' | tr -d '.')
  nvidia-smi 2>&1 | head -15
fi
# the CUDA toolkit: /usr/local/cuda (what CMakeLists.txt takes first), else the nvcc on PATH
nvcc_path=/usr/local/cuda/bin/nvcc
[ -x "$nvcc_path" ] || nvcc_path=$(command -v nvcc || true)
tk="" cudnn_ok=0
if [ -n "$nvcc_path" ]; then
  tk=$(cd "$(dirname "$(readlink -f "$nvcc_path")")/.." && pwd)
  [ -x "$tk/bin/nvcc" ] || tk=$(cd "$(dirname "$nvcc_path")/.." && pwd)
  kit_cudnn "$tk" "$kit/cudnn" && cudnn_ok=1
else
  KIT_CUDNN_NOTE="no nvcc"
fi
nvcc_v=$([ -n "$nvcc_path" ] && "$nvcc_path" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
torch_v=""
[ $gpu = 1 ] && torch_v=$(timeout 90 python3 -c "import torch; print(torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>/dev/null)
cs=$(command -v compute-sanitizer || true)
cat > "$work/facts.json" <<EOF
{"date": "$(date -u +%FT%TZ)", "host": "$(jesc "$(uname -srm)")", "cores": $(nproc), "mem_gib": $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo),
 "gpu": $gpu, "gpu_why": "$(jesc "$gpu_why")", "gpu_line": "$(jesc "$gpu_line")", "compute_capability": "$cc",
 "nvcc": "$(jesc "$nvcc_v")", "cmake": "$(jesc "$(cmake --version 2>/dev/null | head -1)")", "cc": "$(jesc "$(cc --version 2>/dev/null | head -1)")",
 "ninja": "$(command -v ninja || true)", "make": "$(command -v make || true)", "python3": "$(jesc "$(python3 --version 2>&1)")",
 "cxx": "$(jesc "$(c++ --version 2>/dev/null | head -1)")", "cuda_toolkit": "$(jesc "$tk")",
 "torch": "$(jesc "$torch_v")", "cudnn": "$(jesc "$KIT_CUDNN_NOTE")", "compute_sanitizer": "$cs", "budget": $budget}
EOF
say "machine: $(uname -m), $(nproc) cores; GPU: ${gpu_line:-none ($gpu_why)}; nvcc ${nvcc_v:-none}${tk:+ ($tk)}; torch ${torch_v:-not probed}"
say "cuDNN: $KIT_CUDNN_NOTE"
if [ "$cuda" = auto ]; then cuda=$([ $gpu = 1 ] && echo on || echo off); fi

# ------------------------------------------------------------------ build
ts=$(date +%s)
prefix=""
build_ok=0
if [ $nobuild = 1 ]; then
  if [ -x "$build/ganforge" ] && [ -x "$build/gf_backend_ops" ] && [ -x "$build/gf_compare_params" ]; then
    build_ok=1
    [ -d "$build/_deps/usr" ] && prefix="$build/_deps" # a kit build of an earlier run
    part build skipped "--no-build: the programs already in $build" 0
  else
    part build fail "--no-build, but $build lacks ganforge, gf_backend_ops or gf_compare_params" 0
  fi
else
  pargs=() plain=()
  cmargs=(-DCMAKE_BUILD_TYPE=Release -DGANFORGE_CURL=OFF "-DGANFORGE_CUDA=$([ "$cuda" = on ] && echo ON || echo OFF)")
  [ "$cuda" = on ] && [ -n "$cc" ] && cmargs+=("-DCMAKE_CUDA_ARCHITECTURES=$cc")
  # (KIT_CUDA_ARCHS: the architectures of a CUDA build without a GPU, e.g. 90 in a rehearsal)
  [ "$cuda" = on ] && [ -z "$cc" ] && [ -n "${KIT_CUDA_ARCHS:-}" ] && cmargs+=("-DCMAKE_CUDA_ARCHITECTURES=$KIT_CUDA_ARCHS")
  why=""
  rm -rf "$build"
  if [ $sysdeps = 0 ]; then
    prefix="$build/_deps" # beside the programs whose run paths point into it
    if ! kit_unpack "$kit/debs" "$prefix"; then
      why="cannot unpack the carried packages in $kit/debs (run tools/gpu/prepare.sh where apt-get works)"
    else
      kit_env "$prefix"
      roots="$prefix"
      [ "$cuda" = on ] && roots="$prefix;/" # the CUDA toolkit and cuDNN come from the machine
      mapfile -t pargs < <(kit_cmake_args "$prefix" "$roots")
      mapfile -t plain < <(kit_cmake_args_plain "$prefix")
      say "deps: $(ls "$kit/debs" | wc -l) carried packages unpacked into $prefix (find roots: $roots)"
    fi
  fi
  if [ "$cuda" = on ] && [ -z "$why" ]; then
    # nvcc, cuDNN and cuBLAS of this machine, named to CMake so that nothing is left to its search
    # (pip's cuDNN has no libcudnn.so for find_library, and maybe no cudnn.h: see prefix.sh)
    if [ -z "$nvcc_path" ]; then why="CUDA asked for, but no nvcc (neither /usr/local/cuda/bin/nvcc nor on PATH)"
    elif [ $cudnn_ok = 0 ]; then why="cuDNN: $KIT_CUDNN_NOTE"
    elif ! kit_cublas "$tk" "$build/_cublas" > "$work/cublas.args"; then why="$KIT_CUBLAS_NOTE"
    else
      mapfile -t cb < "$work/cublas.args"
      cmargs+=("-DCMAKE_CUDA_COMPILER=$nvcc_path" "-DGF_CUDNN_LIB=$KIT_CUDNN_LIB" "-DGF_CUDNN_INCLUDE=$KIT_CUDNN_INC" "${cb[@]}")
      say "CUDA: nvcc $nvcc_v at $nvcc_path; $KIT_CUBLAS_NOTE; $KIT_CUDNN_NOTE"
      LD_LIBRARY_PATH="$(dirname "$KIT_CUDNN_LIB")${KIT_CUBLAS_DIR:+:$KIT_CUBLAS_DIR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      export LD_LIBRARY_PATH
    fi
  fi
  if command -v ninja >/dev/null 2>&1; then cmargs+=(-G Ninja)
  elif ! command -v make >/dev/null 2>&1 && [ -n "$prefix" ] && [ -x "$prefix/usr/bin/make" ]; then
    cmargs+=(-G "Unix Makefiles" "-DCMAKE_MAKE_PROGRAM=$prefix/usr/bin/make")
  fi
  if [ -z "$why" ]; then
    # the prefix as CMake's only find root; should that fail (another CMake), as a plain prefix
    cfg_ok=0
    for attempt in ${KIT_CONFIGURE:-rooted plain}; do # (KIT_CONFIGURE=plain: the fallback alone)
      if [ $attempt = rooted ]; then extra=("${pargs[@]}")
      elif [ -n "$prefix" ]; then extra=("${plain[@]}" "-DCMAKE_PREFIX_PATH=$prefix/usr")
      else break
      fi
      rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
      say "configure ($attempt): cmake ${cmargs[*]} ${extra[*]}"
      if tmo 120 cmake -S "$root" -B "$build" "${cmargs[@]}" "${extra[@]}" > "$work/configure.log" 2>&1; then
        cfg_ok=1
        break
      fi
      tail -30 "$work/configure.log"
    done
    if [ $cfg_ok = 0 ]; then
      why="cmake configure failed: $(grep -m1 -i 'error' "$work/configure.log")"
    else
      grep -E "^-- (BLAS|oneDNN|CUDA|cuDNN|GANFORGE)" "$work/configure.log"
      say "build: ganforge gf_backend_ops gf_compare_params ($(nproc) jobs)"
      kbuild() { tmo "${KIT_BUILD_TIMEOUT:-330}" cmake --build "$build" -j"$(nproc)" --target ganforge gf_backend_ops gf_compare_params > "$work/build.log" 2>&1; }
      if ! kbuild && grep -q -E 'warnings being treated as errors|\[-Werror' "$work/build.log"; then
        # a newer compiler than this project's (Debian 12's gcc 12) may warn where ours does not:
        # the warnings are reported (summary: build.werror) and the kit goes on with -Werror off
        grep -E -A3 'error: .*\[-Werror' "$work/build.log" | head -40 | tee "$out/werror.log"
        werr=$(grep -E 'error: .*\[-Werror' "$work/build.log" | sed "s|$root/||" | sort -u | head -5 | tr '\n' ';')
        say "build: warnings as errors on this compiler ($werr); again with -DGANFORGE_WERROR=OFF"
        tmo 120 cmake -S "$root" -B "$build" -DGANFORGE_WERROR=OFF > "$work/configure2.log" 2>&1 && kbuild
      fi
      if [ ! -x "$build/ganforge" ] || [ ! -x "$build/gf_backend_ops" ] || [ ! -x "$build/gf_compare_params" ] ||
         grep -q -E 'build stopped|Error [0-9]' "$work/build.log"; then
        grep -E -m20 "error:|Error [0-9]" "$work/build.log"
        tail -15 "$work/build.log"
        why="build failed: $(grep -m1 -E 'error:|Error [0-9]|timed out' "$work/build.log" || tail -1 "$work/build.log")"
      fi
    fi
  fi
  audit=""
  if [ -z "$why" ] && [ -n "$prefix" ]; then
    # prove the carry: the dependencies' headers came from the prefix, and the libraries resolve there
    if command -v ninja >/dev/null 2>&1 && [ -f "$build/build.ninja" ]; then
      deps=$(cd "$build" && ninja -t deps 2>/dev/null)
    else
      deps=$(find "$build" -name '*.o.d' -exec cat {} + 2>/dev/null)
    fi
    hdr='(cblas|cJSON|png|pngconf|pnglibconf|zlib|zconf|jpeglib|jconfig|jmorecfg|gif_lib|dnnl[a-z_0-9]*)\.h'
    from_prefix=$(printf '%s\n' "$deps" | tr ' ' '\n' | grep -E "/$hdr$" | grep -c "^$prefix/")
    from_system=$(printf '%s\n' "$deps" | tr ' ' '\n' | grep -E "/$hdr$" | grep -v "^$prefix/" | sort -u)
    libs=$(ldd "$build/ganforge" 2>/dev/null | grep -E 'openblas|cjson|png|jpeg|gif|libz\.|dnnl|gfortran|OpenCL')
    outside=$(printf '%s\n' "$libs" | grep -v "=> $prefix/" | grep -v '^$')
    # (a CUDA build also needs the machine's CUDA runtime, cuBLAS and cuDNN, which are not carried)
    closure=$(KIT_MACHINE_LIBS=$([ "$cuda" = on ] && echo 'libcuda.so.*|libcudart.so.*|libcublas.so.*|libcublasLt.so.*|libcudnn.so.*' || true) \
              kit_closure "$prefix" "$build/ganforge" "$build/gf_backend_ops" "$build/gf_compare_params" 2>&1)
    say "carry audit: $from_prefix dependency headers read from the prefix, $(printf '%s' "$from_system" | grep -c .) from the system; $(printf '%s\n' "$libs" | grep -c .) dependency libraries loaded, $(printf '%s' "$outside" | grep -c .) from outside the prefix"
    printf '%s\n' "$libs" | sed 's/^/    /'
    # where a GPU is there, what the machine adds (its own MPI, NCCL, OpenBLAS) is noted, not a
    # failure: the build ran and the GPU parts go on; without one (rehearsals) it fails the build
    anote=""
    [ -n "$from_system" ] && anote="headers of carried packages read from the system: $from_system"
    [ -n "$outside" ] && anote="${anote:+$anote; }libraries loaded from outside the prefix: $(printf '%s' "$outside" | awk '{print $1}' | tr '\n' ' ')"
    [ -n "$closure" ] && anote="${anote:+$anote; }$closure"
    if [ -n "$anote" ]; then
      if [ $gpu = 1 ]; then say "carry audit (noted, not fatal on a GPU machine): $anote"; else why="$anote"; fi
    fi
    audit="\"headers_from_prefix\": $from_prefix, \"headers_from_system\": $(printf '%s' "$from_system" | grep -c .), \"libs_outside_prefix\": $(printf '%s' "$outside" | grep -c .)"
  fi
  if [ -z "$why" ]; then
    build_ok=1
    part build pass "${werr:+warnings as errors on this compiler, built with -Werror off: $werr }${anote:+carry audit: $anote; }CUDA $cuda${cc:+ (sm_$cc)}, $([ -n "$prefix" ] && echo "the carried prefix (-DGANFORGE_CURL=OFF; configure: $attempt)" || echo "the system's packages")" $(($(date +%s) - ts)) \
      "\"cuda\": \"$cuda\", \"info\": \"$(jesc "$("$build/ganforge" version 2>&1 | head -3)")\"${audit:+, $audit}"
  else
    part build fail "$why" $(($(date +%s) - ts)) "${audit}"
  fi
fi
say "build: $(python3 -c "import json; d=json.load(open('$work/part_build.json')); print(d['status'], '-', d['why'])")"
if [ $build_ok = 1 ] && [ -n "$prefix" ]; then kit_env "$prefix"; fi
# the library path the programs run with (carried prefix, the machine's cuDNN / cuBLAS), for
# scripts that run them beside or after the kit (tools/gpu/quality.sh waits for this file)
[ $build_ok = 1 ] && printf 'export LD_LIBRARY_PATH=%q\n' "${LD_LIBRARY_PATH:-}" > "$build/kit_env.sh"
gf="$build/ganforge"
ops="$build/gf_backend_ops"
cmpp="$build/gf_compare_params"
data="$kit/data"

# ------------------------------------------------------------------ parity helpers
# preset_args PRESET: the data it trains on, from the kit's tiny sets (the table kit_presets made:
# tools/gpu/presets.sh maps each preset's data.name and model.arch to a set)
preset_args() { awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$work/presets.tsv"; }
# run_preset DEV PRESET THREADS: 3 steps (1 for the image-to-image models) from seed 1 into
# (PRESET+TAG: a variant of tools/gpu/presets.sh, the preset with the variant's settings)
# $work/runs/DEV/PRESET (log beside it), with
# plain SGD (KIT_PARITY_OPT): Adam's and RMSprop's first steps move every weight by about +-lr
# whatever its gradient's size, so a gradient element near zero whose float rounding differs flips
# a whole step, and after 3 steps two CPU runs that differ only in their convolution code
# (GANFORGE_DNNL=0) already differ by up to 0.12 in Adam's state on dcgan-faces, while with SGD they
# agree within 4e-6 (docs/BENCHMARKS.md, GPU section)
KIT_PARITY_OPT=${KIT_PARITY_OPT:-sgd}
run_preset() {
  local dev=$1 p=$2 th=$3 s rc n=3
  # the image-to-image models (batch 1, InstanceNorm) magnify float rounding step by step: two CPU
  # runs that differ only in their convolution code (GANFORGE_DNNL=0) agree within 5e-5 after one
  # SGD step of cyclegan128 and differ by 8e-3 in the generated images after two; so one step there
  case $p in cyclegan*|pix2pix*|cat-*) n=1 ;; esac
  mkdir -p "$work/runs/$dev"
  s=$(date +%s%N)
  # shellcheck disable=SC2046
  OMP_NUM_THREADS=$th tmo 180 "$gf" train "${p%%+*}" $(preset_args "$p") --device "$dev" --seed 1 --set train.max_steps=$n \
    --set train.optimizer="$KIT_PARITY_OPT" --set train.report=0 --set data.download=0 --out "$work/runs/$dev/$p" > "$work/runs/$dev/$p.log" 2>&1
  rc=$?
  echo "$rc $((($(date +%s%N) - s) / 1000000))" > "$work/runs/$dev/$p.rc"
}

# ------------------------------------------------------------------ ops
if want ops; then
  ts=$(date +%s)
  if [ $build_ok = 0 ]; then part ops skipped "no build" 0
  elif [ "$(left)" -lt 30 ]; then part ops skipped "time budget ($(left) s left)" 0
  elif [ $gpu = 1 ]; then
    say "ops: $device against the CPU backend, with model-sized cases"
    tmo 240 "$ops" --device "$device" --big --json "$out/ops_cuda.json" > "$work/ops_cuda.log" 2>&1
    rc1=$?
    cat "$work/ops_cuda.log"
    say "ops: $device against the double-precision reference"
    tmo 120 "$ops" --test "$device" --ref double --json "$out/ops_cuda_double.json" > "$work/ops_double.log" 2>&1
    rc2=$?
    cat "$work/ops_double.log"
    say "ops: $device with TF32, then bf16, against the CPU backend (matrix ops and whole steps)"
    tmo 90 "$ops" --device "$device" --tf32 --ops gemm,conv_lib,step_begin/end --json "$out/ops_cuda_tf32.json" > "$work/ops_tf32.log" 2>&1
    rc3=$?
    cat "$work/ops_tf32.log"
    tmo 90 "$ops" --device "$device" --bf16 --ops gemm,conv_lib,step_begin/end --json "$out/ops_cuda_bf16.json" > "$work/ops_bf16.log" 2>&1
    rc4=$?
    cat "$work/ops_bf16.log"
    st=pass
    [ $rc1 = 0 ] && [ $rc2 = 0 ] && [ $rc3 = 0 ] && [ $rc4 = 0 ] || st=fail
    # per run: its "N cases: ..." line, or its last line (unavailable, usage, a crash)
    res() { grep -h 'cases:' "$1" | sed 's/gf_backend_ops: //' | grep . || tail -1 "$1" | sed 's/gf_backend_ops: //'; }
    part ops $st "vs cpu (--big): $(res "$work/ops_cuda.log"); vs double: $(res "$work/ops_double.log"); TF32 vs cpu: $(res "$work/ops_tf32.log"); bf16 vs cpu: $(res "$work/ops_bf16.log")" \
      $(($(date +%s) - ts)) "\"exit\": [$rc1, $rc2, $rc3, $rc4]"
  else
    say "ops: no GPU ($gpu_why): the carried build's CPU backend against the double-precision reference"
    tmo 120 "$ops" --test cpu --ref double --json "$out/ops_cpu_double.json" > "$work/ops_cpu.log" 2>&1
    rc1=$?
    cat "$work/ops_cpu.log"
    tmo 30 "$ops" --device "$device" --json "$work/ops_cuda.json" > "$work/ops_cuda.log" 2>&1
    rc2=$?
    cat "$work/ops_cuda.log"
    unavailable=$(python3 -c "import json; d=json.load(open('$work/ops_cuda.json')); print(d['status'] == 'unavailable')" 2>/dev/null)
    st=skipped
    [ $rc1 = 0 ] || st=fail
    [ "$unavailable" = True ] || st=fail
    part ops $st "no GPU ($gpu_why): $device not checked; gf_backend_ops --device $device says: $(tail -1 "$work/ops_cuda.log" | sed 's/^gf_backend_ops: //'); CPU vs double: $(grep -h 'cases:' "$work/ops_cpu.log" | sed 's/gf_backend_ops: //')" \
      $(($(date +%s) - ts)) "\"exit\": [$rc1, $rc2], \"cuda_unavailable_reported\": $([ "$unavailable" = True ] && echo true || echo false)"
  fi
fi

# ------------------------------------------------------------------ parity
if want parity; then
  ts=$(date +%s)
  if [ $build_ok = 0 ]; then part parity skipped "no build" 0
  elif [ $gpu = 0 ] && [ $cpuhalf = 0 ]; then part parity skipped "no GPU ($gpu_why)" 0
  elif [ "$(left)" -lt 60 ]; then part parity skipped "time budget ($(left) s left)" 0
  else
    kit_presets "$gf" "$data" > "$work/presets.tsv"
    mapfile -t presets < <(cut -f1 "$work/presets.tsv")
    if [ -n "$only_presets" ]; then
      mapfile -t presets < <(printf '%s\n' "${presets[@]}" | grep -x -F -f <(printf '%s\n' ${only_presets//,/ }))
      [ ${#presets[@]} = 0 ] && { echo "check.sh: --presets $only_presets: none of them is a preset" >&2; }
    fi
    # presets on a dataset the kit has no tiny set for are listed, not run
    mapfile -t runnable < <(for p in "${presets[@]}"; do case "$(preset_args "$p")" in '!'*) ;; *) echo "$p" ;; esac; done)
    nc=$(nproc)
    if [ $gpu = 1 ]; then
      say "parity: ${#presets[@]} presets, 3 steps each (1 for the image-to-image models; train.optimizer=$KIT_PARITY_OPT), CPU (background, $((nc / 2)) threads) and $device (3 at a time)"
      (for p in "${runnable[@]}"; do run_preset cpu "$p" $((nc / 2)); done) &
      cpu_pid=$!
      export -f run_preset preset_args tmo left elapsed
      export gf data work t0 budget KIT_PARITY_OPT
      printf '%s\n' "${runnable[@]}" | xargs -P 3 -I{} bash -c "run_preset '$device' '{}' 2"
      wait $cpu_pid
    else
      say "parity: no GPU; the CPU half only (--cpu-half), ${#presets[@]} presets"
      for p in "${runnable[@]}"; do run_preset cpu "$p" "$nc"; done
    fi
    rows="" nfail=0 nerr=0 npass=0 nodata=0
    for p in "${presets[@]}"; do
      read -r crc cms < "$work/runs/cpu/$p.rc" 2>/dev/null || { crc=99; cms=0; }
      st="" det="" grc=99 gms=0
      if [ $gpu = 1 ]; then read -r grc gms < "$work/runs/$device/$p.rc" 2>/dev/null || { grc=99; gms=0; }; fi
      pa=$(preset_args "$p")
      if [ "${pa#!}" != "$pa" ]; then st=no-data; det="${pa#!}"; nodata=$((nodata + 1))
      elif [ "$crc" != 0 ]; then st=error; det="cpu run failed (exit $crc$(case $crc in 124|137) echo ': timed out' ;; esac)): $(grep -v '^epoch' "$work/runs/cpu/$p.log" | tail -1)"
      elif [ $gpu = 0 ]; then st=cpu-only; det="cpu ran 3 steps in $cms ms; gpu half skipped"
      elif [ "$grc" != 0 ]; then st=error; det="$device run failed (exit $grc$(case $grc in 124|137) echo ': timed out' ;; esac)): $(grep -v '^epoch' "$work/runs/$device/$p.log" | tail -1)"
      else
        "$cmpp" "$work/runs/cpu/$p" "$work/runs/$device/$p" --json "$work/runs/cmp_$p.json" > "$work/runs/cmp_$p.log" 2>&1
        if [ $? = 0 ]; then st=pass; else st=fail; fi
        det=$(grep -m1 'gf_compare_params:' "$work/runs/cmp_$p.log" | sed 's/gf_compare_params: //')
        [ $st = fail ] && sed -n '2,6p' "$work/runs/cmp_$p.log" | sed "s/^/    $p: /"
      fi
      case $st in pass) npass=$((npass + 1)) ;; fail) nfail=$((nfail + 1)) ;; error) nerr=$((nerr + 1)) ;; esac
      printf '  %-26s %-8s cpu %6d ms  %s %6d ms  %s\n' "$p" "$st" "$cms" "$device" "$gms" "$det"
      cj="null"
      [ -f "$work/runs/cmp_$p.json" ] && cj=$(cat "$work/runs/cmp_$p.json")
      rows="$rows${rows:+, }{\"preset\": \"$p\", \"status\": \"$st\", \"cpu_ms\": $cms, \"gpu_ms\": $gms, \"detail\": \"$(jesc "$det")\", \"compare\": $cj}"
    done
    if [ $gpu = 1 ]; then
      st=pass; [ $((nfail + nerr)) -gt 0 ] && st=fail
      why="$npass of ${#presets[@]} presets within 1e-4 after 3 steps, 1 for the image-to-image ones ($KIT_PARITY_OPT); $nfail differ, $nerr did not run$([ $nodata -gt 0 ] && echo ", $nodata without kit data")"
    else
      st=skipped; [ $nerr -gt 0 ] && st=fail
      why="no GPU ($gpu_why): CPU half only, $((${#presets[@]} - nerr - nodata)) of ${#presets[@]} presets ran 3 steps$([ $nodata -gt 0 ] && echo ", $nodata without kit data")"
    fi
    part parity $st "$why" $(($(date +%s) - ts)) "\"presets\": [$rows]"
    say "parity: $why"
  fi
fi

# ------------------------------------------------------------------ speed
if want speed; then
  ts=$(date +%s)
  if [ $build_ok = 0 ]; then part speed skipped "no build" 0
  elif [ $gpu = 0 ]; then part speed skipped "no GPU ($gpu_why)" 0
  elif [ "$(left)" -lt 60 ]; then part speed skipped "time budget ($(left) s left)" 0
  else
    say "speed: ganforge bench (fp32 and TF32) and PyTorch $torch_v (eager, cudnn.benchmark) on $device"
    sg=$(tmo 60 "$gf" bench --sgemm --device "$device" 2>&1 | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
    echo "  sgemm 2048^3 on $device: ${sg:-?} GFLOP/s"
    rows=""
    # preset, batch, steps, warm-up, the torch_ref.py model name, the issue's target ratio
    for spec in "mlp-mnist 64 300 20 mlp 0.1" "dcgan-mnist 128 100 10 dcgan28 0.3" "dcgan64 128 60 5 dcgan64 0.5" \
                "cyclegan 1 20 3 cyclegan 0.5"; do
      set -- $spec
      for mode in fp32 tf32; do
        extra=()
        [ $mode = tf32 ] && extra=(--set train.tf32=1)
        line=$(tmo 120 "$gf" bench "$1" --batch "$2" --steps "$3" --warmup "$4" --device "$device" "${extra[@]}" 2>&1 | tail -1)
        echo "  ganforge $mode: $line"
        ms=$(echo "$line" | sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p')
        gfl=$(echo "$line" | sed -n 's/.*gflop_per_step=\([0-9.]*\).*/\1/p')
        rows="$rows${rows:+, }{\"preset\": \"$1\", \"batch\": $2, \"torch_model\": \"$5\", \"target\": $6, \"mode\": \"$mode\", \"ms\": ${ms:-null}, \"gflop\": ${gfl:-null}, \"line\": \"$(jesc "$line")\"}"
      done
    done
    tmo 300 python3 "$kit/torch_ref.py" --device cuda --cudnn-benchmark --models mlp,dcgan28,dcgan64,cyclegan \
      --batches 64,128 --n 30 > "$work/torch.log" 2>&1
    trc=$?
    sed 's/^/  pytorch: /' "$work/torch.log" | tail -12
    # (torch_ref.py pads: "dcgan64    cuda  batch= 128 median_ms_per_step=     6.74 img_per_s=...")
    trows=$(sed -n 's/^\([A-Za-z0-9_]*\) .*batch= *\([0-9]*\) *median_ms_per_step= *\([0-9.]*\).*/\1 \2 \3/p' "$work/torch.log" |
            awk '{printf "%s{\"model\": \"%s\", \"batch\": %s, \"ms\": %s}", (n++ ? ", " : ""), $1, $2, $3}')
    nfp=$(printf '%s' "$rows" | grep -o '"mode": "fp32", "ms": [0-9]' | wc -l)
    ntf=$(printf '%s' "$rows" | grep -o '"mode": "tf32", "ms": [0-9]' | wc -l)
    st=pass
    [ $trc = 0 ] && [ "$nfp" = 4 ] || st=fail
    part speed $st "ganforge timed $nfp of 4 steps in fp32, $ntf in TF32; torch_ref.py exit $trc" $(($(date +%s) - ts)) \
      "\"sgemm_gflops\": ${sg:-null}, \"torch\": \"$(jesc "$(head -1 "$work/torch.log")")\", \"ganforge\": [$rows], \"pytorch\": [$trows]"
  fi
fi

# ------------------------------------------------------------------ profile
if want profile; then
  ts=$(date +%s)
  if [ $build_ok = 0 ]; then part profile skipped "no build" 0
  elif [ $gpu = 0 ]; then part profile skipped "no GPU ($gpu_why)" 0
  elif [ "$(left)" -lt 60 ]; then part profile skipped "time budget ($(left) s left)" 0
  else
    say "profile: ganforge bench --profile (TF32; every layer pass between two synchronisations) on $device"
    prow="" np=0
    for spec in "cyclegan 1 5 3" "dcgan64 128 10 3"; do
      set -- $spec
      tmo 90 "$gf" bench "$1" --batch "$2" --steps "$3" --warmup "$4" --device "$device" --set train.tf32=1 --profile \
        > "$out/profile_$1.txt" 2>&1
      prc=$?
      # the timed line, the profile's head and its three summary lines
      grep -m1 '^preset=' "$out/profile_$1.txt" | sed 's/^/  /'
      grep -E '^(profile of|all layers|outside the layers|the step, profiled)' "$out/profile_$1.txt" | sed 's/^/  /'
      # the five slowest layer rows (column 'total' is the third field from the end)
      awk '/^(G|D)[A-Z_]*\.net\./ { print $(NF-2), $0 }' "$out/profile_$1.txt" | sort -gr | head -5 | cut -d' ' -f2- | sed 's/^/    /'
      pms=$(sed -n 's/^the step, profiled *\([0-9.]*\).*/\1/p' "$out/profile_$1.txt")
      [ $prc = 0 ] && [ -n "$pms" ] && np=$((np + 1))
      prow="$prow${prow:+, }{\"preset\": \"$1\", \"batch\": $2, \"exit\": $prc, \"profiled_ms\": ${pms:-null}, \"file\": \"profile_$1.txt\"}"
    done
    st=pass
    [ $np = 2 ] || st=fail
    part profile $st "$np of 2 profiles (profile_<preset>.txt beside summary.json)" $(($(date +%s) - ts)) "\"profiles\": [$prow]"
  fi
fi

# ------------------------------------------------------------------ memcheck
if want memcheck; then
  ts=$(date +%s)
  if [ $build_ok = 0 ]; then part memcheck skipped "no build" 0
  elif [ $gpu = 0 ]; then part memcheck skipped "no GPU ($gpu_why)" 0
  elif [ -z "$cs" ]; then part memcheck skipped "no compute-sanitizer on this machine" 0
  elif [ "$(left)" -lt 40 ]; then part memcheck skipped "time budget ($(left) s left)" 0
  else
    say "memcheck: one dcgan-mnist step (batch 16, no CUDA graph) under compute-sanitizer"
    tmo 150 "$cs" --tool memcheck --error-exitcode 9 --print-limit 10 "$gf" train dcgan-mnist --data "$data/mnist" \
      --device "$device" --seed 1 --set train.max_steps=1 --set train.batch=16 --set train.report=0 --set train.cuda_graph=0 \
      --set data.download=0 --out "$work/memcheck" > "$work/memcheck.log" 2>&1
    m1=$?
    tail -8 "$work/memcheck.log"
    m2=-1
    if [ "$(left)" -gt 60 ]; then
      say "memcheck: gf_backend_ops (every op, default shapes) under compute-sanitizer"
      tmo 120 "$cs" --tool memcheck --error-exitcode 9 --print-limit 10 "$ops" --device "$device" > "$work/memcheck_ops.log" 2>&1
      m2=$?
      grep -E "ERROR SUMMARY|cases:|Invalid|out of bounds" "$work/memcheck_ops.log" | tail -8
    fi
    if grep -q -E "Device not supported|Unable to find injection library|error 999" "$work/memcheck.log"; then
      st=skipped why="compute-sanitizer does not run on this machine: $(grep -m1 -E 'Device not supported|injection|999' "$work/memcheck.log")"
    elif [ $m1 = 0 ] && { [ $m2 = 0 ] || [ $m2 = -1 ] ||
         { [ $m2 = 1 ] && grep -q 'ERROR SUMMARY: 0 errors' "$work/memcheck_ops.log"; }; }; then
      # (gf_backend_ops exits 1 for a case off its tolerance: the ops part reports those)
      st=pass why="no memcheck errors: training step$([ $m2 = 0 ] && echo ' and gf_backend_ops')"
    else
      st=fail why="exit $m1 (the step), $m2 (the ops; -1: not run); $(grep -h -E 'ERROR SUMMARY' "$work/memcheck.log" "$work/memcheck_ops.log" 2>/dev/null | sed 's/=* *//' | tr '\n' ';') the step's last words: $(grep -v '^=====' "$work/memcheck.log" | tail -1)"
    fi
    part memcheck $st "$why" $(($(date +%s) - ts)) "\"exit\": [$m1, $m2]"
  fi
fi

# ------------------------------------------------------------------ summary
for p in build ops parity speed profile memcheck; do
  [ -f "$work/part_$p.json" ] || part "$p" skipped "not asked for (--parts $parts)" 0
done
python3 "$here/summarize.py" "$work" "$out/summary.json"
status=$(python3 -c "import json; print(json.load(open('$out/summary.json'))['status'])" 2>/dev/null)
[ "$status" = fail ] && exit 1
exit 0
