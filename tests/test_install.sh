#!/usr/bin/env bash
# test_install.sh: `cmake --install` into a scratch prefix, then a program using the public API is
# compiled with `pkg-config --cflags --libs ganforge` and run (train, an error status, no exit()).
set -u
gf=$1
build=$(dirname "$gf")
T=${GF_TMP:-/tmp/ganforge-test}/install
rm -rf "$T" && mkdir -p "$T"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if ! cmake --install "$build" --prefix "$T/prefix" > "$T/install.log" 2>&1; then
  bad "cmake --install: $(tail -3 "$T/install.log")"; echo "$pass passed, $fail failed"; exit 1
fi
ok
for f in include/ganforge/ganforge.h include/ganforge/config.h include/ganforge/error.h include/ganforge/infer.h \
         include/ganforge/export.h lib/libganforge_infer.so lib/libganforge.a \
         lib/pkgconfig/ganforge.pc bin/ganforge; do
  [ -e "$T/prefix/$f" ] && ok || bad "missing $f after install"
done
libdir=$(ls -d "$T"/prefix/lib*/pkgconfig | head -1)
export PKG_CONFIG_PATH=$libdir
cat > "$T/api.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <ganforge/ganforge.h>
int main(int argc, char **argv) {
  gf_config cfg;
  if (gf_preset_apply(&cfg, "gauss1d") < 0) return 1;
  gf_config_set(&cfg, "train.epochs", "1");
  gf_config_set(&cfg, "data.n", "1024");
  gf_train_opts opts = {.out_dir = argc > 1 ? argv[1] : "run"};
  if (gf_train(&cfg, &opts) < 0) { fprintf(stderr, "%s\n", gf_last_error()); return 2; }
  int rc = gf_preset_apply(&cfg, "no-such-preset");
  printf("%s|%s\n", gf_err_name(rc), gf_last_error());
  return strstr(gf_last_error(), "no-such-preset") ? 0 : 3;
}
C
# a sanitizer build's library needs the sanitizer runtime in the program too
san=""; [ "${GF_SANITIZED:-0}" = 1 ] && san="-fsanitize=address,undefined"
if gcc -std=c11 -Wall -Werror $san "$T/api.c" -o "$T/api" $(pkg-config --cflags --libs ganforge) \
     -Wl,-rpath,"$(dirname "$libdir")" 2> "$T/cc.log"; then ok; else bad "compile with pkg-config: $(head -5 "$T/cc.log")"; fi
if [ -x "$T/api" ]; then
  out=$("$T/api" "$T/run" 2>&1); rc=$?
  [ $rc = 0 ] && ok || bad "api program exit $rc: $out"
  [[ "$out" == GF_EUSAGE\|* ]] && ok || bad "unexpected output: $out"
  [ -s "$T/run/generator.safetensors" ] && ok || bad "the API run wrote no generator"
fi
"$T/prefix/bin/ganforge" version > /dev/null 2>&1 && ok || bad "installed ganforge does not run"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
