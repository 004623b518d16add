/* fuzz_checkpoint.c: a training checkpoint through gf__checkpoint_read_config and
   gf__checkpoint_load (as `ganforge train --resume` reads it) into a small fixed model: MLP G with
   BatchNorm and generator EMA, so every tensor kind of the format is present. With
   GF_FUZZ_WRITE_SEED=PATH the target first writes that model's checkpoint to PATH (a seed). */
#include "fuzz.h"
#include "ganforge/ganforge.h"
#include "models/checkpoint.h"

static gf__gan gan;
static int ready;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  gf_config cfg;
  const gf__ops *ops;
  if (gf_preset_apply(&cfg, "gauss1d") < 0 || gf_config_set_kv(&cfg, "model.g_hidden=4") < 0 ||
      gf_config_set_kv(&cfg, "model.d_hidden=3") < 0 || gf_config_set_kv(&cfg, "model.g_norm=bn") < 0 ||
      gf_config_set_kv(&cfg, "model.nz=2") < 0 || gf_config_set_kv(&cfg, "train.ema=0.9") < 0 ||
      gf_config_set_kv(&cfg, "train.batch=4") < 0 || gf_config_validate(&cfg) < 0 || gf__ops_get("cpu", &ops) < 0 ||
      gf__gan_create(&gan, &cfg, ops, 1, 1, 1, 4, NULL) < 0) {
    fprintf(stderr, "fuzz_checkpoint: cannot build the model: %s\n", gf_last_error());
    abort();
  }
  ready = 1;
  const char *seed = getenv("GF_FUZZ_WRITE_SEED");
  if (seed && *seed) {
    gf__data_pos pos = {2, 1, 7, 1.5};
    if (gf__checkpoint_save(seed, &gan, &pos) < 0) {
      fprintf(stderr, "fuzz_checkpoint: %s\n", gf_last_error());
      abort();
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready) LLVMFuzzerInitialize(NULL, NULL);
  const char *path = gf_fuzz_file("latest.safetensors", data, size);
  gf_config cfg;
  if (gf__checkpoint_read_config(path, &cfg) < 0) GF_FUZZ_CHECK_MESSAGE(path);
  gf__data_pos pos = {0, 0, 0, 0.0};
  if (gf__checkpoint_load(path, &gan, &pos) < 0) GF_FUZZ_CHECK_MESSAGE(path);
  else GF_FUZZ_CHECK(pos.epoch >= 1 && pos.batch >= 0 && gan.g_steps >= 0);
  return 0;
}
