/* ops.h: the backend seam. Layers, losses, optimizers and models call only this table;
   src/cpu implements it with OpenBLAS + OpenMP, src/cuda with cuBLAS/cuDNN/CUDA kernels.
   All float pointers are backend (device) memory unless named host_*. Shapes in comments. */
#ifndef GF_CORE_OPS_H
#define GF_CORE_OPS_H

#include <stddef.h>
#include <stdint.h>

typedef enum gf__act { GF_ACT_RELU, GF_ACT_LEAKY_RELU, GF_ACT_TANH, GF_ACT_SIGMOID } gf__act;

/* Losses whose target is a constant (GAN labels). Each ADDS to stats (backend memory) stats[0] +=
   mean loss, stats[1] += the mean output of the kind: sigmoid(x) (the discriminator's
   probability), or x itself for the critic kinds (WGAN_*, HINGE_*); and dx += scale * dloss/dx
   where the loss is the mean over n elements. Per-element math: src/kern/kern_loss.h. */
typedef enum gf__gan_loss {
  GF_LOSS_BCE_ONE,     /* -log sigmoid(x)          (real labels / non-saturating G) */
  GF_LOSS_BCE_ZERO,    /* -log(1 - sigmoid(x))     (fake labels) */
  GF_LOSS_MINIMAX_G,   /*  log(1 - sigmoid(x))     (G minimises it: saturating) */
  GF_LOSS_KL_G,        /* -log(D / (1 - D)) = -x   (KL-form G loss) */
  GF_LOSS_MSE_ONE,     /* (x - 1)^2                (LSGAN real) */
  GF_LOSS_MSE_ZERO,    /* x^2                      (LSGAN fake) */
  GF_LOSS_WGAN_REAL,   /* -x                       (critic on real; WGAN and hinge G loss) */
  GF_LOSS_WGAN_FAKE,   /*  x                       (critic on fake) */
  GF_LOSS_HINGE_REAL,  /* max(0, 1 - x)            (hinge D on real) */
  GF_LOSS_HINGE_FAKE   /* max(0, 1 + x)            (hinge D on fake) */
} gf__gan_loss;

/* Element-wise maps with a device scalar s = s[0] (ops.scalar_op). */
typedef enum gf__sop {
  GF_SOP_ADD,          /* y = x + a s */
  GF_SOP_MUL,          /* y = x s */
  GF_SOP_DIV,          /* y = x / s */
  GF_SOP_RNORM         /* y = x / max(sqrt(s), a): x normalised by its squared norm s (eps a) */
} gf__sop;

/* Gradient penalties on the rows g_i of the critic's input gradient (ops.grad_penalty). */
typedef enum gf__penalty {
  GF_PEN_GP,           /* WGAN-GP: (w / N) sum_i (|g_i| - 1)^2 */
  GF_PEN_R1            /* R1:      (w / 2N) sum_i |g_i|^2 */
} gf__penalty;

/* Geometry of a 2-D convolution over NCHW images: C x H x W input windows of kh x kw with
   stride (sh, sw) and zero padding (ph, pw), giving OH x OW positions. r0 / rn select a band
   of output rows [r0, r0 + rn) for im2col / col2im (rn = 0: all OH rows): col then holds
   rn * OW positions per image, so large images can be lowered a band at a time. */
typedef struct gf__conv_geom {
  int C, H, W, kh, kw, sh, sw, ph, pw, OH, OW;
  int r0, rn;
} gf__conv_geom;

/* DiffAugment transforms (ops.diffaug_fwd / _bwd) and the uniforms each sample draws. */
enum { GF_DIFFAUG_COLOR = 1, GF_DIFFAUG_TRANSLATION = 2, GF_DIFFAUG_CUTOUT = 4 };
#define GF_DIFFAUG_NPARAM 8

/* The passes of a convolution handed whole to a vendor library (ops.conv_lib). */
enum { GF_CONV_FWD, GF_CONV_BWD_DATA, GF_CONV_BWD_W };

/* Settings of a backend from the run config (ops.configure). */
typedef struct gf__backend_opts {
  int tf32;  /* train.tf32: float32 GEMMs and convolutions may round their inputs to TF32 */
  int bf16;  /* train.precision=bf16: GEMMs and convolutions in bfloat16 with float32 accumulation
                (parameters, gradients and optimizer state stay float32) */
  int graph; /* train.cuda_graph: record the training step once and replay it */
} gf__backend_opts;

/* Batch gather (ops.gather): an index with this bit set takes its row mirrored left-right. */
#define GF_GATHER_FLIP 0x40000000

#define GF_WINO_NX 36 /* F(4x4, 3x3): 6x6 transformed values per tile */
#define GF_WINO_WS_FLOATS(IC, OC, tb) ((size_t)GF_WINO_NX * ((size_t)(IC) * (OC) + ((size_t)(IC) + (OC)) * (size_t)(tb)))
#define GF_WINO_MAX_TB 1024
#define GF_PWINO_NX 25 /* polyphase F(4x4, 2x2): 5x5 transformed values per tile */
#define GF_PWINO_WS_FLOATS(IC, OC, tb) \
  ((size_t)GF_PWINO_NX * 4 * ((size_t)(IC) * (OC) + ((size_t)(IC) + (OC)) * (size_t)(tb)))
#define GF_DIRECT_MAX_OC 4

typedef struct gf__ops {
  const char *name;
  /* ---- memory ---- */
  void *(*alloc)(size_t bytes);                                  /* zeroed; NULL on failure */
  void (*free)(void *p);
  void (*to_device)(void *dst, const void *host_src, size_t bytes);
  void (*to_host)(void *host_dst, const void *src, size_t bytes);
  void (*copy)(float *dst, const float *src, size_t n);
  void (*fill)(float *x, float v, size_t n);
  void (*sync)(void);
  /* A read-only backend copy of host data (a dataset), unchanged while in use; NULL when it does
     not fit. CPU: the host pointer itself (no copy). Released with release_const. */
  const void *(*upload_const)(const void *host, size_t bytes);
  void (*release_const)(const void *p);
  /* ---- the training step ----
     step_begin / step_end bracket one training step (its batch upload, every D and G update,
     the loss statistics). Inside it a caller issues no alloc, free, to_host, sync, upload_const
     or configure (tests/test_step_ops.c checks every model), so a backend may record the step once
     and replay it (CUDA Graphs): the same sequence of ops step after step, only pointers and
     scalars of its own kernels changing; a step that differs is run as it comes. to_device
     copies its host data before it returns. CPU: both do nothing. */
  void (*step_begin)(void);
  void (*step_end)(void);
  /* Applies run settings (GF_EUSAGE with a message for a setting the backend cannot honour). */
  int (*configure)(const gf__backend_opts *opts);
  /* 0, or the first device failure since the backend was opened (GF_ENODEV with its message):
     asked after each step's statistics are read (ops return nothing themselves). */
  int (*check)(void);
  /* ---- linear algebra (row-major) ----
     C[M,N] = alpha * op(A) * op(B) + beta * C; op(A) is [M,K], op(B) is [K,N];
     lda/ldb/ldc are row strides of the stored (untransposed) matrices. */
  void (*gemm)(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
  void (*axpy)(float *y, float a, const float *x, size_t n);    /* y += a x */
  void (*scale)(float *x, float a, size_t n);                   /* x *= a */
  /* ---- bias over (N, C, S) layouts: S = spatial size, 1 for vectors ---- */
  void (*bias_fwd)(float *y, const float *b, int N, int C, int S);    /* y[n,c,s] += b[c] */
  void (*bias_bwd)(float *db, const float *dy, int N, int C, int S);  /* db[c] += sum_{n,s} dy */
  /* ---- activations: y = f(x); dx += f'(x) dy (uses x and/or y) ---- */
  void (*act_fwd)(gf__act kind, float *y, const float *x, size_t n, float alpha);
  void (*act_bwd)(gf__act kind, float *dx, const float *x, const float *y, const float *dy, size_t n,
                  float alpha);
  /* ---- normalisation over (N, C, S), statistics per channel over N*S ----
     train: batch statistics, saves mean[C] and rstd[C], updates running stats (unbiased var)
     when run_mean != NULL. gamma/beta may be NULL (no affine parameters). */
  void (*norm_fwd_train)(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                         const float *beta, float *run_mean, float *run_var, int N, int C, int S,
                         float eps, float momentum);
  void (*norm_fwd_eval)(float *y, const float *x, const float *gamma, const float *beta,
                        const float *run_mean, const float *run_var, int N, int C, int S, float eps);
  /* dx += ..., dgamma += ..., dbeta += ... (dgamma/dbeta may be NULL) */
  void (*norm_bwd)(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                   const float *mean, const float *rstd, const float *gamma, int N, int C, int S);
  /* ---- BatchNorm with statistics over the ranks of a data-parallel job (train.sync_bn) ----
     The training forward and backward split at per-channel sums that the caller sum-reduces
     across the ranks between the calls (src/nn/net.c); count = N * S summed over the ranks.
     norm_sums: sums[c] = sum_{n,s} x (mean NULL), or sum_{n,s} (x - mean[c])^2.
     norm_fwd_sync: on entry mean [C] is the global mean and rstd [C] the global sum of squared
       deviations; writes rstd, updates run_mean / run_var (unbiased) when run_mean != NULL, y.
     norm_bwd_sums: sums[c] = sum dy, sums[C + c] = sum dy * (x - mean[c]) * rstd[c] (this rank's
       dbeta and dgamma).
     norm_bwd_sync: dx += gamma rstd (dy - sums[c] / count - xhat sums[C + c] / count) with the
       reduced sums [2C] (gamma may be NULL). */
  void (*norm_sums)(float *sums, const float *x, const float *mean, int N, int C, int S);
  void (*norm_fwd_sync)(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                        float *run_mean, float *run_var, int N, int C, int S, double count, float eps, float momentum);
  void (*norm_bwd_sums)(float *sums, const float *dy, const float *x, const float *mean, const float *rstd, int N,
                        int C, int S);
  void (*norm_bwd_sync)(float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                        const float *gamma, const float *sums, double count, int N, int C, int S);
  /* ---- maxout: y[n,u] = max_j x[n, u*k + j]; argmax saved as float index ---- */
  void (*maxout_fwd)(float *y, float *argmax, const float *x, int N, int units, int k);
  void (*maxout_bwd)(float *dx, const float *dy, const float *argmax, int N, int units, int k);
  /* ---- dropout (inverted): mask = keep/(1-p) from the Philox stream (key, counter) ---- */
  void (*dropout_fwd)(float *y, float *mask, const float *x, size_t n, float p, uint64_t key,
                      uint64_t stream, uint64_t counter);
  void (*mul_bwd)(float *dx, const float *dy, const float *mask, size_t n); /* dx += dy*mask */
  /* ---- losses: statistics ACCUMULATE (+=) into small buffers in backend memory, which the
     caller zeroes (fill) and reads back once per step (one to_host) ---- */
  void (*gan_loss)(gf__gan_loss kind, float *stats, float *dx, const float *x, size_t n, float scale);
  /* loss[0] += mean |x - t| / mean (x - t)^2 against a tensor target; dx += scale * d/dx (dx may be NULL) */
  void (*l1_loss)(float *loss, float *dx, const float *x, const float *t, size_t n, float scale);
  void (*mse_loss)(float *loss, float *dx, const float *x, const float *t, size_t n, float scale);
  /* softmax cross-entropy of logits x [N, C] against class indices y [N] (stored as floats):
     stats[0] += mean loss, stats[1] += correct arg-max predictions; dx += scale * dloss/dx
     (loss = mean over N); dx may be NULL. prob [N, C] (may be NULL) receives the softmax. */
  void (*xent_loss)(float *stats, float *dx, float *prob, const float *x, const float *y, int N, int C,
                    float scale);
  /* ---- critic losses, gradient penalties, spectral normalisation (bodies: src/kern/kern_critic.h) ----
     dot: out[0] = scale * sum_i x_i y_i (y NULL: sum_i x_i), a device scalar (double accumulation).
     scalar_op: y = f(x, s[0]) for a device scalar s (gf__sop); y may alias x.
     lerp_rows: y[r, :] = b[r, :] + t[r] (a[r, :] - b[r, :]) for N rows of D values (interpolates).
     grad_penalty: penalty `kind` with weight w on the N rows of g [N, D]: stats[0] += penalty,
     stats[1] += mean |g_i| (backend memory, as the losses'); v [N, D] = d penalty / dg (written;
     0 for a row with |g_i| = 0).
     maxout_take: y[r, u] = x[r, u*k + argmax[r, u]] (maxout with its saved choice: a tangent).
     act_curv: rdx += f''(x) rx dy, f'' written from the output y (tanh, sigmoid; nothing for the
     piecewise-linear kinds): the second-order term of an activation's backward. */
  void (*dot)(float *out, const float *x, const float *y, size_t n, float scale);
  void (*scalar_op)(gf__sop kind, float *y, const float *x, const float *s, float a, size_t n);
  void (*lerp_rows)(float *y, const float *a, const float *b, const float *t, int N, size_t D);
  void (*grad_penalty)(gf__penalty kind, float *stats, float *v, const float *g, int N, size_t D, float w);
  void (*maxout_take)(float *y, const float *x, const float *argmax, int N, int units, int k);
  void (*act_curv)(gf__act kind, float *rdx, const float *y, const float *dy, const float *rx, size_t n, float alpha);
  /* ---- optimizers over a flat parameter arena ---- */
  void (*adam)(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
               float eps, float bc1, float bc2, float weight_decay);
  /* classical momentum (pylearn2): v = mom*v - lr*(g + wd*p); p += v */
  void (*sgd)(float *p, const float *g, float *v, size_t n, float lr, float momentum,
              float weight_decay);
  /* RMSprop as PyTorch's (no momentum, not centred): g += wd p; v = alpha v + (1 - alpha) g^2;
     p -= lr g / (sqrt(v) + eps) */
  void (*rmsprop)(float *p, const float *g, float *v, size_t n, float lr, float alpha, float eps,
                  float weight_decay);
  /* x = min(max(x, lo), hi) (WGAN weight clipping) */
  void (*clamp)(float *x, float lo, float hi, size_t n);
  /* ---- convolution helpers (NCHW) ----
     im2col: col[(c*kh+i)*kw+j, n*OH*OW + oy*OW + ox] = x[n, c, oy*sh-ph+i, ox*sw-pw+j] (0 outside)
     for N images x [N, C, H, W] into col [C*kh*kw, N*OH*OW]. col2im is its adjoint and
     ACCUMULATES: x += col2im(col). */
  void (*im2col)(float *col, const float *x, int N, const gf__conv_geom *g);
  void (*col2im)(float *x, const float *col, int N, const gf__conv_geom *g);
  /* Swaps the first two axes of [A, B, S]: dst[b, a, s] = src[a, b, s] + beta * dst[b, a, s]
     (beta 0 or 1). Moves between per-sample [N, C, S] and channel-major [C, N*S] layouts. */
  void (*swap01)(float *dst, const float *src, int A, int B, int S, float beta);
  /* Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (may be NULL: conv.c then uses im2col).
     wino_fwd: y [N, OC, OH, OW] (beta 0: =, beta 1: +=) the convolution of x [N, IC, H, W], zero
     padding (ph, pw) <= 2, OH = H + 2ph - 2, with w [OC, IC, 3, 3]; flip = 1: w is [IC, OC, 3, 3]
     used rotated by 180 degrees (the input gradient of a convolution with weights w is
     wino_fwd(flip) of its output gradient with padding 2 - p). wino_dw: dw [OC, IC, 3, 3] += the
     weight gradient for output gradient dy [N, OC, OH, OW]. Tiles go tb (<= 1024) at a time
     through ws: GF_WINO_WS_FLOATS(IC, OC, tb) floats. */
  void (*wino_fwd)(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, int ph, int pw,
                   int flip, float beta, float *ws, int tb);
  void (*wino_dw)(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, int ph, int pw,
                  float *ws, int tb);
  /* 4x4 stride-2 padding-1 convolutions over even H x W by polyphase Winograd F(4x4, 2x2) (may
     be NULL: conv.c then uses the library or im2col), weights w [OC, IC, 4, 4]:
     pwino_fwd: y [N, OC, H/2, W/2] (beta 0: =, beta 1: +=) the convolution of x [N, IC, H, W];
     pwino_bwd_data: dx [N, IC, H, W] (= / +=) its input gradient for dy [N, OC, H/2, W/2];
     pwino_dw: dw += its weight gradient. Tiles go tb (<= 1024) at a time through ws:
     GF_PWINO_WS_FLOATS(IC, OC, tb) floats. */
  void (*pwino_fwd)(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, float beta,
                    float *ws, int tb);
  void (*pwino_bwd_data)(float *dx, const float *dy, const float *w, int N, int IC, int H, int W, int OC, float beta,
                         float *ws, int tb);
  void (*pwino_dw)(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, float *ws, int tb);
  /* Direct stride-1 convolutions into OC <= GF_DIRECT_MAX_OC channels, kh, kw <= 16 (may be
     NULL: conv.c then uses im2col): y [N, OC, OH, OW] = conv(x, w [OC, C, kh, kw]) (written);
     dx [N, C, H, W] += its input gradient; dw += its weight gradient. */
  void (*direct_fwd)(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g);
  void (*direct_bwd_data)(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g);
  void (*direct_bwd_w)(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g);
  /* Depth-wise convolutions (groups = C; output channel o reads input channel o / (OC / C)), weights
     w [OC, 1, kh, kw], any stride and zero padding (may be NULL: conv.c then lowers them as grouped
     im2col + sgemm): dw_fwd: y [N, OC, OH, OW] = (written); dw_bwd_data: dx [N, C, H, W] += its input
     gradient for dy [N, OC, OH, OW]; dw_bwd_w: dw += its weight gradient. Bodies: src/kern/dwconv.h. */
  void (*dw_fwd)(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g);
  void (*dw_bwd_data)(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g);
  void (*dw_bwd_w)(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g);
  /* Kernel alignment (CAT distillation, src/nn/ka.c) of two Gram matrices gx, gy [B, B]: stats[0] +=
     KA = <gx, gy> / (|gx| |gy|) (sums in double; 0 when either is zero); coef [B, B] (written) =
     2 scale (gy / (|gx| |gy|) - KA gx / |gx|^2) (zeros when KA is 0 that way), so that coef X =
     scale * dKA/dX for gx = X X^T. Bodies: src/kern/kern_ka.h. */
  void (*ka_coef)(float *stats, float *coef, const float *gx, const float *gy, int B, float scale);
  /* A whole convolution pass by a vendor library (CPU: oneDNN when built with it; may be NULL).
     Geometry g, OC outputs, batch N, weights w [OC, C, kh, kw]:
       GF_CONV_FWD:      out [N, OC, OH, OW]  (=, or += with beta 1)  conv(in0 = x [N, C, H, W], in1 = w)
       GF_CONV_BWD_DATA: out [N, C, H, W]     (= / +=)  input gradient of in0 = dy [N, OC, OH, OW], in1 = w
       GF_CONV_BWD_W:    out [OC, C, kh, kw]  (= / +=)  weight gradient of in0 = x, in1 = dy
     Returns 0, or < 0 when the library cannot (the caller then lowers the pass itself). */
  const char *conv_lib_name; /* what conv_lib runs on, e.g. "oneDNN 2.6.3" (NULL with conv_lib) */
  int conv_lib_all;          /* conv_lib takes every geometry, also images lowered in bands */
  int (*conv_lib)(int pass, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                  float beta);
  /* Reflection padding of NC planes H x W by (top, bottom, left, right) (each < the size of
     its axis): y [NC, H+t+b, W+l+r]; the backward ACCUMULATES dx [NC, H, W]. */
  void (*reflect_pad_fwd)(float *y, const float *x, int NC, int H, int W, int t, int b, int l, int r);
  void (*reflect_pad_bwd)(float *dx, const float *dy, int NC, int H, int W, int t, int b, int l, int r);
  /* ---- conditional GANs (src/kern/cond.h). labels [N] hold class indices as floats in backend
     memory; a value outside [0, K) is clamped. ---- */
  /* y [N, C+K, S] = x [N, C, S] with K one-hot channels appended per sample (label of row n: 1 in
     channel C + labels[n] at every s). The backward ACCUMULATES the x part: dx += dy[:, :C]. */
  void (*onehot_cat_fwd)(float *y, const float *x, const float *labels, int N, int C, int S, int K);
  void (*onehot_cat_bwd)(float *dx, const float *dy, int N, int C, int S, int K);
  /* Class-conditional affine (conditional BatchNorm's scale and shift): y [N, C, S] =
     x * gamma[labels[n], c] + beta[labels[n], c] with gamma, beta [K, C]. The backward ACCUMULATES
     dx += dy * gamma[.], dgamma[k, c] += sum over rows of class k and s of dy * x, dbeta likewise
     of dy (dx, dgamma / dbeta may be NULL). */
  void (*cond_affine_fwd)(float *y, const float *x, const float *gamma, const float *beta, const float *labels,
                          int N, int C, int S, int K);
  void (*cond_affine_bwd)(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                          const float *labels, int N, int C, int S, int K);
  /* Projection discriminator's class term: out [N] += <h[n], table[labels[n]]> for h [N, F],
     table [K, F]. The backward ACCUMULATES dh += dout[n] table[labels[n]], dtable[k] += sum over
     rows of class k of dout[n] h[n] (either may be NULL). */
  void (*proj_fwd)(float *out, const float *h, const float *table, const float *labels, int N, int F, int K);
  void (*proj_bwd)(float *dh, float *dtable, const float *dout, const float *h, const float *table, const float *labels,
                   int N, int F, int K);
  /* dst[r * ldd + c] = src[r * lds + c] for rows x cols (a column block of a row-major matrix). */
  void (*copy2d)(float *dst, int ldd, const float *src, int lds, int rows, int cols);
  /* DiffAugment (Zhao et al. 2020, src/kern/diffaug.h) of images x [N, C, H, W] with per-sample
     uniforms params [N, GF_DIFFAUG_NPARAM] in [0, 1) and a mask of GF_DIFFAUG_* transforms (colour:
     brightness, saturation, contrast; translation by up to 1/8 of the side with zero fill; cutout
     of a half-side square): y = aug(x), mean [N] work space. The backward ACCUMULATES dx += the
     transposed map of dy (the transform is linear in x); gsum [N] work space. */
  void (*diffaug_fwd)(float *y, float *mean, const float *x, const float *params, int N, int C, int H, int W,
                      int flags);
  void (*diffaug_bwd)(float *dx, float *gsum, const float *dy, const float *params, int N, int C, int H, int W,
                      int flags);
  /* ---- misc ---- */
  /* count[0] += the number of non-finite values in x (count in backend memory). */
  void (*count_nonfinite)(float *count, const float *x, size_t n);
  /* Batch gather: dst [n, rows * w] row i = src row (idx[i] & ~GF_GATHER_FLIP) of rows x w values,
     each of its rows mirrored (x -> w - 1 - x) when idx[i] has GF_GATHER_FLIP; idx [n] in backend
     memory. */
  void (*gather)(float *dst, const float *src, const int32_t *idx, int n, int rows, int w);
  /* Fill with Philox normals / uniforms: the same numbers as gf__rng_normal / gf__rng_uniform
     on the stream {seed, stream, counter}; the caller advances its counter by ceil(n/4). */
  void (*rand_normal)(float *x, size_t n, float mean, float std, uint64_t seed, uint64_t stream,
                      uint64_t counter);
  void (*rand_uniform)(float *x, size_t n, float lo, float hi, uint64_t seed, uint64_t stream,
                       uint64_t counter);
} gf__ops;

/* The CPU backend (always available). */
const gf__ops *gf__ops_cpu(void);
/* Backend by device name ("cpu", "cuda", "cuda:1"); GF_ENODEV with a message when unavailable. */
int gf__ops_get(const char *device, const gf__ops **out);
/* The backend of a run config (train.device) with its settings applied (train.tf32,
   train.precision, train.cuda_graph). */
struct gf_config;
int gf__ops_for_config(const struct gf_config *cfg, const gf__ops **out);
/* Tests: makes gf__ops_get(name) return `ops` (NULL removes it), e.g. a counting wrapper. */
void gf__ops_override(const char *name, const gf__ops *ops);
/* Implemented by src/cuda (the real backend, or a stand-in returning GF_ENODEV "built without CUDA"
   in CPU-only builds). */
int gf__ops_cuda_open(int device_index, const gf__ops **out);
/* Work outside the table that must follow the CUDA backend's ops in order (NCCL collectives of a
   data-parallel job): NULL unless `ops` is the open CUDA backend's table; else runs the current
   step's deferred commands (a barrier: that step is not recorded) and returns the backend's stream
   (a cudaStream_t), on which such work is then enqueued. */
void *gf__cuda_stream(const gf__ops *ops);
/* Loads cuBLAS once ($GANFORGE_CUBLAS, else its soname, else the file the build found), which the
   CUDA backend does at its first device open, not at program start:
   0, or -1 with a one-line reason in why; -1 "built without CUDA" in CPU-only builds. */
int gf__cuda_blas_load(char *why, size_t n);

#endif
