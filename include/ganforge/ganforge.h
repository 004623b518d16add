/* ganforge/ganforge.h: the public API: train a GAN from a config, sample and interpolate from runs. */
#ifndef GANFORGE_GANFORGE_H
#define GANFORGE_GANFORGE_H

#include <stdint.h>

#include "ganforge/config.h"
#include "ganforge/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GANFORGE_VERSION "0.1.0"

/* Progress callback: called after every generator step; return non-zero to stop training. */
typedef struct gf_progress {
  int epoch, epochs;
  long step, steps_total;     /* generator steps */
  double seconds, it_per_s;
  float loss_d, loss_g, d_real, d_fake;
} gf_progress;
typedef int (*gf_progress_fn)(const gf_progress *p, void *user);

typedef struct gf_train_opts {
  const char *out_dir;        /* run folder (created) */
  gf_progress_fn progress;    /* may be NULL */
  void *user;
  volatile int *stop_flag;    /* training stops cleanly (with a checkpoint) when non-zero */
  const char *resume;         /* checkpoint file to continue from (NULL: fresh run) */
} gf_train_opts;

/* Data-parallel training over processes and machines (MPI; README "Training on several processes").
   gf_dist_init joins the job when an MPI launcher (mpirun, srun) started this process, as its
   environment tells, and does nothing otherwise. gf_train and gf_bench then run one replica per
   rank on its share of every global batch (train.batch), average the gradients, and rank 0 alone
   writes files. Call gf_dist_init before any other ganforge call and before starting threads, and
   gf_dist_finalize(failed) at the end: failed != 0 ends every rank of the job (MPI_Abort), since
   a rank that failed alone would leave the others waiting. */
int gf_dist_init(int *argc, char ***argv);
int gf_dist_rank(void);  /* 0 when alone */
int gf_dist_size(void);  /* 1 when alone */
void gf_dist_finalize(int failed);
/* "2 ranks on 1 host (Open MPI v4.1.4)", or NULL when alone. */
const char *gf_dist_info(void);
/* Under an MPI launcher, the OpenMP threads a rank should use when OMP_NUM_THREADS is unset: the
   CPUs the launcher bound it to, or the host's CPUs over the ranks on the host; 0 otherwise. */
int gf_dist_omp_threads(void);
/* The device this process trains on for a config's train.device: in a job of several ranks "cuda"
   and "cuda:N" mean the rank's own GPU, cuda:LOCAL_RANK (one rank per GPU); otherwise the name
   itself. Writes it into out (cap bytes); GF_EUSAGE when it does not fit. */
int gf_dist_device(const char *device, char *out, unsigned cap);

/* Reads the config stored in a checkpoint (a file, or a run folder's latest checkpoint) and
   resolves the checkpoint path into ckpt_out. */
int gf_checkpoint_config(const char *run_or_file, gf_config *cfg, char *ckpt_out, unsigned cap);
/* Prints a description of a checkpoint or generator file (architecture, parameter counts, step,
   epoch, config, file size) into buf. */
int gf_info(const char *path, char *buf, unsigned cap);

/* Trains per `cfg`, writing the run folder: config.txt, log.csv, samples/epoch_NNN.png,
   checkpoints/step_NNNNNNNN.safetensors + latest.safetensors, generator.safetensors,
   report.html and progress.gif. Returns 0 or a negative status (gf_last_error()). */
int gf_train(const gf_config *cfg, const gf_train_opts *opts);

/* Samples n images from a run folder, generator file or checkpoint into a PNG grid (nrow per row,
   zoomed by `upscale`), or raw float32 samples [n, c, h, w] into an .npy when out ends in ".npy".
   noise_out (may be NULL) receives the latent vectors [n, nz] as .npy. */
int gf_sample(const char *run, int n, uint64_t seed, int nrow, int upscale, const char *out, const char *noise_out);
/* gf_sample for conditional runs (model.cond): klass >= 0 draws every sample of that class
   (GF_EUSAGE when the run is not conditional or klass is not one of its classes); klass = -1
   gives sample i the class i mod K, except in a PNG, which holds one row per class (nrow < 1:
   ceil(n / K) per row). Unconditional runs with klass = -1: gf_sample. */
int gf_sample_class(const char *run, int n, uint64_t seed, int nrow, int upscale, const char *out, const char *noise_out,
                    int klass);
/* `rows` linear latent walks of `steps` images each, one row each, into a PNG. */
int gf_interpolate(const char *run, int rows, int steps, uint64_t seed, int upscale, const char *out);

/* Measures the backend's float32 matrix-multiply peak (GFLOP/s) on n x n x n products. */
int gf_bench_sgemm(const char *device, int n, int reps, double *gflops);
/* One line on what a device's backend computes with ("cpu: convolutions by oneDNN 2.6.3, ..."),
   or NULL (with gf_last_error) when the device does not exist or cannot be opened. */
const char *gf_backend_info(const char *device);
/* One line on this build's CUDA backend: "cuda: built with CUDA 13.0 ..., kernels for sm_80 sm_90",
   or "cuda: not built (...)". Opens no device. */
const char *gf_cuda_info(void);
/* Opens a device's backend ("cpu", "cuda", "cuda:N"): 0, GF_EUSAGE for a bad name, or GF_ENODEV
   with the one-line reason (no driver, no device, index out of range, built without CUDA). */
int gf_device_open(const char *device);
/* Translates images (files or folders of them) with the generator of a cyclegan / pix2pix run
   folder or .safetensors file, at full resolution, into outdir/<name>.png. direction: AtoB |
   BtoA. Images the generator cannot take (ResNet: sides multiple of 4; U-Net: of 2^downs) fail
   with a message naming the file. */
int gf_translate(const char *ckpt, const char *direction, const char *const *inputs, int n, const char *outdir);

/* CAT (Jin et al. 2021, docs/compress.md): resolves a teacher run folder (or weights / checkpoint
   file) to the file holding its weights (path, cap bytes) and reads its config; a model that cannot
   be compressed (not cyclegan / pix2pix, or a generator without inception blocks) is GF_EUSAGE with
   one line saying why. */
int gf_compress_teacher(const char *teacher, char *path, unsigned cap, gf_config *teacher_cfg);
/* Prunes the teacher cfg->compress.teacher to cfg->compress.macs multiply-adds per image at
   data.crop_size and distils the student (GAN + L1 to the teacher + kernel alignment) into the run
   folder opts->out_dir: config.txt, log.csv, samples/, report.html, checkpoints/, compress.txt,
   teacher.safetensors, and cyclegan.safetensors (pix2pix.safetensors) holding the student as G_A
   (G), which translate and info read like any run. cfg: the teacher's config with the run's
   overrides (fresh), or the checkpoint's (opts->resume). */
int gf_compress(const gf_config *cfg, const gf_train_opts *opts);
/* Multiply-adds (CAT / GAN Compression's count: docs/compress.md) and parameters of the generator
   of an image-to-image config for one h x w image. */
int gf_generator_cost(const gf_config *cfg, int h, int w, long long *macs, long *params);

/* Times the training step of cfg after `warmup` steps: milliseconds per G+D step. */
int gf_bench(const gf_config *cfg, int warmup, int steps, double *ms_per_step, double *gflop_per_step);
/* gf_bench with a profile of the layers: the same steps, with the backend synchronised before and
   after every layer pass (forward, backward, the second-order passes of gradient penalties; CUDA
   Graph replay off), so the profiled step is slower than gf_bench's, most on a GPU. Writes a text
   table into report (cap bytes, cut to fit): per layer the milliseconds per step of each pass,
   the total and its share of the step, then the time outside the layers (losses, penalties,
   optimizer updates, copies). ms_per_step: the profiled step. */
int gf_bench_profile(const gf_config *cfg, int warmup, int steps, double *ms_per_step, char *report, unsigned cap);

/* Scores generated samples: `input` is a run folder, generator or checkpoint file (samples are drawn
   as `gf_sample` draws them: same seed, same samples), or a float32 .npy [n, ...] from any tool.
   metric "parzen": Goodfellow et al. 2014 Parzen-window log-likelihood on MNIST (10,000 samples in
   [0,1], sigma on logspace(-1, 0, 10) by the first 1,000 of train[50000:60000], mean +- s.e. over
   the 10,000 test images). metric "modes": VEEGAN/PacGAN mode coverage on ring8/grid25 (2,500
   samples). Classifier-space metrics (features of ganforge's own classifier, never Inception):
   "fid-SET", "kid-SET", "pr-SET" (precision/recall), "score-SET" against the SET test images
   (SET = mnist | fashion-mnist | shapes; 10,000 samples), "cacc-SET" for conditional models (sample i
   of class i mod K, as `ganforge sample --npy` writes them: the share the classifier labels with
   their class, per class too, and each class's FID against that class's test images), and
   "stacked-modes" (Stacked MNIST:
   26,000 samples, each channel classified; modes of 1,000 and KL to uniform). `input` may also
   be a folder of PNG images. See src/eval/eval.c and docs/RESULTS.md. */
typedef struct gf_eval_opts {
  const char *metric;  /* "parzen" | "modes" */
  const char *data;    /* parzen: the MNIST folder (NULL: $GANFORGE_DATA, the cache, download) */
  int n;               /* samples to score (0: the protocol's 10000 / 2500) */
  uint64_t seed;       /* noise seed when sampling from a run */
  const char *modes;   /* modes: "ring8" | "grid25" (needed for .npy input; NULL: the run's dataset) */
  const char *range;   /* parzen .npy value range: "unit" | "tanh" (NULL: tanh when any value < 0) */
  int float32;         /* parzen: single-precision gemm (about 2x faster, ~1e-3 nats per point) */
  const char *classifier; /* fid-/kid-/pr-/score-/stacked-modes: classifier run or file (NULL:
                             $GANFORGE_CLASSIFIER) trained by `ganforge train classifier-SET` */
} gf_eval_opts;
typedef struct gf_eval_result {
  char metric[24], source[16]; /* source: "run" | "npy" | "folder" */
  int n_samples, dim;
  double seconds;
  double parzen_ll, parzen_se, sigma;              /* parzen */
  int n_val, n_test, ngrid, mapped_tanh;
  double sigma_grid[10], val_ll[10];
  char modes_set[16];                              /* modes */
  int modes_captured, modes_total, n_hq;
  double frac_hq, reverse_kl;
  double fid;                                      /* fid-SET */
  double kid, kid_std;                             /* kid-SET (x 1000 is the usual report unit) */
  double precision, recall;                        /* pr-SET (k = 3) */
  double cscore, cscore_std;                       /* score-SET: classifier score, 10 splits */
  int stacked_modes;                               /* stacked-modes: distinct digit triples of 1000 */
  double stacked_kl;
  double stacked_digits[3][10];                    /* share of each digit per channel (R, G, B) */
  double stacked_kl_channels;                      /* sum of the channels' KL(digit shares || uniform 10):
                                                      the part of stacked_kl the marginals explain */
  double cacc;                                     /* cacc-SET: share of samples of class k the classifier labels k */
  int nclass;                                      /* cacc-SET: classes (at most 10 reported per class) */
  double cacc_class[10];                           /*   accuracy per class */
  double fid_class[10], fid_class_mean;            /*   FID of each class's samples against that class's test images */
  int n_real;                                      /* real images the metric compared with */
  double classifier_acc;                           /* the classifier's recorded test accuracy */
  char feature_set[24];                            /* SET of the classifier (mnist, shapes, ...) */
  char note[512];      /* deviations from the protocol, "" when none */
} gf_eval_result;
int gf_eval(const char *input, const gf_eval_opts *opts, gf_eval_result *res);
/* 1 when `metric` names a metric gf_eval knows. */
int gf_eval_metric_known(const char *metric);
/* The metric names gf_eval knows, i = 0 .. gf_eval_metric_count() - 1 (NULL outside; the
   string is valid until the next call on this thread). */
int gf_eval_metric_count(void);
const char *gf_eval_metric_name(int i);

#ifdef __cplusplus
}
#endif
#endif
