/* nn.h: layers as explicit forward/backward pairs, a network as a sequence of layers with one
   parameter arena, and per-call activation contexts (a net may be applied several times a step). */
#ifndef GF_NN_NN_H
#define GF_NN_NN_H

#include <stddef.h>

#include "core/ops.h"
#include "core/rng.h"

#define GF_MAX_LAYERS 640 /* an inception generator (CAT) of 9 blocks has ~490 layers */

typedef enum gf__layer_kind {
  GF_LAYER_LINEAR,     /* y = x W^T + b; W [out, in] */
  GF_LAYER_ACT,        /* relu / leaky relu / tanh / sigmoid */
  GF_LAYER_MAXOUT,     /* max over `pieces` consecutive inputs */
  GF_LAYER_DROPOUT,    /* inverted dropout with drop probability p (train only) */
  GF_LAYER_BATCHNORM,  /* BatchNorm over (N, C, S): batch stats in train, running stats in eval */
  GF_LAYER_CONV,       /* Conv2d: W [OC, IC, kh, kw], optional bias [OC] */
  GF_LAYER_CONVT,      /* ConvTranspose2d: W [IC, OC, kh, kw], optional bias [OC] */
  GF_LAYER_INSTNORM,   /* InstanceNorm2d: per-sample, per-channel stats; optional affine [C] */
  GF_LAYER_REFLPAD,    /* ReflectionPad2d (top, bottom, left, right) */
  GF_LAYER_RESHAPE,    /* Flatten / Reshape: same data, new per-sample shape */
  GF_LAYER_RESBEGIN,   /* residual block start: identity (output aliases the input); skip source */
  GF_LAYER_RESEND,     /* residual block end: y = x + out[src] (src = the matching RESBEGIN) */
  GF_LAYER_CONCAT,     /* channel concat with an earlier output: y[n] = [out[src][n]; x[n]] */
  GF_LAYER_TAP,        /* branch start: y = out[src] (an alias); the previous output is left for a later ADD */
  GF_LAYER_ADD,        /* branch sum: y = x + out[src] (src: any earlier layer of the same shape) */
  /* conditional layers (src/nn/cond_layers.c): read the context's labels */
  GF_LAYER_ONEHOT,     /* y[n] = [x[n]; one-hot of label n, K channels over H x W] */
  GF_LAYER_CBN,        /* conditional BatchNorm: BN without affine, then per-class gamma / beta [K, C] */
  GF_LAYER_PROJ        /* projection head: y[n] = w . x[n] + b + <embed[label n], x[n]>; embed [K, in] */
} gf__layer_kind;

typedef enum gf__init {
  GF_INIT_TORCH,    /* PyTorch's default: U(+-1/sqrt(fan_in)) for weight and bias */
  GF_INIT_NORMAL,   /* N(0, a); bias 0 */
  GF_INIT_UNIFORM,  /* U(+-a); bias 0 */
  GF_INIT_XAVIER,   /* U(+-a*sqrt(6/(fan_in+fan_out))) (a = gain); bias 0 */
  GF_INIT_KAIMING   /* N(0, a*sqrt(2/fan_in)) (a = gain, 1 for ReLU); bias 0 */
} gf__init;

/* pwino_passes with every pass of a convolution on polyphase Winograd. */
#define GF_PWINO_ALL (1 << GF_CONV_FWD | 1 << GF_CONV_BWD_DATA | 1 << GF_CONV_BWD_W)

typedef struct gf__layer {
  gf__layer_kind kind;
  int in_c, in_h, in_w;      /* per-sample input shape */
  int out_c, out_h, out_w;   /* per-sample output shape */
  gf__act act;               /* ACT */
  float alpha;               /* ACT: leaky slope; DROPOUT: drop probability */
  int pieces;                /* MAXOUT */
  int has_bias;              /* LINEAR */
  int affine;                /* BATCHNORM: has weight and bias */
  float eps, momentum;       /* BATCHNORM */
  long w_off, w_n;           /* weight slice of the parameter arena (-1 / 0 if none) */
  long b_off, b_n;           /* bias slice */
  long rm_off, rv_off;       /* running mean / var slices of the buffer arena (-1 if none) */
  gf__conv_geom geom;        /* CONV: input -> output; CONVT: the adjoint conv, output -> input */
  int chunk;                 /* CONV/CONVT: samples per im2col + sgemm batch */
  int direct;                /* CONV: stride 1 into <= GF_DIRECT_MAX_OC channels by the direct loops */
  int dw;                    /* CONV: depth-wise (groups = in_c) on the backend's dw ops */
  int wino;                  /* CONV: > 0: 3x3 stride 1 by Winograd F(4x4,3x3), this many tiles per block */
  int pwino;                 /* CONV, CONVT: > 0: 4x4 stride 2 padding 1 by polyphase Winograd F(4x4,2x2), tiles per block, */
  int pwino_passes;          /*   for the passes (1 << GF_CONV_FWD / _BWD_DATA / _BWD_W of the conv or adjoint) in this mask
                                  (GF_PWINO_ALL: every pass) */
  int rows;                  /* CONV/CONVT: rows of geom.OH per im2col band (chunk 1); geom.OH: no bands */
  int lib;                   /* CONV/CONVT: passes go whole to ops.conv_lib (im2col only if it declines; a banded
                                layer: its forward only) */
  int pad[4];                /* REFLPAD: top, bottom, left, right */
  int inplace;               /* ACT: output aliases the input (set by gf__ctx_create) */
  gf__init init;             /* weight initialisation */
  float init_a;
  int sn;                    /* LINEAR, CONV, PROJ: spectral normalisation (Miyato et al. 2018): the parameter is
                                weight_orig, the layer uses weight_orig / sigma (specnorm.c); a PROJ layer's
                                class embedding too (embed.weight_orig) */
  long u_off, v_off;         /* SN: power-iteration vectors u [out_c], v [w_n / out_c] in the buffer arena */
  long eu_off, ev_off;       /* SN PROJ: the embedding's u [nclass], v [in] in the buffer arena (-1 if none) */
  int src;                   /* RESEND / CONCAT / TAP / ADD: index of the layer whose output is reused (-1) */
  int is_src;                /* some later RESEND / CONCAT / TAP / ADD reads this layer's output */
  int nuse;                  /*   how many of them (> 1: their gradients accumulate into sgrad) */
  int groups;                /* CONV: channel groups (1: plain; in_c: depth-wise); weight [OC, IC/groups, kh, kw] */
  int nclass;                /* ONEHOT / CBN / PROJ: classes K */
  long e_off, e_n;           /* PROJ: class embedding slice of the parameter arena [K, in] (-1 / 0 if none) */
  char tname[96];            /* tensor-name stem after "<net name>." (default "net.<i>") */
} gf__layer;

static inline long gf__layer_in_size(const gf__layer *l) { return (long)l->in_c * l->in_h * l->in_w; }
static inline long gf__layer_out_size(const gf__layer *l) { return (long)l->out_c * l->out_h * l->out_w; }

struct gf__prof;

/* A network: layers plus one arena [params | grads | opt_m | opt_v] and a buffer arena
   (BatchNorm running statistics). Built with gf__net_init + gf__net_add_* + gf__net_finalize. */
typedef struct gf__net {
  char name[16];             /* "G" or "D": prefix of tensor names ("G.net.3.weight") */
  const gf__ops *ops;
  gf__layer layers[GF_MAX_LAYERS];
  int n;
  int in_c, in_h, in_w;      /* input shape */
  long nparam, nbuf;
  float *arena;              /* one allocation: 4 * nparam floats */
  float *params, *grads, *opt_m, *opt_v;
  float *buffers;            /* nbuf floats */
  float *ws;                 /* convolution workspace shared by the net's contexts (ws_floats) */
  size_t ws_floats;
  int nclass;                /* classes of its conditional layers (0: an unconditional net) */
  float *sn_ws;              /* SN layers: the weight-gradient scratch of a backward (largest gf__sn_ws_floats) */
  int finalized;
  struct gf__prof *prof;     /* per-layer timing (profile.c; NULL: off), rows from prof_row on */
  int prof_row;
} gf__net;

/* Activations saved for backward, one context per application of a net within a step. */
typedef struct gf__ctx {
  int max_batch, batch, train;
  const float *input;             /* [B, in] borrowed from the caller */
  const float *labels;            /* [B] class indices as floats (backend memory), borrowed: set by the
                                     caller before the forward of a net with conditional layers */
  float *out[GF_MAX_LAYERS];      /* [B, out_i] layer outputs */
  float *dout[GF_MAX_LAYERS];     /* [B, out_i] gradients of the outputs: dout[n-1] is the net's
                                     own (kept across backward calls); the inner layers share
                                     two buffers used in turn, valid only during a backward */
  float *aux[GF_MAX_LAYERS];      /* BN: mean[C], rstd[C]; maxout: argmax[B*units]; dropout: mask */
  float *sgrad[GF_MAX_LAYERS];    /* skip sources: gradient of out[i] from its RESEND / CONCAT / TAP / ADD
                                     consumers, set by their backward, added to dout[i] */
  const float *ginj[GF_MAX_LAYERS]; /* caller-owned [B, out_i] gradients added to dout[i] during backward
                                     (a loss on an intermediate output, e.g. distillation); NULL: none */
  float *wsn[GF_MAX_LAYERS];      /* SN layers: the normalised weight this application used, with its
                                     u, v and sigma (specnorm.c) */
  int sn_fixed;                   /* 1: SN layers take the net's u, v as they are (no power iteration,
                                     as in eval mode), e.g. a penalty's pass after the loss's pass */
  float *mem;
  size_t mem_floats;
  const gf__ops *ops;
  /* train.sync_bn (set by a data-parallel trainer on its training contexts; NULL: off): sums n
     floats of backend memory across the ranks and returns how many ranks were summed (1: only
     this one), or < 0 on failure (then this rank's statistics are used). BatchNorm layers applied
     in training mode through this context then normalise with the statistics of the global batch. */
  int (*reduce)(void *user, float *x, size_t n);
  void *reduce_user;
} gf__ctx;

void gf__net_init(gf__net *net, const gf__ops *ops, const char *name, int c, int h, int w);
int gf__net_add_linear(gf__net *net, int out, int bias);
int gf__net_add_act(gf__net *net, gf__act act, float alpha);
int gf__net_add_maxout(gf__net *net, int pieces);
int gf__net_add_dropout(gf__net *net, float p);
int gf__net_add_batchnorm(gf__net *net, int affine, float eps, float momentum);
/* Conv2d(IC -> oc, kernel kh x kw, stride, zero padding), PyTorch semantics (no dilation/groups). */
int gf__net_add_conv2d(gf__net *net, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int bias);
/* The same with `groups` channel groups (IC and oc divisible by it; groups = IC: depth-wise), as
   PyTorch's Conv2d(groups=...): weight [oc, IC / groups, kh, kw]. */
int gf__net_add_conv2d_grouped(gf__net *net, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int groups,
                               int bias);
/* ConvTranspose2d: out = (in - 1) * stride - 2 * pad + kernel + output_padding (< stride). */
int gf__net_add_convt2d(gf__net *net, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int oph,
                        int opw, int bias);
/* InstanceNorm2d: statistics per sample and channel over H*W (always, as PyTorch's default
   track_running_stats=False); affine adds weight/bias [C] (init 1 / 0). */
int gf__net_add_instnorm(gf__net *net, int affine, float eps);
/* ReflectionPad2d with (top, bottom, left, right); each must be smaller than its axis. */
int gf__net_add_reflpad(gf__net *net, int top, int bottom, int left, int right);
/* Flatten / Reshape to (c, h, w) with the same number of elements. */
int gf__net_add_reshape(gf__net *net, int c, int h, int w);
/* Skip connections. gf__net_add_res_begin opens a residual block (identity, no memory: its output
   is its input); gf__net_add_res_end closes the innermost open block with y = x + block input
   (shapes must agree). gf__net_add_concat(src) appends a layer whose output is the channel
   concatenation [out[src]; x] per sample (the skip first, as torch.cat([skip, x], 1)); out[src]
   must have the same H x W. A source's gradient from its consumer is added to the gradient of its
   output during backward (one consumer per source). */
int gf__net_add_res_begin(gf__net *net);
int gf__net_add_res_end(gf__net *net);
int gf__net_add_concat(gf__net *net, int src);
/* Parallel branches (inception blocks): gf__net_add_tap(src) starts a branch whose input is
   out[src] (an alias: no copy); the output of the layer before it must be read by a later
   gf__net_add_add. gf__net_add_add(src) appends y = x + out[src] (same shapes). A source may have
   several consumers (their gradients accumulate). */
int gf__net_add_tap(gf__net *net, int src);
int gf__net_add_add(gf__net *net, int src);
/* Conditional layers (K classes; the context's labels pick the class of each row). ONEHOT appends
   K one-hot channels to every sample (over H x W: a vector's K features, an image's K planes);
   CBN is BatchNorm2d/1d without affine followed by gamma[label], beta[label] (weight / bias [K, C],
   init 1 / 0, running statistics as BatchNorm); PROJ maps a flat input of F values to one logit
   w . x + b + <embed[label], x> (weight [1, F], bias [1], embed [K, F]: Miyato & Koyama 2018). */
int gf__net_add_onehot(gf__net *net, int K);
int gf__net_add_cbn(gf__net *net, int K, float eps, float momentum);
int gf__net_add_proj(gf__net *net, int K);
/* Appends a layer of `kind` whose input is the previous output (internal: layer builders). */
gf__layer *gf__net_push(gf__net *net, gf__layer_kind kind);
/* Spectral normalisation of the last added layer (Linear or Conv2d): W / sigma(W) with one power
   iteration per training-mode forward (PyTorch's torch.nn.utils.spectral_norm, eps 1e-12; tensors
   weight_orig, weight_u, weight_v). */
int gf__net_spectral_last(gf__net *net);
/* Sets the tensor-name stem of the last added layer (printf format): tensors are named
   "<net name>.<stem>.weight" etc. The default stem is "net.<layer index>". */
void gf__net_name_last(gf__net *net, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Sets the init of every weight-bearing layer from index `from` on (BatchNorm keeps 1/0 unless
   bn_std > 0, then weight ~ N(1, bn_std)). */
void gf__net_set_init(gf__net *net, int from, gf__init init, float a);
/* Plans parameter offsets (nparam, nbuf) and in-place layers without allocating anything. */
int gf__net_plan(gf__net *net);
/* Floats of one context for max_batch (activations, gradients, skip buffers) and, in
   *ws_floats, the convolution work space it needs; after gf__net_plan. Allocates nothing. */
size_t gf__ctx_plan(const gf__net *net, int max_batch, size_t *ws_floats);
/* Plans offsets and allocates the arenas (once); BN running var starts at 1. */
int gf__net_finalize(gf__net *net);
/* Initialises every parameter from the stream; BN weight from N(1, bn_std) when bn_std > 0.
   0, or GF_ENOMEM (the host staging copy). */
int gf__net_init_params(gf__net *net, gf__rng *rng, float bn_std);
void gf__net_free(gf__net *net);
void gf__net_zero_grad(gf__net *net);

static inline long gf__net_in_size(const gf__net *n) { return (long)n->in_c * n->in_h * n->in_w; }
/* Multiply-adds of one sample through the net, counted from the layer list as CAT / GAN Compression
   profile generators (so figures compare with the papers'): Conv2d OC * IC/groups * kh * kw * OH * OW;
   ConvTranspose2d IC * OC * kh * kw * OH * OW over its OUTPUT positions (4x the true count of a
   stride-2 layer: the papers' convention); Linear in * out; every normalisation C * H * W; the rest 0. */
long long gf__layer_macs(const gf__layer *l);
long long gf__net_macs(const gf__net *net);
/* Multiply-adds x 2 of one sample through a layer's forward (linear and convolution layers; 0
   for the others): a convolution's weights once per output position, a transposed one's once
   per input position. */
double gf__layer_flops(const gf__layer *l);
/* One line describing a layer ("Conv2d(1 -> 64, 4x4, stride 2)  28x28 -> 14x14"), in buf. */
const char *gf__layer_desc(const gf__layer *l, char *buf, size_t cap);

/* ---- per-layer timing (profile.c; `ganforge bench --profile`) ----
   A net with prof set synchronises the backend before and after each layer pass (ops.sync: on a
   GPU this serialises the step, and CUDA Graph replay must be off) and adds the wall time to the
   layer's row: forward, backward (gradients of inputs and weights) and the second-order passes
   of gradient penalties. Rows are made by gf__prof_attach, outside any step. */
enum { GF_PROF_FWD, GF_PROF_BWD, GF_PROF_BWD2, GF_PROF_NPASS };
typedef struct gf__prof_row {
  gf__net *net;
  int layer;
  double sec[GF_PROF_NPASS];
  long calls[GF_PROF_NPASS];
  double samples[GF_PROF_NPASS]; /* batch rows through the pass, summed over its calls */
} gf__prof_row;
typedef struct gf__prof {
  const gf__ops *ops;
  gf__prof_row *rows;
  int n, cap;
  double t; /* when the open pass began */
} gf__prof;
int gf__prof_attach(gf__prof *p, gf__net *net); /* GF_ENOMEM */
void gf__prof_reset(gf__prof *p);                /* zero times and counts (after a warm-up) */
void gf__prof_detach_free(gf__prof *p);          /* frees the rows; the nets' prof is cleared */
void gf__prof_mark(gf__prof *p);                 /* sync, then the clock: a pass begins */
void gf__prof_add(gf__prof *p, int row, int pass, int B); /* sync, then the time since the mark to a row */
/* The table of where `steps` timed steps of step_ms each went: per layer that ran, ms per step
   forward / backward / second order, the total and its share of the step, the forward's GFLOP/s
   (linear and convolution layers), then all layers and the rest of the step (losses, penalties,
   optimizer updates, copies); into buf (cap bytes). */
void gf__prof_report(const gf__prof *p, int steps, double step_ms, char *buf, unsigned cap);
static inline void gf__prof_begin(const gf__net *net) {
  if (net->prof) gf__prof_mark(net->prof);
}
static inline void gf__prof_end(const gf__net *net, int layer, int pass, int B) {
  if (net->prof) gf__prof_add(net->prof, net->prof_row + layer, pass, B);
}
static inline long gf__net_out_size(const gf__net *n) { return gf__layer_out_size(&n->layers[n->n - 1]); }

/* Plans the activations of one application of the net for batches up to max_batch (and grows
   the net's shared convolution workspace if needed). */
int gf__ctx_create(gf__ctx *ctx, gf__net *net, int max_batch);
void gf__ctx_destroy(gf__ctx *ctx);

/* Forward: returns the output [B, out]. train = 1 uses batch statistics and dropout (from `drop`). */
const float *gf__net_forward(gf__net *net, gf__ctx *ctx, const float *in, int B, int train, gf__rng *drop);
/* Gradient buffer of the net's output [B, out]: zero it (gf__ctx_zero_dout), then let the loss
   accumulate into it, then call gf__net_backward. */
float *gf__ctx_dout(const gf__net *net, gf__ctx *ctx);
void gf__ctx_zero_dout(const gf__net *net, gf__ctx *ctx);
/* What backward does with parameter gradients. */
enum { GF_GRAD_NONE = 0, GF_GRAD_ACCUMULATE = 1, GF_GRAD_OVERWRITE = 2 };
/* Backward through the net: parameter gradients accumulate into net->grads (ACCUMULATE), replace
   them (OVERWRITE: saves a zeroing pass for the first backward of a step) or are skipped (NONE);
   din [B, in] (may be NULL) accumulates the input gradient. */
void gf__net_backward(gf__net *net, gf__ctx *ctx, float *din, int param_grads);

/* ---- second-order passes (second.c): gradients of functions of the input gradient ----
   For a gradient penalty P(g) of g = d(sum_r s_r D(x_r))/dx (the seed s in the net's output
   gradient, constant), dP/dtheta = R_v{d(sum s D)/dtheta}: the derivative of the parameter
   gradient along v = dP/dg in input space. gf__net_backward_input is a first backward that keeps
   what the second needs (every weight layer's and curved activation's output gradient);
   gf__net_double_backward then runs the tangent v forward through the saved activations (R{out})
   and back through the backward (R{dout}), accumulating d<v, g>/dtheta into net->grads. */
typedef struct gf__ctx2 {
  int max_batch;
  float *delta[GF_MAX_LAYERS];    /* [B, out_i] output gradients kept by gf__net_backward_input (NULL: not needed) */
  float *rout[GF_MAX_LAYERS];     /* [B, out_i] forward tangents (NULL: a view of the previous one) */
  float *rd[2];                   /* tangents of the output gradients, used in turn */
  float *mem;
  size_t mem_floats;
  const gf__ops *ops;
} gf__ctx2;
/* GF_EUSAGE naming the first layer of net without a second-order pass (BatchNorm, Dropout, ...);
   `what` says who asks (e.g. "train.loss=wgan-gp"). */
int gf__net_second_order_check(const gf__net *net, const char *what);
int gf__ctx2_create(gf__ctx2 *c2, const gf__net *net, int max_batch);
void gf__ctx2_destroy(gf__ctx2 *c2);
/* din [B, in] += the input gradient of the seed in gf__ctx_dout (after gf__net_forward on ctx),
   keeping the output gradients the second pass needs in c2. No parameter gradients. */
void gf__net_backward_input(gf__net *net, gf__ctx *ctx, gf__ctx2 *c2, float *din);
/* net->grads += d<v, din>/dtheta for v [B, in], with din the input gradient of the last
   gf__net_backward_input on (ctx, c2) (same seed, same forward). */
void gf__net_double_backward(gf__net *net, gf__ctx *ctx, gf__ctx2 *c2, const float *v);

/* SN internals shared by net.c and second.c: the normalised weight of layer i for this context
   (computed by a power iteration when `iterate`, else from the net's u, v), and the backward:
   dst [w_n] += the gradient of weight_orig given g [w_n] (overwritten) for the normalised weight. */
size_t gf__sn_ctx_floats(const gf__layer *l);
size_t gf__sn_ws_floats(const gf__layer *l); /* the backward scratch an SN layer needs (net->sn_ws) */
const float *gf__sn_weight(gf__net *net, gf__ctx *ctx, int i, int iterate);
void gf__sn_backward(gf__net *net, gf__ctx *ctx, int i, float *g, float *dst);
/* The same for an SN projection layer's class embedding [K, F] (embed.weight_orig, _u, _v). */
const float *gf__sn_embed(gf__net *net, gf__ctx *ctx, int i, int iterate);
void gf__sn_embed_backward(gf__net *net, gf__ctx *ctx, int i, float *g, float *dst);
const float *gf__sn_embed_used(const gf__layer *l, const gf__ctx *ctx, int i);
/* The weight a layer computes with in a context (normalised for SN layers, after their forward). */
static inline const float *gf__layer_weight(const gf__net *net, const gf__ctx *ctx, int i) {
  return net->layers[i].sn ? ctx->wsn[i] : net->params + net->layers[i].w_off;
}

/* Tensor names and shapes in PyTorch state_dict convention: "<name>.net.<i>.weight" etc.
   Enumerates parameters then buffers; returns the number of entries. `what`: 0 param, 1 buffer. */
typedef struct gf__tensor_ref {
  char name[160];
  float *data;               /* in backend memory */
  long n;
  int ndim;
  long shape[4];
  int what;
} gf__tensor_ref;
int gf__net_tensors(const gf__net *net, gf__tensor_ref *out, int cap);

/* Layer-level kernels, llm.c style: outputs first, then inputs, then sizes. */
void gf__linear_forward(const gf__ops *o, float *out, const float *inp, const float *w, const float *b,
                        int B, int IC, int OC);
/* Accumulates (+=) into dinp, dw, db; dw_set / dinp_set = 1 overwrite instead (first writer). */
void gf__linear_backward(const gf__ops *o, float *dinp, float *dw, float *db, const float *dout,
                         const float *inp, const float *w, int B, int IC, int OC, int dw_set, int dinp_set);

/* Convolution kernels on the ops table (im2col / col2im + sgemm). ws holds at least
   gf__conv_ws_floats(layer, chunk) floats; samples are processed `chunk` at a time.
   Backward passes accumulate into dinp / dw (NULL to skip). */
size_t gf__conv_ws_floats(const gf__layer *l, int chunk);
void gf__conv2d_forward(const gf__ops *o, float *out, const float *inp, const float *w, const float *b,
                        float *ws, int B, const gf__layer *l);
void gf__conv2d_backward(const gf__ops *o, float *dinp, float *dw, float *db, const float *dout,
                         const float *inp, const float *w, float *ws, int B, const gf__layer *l);
void gf__convt2d_forward(const gf__ops *o, float *out, const float *inp, const float *w, const float *b,
                         float *ws, int B, const gf__layer *l);
void gf__convt2d_backward(const gf__ops *o, float *dinp, float *dw, float *db, const float *dout,
                          const float *inp, const float *w, float *ws, int B, const gf__layer *l);

/* Kernel alignment (CAT) of activations X [B, Dx] and Y [B, Dy] (backend): with Gram matrices
   Gx = X X^T, Gy = Y Y^T, stats[0] += KA = <Gx, Gy> / (|Gx| |Gy|) (0 when either is zero; stats in
   backend memory, read by the caller once per step); dX (may be NULL) += scale * dKA/dX.
   ws: 3 B^2 backend floats. No host reads: it may run inside a recorded training step. */
void gf__ka(const gf__ops *o, float *stats, float *dX, const float *X, const float *Y, int B, long Dx, long Dy, float scale,
            float *ws);
/* The conditional layers' passes (cond_layers.c), called by gf__net_forward / gf__net_backward
   for layer i: y its output, x its input, aux its context slice. */
size_t gf__cond_layer_aux(const gf__layer *l, int B);
void gf__cond_layer_forward(gf__net *net, int i, gf__ctx *ctx, float *y, const float *x, float *aux, int B, int train);
void gf__cond_layer_backward(gf__net *net, int i, gf__ctx *ctx, float *dx, const float *dy, const float *x, float *aux,
                             int B, int param_grads);

#endif
