/* cpu_internal.h: CPU-backend kernels shared between the files of src/cpu. */
#ifndef GF_CPU_INTERNAL_H
#define GF_CPU_INTERNAL_H

#include "core/ops.h"

/* Hot element-wise kernels are compiled for several instruction sets and picked at load time.
   With -std=c11 GCC does not contract a*b+c into FMA, so every clone computes identical bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GF_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define GF_CLONES
#endif

/* Input x output channels from which oneDNN takes the forward pass of a 1x1 stride-1 unpadded
   convolution (below: lowered; cpu_dnnl.c). */
#define GF_LIB_1X1_MIN_COC 256

void gf__cpu_im2col(float *col, const float *x, int N, const gf__conv_geom *g);
void gf__cpu_col2im(float *x, const float *col, int N, const gf__conv_geom *g);
void gf__cpu_swap01(float *dst, const float *src, int A, int B, int S, float beta);
void gf__cpu_reflect_pad_fwd(float *y, const float *x, int NC, int H, int W, int t, int b, int l, int r);
void gf__cpu_reflect_pad_bwd(float *dx, const float *dy, int NC, int H, int W, int t, int b, int l, int r);
void gf__cpu_wino_fwd(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, int ph, int pw,
                      int flip, float beta, float *ws, int tb);
void gf__cpu_wino_dw(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, int ph, int pw,
                     float *ws, int tb);
/* The count GEMMs of a Winograd block over the threads (cpu_wino.c; also cpu_pwino.c). */
void gf__cpu_gemm_batch(int count, int tb, int M, int N, int K, const float *A, size_t as, int lda, const float *B,
                        size_t bs, int ldb, float beta, float *C, size_t cs, int ldc);
void gf__cpu_pwino_fwd(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, float beta,
                       float *ws, int tb);
void gf__cpu_pwino_bwd_data(float *dx, const float *dy, const float *w, int N, int IC, int H, int W, int OC, float beta,
                            float *ws, int tb);
void gf__cpu_pwino_dw(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, float *ws, int tb);
void gf__cpu_conv_direct_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g);
void gf__cpu_conv_direct_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g);
void gf__cpu_conv_direct_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g);
void gf__cpu_dw_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g);
void gf__cpu_dw_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g);
void gf__cpu_dw_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g);
void gf__cpu_ka_coef(float *stats, float *coef, const float *gx, const float *gy, int B, float scale);
/* Conditional GANs and DiffAugment (cpu_cond.c). */
void gf__cpu_onehot_cat_fwd(float *y, const float *x, const float *labels, int N, int C, int S, int K);
void gf__cpu_onehot_cat_bwd(float *dx, const float *dy, int N, int C, int S, int K);
void gf__cpu_cond_affine_fwd(float *y, const float *x, const float *gamma, const float *beta, const float *labels, int N,
                             int C, int S, int K);
void gf__cpu_cond_affine_bwd(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                             const float *labels, int N, int C, int S, int K);
void gf__cpu_proj_fwd(float *out, const float *h, const float *table, const float *labels, int N, int F, int K);
void gf__cpu_proj_bwd(float *dh, float *dtable, const float *dout, const float *h, const float *table, const float *labels,
                      int N, int F, int K);
void gf__cpu_copy2d(float *dst, int ldd, const float *src, int lds, int rows, int cols);
void gf__cpu_diffaug_fwd(float *y, float *mean, const float *x, const float *params, int N, int C, int H, int W,
                         int flags);
void gf__cpu_diffaug_bwd(float *dx, float *gsum, const float *dy, const float *params, int N, int C, int H, int W,
                         int flags);
/* y = (x - mean) rstd gamma + beta per channel of x [N, C, S] (cpu_ops.c; gamma, beta may be NULL) */
void gf__cpu_norm_apply(float *y, const float *x, const float *mean, const float *rstd, const float *gamma,
                        const float *beta, int N, int C, int S);
/* BatchNorm over the ranks of a data-parallel job (cpu_norm_sync.c; see ops.h) */
void gf__cpu_norm_sums(float *sums, const float *x, const float *mean, int N, int C, int S);
void gf__cpu_norm_fwd_sync(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                           float *run_mean, float *run_var, int N, int C, int S, double count, float eps,
                           float momentum);
void gf__cpu_norm_bwd_sums(float *sums, const float *dy, const float *x, const float *mean, const float *rstd, int N,
                           int C, int S);
void gf__cpu_norm_bwd_sync(float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                           const float *gamma, const float *sums, double count, int N, int C, int S);
/* The critic ops (cpu_critic.c). */
void gf__cpu_dot(float *out, const float *x, const float *y, size_t n, float scale);
void gf__cpu_scalar_op(gf__sop kind, float *y, const float *x, const float *s, float a, size_t n);
void gf__cpu_lerp_rows(float *y, const float *a, const float *b, const float *t, int N, size_t D);
void gf__cpu_grad_penalty(gf__penalty kind, float *stats, float *v, const float *g, int N, size_t D, float w);
void gf__cpu_maxout_take(float *y, const float *x, const float *argmax, int N, int units, int k);
void gf__cpu_act_curv(gf__act kind, float *rdx, const float *y, const float *dy, const float *rx, size_t n, float alpha);
void gf__cpu_rmsprop(float *p, const float *g, float *v, size_t n, float lr, float alpha, float eps, float wd);
void gf__cpu_clamp(float *x, float lo, float hi, size_t n);
#ifdef GF_HAVE_DNNL
#include <dnnl_version.h>
#define GF_STR2(x) #x
#define GF_STR(x) GF_STR2(x)
#define GF_DNNL_NAME "oneDNN " GF_STR(DNNL_VERSION_MAJOR) "." GF_STR(DNNL_VERSION_MINOR) "." GF_STR(DNNL_VERSION_PATCH)
#endif
int gf__cpu_conv_lib(int kind, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                     float beta);
long gf__cpu_conv_lib_count(void); /* passes the library ran so far */

#endif
