/* ganforge/infer.h: the inference API: open a trained generator, query its shapes, generate or
   translate into caller buffers. In libganforge, and alone in libganforge_infer (no training,
   dataset or download code). Separate handles may be used from separate threads at once. */
#ifndef GANFORGE_INFER_H
#define GANFORGE_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "ganforge/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gf_generator gf_generator;

typedef struct gf_generator_opts {
  const char *device;    /* "cpu" (NULL: "cpu"), "cuda", "cuda:N" where built with CUDA */
  const char *direction; /* CycleGAN: "AtoB" (NULL) uses G_A, "BtoA" G_B; pix2pix: AtoB only */
  int max_batch;         /* samples per internal pass (0: 64); memory grows with it */
} gf_generator_opts;

typedef struct gf_generator_info {
  char arch[16];         /* model.arch: "mlp" | "dcgan" | "cyclegan" | "pix2pix" */
  char kind[16];         /* network: "mlp" | "dcgan" | "resnet" | "unet" */
  int translates;        /* 1: image-to-image (gf_generator_translate), 0: from latents */
  int nz;                /* latent size (0 for translators) */
  int classes;           /* classes of a conditional generator (0: unconditional) */
  int c, h, w;           /* output shape per sample; translators: channels and the trained size */
  int in_c;              /* translators: input channels */
  float lo, hi;          /* the output's value range (tanh: -1, 1; sigmoid: 0, 1) */
  char noise[16];        /* latent distribution: "normal" | "uniform" */
  float noise_lo, noise_hi; /* its bounds when uniform */
} gf_generator_info;

/* Opens RUN/generator.safetensors (a run folder), a generator.safetensors, a training checkpoint
   (train.ema average when present) or a CycleGAN / pix2pix run or file. opts may be NULL. */
int gf_generator_open(const char *path, const gf_generator_opts *opts, gf_generator **out);
void gf_generator_close(gf_generator *g);
int gf_generator_info_get(const gf_generator *g, gf_generator_info *info);

/* out [n, c, h, w] = G(z [n, nz]) in eval mode (BatchNorm running statistics), host buffers.
   A conditional generator (info.classes > 0) gives sample i the class i mod classes. */
int gf_generator_generate(gf_generator *g, const float *z, int n, float *out);
/* The same with the class of every sample of a conditional generator: labels [n] in
   [0, classes) (NULL: i mod classes); GF_EINVAL names a label out of range, GF_EUSAGE labels for
   an unconditional generator. */
int gf_generator_generate_labeled(gf_generator *g, const float *z, const int32_t *labels, int n, float *out);
/* Draws n latents from `seed` exactly as `ganforge sample --seed` does (same seed, same samples)
   into z_out (may be NULL; [n, nz]) and generates them into out. */
int gf_generator_sample(gf_generator *g, uint64_t seed, int n, float *out, float *z_out);
/* The same for one class of a conditional generator, as `ganforge sample --class K --seed`
   (klass -1: sample i in class i mod classes, as gf_generator_sample and `sample -o x.npy`). */
int gf_generator_sample_class(gf_generator *g, uint64_t seed, int n, int klass, float *out, float *z_out);
/* Translates n images in [-1, 1], in [n, in_c, h, w] (any h, w the network accepts: ResNet
   multiples of 4, U-Net of 2^downsamplings) into out [n, c, h, w], each image on its own as
   `ganforge translate` does (pix2pix's BatchNorm uses the image's own statistics). */
int gf_generator_translate(gf_generator *g, const float *in, int n, int h, int w, float *out);

#ifdef __cplusplus
}
#endif
#endif
