/* cpu_dnnl.c: whole convolution passes through oneDNN (Debian's libdnnl, optional at build time).
   Each pass (forward, input gradient, weight gradient) runs as a oneDNN primitive in the layouts
   the library prefers (blocked, for its AVX-512 / AVX2 kernels); reorders move ganforge's NCHW /
   OIHW buffers in and out, and the output reorder adds into the destination when the pass
   accumulates (a sum post-op). Primitives and their buffers are made once per (geometry, batch,
   pass) and kept in a small table for the life of the process: the first training step builds
   them, later steps only execute. GANFORGE_DNNL=0 in the environment turns it off (to compare).
   Without libdnnl this file provides a NULL hook and the
   convolution layers lower themselves (im2col + sgemm). */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"

#ifdef GF_HAVE_DNNL
#include <dnnl.h>
#include <pthread.h>

/* One pass of one geometry: the primitive, its three memories in the library's layouts, the
   user-layout (plain) memories whose data handles are set per call, and the reorders between. */
typedef struct pass {
  dnnl_primitive_t prim;
  dnnl_memory_t lib[3], user[3]; /* [0], [1]: inputs, [2]: output */
  dnnl_primitive_t in_reorder[2]; /* user -> lib, NULL when the layouts agree */
  dnnl_primitive_t out_set, out_add; /* lib -> user: =, += */
  dnnl_memory_t scratch; /* the primitive's own scratchpad (NULL: it needs none) */
  int arg[3];
} pass;

typedef struct plan {
  gf__conv_geom g;
  int N, OC, kind, ok; /* ok 0: the library has no primitive for this one (kept, not retried) */
  pass p;
} plan;

#define MAXPLANS 128
static plan *plans[MAXPLANS];
static int nplans;
static dnnl_engine_t eng;
static dnnl_stream_t stream;
static int broken; /* the library failed once: every later call falls back */
static long done;  /* passes run by the library (tests check that it really ran) */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

#define OK(x) ((x) == dnnl_success)

static int plain_md(dnnl_memory_desc_t *md, int n0, int n1, int n2, int n3, dnnl_format_tag_t tag) {
  dnnl_dims_t d = {n0, n1, n2, n3};
  return OK(dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag)) ? 0 : -1;
}

static int make_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, int add) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_desc_t pd = NULL;
  int rc = -1;
  /* no per-thread library scratchpad (see build_pass): a reorder that would want one is refused
     and the geometry lowers itself instead */
  if (!OK(dnnl_primitive_attr_create(&attr)) || !OK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)))
    goto done;
  if (add) {
    if (!OK(dnnl_post_ops_create(&po)) || !OK(dnnl_post_ops_append_sum(po, 1.0f)) || !OK(dnnl_primitive_attr_set_post_ops(attr, po)))
      goto done;
  }
  if (OK(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, attr))) {
    const dnnl_memory_desc_t *sm = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if ((!sm || dnnl_memory_desc_get_size(sm) == 0) && OK(dnnl_primitive_create(r, pd))) rc = 0;
  }
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (po) dnnl_post_ops_destroy(po);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return rc;
}

/* Fills p from a primitive descriptor: args and the library / user descriptors of the 3 args. */
static int build_pass(pass *p, dnnl_primitive_desc_t pd, const int arg[3], const dnnl_query_t q[3],
                      const dnnl_memory_desc_t *user[3]) {
  memcpy(p->arg, arg, sizeof p->arg);
  if (!OK(dnnl_primitive_create(&p->prim, pd))) return -1;
  /* a scratchpad of the pass's own: in the library's default mode the scratchpad is per thread
     and sized when a primitive is made, so a primitive made on one thread and run on another
     (two threads of a program, each training or sampling) overran it (tests/test_sync_bn.c) */
  const dnnl_memory_desc_t *sm = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (sm && dnnl_memory_desc_get_size(sm) > 0 && !OK(dnnl_memory_create(&p->scratch, sm, eng, DNNL_MEMORY_ALLOCATE)))
    return -1;
  for (int k = 0; k < 3; k++) {
    const dnnl_memory_desc_t *lm = dnnl_primitive_desc_query_md(pd, q[k], 0);
    if (!lm) return -1;
    if (!OK(dnnl_memory_create(&p->lib[k], lm, eng, DNNL_MEMORY_ALLOCATE))) return -1;
    if (!OK(dnnl_memory_create(&p->user[k], user[k], eng, DNNL_MEMORY_NONE))) return -1;
    if (k < 2) {
      if (!dnnl_memory_desc_equal(lm, user[k]) && make_reorder(&p->in_reorder[k], user[k], lm, 0)) return -1;
    } else {
      if (make_reorder(&p->out_set, lm, user[k], 0) || make_reorder(&p->out_add, lm, user[k], 1)) return -1;
    }
  }
  return 0;
}

/* The convolution of geometry g with OC outputs, batch N: the primitive of pass `kind`. */
static plan *plan_make(int kind, int N, int OC, const gf__conv_geom *g) {
  plan *pl = calloc(1, sizeof *pl);
  if (!pl) return NULL;
  pl->g = *g;
  pl->g.r0 = pl->g.rn = 0;
  pl->N = N;
  pl->OC = OC;
  pl->kind = kind;
  dnnl_memory_desc_t src_u, w_u, dst_u, src_a, w_a, dst_a;
  dnnl_dims_t strides = {g->sh, g->sw}, pad_l = {g->ph, g->pw};
  /* right padding: what makes the output size come out (PyTorch floors the last window) */
  dnnl_dims_t pad_r = {(g->OH - 1) * g->sh + g->kh - g->H - g->ph, (g->OW - 1) * g->sw + g->kw - g->W - g->pw};
  if (plain_md(&src_u, N, g->C, g->H, g->W, dnnl_nchw) || plain_md(&w_u, OC, g->C, g->kh, g->kw, dnnl_oihw) ||
      plain_md(&dst_u, N, OC, g->OH, g->OW, dnnl_nchw) || plain_md(&src_a, N, g->C, g->H, g->W, dnnl_format_tag_any) ||
      plain_md(&w_a, OC, g->C, g->kh, g->kw, dnnl_format_tag_any) || plain_md(&dst_a, N, OC, g->OH, g->OW, dnnl_format_tag_any)) {
    free(pl);
    return NULL;
  }
  dnnl_convolution_desc_t fd, cd;
  dnnl_primitive_desc_t fpd = NULL, pd = NULL;
  dnnl_primitive_attr_t attr = NULL; /* the scratchpad is the pass's own (build_pass) */
  int rc = -1;
  if (!OK(dnnl_primitive_attr_create(&attr)) || !OK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)))
    goto done;
  if (!OK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src_a, &w_a, NULL, &dst_a,
                                             strides, pad_l, pad_r)) ||
      !OK(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL)))
    goto done;
  if (kind == GF_CONV_FWD) {
    const int arg[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    const dnnl_query_t q[3] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    const dnnl_memory_desc_t *u[3] = {&src_u, &w_u, &dst_u};
    rc = build_pass(&pl->p, fpd, arg, q, u);
  } else if (kind == GF_CONV_BWD_DATA) {
    if (OK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src_a, &w_a, &dst_a, strides, pad_l, pad_r)) &&
        OK(dnnl_primitive_desc_create(&pd, &cd, attr, eng, fpd))) {
      const int arg[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
      const dnnl_query_t q[3] = {dnnl_query_diff_dst_md, dnnl_query_weights_md, dnnl_query_diff_src_md};
      const dnnl_memory_desc_t *u[3] = {&dst_u, &w_u, &src_u};
      rc = build_pass(&pl->p, pd, arg, q, u);
    }
  } else {
    if (OK(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src_a, &w_a, NULL, &dst_a, strides, pad_l,
                                                       pad_r)) &&
        OK(dnnl_primitive_desc_create(&pd, &cd, attr, eng, fpd))) {
      const int arg[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
      const dnnl_query_t q[3] = {dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md};
      const dnnl_memory_desc_t *u[3] = {&src_u, &dst_u, &w_u};
      rc = build_pass(&pl->p, pd, arg, q, u);
    }
  }
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (fpd) dnnl_primitive_desc_destroy(fpd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  pl->ok = rc == 0; /* a partly built pass is not used (nor freed: at most once per geometry) */
  return pl;
}

static int same_geom(const gf__conv_geom *a, const gf__conv_geom *b) {
  return a->C == b->C && a->H == b->H && a->W == b->W && a->kh == b->kh && a->kw == b->kw && a->sh == b->sh &&
         a->sw == b->sw && a->ph == b->ph && a->pw == b->pw && a->OH == b->OH && a->OW == b->OW;
}

static plan *plan_get(int kind, int N, int OC, const gf__conv_geom *g) {
  for (int i = 0; i < nplans; i++)
    if (plans[i]->kind == kind && plans[i]->N == N && plans[i]->OC == OC && same_geom(&plans[i]->g, g)) return plans[i];
  if (nplans == MAXPLANS) return NULL;
  plan *p = plan_make(kind, N, OC, g);
  if (p) plans[nplans++] = p;
  return p;
}

static int run(pass *p, float *out, const float *in0, const float *in1, float beta) {
  const float *in[2] = {in0, in1};
  for (int k = 0; k < 2; k++) {
    if (!OK(dnnl_memory_set_data_handle(p->user[k], (void *)in[k]))) return -1;
    if (p->in_reorder[k]) {
      dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->user[k]}, {DNNL_ARG_TO, p->lib[k]}};
      if (!OK(dnnl_primitive_execute(p->in_reorder[k], stream, 2, a))) return -1;
    }
  }
  dnnl_exec_arg_t a[4];
  for (int k = 0; k < 3; k++) a[k] = (dnnl_exec_arg_t){p->arg[k], k < 2 && !p->in_reorder[k] ? p->user[k] : p->lib[k]};
  a[3] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
  if (!OK(dnnl_primitive_execute(p->prim, stream, p->scratch ? 4 : 3, a))) return -1;
  if (!OK(dnnl_memory_set_data_handle(p->user[2], out))) return -1;
  dnnl_exec_arg_t o[2] = {{DNNL_ARG_FROM, p->lib[2]}, {DNNL_ARG_TO, p->user[2]}};
  if (!OK(dnnl_primitive_execute(beta != 0.0f ? p->out_add : p->out_set, stream, 2, o))) return -1;
  return OK(dnnl_stream_wait(stream)) ? 0 : -1;
}

/* The forward pass of a 1x1 stride-1 convolution between few channels (a CAT student's branches:
   16 -> 1..4 -> 16 channels): the reorders to and from the library's blocked layouts cost more
   than the product, and sgemm on the plain layout (no im2col for 1x1) took half the time
   (docs/BENCHMARKS.md, "Compressed CycleGAN inference"). Declined: the layer lowers itself.
   So is the weight gradient of a convolution with one input channel (DCGAN's first D layer on grey
   images, and the adjoint of G's last ConvTranspose2d to one channel): oneDNN's kernel for it took
   2-3x the time of im2col + sgemm (docs/BENCHMARKS.md, session 15). */

int gf__cpu_conv_lib(int kind, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                     float beta) {
  int rc = -1;
  if (kind == GF_CONV_FWD && g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
      (long)g->C * OC < GF_LIB_1X1_MIN_COC)
    return -1;
  if (kind == GF_CONV_BWD_W && g->C == 1) return -1;
  pthread_mutex_lock(&mu);
  if (!broken && !eng) {
    const char *env = getenv("GANFORGE_DNNL"); /* GANFORGE_DNNL=0: lower every convolution (benchmarks) */
    if (env && !strcmp(env, "0")) broken = 1;
    else if (!OK(dnnl_engine_create(&eng, dnnl_cpu, 0)) || !OK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags)))
      broken = 1;
  }
  if (!broken) {
    plan *p = plan_get(kind, N, OC, g);
    if (p && p->ok && (rc = run(&p->p, out, in0, in1, beta)) != 0) broken = 1;
    if (rc == 0) done++;
  }
  pthread_mutex_unlock(&mu);
  return rc;
}

long gf__cpu_conv_lib_count(void) {
  pthread_mutex_lock(&mu);
  long n = done;
  pthread_mutex_unlock(&mu);
  return n;
}

#else

int gf__cpu_conv_lib(int kind, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                     float beta) {
  (void)kind; (void)out; (void)in0; (void)in1; (void)N; (void)OC; (void)g; (void)beta;
  return -1;
}

long gf__cpu_conv_lib_count(void) { return 0; }

#endif
