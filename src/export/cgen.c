/* cgen.c: writes an export plan as standalone C99 (gen.h, gen.c and the weights as a C array or
   a binary blob): plain loops, libm only, no heap; the caller passes a work buffer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "export/export.h"
#include "ganforge/ganforge.h"

/* The kernels a gen.c may carry (static; only those its layers use are written), by node kind. */
static const struct { gf__xkind kind; const char *text; } kernels[] = {
    {GF_XN_GEMM,
    "static void k_gemm(float *y, const float *x, const float *w, const float *b, int ni, int no) {\n"
    "  for (int o = 0; o < no; o++) {\n"
    "    const float *wr = w + (size_t)o * ni;\n"
    "    float a[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}; /* 8 running sums: independent adds */\n"
    "    int i = 0;\n"
    "    for (; i + 8 <= ni; i += 8)\n"
    "      for (int k = 0; k < 8; k++) a[k] += wr[i + k] * x[i + k];\n"
    "    float acc = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));\n"
    "    for (; i < ni; i++) acc += wr[i] * x[i];\n"
    "    y[o] = b ? acc + b[o] : acc;\n"
    "  }\n"
    "}\n\n"},
    {GF_XN_CONV,
    "/* Conv2d in G channel groups (output channel oc reads the inputs of group oc / (OC / G)),\n"
    "   w [OC, C / G, kh, kw], zero padding */\n"
    "static void k_conv(float *y, const float *x, const float *w, const float *b, int C, int H, int W, int OC,\n"
    "                   int OH, int OW, int kh, int kw, int sh, int sw, int ph, int pw, int G) {\n"
    "  const int Cg = C / G, OCg = OC / G;\n"
    "  for (int oc = 0; oc < OC; oc++) {\n"
    "    float *yo = y + (size_t)oc * OH * OW;\n"
    "    const float *xg = x + (size_t)(oc / OCg) * Cg * H * W;\n"
    "    for (int i = 0; i < OH * OW; i++) yo[i] = 0.0f;\n"
    "    for (int c = 0; c < Cg; c++)\n"
    "      for (int ki = 0; ki < kh; ki++)\n"
    "        for (int kj = 0; kj < kw; kj++) {\n"
    "          float wv = w[(((size_t)oc * Cg + c) * kh + ki) * kw + kj];\n"
    "          const float *xc = xg + (size_t)c * H * W;\n"
    "          int ow0 = 0, ow1 = OW; /* ow with 0 <= ow * sw - pw + kj < W */\n"
    "          while (ow0 < OW && ow0 * sw - pw + kj < 0) ow0++;\n"
    "          while (ow1 > ow0 && (ow1 - 1) * sw - pw + kj >= W) ow1--;\n"
    "          for (int oh = 0; oh < OH; oh++) {\n"
    "            int ih = oh * sh - ph + ki;\n"
    "            if (ih < 0 || ih >= H) continue;\n"
    "            const float *xr = xc + (size_t)ih * W;\n"
    "            float *yr = yo + (size_t)oh * OW;\n"
    "            for (int ow = ow0; ow < ow1; ow++) yr[ow] += wv * xr[ow * sw - pw + kj];\n"
    "          }\n"
    "        }\n"
    "    if (b)\n"
    "      for (int i = 0; i < OH * OW; i++) yo[i] += b[oc];\n"
    "  }\n"
    "}\n\n"},
    {GF_XN_CONVT,
    "/* ConvTranspose2d, w [C, OC, kh, kw]: y[oc, ih sh - ph + ki, iw sw - pw + kj] += x[c, ih, iw] w */\n"
    "static void k_convt(float *y, const float *x, const float *w, const float *b, int C, int H, int W, int OC,\n"
    "                    int OH, int OW, int kh, int kw, int sh, int sw, int ph, int pw) {\n"
    "  for (int oc = 0; oc < OC; oc++) {\n"
    "    float *yo = y + (size_t)oc * OH * OW;\n"
    "    for (int i = 0; i < OH * OW; i++) yo[i] = 0.0f;\n"
    "    for (int c = 0; c < C; c++)\n"
    "      for (int ki = 0; ki < kh; ki++)\n"
    "        for (int kj = 0; kj < kw; kj++) {\n"
    "          float wv = w[(((size_t)c * OC + oc) * kh + ki) * kw + kj];\n"
    "          const float *xc = x + (size_t)c * H * W;\n"
    "          int iw0 = 0, iw1 = W; /* iw with 0 <= iw * sw - pw + kj < OW */\n"
    "          while (iw0 < W && iw0 * sw - pw + kj < 0) iw0++;\n"
    "          while (iw1 > iw0 && (iw1 - 1) * sw - pw + kj >= OW) iw1--;\n"
    "          for (int ih = 0; ih < H; ih++) {\n"
    "            int oh = ih * sh - ph + ki;\n"
    "            if (oh < 0 || oh >= OH) continue;\n"
    "            const float *xr = xc + (size_t)ih * W;\n"
    "            float *yr = yo + (size_t)oh * OW;\n"
    "            for (int iw = iw0; iw < iw1; iw++) yr[iw * sw - pw + kj] += wv * xr[iw];\n"
    "          }\n"
    "        }\n"
    "    if (b)\n"
    "      for (int i = 0; i < OH * OW; i++) yo[i] += b[oc];\n"
    "  }\n"
    "}\n\n"},
    {GF_XN_SCALE,
    "/* y = x s[c] + t[c] over C planes of S values (y may be x) */\n"
    "static void k_scale(float *y, const float *x, const float *s, const float *t, int C, int S) {\n"
    "  for (int c = 0; c < C; c++)\n"
    "    for (int i = 0; i < S; i++) y[(size_t)c * S + i] = x[(size_t)c * S + i] * s[c] + t[c];\n"
    "}\n\n"},
    {GF_XN_ACT,
    "/* 0 relu, 1 leaky relu (slope a), 2 tanh, 3 sigmoid (y may be x) */\n"
    "static void k_act(float *y, const float *x, int n, int kind, float a) {\n"
    "  for (int i = 0; i < n; i++) {\n"
    "    float v = x[i];\n"
    "    y[i] = kind == 0 ? (v > 0.0f ? v : 0.0f) : kind == 1 ? v * (v > 0.0f ? 1.0f : a)\n"
    "         : kind == 2 ? tanhf(v) : 1.0f / (1.0f + expf(-v));\n"
    "  }\n"
    "}\n\n"},
    {GF_XN_INSTNORM,
    "/* per-channel statistics over S values (biased variance), then * g[c] + b[c] (y may be x) */\n"
    "static void k_instnorm(float *y, const float *x, const float *g, const float *b, int C, int S, float eps) {\n"
    "  for (int c = 0; c < C; c++) {\n"
    "    const float *xp = x + (size_t)c * S;\n"
    "    double s1 = 0.0, s2 = 0.0;\n"
    "    for (int i = 0; i < S; i++) s1 += xp[i];\n"
    "    double mu = s1 / S;\n"
    "    for (int i = 0; i < S; i++) { double d = xp[i] - mu; s2 += d * d; }\n"
    "    float rstd = (float)(1.0 / sqrt(s2 / S + eps)), mean = (float)mu;\n"
    "    float gg = g ? g[c] * rstd : rstd, bb = (b ? b[c] : 0.0f) - mean * gg;\n"
    "    for (int i = 0; i < S; i++) y[(size_t)c * S + i] = xp[i] * gg + bb;\n"
    "  }\n"
    "}\n\n"},
    {GF_XN_PAD,
    "static int k_refl(int k, int n) { return k < 0 ? -k : k >= n ? 2 * n - 2 - k : k; }\n\n"
    "/* reflection padding of C planes H x W by top, bottom, left, right */\n"
    "static void k_pad(float *y, const float *x, int C, int H, int W, int t, int bo, int l, int r) {\n"
    "  int OH = H + t + bo, OW = W + l + r;\n"
    "  for (int c = 0; c < C; c++)\n"
    "    for (int i = 0; i < OH; i++)\n"
    "      for (int j = 0; j < OW; j++)\n"
    "        y[((size_t)c * OH + i) * OW + j] = x[((size_t)c * H + k_refl(i - t, H)) * W + k_refl(j - l, W)];\n"
    "}\n\n"},
    {GF_XN_ADD,
    "static void k_add(float *y, const float *x, const float *s, int n) {\n"
    "  for (int i = 0; i < n; i++) y[i] = x[i] + s[i];\n"
    "}\n\n"},
    {GF_XN_ONEHOT,
    "/* y = [x (C values); the one-hot vector of class `label` (K values)] */\n"
    "static void k_onehot(float *y, const float *x, int C, int K, int label) {\n"
    "  memcpy(y, x, sizeof(float) * (size_t)C);\n"
    "  for (int k = 0; k < K; k++) y[C + k] = k == label ? 1.0f : 0.0f;\n"
    "}\n\n"},
    {GF_XN_CONCAT,
    "static void k_concat(float *y, const float *s, int ns, const float *x, int nx) {\n"
    "  memcpy(y, s, sizeof(float) * (size_t)ns);\n"
    "  memcpy(y + ns, x, sizeof(float) * (size_t)nx);\n"
    "}\n\n"},
};

static long node_size(const gf__xnode *x) { return (long)x->c * x->h * x->w; }

/* Work-buffer plan: values read again later (residual / U-Net skips, branch inputs) get their own region; the
   others use two regions in turn, and the element-wise layers work in place in them. */
typedef struct cplan {
  long *off;      /* [n] float offset of each value in work */
  long floats;    /* work size */
} cplan;

static int plan_work(const gf__xplan *p, cplan *cp) {
  int n = p->n;
  int *persist = calloc((size_t)n + 1, sizeof(int));
  int *where = calloc((size_t)n + 1, sizeof(int)); /* 0 / 1: region A / B, 2: own region */
  cp->off = calloc((size_t)n + 1, sizeof(long));
  if (!persist || !where || !cp->off) {
    free(persist); free(where); free(cp->off);
    return gf__fail(GF_ENOMEM, "out of memory");
  }
  /* a value read again later: a skip (in2), or read by a node other than the next one (CAT's
     inception branches each start from the block's input) */
  for (int i = 0; i < n; i++) {
    const gf__xnode *x = &p->nodes[i];
    if (x->in2 >= 0) persist[x->in2] = 1;
    if (x->in >= 0 && x->in != i - 1) persist[x->in] = 1;
  }
  long big = 0, own = 0;
  for (int i = 0; i < n; i++)
    if (!persist[i] && node_size(&p->nodes[i]) > big) big = node_size(&p->nodes[i]);
  long A = 0, B = big;
  own = 2 * big;
  for (int i = 0; i < n; i++) {
    const gf__xnode *x = &p->nodes[i];
    int in_ab = x->in >= 0 && where[x->in] < 2;
    int inplace = x->kind == GF_XN_ACT || x->kind == GF_XN_SCALE || x->kind == GF_XN_CAFFINE || x->kind == GF_XN_INSTNORM ||
                  x->kind == GF_XN_ADD;
    if (persist[i]) {
      where[i] = 2;
      cp->off[i] = own;
      own += node_size(x);
    } else if (inplace && in_ab) {
      where[i] = where[x->in];
      cp->off[i] = cp->off[x->in];
    } else {
      where[i] = in_ab && where[x->in] == 0 ? 1 : 0;
      cp->off[i] = where[i] ? B : A;
    }
  }
  cp->floats = own;
  free(persist);
  free(where);
  return 0;
}

/* A float as a C float literal that reads back exactly ("0.2f", "1e-05f", "0.0f") */
static const char *flit(float v, char *buf) {
  snprintf(buf, 40, "%.9g", (double)v);
  if (!strpbrk(buf, ".en")) strcat(buf, ".0");
  strcat(buf, "f");
  return buf;
}

/* Writes DIR/NAME's contents atomically under a staging name (DIR/NAME.new.PID, moved into place
   once every file of the export is written: a failed export leaves an earlier one whole); an
   error names DIR/NAME. */
static int stage_file(const char *dir, const char *name, const void *data, size_t len, char *staged, size_t cap) {
  char final[4096];
  snprintf(final, sizeof final, "%s/%s", dir, name);
  if ((size_t)snprintf(staged, cap, "%s/%s.new.%ld", dir, name, (long)getpid()) >= cap)
    return gf__fail(GF_EUSAGE, "%s: the path is too long", final);
  int rc = gf__write_file_atomic(staged, data, len);
  if (rc < 0) {
    char msg[1024];
    size_t k = strlen(staged);
    snprintf(msg, sizeof msg, "%s", gf_last_error());
    return gf__fail(rc, "%s%s", final, strncmp(msg, staged, k) ? msg : msg + k);
  }
  return 0;
}

/* printf into a growable string */
typedef struct sbuf {
  char *s;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) GF__PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) { b->oom = 1; return; }
    if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
    size_t cap = b->cap ? b->cap * 2 : 1 << 16;
    while (cap < b->n + (size_t)k + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) { b->oom = 1; return; }
    b->s = s;
    b->cap = cap;
  }
}

int gf__export_c(const gf__xplan *p, const char *dir, int blob) {
  /* the folder: created if missing; the three files are written atomically */
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) return gf__fail(GF_EIO, "%s: exists and is not a folder", dir);
  GF_TRY(gf__mkdirs(dir));
  cplan cp = {0};
  GF_TRY(plan_work(p, &cp));
  /* weight offsets: each node's weights then bias */
  long *woff = calloc((size_t)p->n + 1, sizeof(long)), *boff = calloc((size_t)p->n + 1, sizeof(long)), total = 0;
  if (!woff || !boff) {
    free(woff); free(boff); free(cp.off);
    return gf__fail(GF_ENOMEM, "out of memory");
  }
  for (int i = 0; i < p->n; i++) {
    woff[i] = p->nodes[i].wt ? total : -1;
    total += p->nodes[i].wt ? p->nodes[i].wn : 0;
    boff[i] = p->nodes[i].bias ? total : -1;
    total += p->nodes[i].bias ? p->nodes[i].bn : 0;
  }
  long in_size = (long)p->in_c * p->in_h * p->in_w, out_size = (long)p->c * p->h * p->w;
  const char *in_name = p->translates ? "image" : "z";
  const int K = p->classes; /* a conditional generator: gen_forward takes the class label */
  sbuf h = {0}, c = {0}, wsrc = {0};
  /* ---- gen.h ---- */
  sb_printf(&h,
            "/* gen.h: a ganforge %s generator (%s) as standalone C99, written by `ganforge export --format c`.\n"
            "   gen_forward maps one %s to one image; it uses no heap and only libm (link with -lm). */\n"
            "#ifndef GEN_H\n#define GEN_H\n\n#include <stddef.h>\n\n",
            p->arch, p->kind, p->translates ? "input image" : K ? "latent vector and a class label" : "latent vector");
  if (p->translates)
    sb_printf(&h, "#define GEN_IN_C %d\n#define GEN_IN_H %d\n#define GEN_IN_W %d\n", p->in_c, p->in_h, p->in_w);
  else
    sb_printf(&h, "#define GEN_NZ %d /* latent size; %s noise%s */\n", p->nz, p->noise,
              !strcmp(p->noise, "uniform") ? " in [noise_lo, noise_hi] of the run's config" : " N(0, 1)");
  if (K)
    sb_printf(&h, "#define GEN_CLASSES %d /* conditional generator (model.cond=%s): class labels 0..%d */\n", K, p->cond,
              K - 1);
  sb_printf(&h,
            "#define GEN_IN_SIZE %ld   /* floats of one input */\n"
            "#define GEN_OUT_C %d\n#define GEN_OUT_H %d\n#define GEN_OUT_W %d\n"
            "#define GEN_OUT_SIZE %ld  /* floats of one output image [C, H, W] */\n"
            "#define GEN_WORK_FLOATS %ld\n"
            "#define GEN_WEIGHT_FLOATS %ld\n\n"
            "/* Bytes of the work buffer gen_forward needs (GEN_WORK_FLOATS floats). */\n"
            "size_t gen_work_size(void);\n",
            in_size, p->c, p->h, p->w, out_size, cp.floats, total);
  if (blob)
    sb_printf(&h,
              "/* Points the generator at its weights: the contents of gen_weights.bin (%ld bytes of\n"
              "   little-endian float32), loaded by the caller into float-aligned memory that outlives\n"
              "   every gen_forward call. Returns 0, or -1 when the size is not GEN_WEIGHT_FLOATS floats. */\n"
              "int gen_set_weights(const void *weights, size_t bytes);\n",
              total * 4);
  const char *range =
      !strcmp(p->arch, "mlp") && p->nodes[p->out].kind == GF_XN_ACT && p->nodes[p->out].act == GF_ACT_SIGMOID ? "[0, 1]" : "[-1, 1]";
  if (K)
    sb_printf(&h,
              "/* out [GEN_OUT_SIZE] = G(z [GEN_IN_SIZE], label): one sample of class `label`; work holds\n"
              "   GEN_WORK_FLOATS floats. Values in %s. Returns 0, or -1 when label is not a class of\n"
              "   0..GEN_CLASSES-1 (then out and work are not touched). */\n"
              "int gen_forward(const float *z, int label, float *out, float *work);\n\n#endif\n",
              range);
  else
    sb_printf(&h,
              "/* out [GEN_OUT_SIZE] = G(%s [GEN_IN_SIZE]); work holds GEN_WORK_FLOATS floats. Values in %s. */\n"
              "void gen_forward(const float *%s, float *out, float *work);\n\n#endif\n",
              in_name, range, in_name);
  /* ---- gen.c ---- */
  sb_printf(&c,
            "/* gen.c: the generator's layers as plain loops (written by ganforge %s). C99, libm only. */\n"
            "#include <math.h>\n#include <string.h>\n\n#include \"gen.h\"\n\n",
            GANFORGE_VERSION);
  if (blob)
    sb_printf(&c,
              "static const float *gen_weights;\n\n"
              "int gen_set_weights(const void *weights, size_t bytes) {\n"
              "  if (!weights || bytes != (size_t)GEN_WEIGHT_FLOATS * sizeof(float)) return -1;\n"
              "  gen_weights = (const float *)weights;\n  return 0;\n}\n\n");
  else
    sb_printf(&c, "extern const float gen_weights[GEN_WEIGHT_FLOATS]; /* gen_weights.c */\n\n");
  sb_printf(&c, "size_t gen_work_size(void) { return (size_t)GEN_WORK_FLOATS * sizeof(float); }\n\n");
  for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
    int used = 0;
    for (int i = 0; i < p->n && !used; i++) /* CAFFINE is k_scale at its class's row */
      used = p->nodes[i].kind == kernels[k].kind || (p->nodes[i].kind == GF_XN_CAFFINE && kernels[k].kind == GF_XN_SCALE);
    if (used) sb_printf(&c, "%s", kernels[k].text);
  }
  if (K)
    sb_printf(&c,
              "int gen_forward(const float *z, int label, float *out, float *work) {\n"
              "  const float *W = gen_weights;\n"
              "  if (label < 0 || label >= GEN_CLASSES) return -1;\n");
  else
    sb_printf(&c, "void gen_forward(const float *%s, float *out, float *work) {\n  const float *W = gen_weights;\n",
              in_name);
#define IN_PTR(v, buf) ((v) < 0 ? snprintf(buf, sizeof buf, "%s", in_name) : snprintf(buf, sizeof buf, "work + %ld", cp.off[v]))
  for (int i = 0; i < p->n; i++) {
    const gf__xnode *x = &p->nodes[i];
    char in[64], in2[64], y[64], w[48], b[48], f1[48];
    IN_PTR(x->in, in);
    IN_PTR(x->in2, in2);
    snprintf(y, sizeof y, "work + %ld", cp.off[i]);
    if (woff[i] >= 0) snprintf(w, sizeof w, "W + %ld", woff[i]);
    else snprintf(w, sizeof w, "0");
    if (boff[i] >= 0) snprintf(b, sizeof b, "W + %ld", boff[i]);
    else snprintf(b, sizeof b, "0");
    int S = x->h * x->w;
    switch (x->kind) {
    case GF_XN_GEMM: sb_printf(&c, "  k_gemm(%s, %s, %s, %s, %d, %ld);\n", y, in, w, b, x->ic, node_size(x)); break;
    case GF_XN_CONV:
    case GF_XN_CONVT:
      sb_printf(&c, "  %s(%s, %s, %s, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d",
                x->kind == GF_XN_CONV ? "k_conv" : "k_convt", y, in, w, b, x->ic, x->ih, x->iw, x->c, x->h, x->w, x->kh,
                x->kw, x->sh, x->sw, x->ph, x->pw);
      if (x->kind == GF_XN_CONV) sb_printf(&c, ", %d", x->groups > 1 ? x->groups : 1);
      sb_printf(&c, ");\n");
      break;
    case GF_XN_SCALE: sb_printf(&c, "  k_scale(%s, %s, %s, %s, %d, %d);\n", y, in, w, b, x->c, S); break;
    case GF_XN_ACT: sb_printf(&c, "  k_act(%s, %s, %ld, %d, %s);\n", y, in, node_size(x), (int)x->act, flit(x->alpha, f1)); break;
    case GF_XN_INSTNORM: sb_printf(&c, "  k_instnorm(%s, %s, %s, %s, %d, %d, %s);\n", y, in, w, b, x->c, S, flit(x->eps, f1)); break;
    case GF_XN_PAD:
      sb_printf(&c, "  k_pad(%s, %s, %d, %d, %d, %d, %d, %d, %d);\n", y, in, x->ic, x->ih, x->iw, x->pad[0], x->pad[1],
                x->pad[2], x->pad[3]);
      break;
    case GF_XN_ADD: sb_printf(&c, "  k_add(%s, %s, %s, %ld);\n", y, in, in2, node_size(x)); break;
    case GF_XN_CONCAT: {
      const gf__xnode *s = &p->nodes[x->in2];
      sb_printf(&c, "  k_concat(%s, %s, %ld, %s, %ld);\n", y, in2, node_size(s), in, node_size(x) - node_size(s));
      break;
    }
    case GF_XN_ONEHOT: sb_printf(&c, "  k_onehot(%s, %s, %d, %d, label);\n", y, in, x->ic, x->classes); break;
    case GF_XN_CAFFINE: /* gamma, beta [K, C]: the rows of the class */
      sb_printf(&c, "  k_scale(%s, %s, %s + (size_t)label * %d, %s + (size_t)label * %d, %d, %d);\n", y, in, w, x->c, b,
                x->c, x->c, S);
      break;
    }
  }
#undef IN_PTR
  sb_printf(&c, "  memcpy(out, work + %ld, sizeof(float) * GEN_OUT_SIZE);\n%s}\n", cp.off[p->out], K ? "  return 0;\n" : "");
  /* ---- weights ---- */
  char path[4096];
  int rc = h.oom || c.oom ? gf__fail(GF_ENOMEM, "out of memory") : 0;
  uint8_t *raw = NULL;
  if (rc == 0 && blob) {
    raw = malloc((size_t)total * 4 + 1);
    if (!raw) rc = gf__fail(GF_ENOMEM, "out of memory");
    size_t k = 0;
    for (int i = 0; raw && i < p->n; i++)
      for (int part = 0; part < 2; part++) {
        const float *v = part ? p->nodes[i].bias : p->nodes[i].wt;
        long nv = part ? p->nodes[i].bn : p->nodes[i].wn;
        for (long j = 0; v && j < nv; j++) {
          uint32_t u;
          memcpy(&u, &v[j], 4);
          for (int q = 0; q < 4; q++) raw[k++] = (uint8_t)(u >> (8 * q));
        }
      }
  } else if (rc == 0) {
    sb_printf(&wsrc, "/* gen_weights.c: the generator's weights (BatchNorm folded), written by ganforge. */\n"
                     "#include \"gen.h\"\n\nconst float gen_weights[GEN_WEIGHT_FLOATS] = {\n");
    long k = 0;
    for (int i = 0; i < p->n; i++)
      for (int part = 0; part < 2; part++) {
        const float *v = part ? p->nodes[i].bias : p->nodes[i].wt;
        long nv = part ? p->nodes[i].bn : p->nodes[i].wn;
        for (long j = 0; v && j < nv; j++, k++) sb_printf(&wsrc, "%a,%s", (double)v[j], k % 8 == 7 ? "\n" : " ");
      }
    sb_printf(&wsrc, "};\n");
    if (wsrc.oom) rc = gf__fail(GF_ENOMEM, "out of memory");
  }
  /* write: each file staged atomically, then all moved into place (weights first, gen.h last); a
     failure removes what this call staged and leaves the folder as it was */
  static const char *const names[2][3] = {{"gen_weights.c", "gen.c", "gen.h"}, {"gen_weights.bin", "gen.c", "gen.h"}};
  char staged[3][4096];
  int nstaged = 0, nmoved = 0;
  for (int i = 0; rc == 0 && i < 3; i++) {
    const void *data = i == 1 ? (const void *)c.s : i == 2 ? (const void *)h.s : blob ? (const void *)raw : (const void *)wsrc.s;
    size_t len = i == 1 ? c.n : i == 2 ? h.n : blob ? (size_t)total * 4 : wsrc.n;
    if ((rc = stage_file(dir, names[blob][i], data, len, staged[i], sizeof staged[i])) == 0) nstaged++;
  }
  for (int i = 0; rc == 0 && i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[blob][i]);
    if (rename(staged[i], path) != 0) rc = gf__fail(GF_EIO, "%s: rename failed: %s", path, strerror(errno));
    else nmoved++;
  }
  for (int i = nmoved; rc < 0 && i < nstaged; i++) unlink(staged[i]);
  if (rc == 0) { /* the other weights form of an earlier export would no longer match gen.h */
    snprintf(path, sizeof path, "%s/%s", dir, names[!blob][0]);
    if (unlink(path) != 0 && errno != ENOENT) rc = gf__fail(GF_EIO, "%s: cannot remove a stale file: %s", path, strerror(errno));
  }
  free(raw);
  free(h.s); free(c.s); free(wsrc.s);
  free(woff); free(boff); free(cp.off);
  return rc;
}
