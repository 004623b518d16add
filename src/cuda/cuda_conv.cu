/* cuda_conv.cu: whole convolution passes (forward, input gradient, weight gradient) by cuDNN for
   the ops table's conv_lib hook: descriptors and the algorithm are chosen once per geometry (the
   fastest deterministic one cudnnFind measures within the workspace budget) and cached; the
   workspace is one growing buffer. train.precision=bf16 converts the operands to bfloat16 and
   accumulates in float32 (cuDNN's PSEUDO_BFLOAT16 configuration); train.tf32 lets float32
   passes use TF32 tensor cores; otherwise pure float32 (FMA) kernels. */
#include <cuda_bf16.h>
#include <stdio.h>

#include "cuda/cuda_internal.h"

#define WS_BUDGET ((size_t)1 << 30) /* the most workspace an algorithm may take */
#define MAX_PLANS 256

enum { PREC_FP32, PREC_TF32, PREC_BF16 };

struct gf_conv_plan {
  int pass, N, OC, prec;
  gf__conv_geom g;
  int ok;
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  int algo;
  size_t ws;
  size_t nx, ny, nw; /* elements of x, y, w */
};

static gf_conv_plan plans[MAX_PLANS];
static int nplans;

__global__ void k_to_bf16(__nv_bfloat16 *d, const float *s, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    d[i] = __float2bfloat16(s[i]);
}
/* out = float(s) (+ out when accumulating) */
__global__ void k_from_bf16(float *d, const __nv_bfloat16 *s, size_t n, int acc) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    float v = __bfloat162float(s[i]);
    d[i] = acc ? d[i] + v : v;
  }
}

static int same_geom(const gf__conv_geom *a, const gf__conv_geom *b) {
  return a->C == b->C && a->H == b->H && a->W == b->W && a->kh == b->kh && a->kw == b->kw && a->sh == b->sh &&
         a->sw == b->sw && a->ph == b->ph && a->pw == b->pw && a->OH == b->OH && a->OW == b->OW;
}

static const char *pass_name(int pass) {
  return pass == GF_CONV_FWD ? "forward" : pass == GF_CONV_BWD_DATA ? "input gradient" : "weight gradient";
}

/* Picks the fastest deterministic algorithm of a Find (sorted by time) that succeeded within the
   budget, else the fastest that succeeded. */
template <typename Perf> static int pick(const Perf *p, int n, gf_conv_plan *pl) {
  int best = -1;
  for (int i = 0; i < n && best < 0; i++)
    if (p[i].status == CUDNN_STATUS_SUCCESS && p[i].memory <= WS_BUDGET && p[i].determinism == CUDNN_DETERMINISTIC) best = i;
  for (int i = 0; i < n && best < 0; i++)
    if (p[i].status == CUDNN_STATUS_SUCCESS && p[i].memory <= WS_BUDGET) best = i;
  if (best < 0) return -1;
  pl->algo = (int)p[best].algo;
  pl->ws = p[best].memory;
  cudnnSetConvolutionMathType(pl->conv, p[best].mathType);
  return 0;
}

/* Descriptors and the algorithm of one geometry, measured on scratch tensors. */
static int plan_make(gf_conv_plan *pl) {
  const gf__conv_geom *g = &pl->g;
  cudnnDataType_t dt = pl->prec == PREC_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  size_t esz = pl->prec == PREC_BF16 ? 2 : 4;
  pl->nx = (size_t)pl->N * g->C * g->H * g->W;
  pl->ny = (size_t)pl->N * pl->OC * g->OH * g->OW;
  pl->nw = (size_t)pl->OC * g->C * g->kh * g->kw;
  if (cudnnCreateTensorDescriptor(&pl->x) || cudnnCreateTensorDescriptor(&pl->y) || cudnnCreateFilterDescriptor(&pl->w) ||
      cudnnCreateConvolutionDescriptor(&pl->conv))
    return -1;
  if (cudnnSetTensor4dDescriptor(pl->x, CUDNN_TENSOR_NCHW, dt, pl->N, g->C, g->H, g->W) ||
      cudnnSetTensor4dDescriptor(pl->y, CUDNN_TENSOR_NCHW, dt, pl->N, pl->OC, g->OH, g->OW) ||
      cudnnSetFilter4dDescriptor(pl->w, dt, CUDNN_TENSOR_NCHW, pl->OC, g->C, g->kh, g->kw) ||
      cudnnSetConvolution2dDescriptor(pl->conv, g->ph, g->pw, g->sh, g->sw, 1, 1, CUDNN_CROSS_CORRELATION,
                                      CUDNN_DATA_FLOAT))
    return -1;
  cudnnSetConvolutionMathType(pl->conv, pl->prec == PREC_FP32   ? CUDNN_FMA_MATH
                                        : pl->prec == PREC_TF32 ? CUDNN_DEFAULT_MATH
                                                                : CUDNN_TENSOR_OP_MATH);
  int n, c, h, w;
  if (cudnnGetConvolution2dForwardOutputDim(pl->conv, pl->x, pl->w, &n, &c, &h, &w) || n != pl->N || c != pl->OC ||
      h != g->OH || w != g->OW)
    return -1;
  /* Find on scratch tensors (the real ones may be in use, or accumulate) */
  void *x = NULL, *y = NULL, *wt = NULL, *ws = NULL;
  size_t wsz = WS_BUDGET, fr = 0, tot = 0;
  if (cudaMemGetInfo(&fr, &tot) == cudaSuccess && wsz > fr / 4) wsz = fr / 4;
  int rc = -1;
  if (cudaMalloc(&x, pl->nx * esz) == cudaSuccess && cudaMalloc(&y, pl->ny * esz) == cudaSuccess &&
      cudaMalloc(&wt, pl->nw * esz) == cudaSuccess && cudaMalloc(&ws, wsz) == cudaSuccess &&
      cudaMemset(x, 0, pl->nx * esz) == cudaSuccess && cudaMemset(y, 0, pl->ny * esz) == cudaSuccess &&
      cudaMemset(wt, 0, pl->nw * esz) == cudaSuccess) {
    const int want = 16;
    int got = 0;
    if (pl->pass == GF_CONV_FWD) {
      cudnnConvolutionFwdAlgoPerf_t p[16];
      if (!cudnnFindConvolutionForwardAlgorithmEx(gf_cu.dnn, pl->x, x, pl->w, wt, pl->conv, pl->y, y, want, &got, p, ws, wsz))
        rc = pick(p, got, pl);
    } else if (pl->pass == GF_CONV_BWD_DATA) {
      cudnnConvolutionBwdDataAlgoPerf_t p[16];
      if (!cudnnFindConvolutionBackwardDataAlgorithmEx(gf_cu.dnn, pl->w, wt, pl->y, y, pl->conv, pl->x, x, want, &got, p,
                                                       ws, wsz))
        rc = pick(p, got, pl);
    } else {
      cudnnConvolutionBwdFilterAlgoPerf_t p[16];
      if (!cudnnFindConvolutionBackwardFilterAlgorithmEx(gf_cu.dnn, pl->x, x, pl->y, y, pl->conv, pl->w, wt, want, &got, p,
                                                         ws, wsz))
        rc = pick(p, got, pl);
    }
  }
  cudaGetLastError();
  cudaFree(x);
  cudaFree(y);
  cudaFree(wt);
  cudaFree(ws);
  return rc;
}

static gf_conv_plan *plan_get(int pass, int N, int OC, const gf__conv_geom *g, int prec) {
  for (int i = 0; i < nplans; i++) {
    gf_conv_plan *p = &plans[i];
    if (p->pass == pass && p->N == N && p->OC == OC && p->prec == prec && same_geom(&p->g, g)) return p;
  }
  if (nplans == MAX_PLANS) return NULL;
  gf_conv_plan *p = &plans[nplans++];
  memset(p, 0, sizeof *p);
  p->pass = pass;
  p->N = N;
  p->OC = OC;
  p->prec = prec;
  p->g = *g;
  p->g.r0 = p->g.rn = 0;
  /* Find measures on scratch tensors of its own: the step's deferred commands need not run first,
     and a recording step captures only at its end */
  p->ok = plan_make(p) == 0;
  if (!p->ok)
    fprintf(stderr, "ganforge: %s: cuDNN takes no %s of the %dx%dx%d -> %d conv (kernel %dx%d, stride %d, batch %d): "
            "lowered to im2col + cuBLAS\n", gf_cu.name, pass_name(pass), g->C, g->H, g->W, OC, g->kh, g->kw, g->sh, N);
  return p;
}

int gf_cuda_conv_lib(int pass, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                     float beta) {
  if (g->rn) return -1; /* bands are for im2col */
  int prec = gf_cu.opts.bf16 ? PREC_BF16 : gf_cu.opts.tf32 ? PREC_TF32 : PREC_FP32;
  gf_conv_plan *p = plan_get(pass, N, OC, g, prec);
  if (!p || !p->ok) return -1;
  if (gf_cuda_reserve(&gf_cu.conv_ws, &gf_cu.conv_ws_cap, p->ws) < 0) return -1;
  if (prec == PREC_BF16 &&
      gf_cuda_reserve(&gf_cu.bf16, &gf_cu.bf16_cap, 2 * (p->nx + p->ny + p->nw) + 3 * 256) < 0)
    return -1;
  gf_cmd c;
  memset(&c, 0, sizeof c);
  c.kind = CMD_CONV;
  c.op = OP_CONV;
  c.conv.pass = pass;
  c.conv.N = N;
  c.conv.OC = OC;
  c.conv.out = out;
  c.conv.in0 = in0;
  c.conv.in1 = in1;
  c.conv.g = p->g;
  c.conv.beta = beta;
  c.conv.plan = p;
  c.conv.ws = gf_cu.conv_ws;
  c.conv.bf16 = gf_cu.bf16;
  gf_cuda_submit(c);
  return 0;
}

static void dnn_check(cudnnStatus_t s, const char *what) {
  if (s != CUDNN_STATUS_SUCCESS) gf_cuda_error(what, cudnnGetErrorString(s));
}

void gf_cuda_conv_exec(const gf_conv_args &a) {
  gf_conv_plan *p = a.plan;
  const float one = 1.0f, zero = 0.0f;
  const size_t wsz = p->ws;
  const void *in0 = a.in0, *in1 = a.in1;
  void *out = a.out;
  const float *beta = &a.beta;
  size_t n0, n1, no;
  /* operand sizes per pass: in0 / in1 / out */
  if (a.pass == GF_CONV_FWD) n0 = p->nx, n1 = p->nw, no = p->ny;
  else if (a.pass == GF_CONV_BWD_DATA) n0 = p->ny, n1 = p->nw, no = p->nx;
  else n0 = p->nx, n1 = p->ny, no = p->nw;
  __nv_bfloat16 *b0 = NULL, *b1 = NULL, *bo = NULL;
  if (p->prec == PREC_BF16) {
    b0 = (__nv_bfloat16 *)a.bf16;
    b1 = b0 + (n0 + 127) / 128 * 128;
    bo = b1 + (n1 + 127) / 128 * 128;
    void *ka[] = {&b0, (void *)&a.in0, &n0};
    GF_CU(cudaLaunchKernel((const void *)k_to_bf16, dim3(gf_cuda_blocks(n0, 256)), dim3(256), ka, 0, gf_cu.stream));
    void *kb[] = {&b1, (void *)&a.in1, &n1};
    GF_CU(cudaLaunchKernel((const void *)k_to_bf16, dim3(gf_cuda_blocks(n1, 256)), dim3(256), kb, 0, gf_cu.stream));
    in0 = b0;
    in1 = b1;
    out = bo;
    beta = &zero;
  }
  switch (a.pass) {
  case GF_CONV_FWD:
    dnn_check(cudnnConvolutionForward(gf_cu.dnn, &one, p->x, in0, p->w, in1, p->conv, (cudnnConvolutionFwdAlgo_t)p->algo,
                                      a.ws, wsz, beta, p->y, out),
              "cudnnConvolutionForward");
    break;
  case GF_CONV_BWD_DATA:
    dnn_check(cudnnConvolutionBackwardData(gf_cu.dnn, &one, p->w, in1, p->y, in0, p->conv,
                                           (cudnnConvolutionBwdDataAlgo_t)p->algo, a.ws, wsz, beta, p->x, out),
              "cudnnConvolutionBackwardData");
    break;
  default:
    dnn_check(cudnnConvolutionBackwardFilter(gf_cu.dnn, &one, p->x, in0, p->y, in1, p->conv,
                                             (cudnnConvolutionBwdFilterAlgo_t)p->algo, a.ws, wsz, beta, p->w, out),
              "cudnnConvolutionBackwardFilter");
    break;
  }
  if (p->prec == PREC_BF16) {
    int acc = a.beta != 0.0f;
    void *kc[] = {(void *)&a.out, &bo, &no, &acc};
    GF_CU(cudaLaunchKernel((const void *)k_from_bf16, dim3(gf_cuda_blocks(no, 256)), dim3(256), kc, 0, gf_cu.stream));
  }
}

void gf_cuda_conv_release(void) {
  for (int i = 0; i < nplans; i++) {
    gf_conv_plan *p = &plans[i];
    if (p->x) cudnnDestroyTensorDescriptor(p->x);
    if (p->y) cudnnDestroyTensorDescriptor(p->y);
    if (p->w) cudnnDestroyFilterDescriptor(p->w);
    if (p->conv) cudnnDestroyConvolutionDescriptor(p->conv);
  }
  nplans = 0;
}
