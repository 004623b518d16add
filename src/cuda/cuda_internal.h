/* cuda_internal.h: the CUDA backend's shared state and its command executor (deferred ops for
   CUDA Graph recording / replay), shared by cuda_ops.cu and cuda_conv.cu. C++ (nvcc) only. */
#ifndef GF_CUDA_INTERNAL_H
#define GF_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdint.h>
#include <string.h>

#include <vector>

extern "C" {
#include "core/ops.h"
#include "core/stepgraph.h"
#include "core/util.h"
}

/* The error-message helpers of cuda_errors.c (plain C, also in CPU-only builds). */
extern "C" int gf__cuda_open_error(int kind, int index, int count, int open_index, const char *detail);
enum { GF_CUDA_NO_DRIVER = 1, GF_CUDA_NO_DEVICE, GF_CUDA_BAD_INDEX, GF_CUDA_OTHER_OPEN, GF_CUDA_INIT_FAILED };

/* Op ids of the step graph (what kind of command an op is). */
enum {
  OP_H2D = 1, OP_COPY, OP_FILL, OP_GEMM, OP_AXPY, OP_SCALE, OP_BIAS_FWD, OP_BIAS_BWD, OP_ACT_FWD, OP_ACT_BWD,
  OP_NORM_STATS, OP_NORM_APPLY, OP_NORM_EVAL, OP_NORM_BWD_SUMS, OP_NORM_BWD_APPLY, OP_MAXOUT_FWD, OP_MAXOUT_BWD,
  OP_DROPOUT, OP_MUL_BWD, OP_GAN_LOSS, OP_L1, OP_MSE, OP_XENT, OP_ADAM, OP_SGD, OP_IM2COL, OP_COL2IM, OP_SWAP01,
  OP_CONV, OP_REFL_FWD, OP_REFL_BWD, OP_NONFINITE, OP_GATHER, OP_RAND_NORMAL, OP_RAND_UNIFORM,
  OP_NORM_SUMS, OP_NORM_SYNC_FINISH, OP_NORM_SYNC_BWD_SUMS, OP_NORM_SYNC_BWD,
  OP_ONEHOT_FWD, OP_ONEHOT_BWD, OP_COND_AFFINE_FWD, OP_COND_AFFINE_BWD, OP_PROJ_FWD, OP_PROJ_BWD, OP_COPY2D,
  OP_DIFFAUG_FWD, OP_DIFFAUG_BWD,
  OP_DOT, OP_SCALAR_OP, OP_LERP_ROWS, OP_GRAD_PENALTY, OP_MAXOUT_TAKE, OP_ACT_CURV, OP_RMSPROP, OP_CLAMP,
  OP_DW_FWD, OP_DW_BWD_DATA, OP_DW_BWD_W, OP_KA_COEF
};

/* One queued command: a kernel of ours (arguments by value, patchable in a recorded graph), a
   cuBLAS GEMM, a cuDNN convolution pass, or a host-to-device copy from the pinned staging area. */
enum { CMD_KERNEL, CMD_GEMM, CMD_CONV, CMD_H2D };
#define GF_CMD_ARG_BYTES 192
#define GF_CMD_MAX_ARGS 24

struct gf_gemm_args {
  int ta, tb, M, N, K;
  float alpha;
  const float *A;
  int lda;
  const float *B;
  int ldb;
  float beta;
  float *C;
  int ldc;
};

struct gf_conv_plan; /* cuda_conv.cu */
struct gf_conv_args {
  int pass, N, OC;
  float *out;
  const float *in0, *in1;
  gf__conv_geom g;
  float beta;
  struct gf_conv_plan *plan;
  void *ws, *bf16; /* the workspace and bf16 scratch it runs in (a recorded graph bakes them in) */
};

struct gf_cmd {
  int kind;
  uint32_t op;
  /* CMD_KERNEL */
  const void *func;
  unsigned grid, block;
  int nargs;
  unsigned used;
  uint16_t off[GF_CMD_MAX_ARGS];
  alignas(16) unsigned char args[GF_CMD_ARG_BYTES];
  cudaGraphNode_t node; /* in the recorded graph */
  /* CMD_GEMM / CMD_CONV */
  gf_gemm_args gemm;
  gf_conv_args conv;
  /* CMD_H2D */
  void *dst;
  const void *src;
  size_t bytes, stage_off;
};

/* The open device (one per process). */
struct gf_cuda {
  int open, index;
  char name[320];
  cudaStream_t stream;
  cublasHandle_t blas;
  cudnnHandle_t dnn;
  void *blas_ws;
  gf__backend_opts opts;
  gf__stepgraph sg;
  std::vector<gf_cmd> pending;   /* this step's deferred commands */
  std::vector<gf_cmd> recorded;  /* the commands of the recorded graph (node handles, last arguments) */
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  cudaEvent_t launched;          /* after the last graph launch: the staging area may be rewritten */
  unsigned char *stage;          /* pinned staging for to_device inside deferred steps */
  size_t stage_cap, stage_used;
  double *sums;                  /* per-channel sums of the norm kernels */
  size_t sums_cap;
  void *conv_ws;                 /* cuDNN workspace */
  size_t conv_ws_cap;
  void *bf16;                    /* bf16 copies of convolution operands (train.precision=bf16) */
  size_t bf16_cap;
  std::vector<void *> retired;   /* device buffers replaced while commands may still use them */
  std::vector<void *> retired_host;
  char err[400];                 /* first device error (sticky) */
  int graph_note_shown;
};

extern gf_cuda gf_cu;

/* cuBLAS, loaded by gf__cuda_blas_load (cuda_blas.cu) when a device is opened: its four entry
   points, the loaded library and the name it was loaded by. */
struct gf_blas_api {
  cublasStatus_t (*create)(cublasHandle_t *handle);
  cublasStatus_t (*set_stream)(cublasHandle_t handle, cudaStream_t stream);
  cublasStatus_t (*set_workspace)(cublasHandle_t handle, void *ws, size_t bytes);
  cublasStatus_t (*gemm_ex)(cublasHandle_t handle, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt,
                            int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo);
  void *handle;
  char file[256];
};
extern gf_blas_api gf_blas; /* filled by gf__cuda_blas_load (core/ops.h) */

/* Records the first device error (file:line, call, message); later ops still run. */
void gf_cuda_error(const char *what, const char *msg);
#define GF_CU(call)                                                                            \
  do {                                                                                         \
    cudaError_t e_ = (call);                                                                   \
    if (e_ != cudaSuccess) gf_cuda_error(#call, cudaGetErrorString(e_));                       \
  } while (0)

/* Queues a command (runs, defers or flushes it per the step graph). */
void gf_cuda_submit(gf_cmd &c);
/* A device buffer of at least `bytes` in *p (capacity *cap), replacing (and retiring) a smaller one;
   0 or -1. A replacement invalidates what a recorded graph baked in, so callers key on the pointer. */
int gf_cuda_reserve(void **p, size_t *cap, size_t bytes);

/* cuda_conv.cu */
int gf_cuda_conv_lib(int pass, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                     float beta);
void gf_cuda_conv_exec(const gf_conv_args &a);
void gf_cuda_conv_release(void);

/* cuda_cond.cu: fills the conditional-GAN and DiffAugment members of the table. */
void gf_cuda_cond_ops(gf__ops &t);
/* cuda_critic.cu: fills in the critic ops (dot ... clamp) of the table. */
void gf_cuda_critic_table(gf__ops *t);

/* Kernel launch configuration: grid-stride loops over n items. */
static inline unsigned gf_cuda_blocks(size_t n, unsigned threads) {
  size_t b = (n + threads - 1) / threads;
  return (unsigned)(b < 1 ? 1 : b > 65535u * 8 ? 65535u * 8 : b);
}

template <typename T> static inline void gf_cmd_put(gf_cmd &c, const T &v) {
  unsigned al = (unsigned)alignof(T), o = (c.used + al - 1) / al * al;
  memcpy(c.args + o, &v, sizeof(T));
  c.off[c.nargs++] = (uint16_t)o;
  c.used = o + (unsigned)sizeof(T);
}

/* Queues kernel k<<<grid, block>>>(args...) as op `op`. */
template <typename... P, typename... A>
static inline void gf_cuda_launch(uint32_t op, void (*k)(P...), unsigned grid, unsigned block, A... a) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel arity");
  static_assert(sizeof...(P) <= GF_CMD_MAX_ARGS, "too many kernel arguments");
  static_assert((sizeof(P) + ... + 0) + 8 * sizeof...(P) <= GF_CMD_ARG_BYTES, "kernel arguments too large");
  gf_cmd c;
  memset(&c, 0, sizeof c); /* padding between arguments compares equal from step to step */
  c.kind = CMD_KERNEL;
  c.op = op;
  c.func = (const void *)k;
  c.grid = grid;
  c.block = block;
  (gf_cmd_put<P>(c, (P)a), ...);
  gf_cuda_submit(c);
}

#endif
