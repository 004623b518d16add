# shellcheck shell=bash
# prefix.sh: the GPU check kit's carried dependencies: which Debian packages, how they are unpacked
# into a private prefix (never into /), and how a build is pointed at that prefix alone.
# Sourced by tools/gpu/prepare.sh and tools/gpu/check.sh (bash).

# Runtime + development packages of the kit's build (-DGANFORGE_CURL=OFF: no libcurl and its
# two dozen TLS / LDAP / Kerberos libraries), plus pkg-config and make in case the machine lacks
# them. Not carried: the C library, libgcc_s, libstdc++ and libgomp, which come with the
# machine's compiler (nvcc needs gcc and g++).
# shellcheck disable=SC2034 # used by prepare.sh
KIT_PKGS=(
  libopenblas0-openmp libopenblas-openmp-dev libgfortran5 libquadmath0
  libcjson1 libcjson-dev
  libpng16-16 libpng-dev zlib1g zlib1g-dev
  libjpeg62-turbo libjpeg62-turbo-dev
  libgif7 libgif-dev
  libdnnl2 libdnnl-dev ocl-icd-libopencl1
  pkgconf pkgconf-bin libpkgconf3
  make
)
# Libraries the machine itself provides (with its C library and compiler).
KIT_BASELINE="libc.so.6 libm.so.6 libmvec.so.1 libpthread.so.0 libdl.so.2 librt.so.1 ld-linux-x86-64.so.2 libgcc_s.so.1 libstdc++.so.6 libgomp.so.1"
KIT_ARCH=x86_64-linux-gnu

# kit_unpack DEBDIR PREFIX: unpacks every .deb of DEBDIR into PREFIX (dpkg -x, or python3 when
# the machine has no dpkg) and turns absolute symbolic links into links inside PREFIX.
kit_unpack() {
  local debs=$1 p=$2 d
  mkdir -p "$p" || return 1
  for d in "$debs"/*.deb; do
    [ -e "$d" ] || { echo "kit: no .deb files in $debs (run tools/gpu/prepare.sh)" >&2; return 1; }
    if command -v dpkg >/dev/null 2>&1; then
      dpkg -x "$d" "$p" || { echo "kit: dpkg -x $d failed" >&2; return 1; }
    else
      python3 "$KIT_SRC/undeb.py" "$d" "$p" || return 1
    fi
  done
  local l t
  while IFS= read -r -d '' l; do
    t=$(readlink "$l")
    case "$t" in /*) ln -sfn "$p$t" "$l" ;; esac
  done < <(find "$p" -type l -print0)
}

# kit_libdirs PREFIX: the prefix's library folders, colon-separated.
kit_libdirs() {
  echo "$1/usr/lib/$KIT_ARCH:$1/lib/$KIT_ARCH:$1/usr/lib/$KIT_ARCH/openblas-openmp:$1/usr/lib"
}

# kit_env PREFIX: the environment of a build and of its programs: the prefix's libraries and
# pkg-config files only (PKG_CONFIG_LIBDIR replaces the default search path).
kit_env() {
  local p=$1
  LD_LIBRARY_PATH="$(kit_libdirs "$p")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
  export PKG_CONFIG_LIBDIR="$p/usr/lib/$KIT_ARCH/pkgconfig:$p/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$p"
  export PKG_CONFIG="$p/usr/bin/pkgconf"
}

# kit_cmake_args PREFIX ROOTS: CMake arguments that make every find_* and pkg-config look in
# PREFIX (ROOTS="$p": only there, which proves the carry complete on a machine that has the
# packages installed; ROOTS="$p;/": the prefix first, then the system, for the CUDA toolkit).
kit_cmake_args() {
  local p=$1 roots=$2
  local L="$p/usr/lib/$KIT_ARCH"
  # the multiarch include folder (jconfig.h, openblas) is a default of the compiler's, not of CMake's
  printf '%s\n' "-DCMAKE_FIND_ROOT_PATH=$roots" -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER "-DPKG_CONFIG_EXECUTABLE=$p/usr/bin/pkgconf" \
    "-DCMAKE_C_FLAGS=-isystem $p/usr/include/$KIT_ARCH" \
    "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$L:$p/lib/$KIT_ARCH -Wl,-rpath,$L:$p/lib/$KIT_ARCH" \
    "-DCMAKE_SHARED_LINKER_FLAGS=-Wl,-rpath-link,$L:$p/lib/$KIT_ARCH -Wl,-rpath,$L:$p/lib/$KIT_ARCH"
}

# kit_cmake_args_plain PREFIX: the fallback: PREFIX/usr on CMAKE_PREFIX_PATH (the caller adds
# it), the OpenBLAS OpenMP build named directly, the same flags; the system is searched too.
kit_cmake_args_plain() {
  local p=$1
  local L="$p/usr/lib/$KIT_ARCH"
  printf '%s\n' "-DGF_OPENBLAS_OMP=$L/openblas-openmp/libopenblas.so" \
    "-DGF_CBLAS_INCLUDE=$p/usr/include/$KIT_ARCH/openblas-openmp" "-DPKG_CONFIG_EXECUTABLE=$p/usr/bin/pkgconf" \
    "-DCMAKE_C_FLAGS=-isystem $p/usr/include/$KIT_ARCH" "-DCMAKE_LIBRARY_PATH=$L;$p/lib/$KIT_ARCH" \
    "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$L:$p/lib/$KIT_ARCH -Wl,-rpath,$L:$p/lib/$KIT_ARCH" \
    "-DCMAKE_SHARED_LINKER_FLAGS=-Wl,-rpath-link,$L:$p/lib/$KIT_ARCH -Wl,-rpath,$L:$p/lib/$KIT_ARCH"
}

# kit_closure PREFIX [FILES...]: every shared library the prefix's ELF files (and FILES) need is
# in the prefix, in KIT_BASELINE or matches the pattern KIT_MACHINE_LIBS (the CUDA libraries of the
# machine, in a CUDA build). Prints what is missing; returns 1 if anything is.
kit_closure() {
  local p=$1 f n missing=0 have
  shift
  have=" $(find "$p" \( -type f -o -type l \) -name '*.so*' -printf '%f ' 2>/dev/null) "
  while IFS= read -r f; do
    for n in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      case " $have $KIT_BASELINE " in *" $n "*) continue ;; esac
      local pat pats mine=0
      read -ra pats <<< "${KIT_MACHINE_LIBS//|/ }" # (no pathname expansion of the patterns)
      for pat in "${pats[@]}"; do
        # shellcheck disable=SC2254 # a glob, e.g. the CUDA libraries of a CUDA build
        case "$n" in $pat) mine=1 ;; esac
      done
      [ $mine = 1 ] && continue
      echo "kit: ${f#$p/} needs $n, neither carried nor part of the machine's baseline"
      missing=1
    done
  done < <({ find "$p" -type f \( -name '*.so*' -o -path '*/bin/*' \); printf '%s\n' "$@"; } | while IFS= read -r f; do
             [ -n "$f" ] && head -c 4 "$f" 2>/dev/null | grep -q ELF && echo "$f"; done)
  return $missing
}

# ---- the CUDA side: cuDNN and cuBLAS, from the machine (never carried as libraries) ----
# A GPU machine may have cuDNN beside its CUDA toolkit, or only in PyTorch's pip wheels
# (site-packages/nvidia/cudnn/{include,lib}, libcudnn.so.9 without the unversioned name), or
# even without its headers: prepare.sh then carries cuDNN's header files (NVIDIA's cuDNN license
# lists the .h files among the distributable runtime files) in .gpukit/cudnn/include.

# kit_cudnn_hver DIR: MAJOR.MINOR.PATCH of the cuDNN headers in DIR, or nothing.
kit_cudnn_hver() {
  local f=$1/cudnn_version.h
  [ -f "$f" ] || f=$1/cudnn.h
  [ -f "$f" ] || return 0
  awk '/#define CUDNN_MAJOR /{a=$3} /#define CUDNN_MINOR /{b=$3} /#define CUDNN_PATCHLEVEL /{c=$3} END{if (a != "") print a "." b "." c}' "$f"
}

# kit_cudnn_lmajor LIB: the major version of a libcudnn, from its SONAME (libcudnn.so.N) or name.
kit_cudnn_lmajor() {
  local m
  m=$(readelf -d "$1" 2>/dev/null | sed -n 's/.*(SONAME).*\[libcudnn\.so\.\([0-9]*\).*/\1/p')
  [ -n "$m" ] || m=$(basename "$(readlink -f "$1")" | sed -n 's/^libcudnn\.so\.\([0-9]*\).*/\1/p')
  echo "$m"
}

# kit_pip_nvidia SUB: folders site-packages/nvidia/SUB of the machine's Python (python3's own
# first, then the usual virtual environments), one a line. (KIT_SITE_DIRS: only these
# site-packages folders, colon-separated: tests.)
kit_pip_nvidia() {
  local sub=$1 d
  if [ -n "${KIT_SITE_DIRS:-}" ]; then
    tr ':' '\n' <<< "$KIT_SITE_DIRS" | while IFS= read -r d; do [ -d "$d/nvidia/$sub" ] && echo "$d/nvidia/$sub"; done
    return 0
  fi
  {
    python3 -c "import nvidia, os; [print(os.path.join(p, '$sub')) for p in nvidia.__path__]" 2>/dev/null
    for d in /opt/*/.venv/lib/python3*/site-packages /opt/*/lib/python3*/site-packages /usr/local/lib/python3*/dist-packages \
             /usr/local/lib/python3*/site-packages /usr/lib/python3/dist-packages; do
      [ -d "$d/nvidia/$sub" ] && echo "$d/nvidia/$sub"
    done
  } | awk '!seen[$0]++' | while IFS= read -r d; do [ -d "$d" ] && echo "$d"; done
}

# kit_cudnn TOOLKIT CARRIED: finds a cuDNN library and headers of the same major version: beside
# the CUDA toolkit (TOOLKIT: the folder above nvcc's bin) or the system, then in pip's
# nvidia/cudnn wheels; headers beside the library first, else the carried ones (CARRIED/include).
# Sets KIT_CUDNN_LIB (a file), KIT_CUDNN_INC (a folder) and KIT_CUDNN_NOTE (where from, versions);
# returns 1 with KIT_CUDNN_NOTE saying what was found when nothing fits. (KIT_NO_SYSTEM=1: not
# the system's folders /usr/..., only the toolkit's: tests.)
kit_cudnn() {
  local tk=$1 carried=$2 d l h lm hv seen="" cands=() sl="" si=""
  KIT_CUDNN_LIB="" KIT_CUDNN_INC="" KIT_CUDNN_NOTE=""
  if [ "${KIT_NO_SYSTEM:-0}" != 1 ]; then
    sl="/usr/lib/x86_64-linux-gnu /usr/local/lib /usr/lib64"
    si="/usr/include /usr/local/include /usr/include/x86_64-linux-gnu"
  fi
  for d in "$tk/lib64" "$tk/lib" "$tk/targets/x86_64-linux/lib" $sl; do
    for l in "$d"/libcudnn.so "$d"/libcudnn.so.[0-9]; do
      [ -e "$l" ] && cands+=("toolkit|$l|$tk/include $tk/targets/x86_64-linux/include $si") && break
    done
  done
  while IFS= read -r d; do
    for l in "$d"/lib/libcudnn.so.[0-9] "$d"/lib/libcudnn.so; do
      [ -e "$l" ] && cands+=("pip wheel $d|$l|$d/include") && break
    done
  done < <(kit_pip_nvidia cudnn)
  local c from
  for c in "${cands[@]}"; do
    IFS='|' read -r from l h <<< "$c"
    lm=$(kit_cudnn_lmajor "$l")
    local any=0
    for d in $h "$carried/include"; do
      hv=$(kit_cudnn_hver "$d")
      [ -n "$hv" ] || continue
      any=1
      seen="$seen; $l (major ${lm:-?}) with headers $d ($hv)"
      if [ -n "$lm" ] && [ "${hv%%.*}" = "$lm" ]; then
        KIT_CUDNN_LIB=$l KIT_CUDNN_INC=$d
        local lv
        lv=$(python3 -c "import ctypes, sys; v = ctypes.CDLL(sys.argv[1]).cudnnGetVersion(); print('%d.%d.%d' % (v // 10000, v // 100 % 100, v % 100))" "$l" 2>/dev/null)
        KIT_CUDNN_NOTE="cuDNN ${lv:-$lm.x} from the $from: $l; headers $hv in $d$([ "$d" = "$carried/include" ] && echo ' (carried)')"
        return 0
      fi
    done
    [ $any = 1 ] || seen="$seen; $l without headers"
  done
  if [ ${#cands[@]} = 0 ]; then KIT_CUDNN_NOTE="no libcudnn beside the CUDA toolkit ($tk) nor in pip's nvidia/cudnn wheels"
  else KIT_CUDNN_NOTE="no cuDNN headers of the library's major version: ${seen#; }"
  fi
  return 1
}

# kit_cublas TOOLKIT SHIM: cuBLAS for the build. Beside the toolkit: nothing to do (CMake's
# FindCUDAToolkit finds it). Else pip's nvidia/cu<major> (or nvidia/cublas) wheel: prints the
# CMake arguments naming its libraries, and SHIM/include gets links to its cublas*.h alone (the
# wheel's include folder also holds another CUDA runtime's headers, which must not shadow
# nvcc's). Sets KIT_CUBLAS_NOTE and KIT_CUBLAS_DIR (the library folder, for LD_LIBRARY_PATH).
kit_cublas() {
  local tk=$1 shim=$2 d l major
  KIT_CUBLAS_DIR="" KIT_CUBLAS_NOTE=""
  for d in "$tk/lib64" "$tk/lib" "$tk/targets/x86_64-linux/lib"; do
    if [ -e "$d/libcublas.so" ] && { [ -f "$tk/include/cublas_v2.h" ] || [ -f "$tk/targets/x86_64-linux/include/cublas_v2.h" ]; }; then
      KIT_CUBLAS_DIR=$d KIT_CUBLAS_NOTE="cuBLAS beside the toolkit: $d"
      return 0
    fi
  done
  major=$("$tk/bin/nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
  while IFS= read -r d; do
    l=$(ls "$d"/lib/libcublas.so.${major:-[0-9]}* 2>/dev/null | head -1)
    [ -n "$l" ] && [ -f "$d/include/cublas_v2.h" ] || continue
    mkdir -p "$shim/include"
    for h in "$d"/include/cublas*.h; do ln -sf "$h" "$shim/include/"; done
    KIT_CUBLAS_DIR=$d/lib KIT_CUBLAS_NOTE="cuBLAS from the pip wheel $d (the toolkit at $tk has none)"
    printf '%s\n' "-DCUDA_cublas_LIBRARY=$l" "-DCUDA_cublasLt_LIBRARY=$(ls "$d"/lib/libcublasLt.so.* | head -1)" \
      "-DCMAKE_CUDA_FLAGS=-I$shim/include"
    return 0
  done < <(kit_pip_nvidia "cu$major"; kit_pip_nvidia cublas)
  KIT_CUBLAS_NOTE="no cuBLAS beside the toolkit ($tk) nor in pip's nvidia wheels"
  return 1
}
