#!/usr/bin/env bash
# test_infer_lib.sh: libganforge_infer links no training, dataset or download code: no libcurl (or
# image codecs) among its libraries, no such symbols inside, only the inference API exported; the
# example program needs no libganforge.
set -u
gf=$1
bin=$(dirname "$gf")
lib=$bin/libganforge_infer.so
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
[ -f "$lib" ] && ok "built: $(basename "$(readlink -f "$lib")") $(stat -c %s "$(readlink -f "$lib")") bytes" || bad "$lib missing"
deps=$(ldd "$lib" | awk '{print $1}')
for d in libcurl libpng libjpeg libgif libz.so; do
  echo "$deps" | grep -q "$d" && bad "libganforge_infer needs $d" || ok "no $d"
done
ldd "$bin/libganforge.so" | grep -q libcurl && ok "(libganforge itself does link libcurl: the check can fail)" \
  || bad "libganforge without libcurl: this check proves nothing"
# no training loop, optimizer step, dataset, download, report or export code inside
syms=$(nm "$lib" | awk '{print $3}')
for s in gf_train gf__train_i2i gf__gan_d_step gf__gan_g_step gf__cyclegan_step gf__gan_create gf__dataset_free \
         gf__data_fetch gf__prefetch_start gf__i2i_load gf__png_write gf_export gf_eval curl_easy_init; do
  echo "$syms" | grep -qx "$s" && bad "libganforge_infer contains $s" || ok "no $s"
done
echo "$syms" | grep -qx gf__net_forward && ok "has the forward pass" || bad "gf__net_forward missing: the nm check proves nothing"
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')
want="gf_clear_error gf_err_name gf_generator_close gf_generator_generate gf_generator_generate_labeled gf_generator_info_get gf_generator_open gf_generator_sample gf_generator_sample_class gf_generator_translate gf_last_error gf_strerror "
[ "$exported" = "$want" ] && ok "exports exactly the inference API" || bad "exports: $exported"
ldd "$bin/gf_infer_example" | grep -q "libganforge_infer" && ! ldd "$bin/gf_infer_example" | grep -q "libganforge\.so" \
  && ok "the example links libganforge_infer alone" || bad "example links: $(ldd "$bin/gf_infer_example" | grep ganforge)"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
