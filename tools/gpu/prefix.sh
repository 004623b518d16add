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
# in the prefix or in KIT_BASELINE. Prints what is missing; returns 1 if anything is.
kit_closure() {
  local p=$1 f n missing=0 have
  shift
  have=" $(find "$p" \( -type f -o -type l \) -name '*.so*' -printf '%f ' 2>/dev/null) "
  while IFS= read -r f; do
    for n in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      case " $have $KIT_BASELINE " in *" $n "*) ;; *) echo "kit: ${f#$p/} needs $n, neither carried nor part of the machine's baseline"; missing=1 ;; esac
    done
  done < <({ find "$p" -type f \( -name '*.so*' -o -path '*/bin/*' \); printf '%s\n' "$@"; } | while IFS= read -r f; do
             [ -n "$f" ] && head -c 4 "$f" 2>/dev/null | grep -q ELF && echo "$f"; done)
  return $missing
}
