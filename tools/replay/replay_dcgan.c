/* replay_dcgan.c: replays a PyTorch dcgan-mnist or wgan-gp-mnist trajectory in ganforge (same
   initial weights, real batches and noise, and WGAN-GP's interpolation coefficients, from
   tools/replay/trajectory.py) and dumps G's and D's tensors after G steps 1, 3, 10, 30, 100, 200,
   300, 500 and 1000, for tools/replay/compare.py. A diagnostic, not installed: it tells a
   systematic difference from the float32 rounding that every run has.

     gf_replay_dcgan DATA.safetensors STEPS OUT.bin [KEY=VALUE ...]

   STEPS counts G steps. A data file with coefficients t [5 STEPS, 64] replays wgan-gp-mnist (5
   critic steps per G step), one without them dcgan-mnist. When the data file has fixed noise
   zeval [256, 100], G's eval-mode samples of it (running statistics, as `ganforge sample` draws)
   are dumped too, as "samples".
   OUT.bin: per dumped tensor a text line "<step> <name> <count>\n", then count float32 values.

     gf_replay_dcgan --init PRESET SEED OUT.safetensors [KEY=VALUE ...]

   writes the initial G and D that `ganforge train PRESET --seed SEED` starts from (state_dict
   names G.* and D.*, with the run's config), for `tools/torch_twin.py --gf-rng`: a twin that
   starts from them and draws ganforge's random numbers trains on the same random numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ganforge/ganforge.h"
#include "io/safetensors.h"
#include "models/gan.h"
#include "models/weights.h"

#define NZ 100
#define BATCH 64
#define DIM 784
#define NEVAL 256 /* fixed noise vectors of the eval-mode samples */

static const int marks[] = {1, 3, 10, 30, 100, 200, 300, 500, 1000};

static int dump_array(FILE *o, int step, const char *name, const float *x, long n) {
  fprintf(o, "%d %s %ld\n", step, name, n);
  return fwrite(x, sizeof(float), (size_t)n, o) == (size_t)n ? 0 : -1;
}

static int dump(FILE *o, const gf__net *net, int step) {
  gf__tensor_ref refs[128];
  int m = gf__net_tensors(net, refs, 128);
  for (int i = 0; i < m; i++) {
    if (dump_array(o, step, refs[i].name, refs[i].data, refs[i].n) < 0) return -1;
  }
  return 0;
}

/* --init PRESET SEED OUT: the initial networks of a run of PRESET at SEED */
static int write_init(const char *preset, const char *seed, const char *out, char **kv, int nkv) {
  gf_config cfg;
  int bad = gf_preset_apply(&cfg, preset) < 0 || gf_config_set(&cfg, "train.seed", seed) < 0;
  for (int i = 0; i < nkv && !bad; i++) bad = gf_config_set_kv(&cfg, kv[i]) < 0;
  if (bad || gf_config_validate(&cfg) < 0) {
    fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error());
    return 2;
  }
  gf__gan gan;
  if (gf__gan_create(&gan, &cfg, gf__ops_cpu(), 1, 28, 28, cfg.train_batch, NULL) < 0) {
    fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error());
    return 1;
  }
  gf__net *nets[2] = {&gan.G, &gan.D};
  int rc = gf__weights_save(out, nets, 2, &cfg, NULL, 0) < 0;
  if (rc) fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error());
  gf__gan_destroy(&gan);
  return rc;
}

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "--init")) return write_init(argv[2], argv[3], argv[4], argv + 5, argc - 5);
  if (argc < 4 || !strcmp(argv[1], "--init")) {
    fprintf(stderr, "usage: gf_replay_dcgan DATA.safetensors STEPS OUT.bin [KEY=VALUE ...]\n"
                    "       gf_replay_dcgan --init PRESET SEED OUT.safetensors [KEY=VALUE ...]\n");
    return 2;
  }
  int steps = atoi(argv[2]);
  if (steps < 1) {
    fprintf(stderr, "gf_replay_dcgan: STEPS must be a positive integer (got '%s')\n", argv[2]);
    return 2;
  }
  gf__st_file f;
  if (gf__st_open(&f, argv[1]) < 0) {
    fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error());
    return 1;
  }
  const uint8_t *tdata;
  int tndim;
  int64_t tshape[4];
  int wgp = gf__st_get(&f, "t", &tdata, &tndim, tshape) == 0;
  int k = wgp ? 5 : 1; /* D steps per G step */
  int has_eval = gf__st_get(&f, "zeval", &tdata, &tndim, tshape) == 0;
  gf_config cfg;
  gf_preset_apply(&cfg, wgp ? "wgan-gp-mnist" : "dcgan-mnist");
  for (int i = 4; i < argc; i++)
    if (gf_config_set_kv(&cfg, argv[i]) < 0) {
      fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error());
      gf__st_close(&f);
      return 2;
    }
  if (gf_config_validate(&cfg) < 0 || cfg.train_d_steps != k) {
    if (cfg.train_d_steps != k) fprintf(stderr, "gf_replay_dcgan: train.d_steps must be %d for %s\n", k, argv[1]);
    else fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error());
    gf__st_close(&f);
    return 1;
  }
  gf__gan gan;
  if (gf__gan_create(&gan, &cfg, gf__ops_cpu(), 1, 28, 28, BATCH, NULL) < 0) {
    fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error());
    gf__st_close(&f);
    return 1;
  }
  int rc = 1;
  long S = (long)steps * k; /* D steps */
  float *real = malloc(sizeof(float) * (size_t)S * BATCH * DIM);
  float *z = malloc(sizeof(float) * (size_t)S * BATCH * NZ);
  float *t = wgp ? malloc(sizeof(float) * (size_t)S * BATCH) : NULL;
  float *zeval = has_eval ? malloc(sizeof(float) * NEVAL * NZ) : NULL;
  float *xeval = has_eval ? malloc(sizeof(float) * NEVAL * DIM) : NULL;
  int64_t sr[5] = {S, BATCH, 1, 28, 28}, sz[3] = {S, BATCH, NZ}, st[2] = {S, BATCH}, se[2] = {NEVAL, NZ};
  FILE *o = NULL;
  if (!real || !z || (wgp && !t) || (has_eval && (!zeval || !xeval))) fprintf(stderr, "gf_replay_dcgan: out of memory for %d steps\n", steps);
  else if (gf__weights_load_net_prefixed(&f, &gan.G, "init.") < 0 ||
           gf__weights_load_net_prefixed(&f, &gan.D, "init.") < 0 || gf__st_read_into(&f, "real", real, 5, sr) < 0 ||
           gf__st_read_into(&f, "z", z, 3, sz) < 0 || (wgp && gf__st_read_into(&f, "t", t, 2, st) < 0) ||
           (has_eval && gf__st_read_into(&f, "zeval", zeval, 2, se) < 0))
    fprintf(stderr, "gf_replay_dcgan: %s\n", gf_last_error()); /* the message names the file */
  else if (!(o = fopen(argv[3], "wb")))
    fprintf(stderr, "gf_replay_dcgan: %s: cannot create\n", argv[3]);
  else {
    rc = 0;
    for (int it = 0; it < steps && !rc; it++) {
      int bad = 0;
      for (long s = (long)it * k; s < (long)(it + 1) * k && !bad; s++) {
        gan.z_override = z + (size_t)s * BATCH * NZ;
        if (wgp) gan.crit.t_override = t + (size_t)s * BATCH;
        bad = gf__gan_d_step(&gan, real + (size_t)s * BATCH * DIM) < 0;
      }
      if (bad || gf__gan_g_step(&gan) < 0 || gf__gan_stats(&gan) < 0) {
        fprintf(stderr, "gf_replay_dcgan: step %d: %s\n", it + 1, gf_last_error());
        rc = 1;
        break;
      }
      for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++)
        if (it + 1 == marks[k]) {
          if (has_eval && gf__gan_sample_host(&gan, zeval, NEVAL, xeval) < 0) {
            fprintf(stderr, "gf_replay_dcgan: step %d: %s\n", it + 1, gf_last_error());
            rc = 1;
          } else if (dump(o, &gan.G, it + 1) < 0 || dump(o, &gan.D, it + 1) < 0 ||
                     (has_eval && dump_array(o, it + 1, "samples", xeval, (long)NEVAL * DIM) < 0)) {
            fprintf(stderr, "gf_replay_dcgan: %s: write failed\n", argv[3]);
            rc = 1;
          }
          printf("step %d loss_D %.6f loss_G %.6f\n", it + 1, gan.loss_d, gan.loss_g);
        }
    }
    if (fclose(o) != 0 && !rc) {
      fprintf(stderr, "gf_replay_dcgan: %s: write failed\n", argv[3]);
      rc = 1;
    }
  }
  free(real);
  free(z);
  free(t);
  free(zeval);
  free(xeval);
  gf__gan_destroy(&gan);
  gf__st_close(&f);
  return rc;
}
