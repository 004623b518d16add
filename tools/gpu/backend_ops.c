/* backend_ops.c: gf_backend_ops: every op of the gf__ops table on two backends, on random inputs of
   several shapes (odd sizes and edge cases included), every output element compared (in the way
   of ggml's test-backend-ops). The test backend (--test, default cpu) is checked against a
   reference (--ref): another backend (e.g. --device cuda = --test cuda --ref cpu) or "double", the
   naive double-precision reference of tools/gpu/ref_ops.c. Each output is poisoned (NaN) before
   the call unless the op accumulates into it, and guarded by sentinels on both sides; inputs must
   come back unchanged. Statistics (losses, count_nonfinite) start non-zero and must be added to.
   Beyond single ops: upload_const (and a gather from it), configure (float32, TF32, bf16, graphs
   off; TF32 with bf16 refused), check, and whole training steps between step_begin and step_end
   (warm-up, recording, replays and a step that differs, with graphs on and off). Every member of
   gf__ops must be reached by a case (members[]). One line per op and shape; JSON with --json. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ganforge/error.h"
#include "kit.h"

/* ------------------------------------------------------------------------------------------------
   Tolerances. Per output element i, with r the reference and t the tested value:
     err_i = |t_i - r_i| / max(|r_i|, floor),   floor = F * rms(r)   (the absolute floor near 0)
   and an output passes when max_i err_i <= rtol. NaN must meet NaN (nowhere expected but
   count_nonfinite's input). Families:
     exact        bitwise equal (data movement, selections, masks, integer counts)
     elementwise  rtol 1e-5, F = 0.1  (one or a few roundings per element)
     reduction    rtol 1e-5 * max(1, sqrt(K / 4096)) for sums of K terms, F = 1 (float32 sums
                  in any order drift by about sqrt(K) roundings of the terms' magnitude, which the
                  tensor's rms measures; elements near 0 by cancellation are judged against it)
     matrix       as reduction in fp32 (gemm, conv_lib, polyphase Winograd, direct convolutions);
                  with --tf32: rtol 5e-3, with --bf16: rtol 3e-2 (inputs rounded to 10 / 7 mantissa
                  bits, float32 accumulation: about 2^-11 / 2^-8 of the rms per element, 4 sigma)
     winograd     F(4x4, 3x3): as matrix with rtol 1e-4 in fp32 (its 6x6 transforms amplify
                  rounding about 10x over a direct sum: Lavin & Gray 2016; measured 1.6e-5 here)
   Where an output's conditioning is known per element (normalisation: y = (x - mean) rstd gamma
   + beta cancels when |x|, |mean| >> |x - mean|) the floor is also at least that magnitude,
   (|x| + |mean|) rstd |gamma| + |beta|: float32 cannot do better whatever the formula.
   ------------------------------------------------------------------------------------------------ */
enum fam { F_EXACT, F_ELEM, F_RED, F_MAT, F_WINO };
static const char *fam_name[] = {"exact", "elementwise", "reduction", "matrix", "winograd"};
#define RTOL 1e-5
#define RTOL_WINO 1e-4
#define RTOL_TF32 5e-3
#define RTOL_BF16 3e-2

#define GUARD 16               /* sentinel floats before and after every backend buffer */
#define MAXBUF 32              /* buffers of one side of one case */
#define SENTINEL (-1.2345678e33f)

typedef struct dbuf {
  const char *name;
  int kind;          /* B_IN, B_OUT, B_SCRATCH, B_HOST */
  float *base;       /* backend allocation (n + 2 GUARD floats); B_HOST: host array */
  size_t n;
  const float *init; /* B_IN: the uploaded values (checked unchanged) */
} dbuf;
enum { B_IN, B_OUT, B_SCRATCH, B_HOST };

typedef struct result {
  char name[32];
  float *v;
  size_t n;
} result;

typedef struct opstat {
  const char *op;
  int cases, failed, skipped;
  double max_err;
} opstat;

typedef struct kit {
  const gf__ops *side_ops[2]; /* [0] reference, [1] test */
  const char *side_name[2];
  const gf__ops *dbl;
  int tf32, bf16, big, quiet;
  uint64_t seed, rs;          /* rs: the input generator's state */
  const char *only;           /* comma-separated op names, or NULL */
  /* the case being run */
  const gf__ops *o;
  int side;
  dbuf b[MAXBUF];
  int nb;
  int declined, missing;
  char decline_why[200];      /* why the side declined (a setting it cannot honour), or "" */
  char fail[512];
  result res[2][MAXBUF];
  int nres[2];
  /* totals */
  int cases, passed, failed, skipped;
  opstat ops[96];
  int nops;
  FILE *json;
  int json_fail_n, json_skip_n;
  char *json_fail, *json_skip; /* JSON arrays being built */
  size_t json_fail_len, json_skip_len;
} kit;

/* ---------------------------------------------------------------- small helpers */

static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "gf_backend_ops: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "gf_backend_ops: out of host memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

static uint64_t next_u64(kit *k) { return gf_kit_splitmix(k->rs++ ^ (k->seed << 32)); }
static double unif(kit *k) { return (double)(next_u64(k) >> 11) / 9007199254740992.0; } /* [0, 1) */

static float *rnd(kit *k, size_t n, double lo, double hi) {
  float *h = xmalloc(sizeof(float) * n);
  for (size_t i = 0; i < n; i++) h[i] = (float)(lo + (hi - lo) * unif(k));
  return h;
}

/* Activation / loss inputs: 5% exact zeros, 5% large magnitudes in [10, big], the rest U(-4, 4). */
static float *rnd_mix(kit *k, size_t n, double big) {
  float *h = xmalloc(sizeof(float) * n);
  for (size_t i = 0; i < n; i++) {
    double u = unif(k);
    if (u < 0.05) h[i] = 0.0f;
    else if (u < 0.10) h[i] = (float)((unif(k) < 0.5 ? -1 : 1) * (10 + (big - 10) * unif(k)));
    else h[i] = (float)(-4 + 8 * unif(k));
  }
  return h;
}

static int op_selected(const kit *k, const char *op) {
  if (!k->only) return 1;
  size_t n = strlen(op);
  for (const char *p = k->only; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && !strncmp(p, op, n)) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

static opstat *stat_of(kit *k, const char *op) {
  for (int i = 0; i < k->nops; i++)
    if (!strcmp(k->ops[i].op, op)) return &k->ops[i];
  if (k->nops == (int)(sizeof k->ops / sizeof k->ops[0])) abort();
  opstat *s = &k->ops[k->nops++];
  memset(s, 0, sizeof *s);
  s->op = op;
  return s;
}

/* JSON string escaping into a growing buffer. */
static void jcat(char **buf, size_t *len, const char *fmt, ...) {
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof tmp) n = (int)sizeof tmp - 1;
  *buf = realloc(*buf, *len + (size_t)n + 1);
  if (!*buf) abort();
  memcpy(*buf + *len, tmp, (size_t)n + 1);
  *len += (size_t)n;
}

static void jstr(char *dst, size_t cap, const char *s) {
  size_t j = 0;
  for (; *s && j + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { dst[j++] = '\\'; dst[j++] = (char)c; }
    else if (c < 0x20) j += (size_t)snprintf(dst + j, cap - j, "\\u%04x", c);
    else dst[j++] = (char)c;
  }
  dst[j] = 0;
}

/* ---------------------------------------------------------------- buffers of the current side */

static dbuf *newbuf(kit *k, const char *name, int kind, size_t n) {
  if (k->nb == MAXBUF) abort();
  dbuf *b = &k->b[k->nb++];
  b->name = name;
  b->kind = kind;
  b->n = n;
  b->init = NULL;
  return b;
}

/* Allocates n floats + guards on the current side and uploads [sentinels, payload, sentinels]. */
static float *upload(kit *k, dbuf *b, const float *payload) {
  size_t tot = b->n + 2 * GUARD;
  float *h = xmalloc(sizeof(float) * tot);
  for (size_t i = 0; i < GUARD; i++) h[i] = h[GUARD + b->n + i] = SENTINEL;
  if (payload) memcpy(h + GUARD, payload, sizeof(float) * b->n);
  else {
    const uint32_t qnan = 0x7fc0beefu; /* poison: any element left unwritten stays NaN */
    for (size_t i = 0; i < b->n; i++) memcpy(h + GUARD + i, &qnan, 4);
  }
  b->base = k->o->alloc(sizeof(float) * tot);
  if (!b->base) {
    fprintf(stderr, "gf_backend_ops: %s: alloc of %zu bytes failed\n", k->o->name, sizeof(float) * tot);
    exit(1);
  }
  k->o->to_device(b->base, h, sizeof(float) * tot);
  free(h);
  return b->base + GUARD;
}

/* An input of n floats (must come back unchanged). */
static float *IN(kit *k, const char *name, const float *h, size_t n) {
  dbuf *b = newbuf(k, name, B_IN, n);
  b->init = h;
  return upload(k, b, h);
}
/* An output: init NULL = written by the op (poisoned with NaN first), else accumulated into. */
static float *OUT(kit *k, const char *name, const float *init, size_t n) {
  return upload(k, newbuf(k, name, B_OUT, n), init);
}
/* Work space: not compared, but its guards are checked. */
static float *SCRATCH(kit *k, size_t n) { return upload(k, newbuf(k, "ws", B_SCRATCH, n), NULL); }
/* Work space that starts with init (e.g. valid indices: never read as garbage by a faulty backend). */
static float *SCRATCH_INIT(kit *k, const float *init, size_t n) { return upload(k, newbuf(k, "ws", B_SCRATCH, n), init); }
/* A host output (what an op returns or a case reads back on the host), poisoned with NaN. */
static float *HOST(kit *k, const char *name, size_t n) {
  dbuf *b = newbuf(k, name, B_HOST, n);
  b->base = xmalloc(sizeof(float) * n);
  const uint32_t qnan = 0x7fc0beefu;
  for (size_t i = 0; i < n; i++) memcpy(b->base + i, &qnan, 4);
  return b->base;
}
/* The losses' statistics and count_nonfinite's count: small buffers in backend memory that the
   ops ACCUMULATE into (+=), starting from init (non-zero, so that = for += is caught). */
static float *STATS(kit *k, const char *name, const float *init, size_t n) { return OUT(k, name, init, n); }
/* A host scalar result (a status an op returns). */
static void HVAL(kit *k, const char *name, double v) { HOST(k, name, 1)[0] = (float)v; }

static int same_bits(float a, float b) { return !memcmp(&a, &b, sizeof a); }

/* Downloads the outputs of the current side into k->res, checks guards and inputs, frees all. */
static void side_collect(kit *k) {
  k->o->sync();
  int s = k->side;
  k->nres[s] = 0;
  for (int i = 0; i < k->nb; i++) {
    dbuf *b = &k->b[i];
    if (b->kind == B_HOST) {
      result *r = &k->res[s][k->nres[s]++];
      snprintf(r->name, sizeof r->name, "%s", b->name);
      r->v = b->base;
      r->n = b->n;
      continue;
    }
    size_t tot = b->n + 2 * GUARD;
    float *h = xmalloc(sizeof(float) * tot);
    k->o->to_host(h, b->base, sizeof(float) * tot);
    k->o->free(b->base);
    for (size_t j = 0; j < GUARD && !k->fail[0]; j++)
      if (!same_bits(h[j], SENTINEL) || !same_bits(h[GUARD + b->n + j], SENTINEL))
        snprintf(k->fail, sizeof k->fail, "%s wrote outside %s[%zu] (%s the buffer)", k->side_name[s], b->name, b->n,
                 same_bits(h[j], SENTINEL) ? "after" : "before");
    if (b->kind == B_IN) {
      for (size_t j = 0; j < b->n && !k->fail[0]; j++)
        if (!same_bits(h[GUARD + j], b->init[j]))
          snprintf(k->fail, sizeof k->fail, "%s changed its input %s at [%zu]: %.9g -> %.9g", k->side_name[s], b->name, j,
                   b->init[j], h[GUARD + j]);
      free(h);
    } else if (b->kind == B_OUT) {
      result *r = &k->res[s][k->nres[s]++];
      snprintf(r->name, sizeof r->name, "%s", b->name);
      r->v = h;
      memmove(h, h + GUARD, sizeof(float) * b->n);
      r->n = b->n;
    } else {
      free(h);
    }
  }
  k->nb = 0;
}

static void free_results(kit *k) {
  for (int s = 0; s < 2; s++) {
    for (int i = 0; i < k->nres[s]; i++) free(k->res[s][i].v);
    k->nres[s] = 0;
  }
}

/* ---------------------------------------------------------------- comparing */

typedef struct cmp {
  double err;    /* max over elements */
  size_t at, bad, nan_bad;
  float t, r;
} cmp;

static double tol_of(const kit *k, int fam, double K, double over) {
  if (fam == F_EXACT) return 0;
  if ((fam == F_MAT || fam == F_WINO) && over > 0) return over;
  if ((fam == F_MAT || fam == F_WINO) && k->bf16) return RTOL_BF16;
  if ((fam == F_MAT || fam == F_WINO) && k->tf32) return RTOL_TF32;
  if (fam == F_ELEM) return RTOL;
  return (fam == F_WINO ? RTOL_WINO : RTOL) * (K > 4096 ? sqrt(K / 4096) : 1.0);
}

/* cond (may be NULL): a per-element lower bound of the floor (the magnitude of the terms). */
static cmp compare(const float *t, const float *r, const float *cond, size_t n, int fam, double tol) {
  cmp c = {0, 0, 0, 0, 0, 0};
  double ss = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(r[i])) ss += (double)r[i] * r[i];
  double floor = (fam == F_ELEM ? 0.1 : 1.0) * sqrt(ss / (double)(n ? n : 1)) + 1e-30;
  for (size_t i = 0; i < n; i++) {
    double e;
    if (fam == F_EXACT) e = same_bits(t[i], r[i]) || (isnan(t[i]) && isnan(r[i])) ? 0 : INFINITY;
    else if (isnan(t[i]) || isnan(r[i])) e = isnan(t[i]) && isnan(r[i]) ? 0 : INFINITY;
    else if (isinf(t[i]) || isinf(r[i])) e = t[i] == r[i] ? 0 : INFINITY;
    else e = fabs((double)t[i] - r[i]) / fmax(fabs((double)r[i]), cond ? fmax(floor, cond[i]) : floor);
    if (e > tol) {
      c.bad++;
      if (isnan(t[i]) && !isnan(r[i])) c.nan_bad++;
    }
    if (e > c.err || (i == 0 && e == 0)) { c.err = e; c.at = i; c.t = t[i]; c.r = r[i]; }
  }
  return c;
}

/* ---------------------------------------------------------------- running one case */

typedef struct ctx {
  float *h[10];    /* host inputs */
  size_t n[10];
  int i[24];       /* integer parameters */
  float f[8];      /* float parameters */
  uint64_t u[4];
  gf__conv_geom g;
  int fam;         /* comparison family of the outputs */
  int fam_of[8];   /* per output (by order), -1: use fam */
  float *cond[8];  /* per output (by order): per-element floor magnitudes, or NULL */
  double K;        /* reduction length (reduction / matrix families) */
  double tol;      /* > 0: the matrix / winograd families' rtol for this case (a precision setting) */
  int calls;       /* ops that accumulate: how many times the body calls them (0 = 1) */
} ctx;

typedef void (*body_fn)(kit *k, const gf__ops *o, ctx *c);

static int has_fn(const gf__ops *o, size_t off) {
  void (*fp)(void);
  memcpy(&fp, (const char *)o + off, sizeof fp);
  return fp != NULL;
}

static void record_fail(kit *k, const char *op, const char *shape, const char *what) {
  char a[256], b[256], c[640];
  jstr(a, sizeof a, op);
  jstr(b, sizeof b, shape);
  jstr(c, sizeof c, what);
  jcat(&k->json_fail, &k->json_fail_len, "%s\n    {\"op\": \"%s\", \"case\": \"%s\", \"detail\": \"%s\"}",
       k->json_fail_n++ ? "," : "", a, b, c);
}

static void record_skip(kit *k, const char *op, const char *shape, const char *why) {
  char a[256], b[256], c[640];
  jstr(a, sizeof a, op);
  jstr(b, sizeof b, shape);
  jstr(c, sizeof c, why);
  jcat(&k->json_skip, &k->json_skip_len, "%s\n    {\"op\": \"%s\", \"case\": \"%s\", \"why\": \"%s\"}",
       k->json_skip_n++ ? "," : "", a, b, c);
}

/* Runs body on the reference then the test side and compares every output. opt: the op may be
   NULL in a backend (ops.h: "may be NULL"); off: its offsetof in gf__ops (or (size_t)-1). */
static void run_case(kit *k, const char *op, size_t off, int opt, ctx *c, body_fn body, const char *fmt, ...) {
  if (!op_selected(k, op)) return;
  char shape[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(shape, sizeof shape, fmt, ap);
  va_end(ap);
  opstat *st = stat_of(k, op);
  st->cases++;
  k->cases++;
  k->fail[0] = 0;
  const char *refname = k->side_name[0];
  char note[160] = "";
  for (int s = 0; s < 2; s++) {
    k->side = s;
    k->o = k->side_ops[s];
    if (off != (size_t)-1 && !has_fn(k->o, off)) {
      if (s == 1) {
        free_results(k);
        if (opt) {
          char why[160];
          snprintf(why, sizeof why, "%s does not provide it (optional op)", k->side_name[1]);
          if (!k->quiet) printf("  skip %-16s %-44s %s\n", op, shape, why);
          record_skip(k, op, shape, why);
          st->skipped++;
          k->skipped++;
          return;
        }
        snprintf(k->fail, sizeof k->fail, "%s does not provide this required op", k->side_name[1]);
        break;
      }
      k->o = k->dbl; /* the reference backend lacks an optional op: the double reference stands in */
      refname = "double";
      snprintf(note, sizeof note, " (ref: double; %s lacks it)", k->side_name[0]);
    }
    k->declined = 0;
    k->decline_why[0] = 0;
    body(k, k->o, c);
    side_collect(k);
    if (k->declined && s == 0 && k->o != k->dbl) { /* the reference library declined: use double */
      for (int i = 0; i < k->nres[0]; i++) free(k->res[0][i].v);
      k->o = k->dbl;
      refname = "double";
      snprintf(note, sizeof note, " (ref: double; %s declined)", k->side_name[0]);
      k->declined = 0;
      body(k, k->o, c);
      side_collect(k);
    }
    if (k->declined && s == 1) {
      free_results(k);
      char why[320];
      if (k->decline_why[0]) snprintf(why, sizeof why, "%s declined: %s", k->side_name[1], k->decline_why);
      else snprintf(why, sizeof why, "%s declined this geometry (allowed: the caller lowers the pass)", k->side_name[1]);
      if (!k->quiet) printf("  skip %-16s %-44s %s\n", op, shape, why);
      record_skip(k, op, shape, why);
      st->skipped++;
      k->skipped++;
      return;
    }
  }
  char line[1024];
  size_t used = 0;
  double worst = 0;
  if (!k->fail[0] && k->nres[0] != k->nres[1])
    snprintf(k->fail, sizeof k->fail, "%d outputs on the reference, %d on the test side", k->nres[0], k->nres[1]);
  for (int i = 0; i < k->nres[0] && !k->fail[0]; i++) {
    result *r = &k->res[0][i], *t = &k->res[1][i];
    int fam = i < 8 && c->fam_of[i] >= 0 ? c->fam_of[i] : c->fam;
    double tol = tol_of(k, fam, c->K, c->tol);
    cmp m = compare(t->v, r->v, i < 8 ? c->cond[i] : NULL, r->n, fam, tol);
    if (m.err > worst) worst = m.err;
    if (m.bad) {
      snprintf(k->fail, sizeof k->fail,
               "%s: %zu of %zu elements off (%s, tol %.1e)%s; worst [%zu] %s %.9g vs %s %.9g (err %.3g)", r->name,
               m.bad, r->n, fam_name[fam], tol, m.nan_bad ? ", unwritten (NaN) elements" : "", m.at, k->side_name[1],
               m.t, refname, m.r, m.err);
      break;
    }
    used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %.1e", used ? ", " : "", r->name, m.err);
    if (used >= sizeof line) used = sizeof line - 1;
  }
  if (worst > st->max_err && isfinite(worst)) st->max_err = worst;
  if (k->fail[0]) {
    if (!k->quiet) printf("  FAIL %-16s %-44s %s%s\n", op, shape, k->fail, note);
    char full[900];
    snprintf(full, sizeof full, "%s%s", k->fail, note);
    record_fail(k, op, shape, full);
    st->failed++;
    k->failed++;
  } else {
    if (!k->quiet) printf("  ok   %-16s %-44s %s%s\n", op, shape, line, note);
    k->passed++;
  }
  free_results(k);
}

#define OFF(m) offsetof(gf__ops, m)
#define NOOFF ((size_t)-1)

static void ctx_init(ctx *c, int fam) {
  memset(c, 0, sizeof *c);
  c->fam = fam;
  for (int i = 0; i < 8; i++) c->fam_of[i] = -1;
}
static void ctx_free(ctx *c) {
  for (int i = 0; i < 10; i++) free(c->h[i]);
  for (int i = 0; i < 8; i++) free(c->cond[i]);
  memset(c->h, 0, sizeof c->h);
  memset(c->cond, 0, sizeof c->cond);
}

/* ================================================================ the cases */

/* ---- memory ---- */

static void b_alloc(kit *k, const gf__ops *o, ctx *c) {
  size_t bytes = (size_t)c->i[0];
  float *p = o->alloc(bytes);
  float *h = HOST(k, "zeroed", bytes / 4);
  if (!p) { snprintf(k->fail, sizeof k->fail, "%s: alloc(%zu) returned NULL", o->name, bytes); return; }
  o->to_host(h, p, bytes / 4 * 4);
  o->free(p);
}

static void b_roundtrip(kit *k, const gf__ops *o, ctx *c) {
  size_t bytes = (size_t)c->i[0];
  unsigned char *p = o->alloc(bytes + 64);
  float *h = HOST(k, "bytes", (bytes + 3) / 4);
  memset(h, 0, (bytes + 3) / 4 * 4);
  o->to_device(p + 1, c->h[0], bytes); /* odd offset and odd count */
  o->to_host(h, p + 1, bytes);
  o->free(p);
}

static void b_copy(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", NULL, c->n[0]);
  o->copy(y, IN(k, "x", c->h[0], c->n[0]), c->n[0]);
}

static void b_fill(kit *k, const gf__ops *o, ctx *c) { o->fill(OUT(k, "x", NULL, c->n[0]), c->f[0], c->n[0]); }

static void cases_memory(kit *k) {
  ctx c;
  for (int t = 0; t < 3; t++) {
    static const int bytes[] = {4, 4000, 1 << 22};
    ctx_init(&c, F_EXACT);
    c.i[0] = bytes[t];
    run_case(k, "alloc", OFF(alloc), 0, &c, b_alloc, "bytes=%d (zeroed; freed)", bytes[t]);
  }
  for (int t = 0; t < 3; t++) {
    static const int bytes[] = {1, 13, 4099};
    ctx_init(&c, F_EXACT);
    c.i[0] = bytes[t];
    c.h[0] = rnd(k, (size_t)bytes[t] / 4 + 1, -1, 1);
    run_case(k, "to_device/host", OFF(to_device), 0, &c, b_roundtrip, "bytes=%d at an odd address", bytes[t]);
    ctx_free(&c);
  }
  static const size_t ns[] = {1, 17, 40001};
  for (int t = 0; t < 3; t++) {
    ctx_init(&c, F_EXACT);
    c.n[0] = ns[t];
    c.h[0] = rnd(k, ns[t], -1, 1);
    run_case(k, "copy", OFF(copy), 0, &c, b_copy, "n=%zu", ns[t]);
    ctx_free(&c);
    static const float vs[] = {0.0f, 1.5f, -2.25f};
    ctx_init(&c, F_EXACT);
    c.n[0] = ns[t];
    c.f[0] = vs[t];
    run_case(k, "fill", OFF(fill), 0, &c, b_fill, "n=%zu v=%g", ns[t], vs[t]);
  }
}

/* ---- gemm ---- */

static void b_gemm(kit *k, const gf__ops *o, ctx *c) {
  int ta = c->i[0], tb = c->i[1], M = c->i[2], N = c->i[3], K = c->i[4], lda = c->i[5], ldb = c->i[6], ldc = c->i[7];
  const float *A = IN(k, "A", c->h[0], c->n[0]), *B = IN(k, "B", c->h[1], c->n[1]);
  float *C = OUT(k, "C", c->f[1] == 0.0f ? NULL : c->h[2], c->n[2]); /* beta 0: C poisoned, must not be read */
  o->gemm(ta, tb, M, N, K, c->f[0], A, lda, B, ldb, c->f[1], C, ldc);
}

static void one_gemm(kit *k, int ta, int tb, int M, int N, int K, float alpha, float beta, int pad) {
  ctx c;
  ctx_init(&c, F_MAT);
  int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
  c.i[0] = ta; c.i[1] = tb; c.i[2] = M; c.i[3] = N; c.i[4] = K; c.i[5] = lda; c.i[6] = ldb; c.i[7] = ldc;
  c.f[0] = alpha;
  c.f[1] = beta;
  c.n[0] = (size_t)ar * lda;
  c.n[1] = (size_t)br * ldb;
  c.n[2] = (size_t)M * ldc;
  c.h[0] = rnd(k, c.n[0], -1, 1);
  c.h[1] = rnd(k, c.n[1], -1, 1);
  c.h[2] = rnd(k, c.n[2], -1, 1);
  c.K = K;
  run_case(k, "gemm", OFF(gemm), 0, &c, b_gemm, "%c%c M=%d N=%d K=%d a=%g b=%g%s", ta ? 'T' : 'N', tb ? 'T' : 'N',
           M, N, K, alpha, beta, pad ? " ld+3" : "");
  ctx_free(&c);
}

static void cases_gemm(kit *k) {
  static const int shp[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {64, 784, 128}, {128, 96, 300}, {256, 64, 2304},
                               {8, 16, 16384}};
  static const float ab[][2] = {{1, 0}, {0.5f, 1}, {-1.25f, 0.5f}};
  int r = 0;
  for (size_t s = 0; s < sizeof shp / sizeof shp[0]; s++)
    for (int t = 0; t < 4; t++, r++)
      one_gemm(k, t >> 1, t & 1, shp[s][0], shp[s][1], shp[s][2], ab[r % 3][0], ab[r % 3][1], s == 2 && t == 1);
  if (k->big) {
    one_gemm(k, 0, 1, 1024, 1024, 1024, 1, 0, 0);
    one_gemm(k, 1, 0, 784, 1024, 64, 1, 1, 0);
    one_gemm(k, 0, 0, 256, 4096, 2304, 1, 0, 0);
    one_gemm(k, 0, 1, 128, 2304, 65536, 1, 1, 0); /* a weight gradient over batch x positions */
  }
}

/* ---- vector ops ---- */

static void b_axpy(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", c->h[1], c->n[0]);
  o->axpy(y, c->f[0], IN(k, "x", c->h[0], c->n[0]), c->n[0]);
}
static void b_scale(kit *k, const gf__ops *o, ctx *c) { o->scale(OUT(k, "x", c->h[0], c->n[0]), c->f[0], c->n[0]); }
static void b_mul_bwd(kit *k, const gf__ops *o, ctx *c) {
  float *dx = OUT(k, "dx", c->h[2], c->n[0]);
  o->mul_bwd(dx, IN(k, "dy", c->h[0], c->n[0]), IN(k, "mask", c->h[1], c->n[0]), c->n[0]);
}

static void cases_vector(kit *k) {
  static const size_t ns[] = {1, 7, 1000, 40001};
  ctx c;
  for (int t = 0; t < 4; t++) {
    ctx_init(&c, F_ELEM);
    c.n[0] = ns[t];
    c.f[0] = t % 2 ? -1.5f : 0.75f;
    c.h[0] = rnd(k, ns[t], -1, 1);
    c.h[1] = rnd(k, ns[t], -1, 1);
    run_case(k, "axpy", OFF(axpy), 0, &c, b_axpy, "n=%zu a=%g", ns[t], c.f[0]);
    run_case(k, "scale", OFF(scale), 0, &c, b_scale, "n=%zu a=%g", ns[t], c.f[0]);
    ctx_free(&c);
    ctx_init(&c, F_ELEM);
    c.n[0] = ns[t];
    c.h[0] = rnd(k, ns[t], -1, 1);
    c.h[1] = rnd(k, ns[t], 0, 1);
    for (size_t i = 0; i < ns[t]; i++) c.h[1][i] = c.h[1][i] < 0.3f ? 0.0f : 2.0f; /* a dropout mask */
    c.h[2] = rnd(k, ns[t], -1, 1);
    run_case(k, "mul_bwd", OFF(mul_bwd), 0, &c, b_mul_bwd, "n=%zu", ns[t]);
    ctx_free(&c);
  }
}

/* ---- bias ---- */

static void b_bias_fwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2];
  float *y = OUT(k, "y", c->h[0], c->n[0]);
  o->bias_fwd(y, IN(k, "b", c->h[1], (size_t)C), N, C, S);
}
static void b_bias_bwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2];
  float *db = OUT(k, "db", c->h[1], (size_t)C);
  o->bias_bwd(db, IN(k, "dy", c->h[0], c->n[0]), N, C, S);
}

static void cases_bias(kit *k) {
  static const int shp[][3] = {{1, 1, 1}, {3, 5, 7}, {64, 128, 1}, {8, 64, 256}, {2, 3, 40000}, {64, 3, 4096}};
  ctx c;
  for (size_t s = 0; s < sizeof shp / sizeof shp[0]; s++) {
    ctx_init(&c, F_ELEM);
    c.i[0] = shp[s][0]; c.i[1] = shp[s][1]; c.i[2] = shp[s][2];
    c.n[0] = (size_t)shp[s][0] * shp[s][1] * shp[s][2];
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = rnd(k, (size_t)shp[s][1], -1, 1);
    run_case(k, "bias_fwd", OFF(bias_fwd), 0, &c, b_bias_fwd, "N=%d C=%d S=%d", shp[s][0], shp[s][1], shp[s][2]);
    c.fam = F_RED;
    c.K = (double)shp[s][0] * shp[s][2];
    run_case(k, "bias_bwd", OFF(bias_bwd), 0, &c, b_bias_bwd, "N=%d C=%d S=%d", shp[s][0], shp[s][1], shp[s][2]);
    ctx_free(&c);
  }
}

/* ---- activations ---- */

static const char *act_name[] = {"relu", "leaky_relu", "tanh", "sigmoid"};

static void b_act_fwd(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", NULL, c->n[0]);
  o->act_fwd((gf__act)c->i[0], y, IN(k, "x", c->h[0], c->n[0]), c->n[0], c->f[0]);
}
static void b_act_fwd_inplace(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", c->h[0], c->n[0]); /* y aliases x: layers run activations in place */
  o->act_fwd((gf__act)c->i[0], y, y, c->n[0], c->f[0]);
}
static void b_act_bwd(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *dx = OUT(k, "dx", c->h[3], n);
  o->act_bwd((gf__act)c->i[0], dx, IN(k, "x", c->h[0], n), IN(k, "y", c->h[1], n), IN(k, "dy", c->h[2], n), n, c->f[0]);
}

static void cases_act(kit *k) {
  static const size_t ns[] = {1, 1000, 40001};
  ctx c;
  for (int a = 0; a < 4; a++)
    for (int t = 0; t < 3; t++) {
      size_t n = ns[t];
      ctx_init(&c, a < 2 ? F_EXACT : F_ELEM);
      c.i[0] = a;
      c.f[0] = a == 1 ? 0.2f : 0.0f;
      c.n[0] = n;
      c.h[0] = rnd_mix(k, n, 90);
      run_case(k, "act_fwd", OFF(act_fwd), 0, &c, b_act_fwd, "%s n=%zu", act_name[a], n);
      if (t == 1) run_case(k, "act_fwd", OFF(act_fwd), 0, &c, b_act_fwd_inplace, "%s n=%zu in place", act_name[a], n);
      c.h[1] = xmalloc(sizeof(float) * n);
      k->dbl->act_fwd((gf__act)a, c.h[1], c.h[0], n, c.f[0]);
      c.h[2] = rnd(k, n, -1, 1);
      c.h[3] = rnd(k, n, -1, 1);
      c.fam = F_ELEM;
      run_case(k, "act_bwd", OFF(act_bwd), 0, &c, b_act_bwd, "%s n=%zu", act_name[a], n);
      ctx_free(&c);
    }
}

/* ---- normalisation ---- */

static void b_norm_train(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], aff = c->i[3], run = c->i[4];
  size_t n = c->n[0];
  float *y = OUT(k, "y", NULL, n), *mean = OUT(k, "mean", NULL, (size_t)C), *rstd = OUT(k, "rstd", NULL, (size_t)C);
  float *rm = run ? OUT(k, "run_mean", c->h[3], (size_t)C) : NULL, *rv = run ? OUT(k, "run_var", c->h[4], (size_t)C) : NULL;
  const float *x = IN(k, "x", c->h[0], n);
  const float *g = aff ? IN(k, "gamma", c->h[1], (size_t)C) : NULL, *b = aff ? IN(k, "beta", c->h[2], (size_t)C) : NULL;
  o->norm_fwd_train(y, mean, rstd, x, g, b, rm, rv, N, C, S, 1e-5f, 0.1f);
}

static void b_norm_eval(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], aff = c->i[3];
  size_t n = c->n[0];
  float *y = OUT(k, "y", NULL, n);
  const float *x = IN(k, "x", c->h[0], n);
  const float *g = aff ? IN(k, "gamma", c->h[1], (size_t)C) : NULL, *b = aff ? IN(k, "beta", c->h[2], (size_t)C) : NULL;
  o->norm_fwd_eval(y, x, g, b, IN(k, "run_mean", c->h[3], (size_t)C), IN(k, "run_var", c->h[4], (size_t)C), N, C, S,
                   1e-5f);
}

static void b_norm_bwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], aff = c->i[3], want_dx = c->i[5], want_dgb = c->i[6];
  size_t n = c->n[0];
  float *dx = want_dx ? OUT(k, "dx", c->h[7], n) : NULL;
  float *dg = want_dgb ? OUT(k, "dgamma", c->h[8], (size_t)C) : NULL;
  float *db = want_dgb ? OUT(k, "dbeta", c->h[9], (size_t)C) : NULL;
  o->norm_bwd(dx, dg, db, IN(k, "dy", c->h[6], n), IN(k, "x", c->h[0], n), IN(k, "mean", c->h[3], (size_t)C),
              IN(k, "rstd", c->h[4], (size_t)C), aff ? IN(k, "gamma", c->h[1], (size_t)C) : NULL, N, C, S);
}

static void cases_norm(kit *k) {
  static const int shp[][3] = {{1, 3, 1}, {7, 5, 1}, {64, 256, 1}, {2, 600, 1}, {16, 32, 49}, {1, 128, 1024},
                               {3, 4, 40000}, {2, 1100, 1}};
  ctx c;
  for (size_t s = 0; s < sizeof shp / sizeof shp[0]; s++) {
    int N = shp[s][0], C = shp[s][1], S = shp[s][2];
    size_t n = (size_t)N * C * S;
    ctx_init(&c, F_RED);
    c.i[0] = N; c.i[1] = C; c.i[2] = S;
    c.i[3] = s % 2 == 0; /* affine */
    c.i[4] = s % 3 != 2; /* running statistics */
    c.n[0] = n;
    c.K = (double)N * S;
    c.h[0] = rnd(k, n, -2, 3);
    if (s == 4) /* a constant channel: variance exactly 0 */
      for (int b = 0; b < N; b++)
        for (int j = 0; j < S; j++) c.h[0][((size_t)b * C) * S + j] = 0.5f;
    c.h[1] = rnd(k, (size_t)C, 0.5, 1.5);
    c.h[2] = rnd(k, (size_t)C, -0.5, 0.5);
    c.h[3] = rnd(k, (size_t)C, -0.5, 0.5); /* running mean (train: updated; eval: used) */
    c.h[4] = rnd(k, (size_t)C, 0.5, 2);    /* running var */
    /* y's conditioning: (|x| + |mean|) rstd |gamma| + |beta|, with the batch statistics ... */
    float *mu = xmalloc(sizeof(float) * (size_t)C), *rs = xmalloc(sizeof(float) * (size_t)C);
    float *y = xmalloc(sizeof(float) * n);
    k->dbl->norm_fwd_train(y, mu, rs, c.h[0], NULL, NULL, NULL, NULL, N, C, S, 1e-5f, 0.1f);
    c.cond[0] = xmalloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
      int ch = (int)(i / (size_t)S % (size_t)C);
      c.cond[0][i] = (fabsf(c.h[0][i]) + fabsf(mu[ch])) * rs[ch] * (c.i[3] ? fabsf(c.h[1][ch]) : 1.0f) +
                     (c.i[3] ? fabsf(c.h[2][ch]) : 0.0f);
    }
    run_case(k, "norm_fwd_train", OFF(norm_fwd_train), 0, &c, b_norm_train, "N=%d C=%d S=%d%s%s%s", N, C, S,
             c.i[3] ? " affine" : "", c.i[4] ? " running" : "", s == 4 ? " const-channel" : "");
    c.fam = F_ELEM;
    for (size_t i = 0; i < n; i++) { /* ... and with the running ones */
      int ch = (int)(i / (size_t)S % (size_t)C);
      c.cond[0][i] = (fabsf(c.h[0][i]) + fabsf(c.h[3][ch])) / sqrtf(c.h[4][ch] + 1e-5f) *
                     (c.i[3] ? fabsf(c.h[1][ch]) : 1.0f) + (c.i[3] ? fabsf(c.h[2][ch]) : 0.0f);
    }
    run_case(k, "norm_fwd_eval", OFF(norm_fwd_eval), 0, &c, b_norm_eval, "N=%d C=%d S=%d%s", N, C, S,
             c.i[3] ? " affine" : "");
    /* the backward pass with the statistics of x (as a forward pass saved them) */
    free(y);
    free(c.h[3]);
    free(c.h[4]);
    c.h[3] = mu;
    c.h[4] = rs;
    free(c.cond[0]);
    c.cond[0] = NULL;
    c.h[6] = rnd(k, n, -1, 1);
    c.h[7] = rnd(k, n, -1, 1);
    c.h[8] = rnd(k, (size_t)C, -1, 1);
    c.h[9] = rnd(k, (size_t)C, -1, 1);
    c.i[5] = s != 1; /* dx (NULL once) */
    c.i[6] = s % 3 != 1;
    c.fam = F_RED;
    run_case(k, "norm_bwd", OFF(norm_bwd), 0, &c, b_norm_bwd, "N=%d C=%d S=%d%s%s%s", N, C, S, c.i[3] ? " gamma" : "",
             c.i[5] ? "" : " dx=NULL", c.i[6] ? " dgamma+dbeta" : "");
    ctx_free(&c);
  }
}

/* ---- BatchNorm over the ranks of a data-parallel job (train.sync_bn): count = 2 N S, as two
   ranks of this shape contribute ---- */

static void b_norm_sums(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2];
  float *sums = OUT(k, "sums", NULL, (size_t)C);
  o->norm_sums(sums, IN(k, "x", c->h[0], c->n[0]), c->i[3] ? IN(k, "mean", c->h[1], (size_t)C) : NULL, N, C, S);
}

static void b_norm_fwd_sync(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], aff = c->i[3], run = c->i[4];
  size_t n = c->n[0];
  float *y = OUT(k, "y", NULL, n), *rstd = OUT(k, "rstd", c->h[2], (size_t)C); /* in: the global sums */
  float *rm = run ? OUT(k, "run_mean", c->h[5], (size_t)C) : NULL, *rv = run ? OUT(k, "run_var", c->h[6], (size_t)C) : NULL;
  float *mean = IN(k, "mean", c->h[1], (size_t)C);
  const float *g = aff ? IN(k, "gamma", c->h[3], (size_t)C) : NULL, *b = aff ? IN(k, "beta", c->h[4], (size_t)C) : NULL;
  o->norm_fwd_sync(y, mean, rstd, IN(k, "x", c->h[0], n), g, b, rm, rv, N, C, S, 2.0 * N * S, 1e-5f, 0.1f);
}

static void b_norm_bwd_sums(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2];
  size_t n = c->n[0];
  float *sums = OUT(k, "sums", NULL, 2 * (size_t)C);
  o->norm_bwd_sums(sums, IN(k, "dy", c->h[7], n), IN(k, "x", c->h[0], n), IN(k, "mean", c->h[1], (size_t)C),
                   IN(k, "rstd", c->h[2], (size_t)C), N, C, S);
}

static void b_norm_bwd_sync(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], aff = c->i[3];
  size_t n = c->n[0];
  float *dx = OUT(k, "dx", c->h[8], n);
  o->norm_bwd_sync(dx, IN(k, "dy", c->h[7], n), IN(k, "x", c->h[0], n), IN(k, "mean", c->h[1], (size_t)C),
                   IN(k, "rstd", c->h[2], (size_t)C), aff ? IN(k, "gamma", c->h[3], (size_t)C) : NULL,
                   IN(k, "sums", c->h[9], 2 * (size_t)C), 2.0 * N * S, N, C, S);
}

static void cases_norm_sync(kit *k) {
  static const int shp[][3] = {{1, 3, 1}, {7, 5, 1}, {64, 256, 1}, {16, 32, 49}, {1, 128, 1024}, {3, 4, 40000},
                               {2, 1100, 1}};
  ctx c;
  for (size_t s = 0; s < sizeof shp / sizeof shp[0]; s++) {
    int N = shp[s][0], C = shp[s][1], S = shp[s][2];
    size_t n = (size_t)N * C * S;
    double count = 2.0 * N * S;
    ctx_init(&c, F_RED);
    c.i[0] = N; c.i[1] = C; c.i[2] = S;
    c.i[3] = s % 2 == 0; /* affine; for norm_sums: deviations from the mean */
    c.i[4] = s % 3 != 2; /* running statistics */
    c.n[0] = n;
    c.K = (double)N * S;
    c.h[0] = rnd(k, n, -2, 3);
    if (s == 3) /* a constant channel: no deviation at all */
      for (int b = 0; b < N; b++)
        for (int j = 0; j < S; j++) c.h[0][((size_t)b * C) * S + j] = 0.5f;
    /* this rank's statistics stand in for the global ones (mean; rstd for the backward) */
    float *y = xmalloc(sizeof(float) * n);
    c.h[1] = xmalloc(sizeof(float) * (size_t)C);
    float *rs = xmalloc(sizeof(float) * (size_t)C);
    k->dbl->norm_fwd_train(y, c.h[1], rs, c.h[0], NULL, NULL, NULL, NULL, N, C, S, 1e-5f, 0.1f);
    free(y);
    run_case(k, "norm_sums", OFF(norm_sums), 0, &c, b_norm_sums, "N=%d C=%d S=%d %s", N, C, S,
             c.i[3] ? "(x - mean)^2" : "x");
    /* forward: rstd holds the global sum of squared deviations on entry (2 ranks' worth) */
    c.h[2] = xmalloc(sizeof(float) * (size_t)C);
    k->dbl->norm_sums(c.h[2], c.h[0], c.h[1], N, C, S);
    for (int ch = 0; ch < C; ch++) c.h[2][ch] *= 2.0f;
    c.h[3] = rnd(k, (size_t)C, 0.5, 1.5);
    c.h[4] = rnd(k, (size_t)C, -0.5, 0.5);
    c.h[5] = rnd(k, (size_t)C, -0.5, 0.5);
    c.h[6] = rnd(k, (size_t)C, 0.5, 2);
    c.fam = F_ELEM;
    c.cond[0] = xmalloc(sizeof(float) * n); /* y: (|x| + |mean|) rstd |gamma| + |beta| */
    for (size_t i = 0; i < n; i++) {
      int ch = (int)(i / (size_t)S % (size_t)C);
      c.cond[0][i] = (fabsf(c.h[0][i]) + fabsf(c.h[1][ch])) * rs[ch] * (c.i[3] ? fabsf(c.h[3][ch]) : 1.0f) +
                     (c.i[3] ? fabsf(c.h[4][ch]) : 0.0f);
    }
    run_case(k, "norm_fwd_sync", OFF(norm_fwd_sync), 0, &c, b_norm_fwd_sync, "N=%d C=%d S=%d count=%g%s%s", N, C, S,
             count, c.i[3] ? " affine" : "", c.i[4] ? " running" : "");
    /* backward with the statistics of x */
    memcpy(c.h[2], rs, sizeof(float) * (size_t)C);
    free(rs);
    c.h[7] = rnd(k, n, -1, 1);
    c.fam = F_RED;
    free(c.cond[0]);
    c.cond[0] = NULL;
    run_case(k, "norm_bwd_sums", OFF(norm_bwd_sums), 0, &c, b_norm_bwd_sums, "N=%d C=%d S=%d", N, C, S);
    /* dx from sums of all ranks: sum dy / count and sum dy xhat / count in (-0.5, 0.5) */
    c.h[8] = rnd(k, n, -1, 1);
    c.h[9] = rnd(k, 2 * (size_t)C, -0.5 * count, 0.5 * count);
    c.fam = F_ELEM;
    c.cond[0] = xmalloc(sizeof(float) * n); /* |dx| + gamma rstd (|dy| + |a| + (|x| + |mean|) rstd |b|) */
    for (size_t i = 0; i < n; i++) {
      int ch = (int)(i / (size_t)S % (size_t)C);
      float r = c.h[2][ch], g = (c.i[3] ? fabsf(c.h[3][ch]) : 1.0f) * r;
      c.cond[0][i] = fabsf(c.h[8][i]) + g * (fabsf(c.h[7][i]) + fabsf(c.h[9][ch]) / (float)count +
                                             (fabsf(c.h[0][i]) + fabsf(c.h[1][ch])) * r * fabsf(c.h[9][C + ch]) / (float)count);
    }
    run_case(k, "norm_bwd_sync", OFF(norm_bwd_sync), 0, &c, b_norm_bwd_sync, "N=%d C=%d S=%d count=%g%s", N, C, S, count,
             c.i[3] ? " gamma" : "");
    ctx_free(&c);
  }
}

/* ---- maxout, dropout ---- */

static void b_maxout_fwd(kit *k, const gf__ops *o, ctx *c) {
  size_t nu = (size_t)c->i[0] * c->i[1];
  float *y = OUT(k, "y", NULL, nu), *am = OUT(k, "argmax", NULL, nu);
  o->maxout_fwd(y, am, IN(k, "x", c->h[0], c->n[0]), c->i[0], c->i[1], c->i[2]);
}
static void b_maxout_bwd(kit *k, const gf__ops *o, ctx *c) {
  size_t nu = (size_t)c->i[0] * c->i[1];
  float *dx = OUT(k, "dx", c->h[3], c->n[0]);
  o->maxout_bwd(dx, IN(k, "dy", c->h[2], nu), IN(k, "argmax", c->h[1], nu), c->i[0], c->i[1], c->i[2]);
}

static void cases_maxout(kit *k) {
  static const int shp[][3] = {{1, 1, 1}, {7, 13, 5}, {64, 240, 5}, {100, 200, 5}, {3, 5, 2}};
  ctx c;
  for (size_t s = 0; s < sizeof shp / sizeof shp[0]; s++) {
    ctx_init(&c, F_EXACT);
    c.i[0] = shp[s][0]; c.i[1] = shp[s][1]; c.i[2] = shp[s][2];
    size_t nu = (size_t)shp[s][0] * shp[s][1];
    c.n[0] = nu * shp[s][2];
    c.h[0] = rnd(k, c.n[0], -1, 1);
    run_case(k, "maxout_fwd", OFF(maxout_fwd), 0, &c, b_maxout_fwd, "N=%d units=%d k=%d", shp[s][0], shp[s][1], shp[s][2]);
    float *y = xmalloc(sizeof(float) * nu);
    c.h[1] = xmalloc(sizeof(float) * nu);
    k->dbl->maxout_fwd(y, c.h[1], c.h[0], shp[s][0], shp[s][1], shp[s][2]);
    free(y);
    c.h[2] = rnd(k, nu, -1, 1);
    c.h[3] = rnd(k, c.n[0], -1, 1);
    c.fam = F_ELEM;
    run_case(k, "maxout_bwd", OFF(maxout_bwd), 0, &c, b_maxout_bwd, "N=%d units=%d k=%d", shp[s][0], shp[s][1], shp[s][2]);
    ctx_free(&c);
  }
}

static void b_dropout(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *y = OUT(k, "y", NULL, n), *mask = OUT(k, "mask", NULL, n);
  o->dropout_fwd(y, mask, IN(k, "x", c->h[0], n), n, c->f[0], c->u[0], c->u[1], c->u[2]);
}

static void cases_dropout(kit *k) {
  static const size_t ns[] = {1, 5, 1000, 40001};
  static const float ps[] = {0.5f, 0.2f, 0.8f, 0.0f};
  ctx c;
  for (int t = 0; t < 4; t++) {
    ctx_init(&c, F_EXACT);
    c.n[0] = ns[t];
    c.f[0] = ps[t];
    c.u[0] = next_u64(k);
    c.u[1] = 4;
    c.u[2] = t % 2 ? 12345678901ull : 0;
    c.h[0] = rnd(k, ns[t], -1, 1);
    run_case(k, "dropout_fwd", OFF(dropout_fwd), 0, &c, b_dropout, "n=%zu p=%g counter=%llu", ns[t], ps[t],
             (unsigned long long)c.u[2]);
    ctx_free(&c);
  }
}

/* ---- losses ---- */

static const char *loss_name[] = {"bce_one",   "bce_zero",  "minimax_g",  "kl_g",      "mse_one",
                                  "mse_zero",  "wgan_real", "wgan_fake",  "hinge_real", "hinge_fake"};

/* The statistics start from c->h[9] (random, not zero) and the op runs c->calls times into the same
   statistics and gradient (a trainer's D step adds the real and the fake halves into one buffer). */
static int ncalls(const ctx *c) { return c->calls > 1 ? c->calls : 1; }

static void b_gan_loss(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *stats = STATS(k, "stats", c->h[9], 2);
  float *dx = c->i[1] ? OUT(k, "dx", c->h[1], n) : NULL;
  const float *x = IN(k, "x", c->h[0], n);
  for (int r = 0; r < ncalls(c); r++) o->gan_loss((gf__gan_loss)c->i[0], stats, dx, x, n, c->f[0]);
}

static void b_l1(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *loss = STATS(k, "loss", c->h[9], 1);
  float *dx = c->i[1] ? OUT(k, "dx", c->h[2], n) : NULL;
  const float *x = IN(k, "x", c->h[0], n), *t = IN(k, "t", c->h[1], n);
  for (int r = 0; r < ncalls(c); r++) o->l1_loss(loss, dx, x, t, n, c->f[0]);
}
static void b_mse(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *loss = STATS(k, "loss", c->h[9], 1);
  float *dx = c->i[1] ? OUT(k, "dx", c->h[2], n) : NULL;
  const float *x = IN(k, "x", c->h[0], n), *t = IN(k, "t", c->h[1], n);
  for (int r = 0; r < ncalls(c); r++) o->mse_loss(loss, dx, x, t, n, c->f[0]);
}

static void b_xent(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1];
  size_t n = (size_t)N * C;
  float *stats = STATS(k, "stats", c->h[9], 2);
  float *dx = c->i[2] ? OUT(k, "dx", c->h[2], n) : NULL, *prob = c->i[3] ? OUT(k, "prob", NULL, n) : NULL;
  const float *x = IN(k, "x", c->h[0], n), *y = IN(k, "y", c->h[1], (size_t)N);
  for (int r = 0; r < ncalls(c); r++) o->xent_loss(stats, dx, prob, x, y, N, C, c->f[0]);
}

/* Statistics to start from: small random values (2 floats). */
static float *stats0(kit *k) { return rnd(k, 2, -2, 2); }

static void cases_loss(kit *k) {
  static const size_t ns[] = {1, 64, 40001};
  ctx c;
  for (int kind = 0; kind < (int)(sizeof loss_name / sizeof loss_name[0]); kind++)
    for (int t = 0; t < 3; t++) {
      ctx_init(&c, F_RED);
      c.fam_of[1] = F_ELEM; /* dx */
      c.i[0] = kind;
      c.i[1] = t != 1;
      c.f[0] = t == 2 ? 0.5f : 1.0f;
      c.n[0] = ns[t];
      c.K = (double)ns[t];
      c.h[0] = rnd_mix(k, ns[t], 40);
      c.h[1] = rnd(k, ns[t], -1, 1);
      c.h[9] = stats0(k);
      c.calls = t == 1 ? 1 : 2;
      run_case(k, "gan_loss", OFF(gan_loss), 0, &c, b_gan_loss, "%s n=%zu scale=%g%s, %d call%s into stats", loss_name[kind],
               ns[t], c.f[0], c.i[1] ? "" : " dx=NULL", c.calls, c.calls > 1 ? "s" : "");
      ctx_free(&c);
    }
  static const size_t ln[] = {1, 1000, 196608};
  for (int t = 0; t < 3; t++) {
    ctx_init(&c, F_RED);
    c.fam_of[1] = F_ELEM;
    c.i[1] = t != 0;
    c.f[0] = 10.0f;
    c.n[0] = ln[t];
    c.K = (double)ln[t];
    c.h[0] = rnd(k, ln[t], -1, 1);
    c.h[1] = rnd(k, ln[t], -1, 1);
    for (size_t i = 0; i < ln[t]; i += 10) c.h[1][i] = c.h[0][i]; /* exact ties: zero gradient of |d| */
    c.h[2] = rnd(k, ln[t], -1, 1);
    c.h[9] = stats0(k);
    c.calls = t == 1 ? 2 : 1;
    run_case(k, "l1_loss", OFF(l1_loss), 0, &c, b_l1, "n=%zu scale=10%s, %d call%s into loss", ln[t],
             c.i[1] ? "" : " dx=NULL", c.calls, c.calls > 1 ? "s" : "");
    run_case(k, "mse_loss", OFF(mse_loss), 0, &c, b_mse, "n=%zu scale=10%s, %d call%s into loss", ln[t],
             c.i[1] ? "" : " dx=NULL", c.calls, c.calls > 1 ? "s" : "");
    ctx_free(&c);
  }
  static const int xs[][2] = {{1, 2}, {128, 10}, {64, 1000}, {3, 7}};
  for (int t = 0; t < 4; t++) {
    int N = xs[t][0], C = xs[t][1];
    ctx_init(&c, F_RED);
    c.fam_of[1] = c.fam_of[2] = F_ELEM;
    c.i[0] = N; c.i[1] = C;
    c.i[2] = t != 3; /* dx */
    c.i[3] = t != 1; /* prob */
    c.f[0] = 1.0f;
    c.K = (double)N * C;
    c.h[0] = rnd_mix(k, (size_t)N * C, 50);
    c.h[1] = xmalloc(sizeof(float) * (size_t)N);
    for (int i = 0; i < N; i++) c.h[1][i] = (float)(next_u64(k) % (uint64_t)C);
    c.h[2] = rnd(k, (size_t)N * C, -1, 1);
    c.h[9] = stats0(k);
    c.calls = t == 2 ? 2 : 1;
    run_case(k, "xent_loss", OFF(xent_loss), 0, &c, b_xent, "N=%d C=%d%s%s, %d call%s into stats", N, C,
             c.i[2] ? "" : " dx=NULL", c.i[3] ? "" : " prob=NULL", c.calls, c.calls > 1 ? "s" : "");
    ctx_free(&c);
  }
}

/* ---- optimizers ---- */

static void b_adam(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *p = OUT(k, "p", c->h[0], n), *m = OUT(k, "m", c->h[2], n), *v = OUT(k, "v", c->h[3], n);
  o->adam(p, IN(k, "g", c->h[1], n), m, v, n, 2e-4f, 0.5f, 0.999f, 1e-8f, c->f[0], c->f[1], c->f[2]);
}
static void b_sgd(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *p = OUT(k, "p", c->h[0], n), *v = OUT(k, "v", c->h[2], n);
  o->sgd(p, IN(k, "g", c->h[1], n), v, n, 0.1f, 0.5f, c->f[2]);
}

static void b_rmsprop(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *p = OUT(k, "p", c->h[0], n), *v = OUT(k, "v", c->h[3], n);
  o->rmsprop(p, IN(k, "g", c->h[1], n), v, n, 5e-5f, 0.99f, 1e-8f, c->f[2]);
}
static void b_clamp(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  o->clamp(OUT(k, "x", c->h[0], n), -0.01f, 0.01f, n);
}

static void cases_optim(kit *k) {
  static const size_t ns[] = {1, 1000, 40001};
  ctx c;
  for (int t = 0; t < 3; t++) {
    size_t n = ns[t];
    ctx_init(&c, F_ELEM);
    c.n[0] = n;
    c.f[0] = (float)(1 - pow(0.5, 3));   /* bias corrections at step 3 */
    c.f[1] = (float)(1 - pow(0.999, 3));
    c.f[2] = t == 1 ? 1e-4f : 0.0f;      /* weight decay */
    c.h[0] = rnd(k, n, -1, 1);
    c.h[1] = rnd(k, n, -1e-2, 1e-2);
    for (size_t i = 0; i < n; i += 10) c.h[1][i] = 0.0f;
    c.h[2] = rnd(k, n, -1e-2, 1e-2);
    c.h[3] = rnd(k, n, 0, 1e-4);
    run_case(k, "adam", OFF(adam), 0, &c, b_adam, "n=%zu wd=%g step 3", n, c.f[2]);
    run_case(k, "sgd", OFF(sgd), 0, &c, b_sgd, "n=%zu lr=0.1 momentum=0.5 wd=%g", n, c.f[2]);
    run_case(k, "rmsprop", OFF(rmsprop), 0, &c, b_rmsprop, "n=%zu lr=5e-5 alpha=0.99 wd=%g", n, c.f[2]);
    ctx_free(&c);
    /* WGAN's weight clipping: values inside, outside and exactly on the bounds */
    ctx_init(&c, F_EXACT);
    c.n[0] = n;
    c.h[0] = rnd(k, n, -0.03, 0.03);
    for (size_t i = 0; i < n; i += 7) c.h[0][i] = i % 2 ? 0.01f : -0.01f;
    run_case(k, "clamp", OFF(clamp), 0, &c, b_clamp, "n=%zu [-0.01, 0.01]", n);
    ctx_free(&c);
  }
  if (k->big) {
    ctx_init(&c, F_ELEM);
    size_t n = 11378179; /* one CycleGAN generator */
    c.n[0] = n;
    c.f[0] = 0.5f;
    c.f[1] = 0.001f;
    c.h[0] = rnd(k, n, -1, 1);
    c.h[1] = rnd(k, n, -1e-2, 1e-2);
    c.h[2] = rnd(k, n, -1e-2, 1e-2);
    c.h[3] = rnd(k, n, 0, 1e-4);
    run_case(k, "adam", OFF(adam), 0, &c, b_adam, "n=%zu step 1", n);
    ctx_free(&c);
  }
}

/* ---- critic ops: device scalars, interpolates, gradient penalties, second-order terms ---- */

static const char *sop_name[] = {"add", "mul", "div", "rnorm"};
static const char *pen_name[] = {"gp", "r1"};

static void b_dot(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *out = OUT(k, "out", NULL, 1);
  o->dot(out, IN(k, "x", c->h[0], n), c->i[0] ? IN(k, "y", c->h[1], n) : NULL, n, c->f[0]);
}
static void b_scalar_op(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  const float *s = IN(k, "s", c->h[2], 1);
  if (c->i[1]) { /* in place: y aliases x */
    float *y = OUT(k, "y", c->h[0], n);
    o->scalar_op((gf__sop)c->i[0], y, y, s, c->f[0], n);
  } else {
    float *y = OUT(k, "y", NULL, n);
    o->scalar_op((gf__sop)c->i[0], y, IN(k, "x", c->h[0], n), s, c->f[0], n);
  }
}
static void b_lerp_rows(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0];
  size_t D = c->n[1], n = (size_t)N * D;
  float *y = OUT(k, "y", NULL, n);
  o->lerp_rows(y, IN(k, "a", c->h[0], n), IN(k, "b", c->h[1], n), IN(k, "t", c->h[2], (size_t)N), N, D);
}
static void b_grad_penalty(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[1];
  size_t D = c->n[1], n = (size_t)N * D;
  float *stats = STATS(k, "stats", c->h[9], 2), *v = OUT(k, "v", NULL, n);
  const float *g = IN(k, "g", c->h[0], n);
  for (int r = 0; r < ncalls(c); r++) o->grad_penalty((gf__penalty)c->i[0], stats, v, g, N, D, c->f[0]);
}
static void b_maxout_take(kit *k, const gf__ops *o, ctx *c) {
  size_t nu = (size_t)c->i[0] * c->i[1];
  float *y = OUT(k, "y", NULL, nu);
  o->maxout_take(y, IN(k, "x", c->h[0], c->n[0]), IN(k, "argmax", c->h[1], nu), c->i[0], c->i[1], c->i[2]);
}
static void b_act_curv(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  float *rdx = OUT(k, "rdx", c->h[3], n);
  o->act_curv((gf__act)c->i[0], rdx, IN(k, "y", c->h[0], n), IN(k, "dy", c->h[1], n), IN(k, "rx", c->h[2], n), n,
              0.2f);
}

static void cases_critic(kit *k) {
  static const size_t ns[] = {1, 1000, 40001};
  ctx c;
  for (int t = 0; t < 3; t++)
    for (int withy = 0; withy < 2; withy++) {
      ctx_init(&c, F_RED);
      c.n[0] = ns[t];
      c.K = (double)ns[t];
      c.i[0] = withy;
      c.f[0] = withy ? 1.0f : 1.0f / (float)ns[t]; /* a squared norm; a mean */
      c.h[0] = rnd(k, ns[t], -1, 1);
      c.h[1] = rnd(k, ns[t], -1, 1);
      run_case(k, "dot", OFF(dot), 0, &c, b_dot, "n=%zu %s", ns[t], withy ? "x.y" : "sum(x)/n");
      ctx_free(&c);
    }
  for (int kind = 0; kind < 4; kind++)
    for (int t = 0; t < 3; t++) {
      ctx_init(&c, F_ELEM);
      c.n[0] = ns[t];
      c.i[0] = kind;
      c.i[1] = t == 1; /* in place */
      c.f[0] = kind == GF_SOP_RNORM ? 1e-12f : -1.0f;
      c.h[0] = rnd(k, ns[t], -2, 2);
      c.h[2] = xmalloc(sizeof(float));
      c.h[2][0] = kind == GF_SOP_RNORM ? (t == 2 ? 0.0f : 37.5f) : (float)(0.5 + unif(k)); /* RNORM of a zero vector: eps */
      if (kind == GF_SOP_RNORM && t == 2) for (size_t i = 0; i < ns[t]; i++) c.h[0][i] = 0.0f;
      run_case(k, "scalar_op", OFF(scalar_op), 0, &c, b_scalar_op, "%s n=%zu s=%g%s", sop_name[kind], ns[t],
               (double)c.h[2][0], c.i[1] ? " in place" : "");
      ctx_free(&c);
    }
  static const int lr[][2] = {{1, 1}, {64, 784}, {7, 13}, {32, 2}};
  for (int t = 0; t < 4; t++) {
    ctx_init(&c, F_ELEM);
    int N = lr[t][0];
    size_t D = (size_t)lr[t][1], n = (size_t)N * D;
    c.i[0] = N;
    c.n[1] = D;
    c.h[0] = rnd(k, n, -1, 1);
    c.h[1] = rnd(k, n, -1, 1);
    c.h[2] = rnd(k, (size_t)N, 0, 1);
    if (N > 1) { c.h[2][0] = 0.0f; c.h[2][1] = 1.0f; } /* the ends of the segment */
    run_case(k, "lerp_rows", OFF(lerp_rows), 0, &c, b_lerp_rows, "N=%d D=%zu", N, D);
    ctx_free(&c);
  }
  /* penalties: rows of D values, one row all zeros (|g| = 0: no gradient), norms around 1 */
  static const int gp[][2] = {{1, 1}, {64, 784}, {7, 13}, {16, 4096}};
  for (int kind = 0; kind < 2; kind++)
    for (int t = 0; t < 4; t++) {
      int N = gp[t][0];
      size_t D = (size_t)gp[t][1], n = (size_t)N * D;
      ctx_init(&c, F_RED);
      c.K = (double)n;
      c.i[0] = kind;
      c.i[1] = N;
      c.n[1] = D;
      c.f[0] = kind == GF_PEN_GP ? 10.0f : 0.5f;
      double a = sqrt(3.0 / (double)D); /* U(-a, a) rows have |g| about 1 */
      c.h[0] = rnd(k, n, -a, a);
      if (N > 2) for (size_t j = 0; j < D; j++) c.h[0][2 * D + j] = 0.0f;
      c.h[9] = stats0(k);
      c.calls = t == 2 ? 2 : 1;
      run_case(k, "grad_penalty", OFF(grad_penalty), 0, &c, b_grad_penalty, "%s N=%d D=%zu w=%g, %d call%s into stats",
               pen_name[kind], N, D, (double)c.f[0], c.calls, c.calls > 1 ? "s" : "");
      ctx_free(&c);
    }
  static const int mt[][3] = {{1, 1, 1}, {7, 13, 5}, {64, 240, 5}, {3, 5, 2}};
  for (int t = 0; t < 4; t++) {
    ctx_init(&c, F_EXACT);
    c.i[0] = mt[t][0]; c.i[1] = mt[t][1]; c.i[2] = mt[t][2];
    size_t nu = (size_t)mt[t][0] * mt[t][1];
    c.n[0] = nu * mt[t][2];
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = xmalloc(sizeof(float) * nu);
    for (size_t i = 0; i < nu; i++) c.h[1][i] = (float)(next_u64(k) % (uint64_t)mt[t][2]); /* any saved choice */
    run_case(k, "maxout_take", OFF(maxout_take), 0, &c, b_maxout_take, "N=%d units=%d k=%d", mt[t][0], mt[t][1], mt[t][2]);
    ctx_free(&c);
  }
  for (int kind = 0; kind < 4; kind++)
    for (int t = 0; t < 3; t++) {
      ctx_init(&c, F_ELEM);
      size_t n = ns[t];
      c.n[0] = n;
      c.i[0] = kind;
      c.h[0] = kind == GF_ACT_SIGMOID ? rnd(k, n, 0, 1) : rnd(k, n, -1, 1); /* outputs of the activation */
      c.h[1] = rnd(k, n, -1, 1);
      c.h[2] = rnd(k, n, -1, 1);
      c.h[3] = rnd(k, n, -1, 1);
      run_case(k, "act_curv", OFF(act_curv), 0, &c, b_act_curv, "%s n=%zu", act_name[kind], n);
      ctx_free(&c);
    }
}

/* ---- convolution helpers ---- */

typedef struct cgeom {
  int N, C, H, W, kh, kw, sh, sw, ph, pw, r0, rn, OC;
} cgeom;

static gf__conv_geom mk_geom(const cgeom *q) {
  gf__conv_geom g = {q->C, q->H, q->W, q->kh, q->kw, q->sh, q->sw, q->ph, q->pw, (q->H + 2 * q->ph - q->kh) / q->sh + 1,
                     (q->W + 2 * q->pw - q->kw) / q->sw + 1, q->r0, q->rn};
  return g;
}

static const char *gdesc(const cgeom *q) {
  static char buf[160];
  gf__conv_geom g = mk_geom(q);
  int n = snprintf(buf, sizeof buf, "N=%d %dx%dx%d k%dx%d s%dx%d p%dx%d ->%dx%d", q->N, q->C, q->H, q->W, q->kh, q->kw,
                   q->sh, q->sw, q->ph, q->pw, g.OH, g.OW);
  if (q->rn) snprintf(buf + n, sizeof buf - (size_t)n, " rows %d+%d", q->r0, q->rn);
  return buf;
}

static void b_im2col(kit *k, const gf__ops *o, ctx *c) {
  float *col = OUT(k, "col", NULL, c->n[1]);
  o->im2col(col, IN(k, "x", c->h[0], c->n[0]), c->i[0], &c->g);
}
static void b_col2im(kit *k, const gf__ops *o, ctx *c) {
  float *x = OUT(k, "x", c->h[2], c->n[0]);
  o->col2im(x, IN(k, "col", c->h[1], c->n[1]), c->i[0], &c->g);
}

static void cases_im2col(kit *k) {
  static const cgeom gs[] = {
    {2, 1, 5, 5, 3, 3, 1, 1, 1, 1, 0, 0, 0},   {3, 3, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 0},
    {1, 2, 7, 9, 7, 7, 1, 1, 3, 3, 0, 0, 0},   {2, 4, 6, 5, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    {2, 3, 11, 10, 3, 3, 3, 3, 2, 2, 0, 0, 0}, {1, 2, 9, 7, 5, 3, 2, 1, 2, 0, 0, 0, 0},
    {1, 3, 16, 16, 3, 3, 1, 1, 1, 1, 5, 4, 0}, {1, 2, 13, 12, 4, 4, 2, 2, 1, 1, 4, 2, 0},
    {4, 64, 32, 32, 4, 4, 2, 2, 1, 1, 0, 0, 0}};
  ctx c;
  for (size_t s = 0; s < sizeof gs / sizeof gs[0]; s++) {
    const cgeom *q = &gs[s];
    ctx_init(&c, F_EXACT);
    c.g = mk_geom(q);
    c.i[0] = q->N;
    int RN = q->rn ? q->rn : c.g.OH;
    c.n[0] = (size_t)q->N * q->C * q->H * q->W;
    c.n[1] = (size_t)q->C * q->kh * q->kw * q->N * RN * c.g.OW;
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = rnd(k, c.n[1], -1, 1);
    c.h[2] = rnd(k, c.n[0], -1, 1);
    run_case(k, "im2col", OFF(im2col), 0, &c, b_im2col, "%s", gdesc(q));
    c.fam = F_RED;
    c.K = (double)q->kh * q->kw;
    run_case(k, "col2im", OFF(col2im), 0, &c, b_col2im, "%s", gdesc(q));
    ctx_free(&c);
  }
}

static void b_swap01(kit *k, const gf__ops *o, ctx *c) {
  float *d = OUT(k, "dst", c->f[0] == 0.0f ? NULL : c->h[1], c->n[0]);
  o->swap01(d, IN(k, "src", c->h[0], c->n[0]), c->i[0], c->i[1], c->i[2], c->f[0]);
}

static void cases_swap01(kit *k) {
  static const int shp[][3] = {{1, 1, 1}, {3, 5, 7}, {64, 8, 49}, {16, 64, 256}};
  ctx c;
  for (size_t s = 0; s < sizeof shp / sizeof shp[0]; s++)
    for (int beta = 0; beta < 2; beta++) {
      ctx_init(&c, F_EXACT);
      c.i[0] = shp[s][0]; c.i[1] = shp[s][1]; c.i[2] = shp[s][2];
      c.f[0] = (float)beta;
      c.n[0] = (size_t)shp[s][0] * shp[s][1] * shp[s][2];
      c.h[0] = rnd(k, c.n[0], -1, 1);
      c.h[1] = rnd(k, c.n[0], -1, 1);
      run_case(k, "swap01", OFF(swap01), 0, &c, b_swap01, "A=%d B=%d S=%d beta=%d", shp[s][0], shp[s][1], shp[s][2], beta);
      ctx_free(&c);
    }
}

/* ---- Winograd F(4x4, 3x3) ---- */

static void b_wino_fwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], IC = c->i[1], H = c->i[2], W = c->i[3], OC = c->i[4], ph = c->i[5], pw = c->i[6], flip = c->i[7],
      tb = c->i[8];
  float *y = OUT(k, "y", c->f[0] == 0.0f ? NULL : c->h[2], c->n[2]);
  const float *x = IN(k, "x", c->h[0], c->n[0]), *w = IN(k, "w", c->h[1], c->n[1]);
  o->wino_fwd(y, x, w, N, IC, H, W, OC, ph, pw, flip, c->f[0], SCRATCH(k, GF_WINO_WS_FLOATS(IC, OC, tb)), tb);
}
static void b_wino_dw(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], IC = c->i[1], H = c->i[2], W = c->i[3], OC = c->i[4], ph = c->i[5], pw = c->i[6], tb = c->i[8];
  float *dw = OUT(k, "dw", c->h[4], c->n[1]);
  const float *x = IN(k, "x", c->h[0], c->n[0]), *dy = IN(k, "dy", c->h[3], c->n[2]);
  o->wino_dw(dw, x, dy, N, IC, H, W, OC, ph, pw, SCRATCH(k, GF_WINO_WS_FLOATS(IC, OC, tb)), tb);
}

static void cases_wino(kit *k) {
  static const int gs[][8] = {/* N, IC, H, W, OC, ph, pw, tb */
                              {1, 1, 4, 4, 1, 1, 1, 1},     {2, 3, 7, 9, 5, 1, 1, 7},   {1, 8, 16, 16, 8, 0, 0, 64},
                              {2, 4, 6, 6, 3, 2, 2, 1024},  {1, 16, 13, 11, 16, 1, 2, 5}, {1, 32, 20, 20, 24, 1, 1, 16}};
  ctx c;
  for (size_t s = 0; s < sizeof gs / sizeof gs[0]; s++) {
    const int *q = gs[s];
    int OH = q[2] + 2 * q[5] - 2, OW = q[3] + 2 * q[6] - 2;
    for (int flip = 0; flip < 2; flip++) {
      ctx_init(&c, F_WINO);
      memcpy(c.i, q, 7 * sizeof(int));
      c.i[7] = flip;
      c.i[8] = q[7];
      c.f[0] = (float)((s + flip) % 2); /* beta */
      c.n[0] = (size_t)q[0] * q[1] * q[2] * q[3];
      c.n[1] = (size_t)q[4] * q[1] * 9;
      c.n[2] = (size_t)q[0] * q[4] * OH * OW;
      c.K = 9.0 * q[1];
      c.h[0] = rnd(k, c.n[0], -1, 1);
      c.h[1] = rnd(k, c.n[1], -1, 1);
      c.h[2] = rnd(k, c.n[2], -1, 1);
      c.h[3] = rnd(k, c.n[2], -1, 1);
      c.h[4] = rnd(k, c.n[1], -1, 1);
      run_case(k, "wino_fwd", OFF(wino_fwd), 1, &c, b_wino_fwd, "N=%d %dx%dx%d ->%d p%dx%d flip=%d beta=%g tb=%d", q[0],
               q[1], q[2], q[3], q[4], q[5], q[6], flip, c.f[0], q[7]);
      if (!flip) {
        c.K = (double)q[0] * OH * OW;
        run_case(k, "wino_dw", OFF(wino_dw), 1, &c, b_wino_dw, "N=%d %dx%dx%d ->%d p%dx%d tb=%d", q[0], q[1], q[2], q[3],
                 q[4], q[5], q[6], q[7]);
      }
      ctx_free(&c);
    }
  }
}

/* ---- polyphase Winograd (4x4 stride 2 padding 1) ---- */

static void b_pwino_fwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], IC = c->i[1], H = c->i[2], W = c->i[3], OC = c->i[4], tb = c->i[5];
  float *y = OUT(k, "y", c->f[0] == 0.0f ? NULL : c->h[2], c->n[2]);
  o->pwino_fwd(y, IN(k, "x", c->h[0], c->n[0]), IN(k, "w", c->h[1], c->n[1]), N, IC, H, W, OC, c->f[0],
               SCRATCH(k, GF_PWINO_WS_FLOATS(IC, OC, tb)), tb);
}
static void b_pwino_bwd_data(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], IC = c->i[1], H = c->i[2], W = c->i[3], OC = c->i[4], tb = c->i[5];
  float *dx = OUT(k, "dx", c->f[0] == 0.0f ? NULL : c->h[3], c->n[0]);
  o->pwino_bwd_data(dx, IN(k, "dy", c->h[2], c->n[2]), IN(k, "w", c->h[1], c->n[1]), N, IC, H, W, OC, c->f[0],
                    SCRATCH(k, GF_PWINO_WS_FLOATS(IC, OC, tb)), tb);
}
static void b_pwino_dw(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], IC = c->i[1], H = c->i[2], W = c->i[3], OC = c->i[4], tb = c->i[5];
  float *dw = OUT(k, "dw", c->h[4], c->n[1]);
  o->pwino_dw(dw, IN(k, "x", c->h[0], c->n[0]), IN(k, "dy", c->h[2], c->n[2]), N, IC, H, W, OC,
              SCRATCH(k, GF_PWINO_WS_FLOATS(IC, OC, tb)), tb);
}

static void cases_pwino(kit *k) {
  static const int gs[][6] = {/* N, IC, H, W, OC, tb */
                              {1, 1, 2, 2, 1, 1}, {2, 3, 8, 8, 4, 5}, {1, 8, 6, 10, 5, 64}, {2, 16, 16, 16, 8, 1024},
                              {1, 4, 34, 18, 3, 7}};
  ctx c;
  for (size_t s = 0; s < sizeof gs / sizeof gs[0]; s++) {
    const int *q = gs[s];
    ctx_init(&c, F_MAT);
    memcpy(c.i, q, 6 * sizeof(int));
    c.f[0] = (float)(s % 2);
    c.n[0] = (size_t)q[0] * q[1] * q[2] * q[3];
    c.n[1] = (size_t)q[4] * q[1] * 16;
    c.n[2] = (size_t)q[0] * q[4] * (q[2] / 2) * (q[3] / 2);
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = rnd(k, c.n[1], -1, 1);
    c.h[2] = rnd(k, c.n[2], -1, 1);
    c.h[3] = rnd(k, c.n[0], -1, 1);
    c.h[4] = rnd(k, c.n[1], -1, 1);
    c.K = 16.0 * q[1];
    run_case(k, "pwino_fwd", OFF(pwino_fwd), 1, &c, b_pwino_fwd, "N=%d %dx%dx%d ->%d beta=%g tb=%d", q[0], q[1], q[2],
             q[3], q[4], c.f[0], q[5]);
    c.K = 4.0 * q[4];
    run_case(k, "pwino_bwd_data", OFF(pwino_bwd_data), 1, &c, b_pwino_bwd_data, "N=%d %dx%dx%d ->%d beta=%g tb=%d", q[0],
             q[1], q[2], q[3], q[4], c.f[0], q[5]);
    c.K = (double)q[0] * (q[2] / 2) * (q[3] / 2);
    run_case(k, "pwino_dw", OFF(pwino_dw), 1, &c, b_pwino_dw, "N=%d %dx%dx%d ->%d tb=%d", q[0], q[1], q[2], q[3], q[4],
             q[5]);
    ctx_free(&c);
  }
}

/* ---- direct stride-1 convolutions into OC <= 4 channels ---- */

static void b_direct_fwd(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", NULL, c->n[2]);
  o->direct_fwd(y, IN(k, "x", c->h[0], c->n[0]), IN(k, "w", c->h[1], c->n[1]), c->i[0], c->i[1], &c->g);
}
static void b_direct_bwd_data(kit *k, const gf__ops *o, ctx *c) {
  float *dx = OUT(k, "dx", c->h[3], c->n[0]);
  o->direct_bwd_data(dx, IN(k, "dy", c->h[2], c->n[2]), IN(k, "w", c->h[1], c->n[1]), c->i[0], c->i[1], &c->g);
}
static void b_direct_bwd_w(kit *k, const gf__ops *o, ctx *c) {
  float *dw = OUT(k, "dw", c->h[4], c->n[1]);
  o->direct_bwd_w(dw, IN(k, "x", c->h[0], c->n[0]), IN(k, "dy", c->h[2], c->n[2]), c->i[0], c->i[1], &c->g);
}

/* ---- depth-wise convolutions (groups = C; OC = m C) ---- */

static void b_dw_fwd(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", NULL, c->n[2]);
  o->dw_fwd(y, IN(k, "x", c->h[0], c->n[0]), IN(k, "w", c->h[1], c->n[1]), c->i[0], c->i[1], &c->g);
}
static void b_dw_bwd_data(kit *k, const gf__ops *o, ctx *c) {
  float *dx = OUT(k, "dx", c->h[3], c->n[0]);
  o->dw_bwd_data(dx, IN(k, "dy", c->h[2], c->n[2]), IN(k, "w", c->h[1], c->n[1]), c->i[0], c->i[1], &c->g);
}
static void b_dw_bwd_w(kit *k, const gf__ops *o, ctx *c) {
  float *dw = OUT(k, "dw", c->h[4], c->n[1]);
  o->dw_bwd_w(dw, IN(k, "x", c->h[0], c->n[0]), IN(k, "dy", c->h[2], c->n[2]), c->i[0], c->i[1], &c->g);
}

/* ---- kernel alignment of two Gram matrices (CAT distillation) ---- */

static void b_ka_coef(kit *k, const gf__ops *o, ctx *c) {
  const int B = c->i[0];
  const size_t BB = (size_t)B * B;
  float *stats = STATS(k, "stats", c->h[9], 1);
  float *coef = OUT(k, "coef", NULL, BB);
  const float *gx = IN(k, "gx", c->h[0], BB), *gy = IN(k, "gy", c->h[1], BB);
  for (int r = 0; r < ncalls(c); r++) o->ka_coef(stats, coef, gx, gy, B, c->f[0]);
}

/* ---- a whole convolution pass by the vendor library ---- */

static void b_conv_lib(kit *k, const gf__ops *o, ctx *c) {
  int pass = c->i[2];
  float beta = c->f[0];
  int rc;
  if (pass == GF_CONV_FWD) {
    float *y = OUT(k, "y", beta == 0.0f ? NULL : c->h[5], c->n[2]);
    rc = o->conv_lib(pass, y, IN(k, "x", c->h[0], c->n[0]), IN(k, "w", c->h[1], c->n[1]), c->i[0], c->i[1], &c->g, beta);
  } else if (pass == GF_CONV_BWD_DATA) {
    float *dx = OUT(k, "dx", beta == 0.0f ? NULL : c->h[3], c->n[0]);
    rc = o->conv_lib(pass, dx, IN(k, "dy", c->h[2], c->n[2]), IN(k, "w", c->h[1], c->n[1]), c->i[0], c->i[1], &c->g,
                     beta);
  } else {
    float *dw = OUT(k, "dw", beta == 0.0f ? NULL : c->h[4], c->n[1]);
    rc = o->conv_lib(pass, dw, IN(k, "x", c->h[0], c->n[0]), IN(k, "dy", c->h[2], c->n[2]), c->i[0], c->i[1], &c->g,
                     beta);
  }
  if (rc < 0 && o->conv_lib_all) /* it promised every geometry: conv.c would not lower this pass */
    snprintf(k->fail, sizeof k->fail, "%s declined a geometry although conv_lib_all is set: %s", o->name,
             gf_last_error());
  else if (rc < 0) k->declined = 1;
}

static void conv_inputs(kit *k, ctx *c, const cgeom *q) {
  c->g = mk_geom(q);
  c->i[0] = q->N;
  c->i[1] = q->OC;
  c->n[0] = (size_t)q->N * q->C * q->H * q->W;
  c->n[1] = (size_t)q->OC * q->C * q->kh * q->kw;
  c->n[2] = (size_t)q->N * q->OC * c->g.OH * c->g.OW;
  c->h[0] = rnd(k, c->n[0], -1, 1);
  c->h[1] = rnd(k, c->n[1], -1, 1);
  c->h[2] = rnd(k, c->n[2], -1, 1);
  c->h[3] = rnd(k, c->n[0], -1, 1);
  c->h[4] = rnd(k, c->n[1], -1, 1);
  c->h[5] = rnd(k, c->n[2], -1, 1);
}

static void cases_direct(kit *k) {
  static const cgeom gs[] = {/* N, C, H, W, kh, kw, sh, sw, ph, pw, r0, rn, OC */
                             {2, 3, 9, 7, 7, 7, 1, 1, 3, 3, 0, 0, 3},    {2, 8, 6, 6, 4, 4, 1, 1, 1, 1, 0, 0, 1},
                             {1, 2, 5, 300, 3, 3, 1, 1, 1, 1, 0, 0, 2},  {1, 5, 4, 260, 1, 1, 1, 1, 0, 0, 0, 0, 4},
                             {1, 16, 16, 16, 16, 16, 1, 1, 0, 0, 0, 0, 1}, {1, 64, 22, 22, 7, 7, 1, 1, 0, 0, 0, 0, 3},
                             /* register tiles of the input gradient: 4 + 2 channels, edges both sides */
                             {2, 6, 5, 70, 7, 7, 1, 1, 3, 3, 0, 0, 3}};
  ctx c;
  for (size_t s = 0; s < sizeof gs / sizeof gs[0]; s++) {
    const cgeom *q = &gs[s];
    ctx_init(&c, F_MAT);
    conv_inputs(k, &c, q);
    c.K = (double)q->C * q->kh * q->kw;
    run_case(k, "direct_fwd", OFF(direct_fwd), 1, &c, b_direct_fwd, "%s OC=%d", gdesc(q), q->OC);
    c.K = (double)q->OC * q->kh * q->kw;
    run_case(k, "direct_bwd_data", OFF(direct_bwd_data), 1, &c, b_direct_bwd_data, "%s OC=%d", gdesc(q), q->OC);
    c.K = (double)q->N * c.g.OH * c.g.OW;
    run_case(k, "direct_bwd_w", OFF(direct_bwd_w), 1, &c, b_direct_bwd_w, "%s OC=%d", gdesc(q), q->OC);
    ctx_free(&c);
  }
}

static void cases_dw(kit *k) {
  static const cgeom gs[] = {/* N, C, H, W, kh, kw, sh, sw, ph, pw, r0, rn, OC (= m C) */
                             {2, 21, 18, 18, 3, 3, 1, 1, 0, 0, 0, 0, 21}, {2, 5, 9, 7, 5, 5, 1, 1, 2, 2, 0, 0, 5},
                             {1, 4, 9, 8, 3, 3, 2, 2, 1, 1, 0, 0, 8},     {3, 3, 7, 11, 1, 1, 1, 1, 0, 0, 0, 0, 3},
                             {1, 6, 5, 5, 3, 3, 3, 2, 2, 1, 0, 0, 12},    {2, 2, 1, 9, 1, 3, 1, 1, 0, 1, 0, 0, 6},
                             {4, 21, 36, 36, 5, 5, 1, 1, 0, 0, 0, 0, 21}};
  ctx c;
  for (size_t s = 0; s < sizeof gs / sizeof gs[0]; s++) {
    const cgeom *q = &gs[s];
    ctx_init(&c, F_RED);
    conv_inputs(k, &c, q);
    c.n[1] = (size_t)q->OC * q->kh * q->kw; /* w [OC, 1, kh, kw] */
    const int m = q->OC / q->C;
    c.K = (double)q->kh * q->kw;
    run_case(k, "dw_fwd", OFF(dw_fwd), 1, &c, b_dw_fwd, "%s OC=%d (x%d)", gdesc(q), q->OC, m);
    c.K = (double)m * q->kh * q->kw;
    run_case(k, "dw_bwd_data", OFF(dw_bwd_data), 1, &c, b_dw_bwd_data, "%s OC=%d (x%d)", gdesc(q), q->OC, m);
    c.K = (double)q->N * c.g.OH * c.g.OW;
    run_case(k, "dw_bwd_w", OFF(dw_bwd_w), 1, &c, b_dw_bwd_w, "%s OC=%d (x%d)", gdesc(q), q->OC, m);
    ctx_free(&c);
  }
}

static void cases_ka(kit *k) {
  static const int bs[] = {1, 2, 4, 80, 3};
  ctx c;
  for (size_t t = 0; t < sizeof bs / sizeof bs[0]; t++) {
    const int B = bs[t];
    const size_t BB = (size_t)B * B;
    ctx_init(&c, F_RED);
    c.i[0] = B;
    c.f[0] = t == 2 ? -1.0f : 0.5f;
    c.K = (double)BB;
    c.h[0] = rnd(k, BB, -1, 1);
    c.h[1] = rnd(k, BB, -1, 1);
    const int zero = t == 4; /* a zero Gram matrix: KA 0, no gradient */
    if (zero) memset(c.h[1], 0, sizeof(float) * BB);
    c.h[9] = rnd(k, 1, -2, 2);
    c.calls = t == 2 ? 2 : 1;
    run_case(k, "ka_coef", OFF(ka_coef), 0, &c, b_ka_coef, "B=%d scale=%g%s, %d call%s into stats", B, c.f[0],
             zero ? " gy=0" : "", c.calls, c.calls > 1 ? "s" : "");
    ctx_free(&c);
  }
}

static void cases_conv_lib(kit *k) {
  static const cgeom small[] = {
    /* N, C, H, W, kh, kw, sh, sw, ph, pw, r0, rn, OC */
    {2, 1, 5, 5, 3, 3, 1, 1, 1, 1, 0, 0, 2},     {3, 3, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 5},
    {1, 2, 7, 9, 7, 7, 1, 1, 3, 3, 0, 0, 3},     {2, 4, 6, 5, 1, 1, 1, 1, 0, 0, 0, 0, 6},
    {2, 3, 11, 10, 3, 3, 3, 3, 2, 2, 0, 0, 4},   {1, 2, 9, 7, 5, 3, 2, 1, 2, 0, 0, 0, 3},
    {4, 16, 14, 14, 4, 4, 2, 2, 1, 1, 0, 0, 32}, {2, 64, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, 1},
    {1, 32, 18, 18, 3, 3, 1, 1, 0, 0, 0, 0, 32}, {1, 16, 16, 16, 3, 3, 2, 2, 1, 1, 0, 0, 32},
    /* an image the CPU lowers in bands (its col is over 4M floats): a conv_lib_all library takes it whole */
    {1, 16, 176, 176, 3, 3, 1, 1, 1, 1, 0, 0, 4}};
  static const cgeom big[] = {
    {64, 64, 32, 32, 4, 4, 2, 2, 1, 1, 0, 0, 128}, /* dcgan64 D layer 2 */
    {1, 256, 66, 66, 3, 3, 1, 1, 0, 0, 0, 0, 256}, /* CycleGAN residual block (reflection-padded 64x64) */
    {1, 3, 262, 262, 7, 7, 1, 1, 0, 0, 0, 0, 64},  /* CycleGAN first layer */
    {128, 1, 28, 28, 4, 4, 2, 2, 1, 1, 0, 0, 64}}; /* dcgan28 D layer 1 */
  static const char *pass_name[] = {"fwd", "bwd_data", "bwd_w"};
  ctx c;
  for (int set = 0; set < (k->big ? 2 : 1); set++) {
    const cgeom *gs = set ? big : small;
    size_t n = set ? sizeof big / sizeof big[0] : sizeof small / sizeof small[0];
    for (size_t s = 0; s < n; s++) {
      const cgeom *q = &gs[s];
      ctx_init(&c, F_MAT);
      conv_inputs(k, &c, q);
      for (int pass = 0; pass < 3; pass++) {
        c.i[2] = pass;
        c.f[0] = (float)((s + pass) % 2);
        c.K = pass == GF_CONV_FWD ? (double)q->C * q->kh * q->kw
              : pass == GF_CONV_BWD_DATA ? (double)q->OC * q->kh * q->kw
                                         : (double)q->N * c.g.OH * c.g.OW;
        run_case(k, "conv_lib", OFF(conv_lib), 1, &c, b_conv_lib, "%s %s OC=%d beta=%g", pass_name[pass], gdesc(q), q->OC,
                 c.f[0]);
      }
      ctx_free(&c);
    }
  }
}

/* ---- reflection padding ---- */

static void b_rpad_fwd(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", NULL, c->n[1]);
  o->reflect_pad_fwd(y, IN(k, "x", c->h[0], c->n[0]), c->i[0], c->i[1], c->i[2], c->i[3], c->i[4], c->i[5], c->i[6]);
}
static void b_rpad_bwd(kit *k, const gf__ops *o, ctx *c) {
  float *dx = OUT(k, "dx", c->h[2], c->n[0]);
  o->reflect_pad_bwd(dx, IN(k, "dy", c->h[1], c->n[1]), c->i[0], c->i[1], c->i[2], c->i[3], c->i[4], c->i[5], c->i[6]);
}

static void cases_rpad(kit *k) {
  static const int shp[][7] = {{1, 2, 2, 1, 1, 1, 1}, {3, 5, 7, 1, 1, 1, 1}, {2, 8, 8, 3, 3, 3, 3},
                               {4, 6, 5, 2, 0, 4, 1}, {64, 32, 32, 1, 1, 1, 1}, {3, 256, 256, 3, 3, 3, 3}};
  ctx c;
  for (size_t s = 0; s < sizeof shp / sizeof shp[0]; s++) {
    const int *q = shp[s];
    ctx_init(&c, F_EXACT);
    memcpy(c.i, q, 7 * sizeof(int));
    c.n[0] = (size_t)q[0] * q[1] * q[2];
    c.n[1] = (size_t)q[0] * (q[1] + q[3] + q[4]) * (q[2] + q[5] + q[6]);
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = rnd(k, c.n[1], -1, 1);
    c.h[2] = rnd(k, c.n[0], -1, 1);
    run_case(k, "reflect_pad_fwd", OFF(reflect_pad_fwd), 0, &c, b_rpad_fwd, "NC=%d %dx%d pad t%d b%d l%d r%d", q[0], q[1],
             q[2], q[3], q[4], q[5], q[6]);
    c.fam = F_ELEM;
    run_case(k, "reflect_pad_bwd", OFF(reflect_pad_bwd), 0, &c, b_rpad_bwd, "NC=%d %dx%d pad t%d b%d l%d r%d", q[0], q[1],
             q[2], q[3], q[4], q[5], q[6]);
    ctx_free(&c);
  }
}

/* ---- conditional GANs (labels: class indices as floats; some out of [0, K): clamped) ---- */

/* Labels of N rows over K classes; oor: row 0 below the range, the last row above it. */
static float *labels_of(kit *k, int N, int K, int oor) {
  float *y = xmalloc(sizeof(float) * (size_t)N);
  for (int i = 0; i < N; i++) y[i] = (float)(next_u64(k) % (uint64_t)K);
  if (oor) {
    y[0] = -1.0f;
    if (N > 1) y[N - 1] = (float)(K + 2);
  }
  return y;
}

static void b_onehot_fwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], K = c->i[3];
  float *y = OUT(k, "y", NULL, (size_t)N * (C + K) * S);
  o->onehot_cat_fwd(y, IN(k, "x", c->h[0], c->n[0]), IN(k, "labels", c->h[1], (size_t)N), N, C, S, K);
}
static void b_onehot_bwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], K = c->i[3];
  float *dx = OUT(k, "dx", c->h[3], c->n[0]);
  o->onehot_cat_bwd(dx, IN(k, "dy", c->h[2], c->n[2]), N, C, S, K);
}

static void b_caff_fwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], K = c->i[3];
  float *y = OUT(k, "y", NULL, c->n[0]);
  o->cond_affine_fwd(y, IN(k, "x", c->h[0], c->n[0]), IN(k, "gamma", c->h[1], c->n[1]), IN(k, "beta", c->h[2], c->n[1]),
                     IN(k, "labels", c->h[3], (size_t)N), N, C, S, K);
}
static void b_caff_bwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], S = c->i[2], K = c->i[3], v = c->i[4];
  float *dx = v != 1 ? OUT(k, "dx", c->h[5], c->n[0]) : NULL;
  float *dg = v != 2 ? OUT(k, "dgamma", c->h[6], c->n[1]) : NULL, *db = v != 2 ? OUT(k, "dbeta", c->h[7], c->n[1]) : NULL;
  o->cond_affine_bwd(dx, dg, db, IN(k, "dy", c->h[4], c->n[0]), IN(k, "x", c->h[0], c->n[0]),
                     IN(k, "gamma", c->h[1], c->n[1]), IN(k, "labels", c->h[3], (size_t)N), N, C, S, K);
}

static void b_proj_fwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], F = c->i[1], K = c->i[2];
  float *out = OUT(k, "out", c->h[4], (size_t)N);
  o->proj_fwd(out, IN(k, "h", c->h[0], c->n[0]), IN(k, "table", c->h[1], c->n[1]), IN(k, "labels", c->h[2], (size_t)N), N,
              F, K);
}
static void b_proj_bwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], F = c->i[1], K = c->i[2], v = c->i[3];
  float *dh = v != 1 ? OUT(k, "dh", c->h[5], c->n[0]) : NULL, *dt = v != 2 ? OUT(k, "dtable", c->h[6], c->n[1]) : NULL;
  o->proj_bwd(dh, dt, IN(k, "dout", c->h[3], (size_t)N), IN(k, "h", c->h[0], c->n[0]), IN(k, "table", c->h[1], c->n[1]),
              IN(k, "labels", c->h[2], (size_t)N), N, F, K);
}

static void b_copy2d(kit *k, const gf__ops *o, ctx *c) {
  /* dst starts from random values: the elements between the block's rows must keep them */
  float *dst = OUT(k, "dst", c->h[1], c->n[1]);
  o->copy2d(dst, c->i[2], IN(k, "src", c->h[0], c->n[0]), c->i[3], c->i[0], c->i[1]);
}

static void cases_cond(kit *k) {
  static const int oh[][5] = {/* N, C, S, K, labels out of range */
                              {1, 1, 1, 1, 0}, {3, 2, 5, 4, 1}, {64, 784, 1, 10, 0}, {64, 1, 784, 10, 0}, {7, 100, 1, 10, 1}};
  ctx c;
  for (size_t s = 0; s < sizeof oh / sizeof oh[0]; s++) {
    const int *q = oh[s];
    ctx_init(&c, F_EXACT);
    memcpy(c.i, q, 4 * sizeof(int));
    c.n[0] = (size_t)q[0] * q[1] * q[2];
    c.n[2] = (size_t)q[0] * (q[1] + q[3]) * q[2];
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = labels_of(k, q[0], q[3], q[4]);
    c.h[2] = rnd(k, c.n[2], -1, 1);
    c.h[3] = rnd(k, c.n[0], -1, 1);
    run_case(k, "onehot_cat_fwd", OFF(onehot_cat_fwd), 0, &c, b_onehot_fwd, "N=%d C=%d S=%d K=%d%s", q[0], q[1], q[2],
             q[3], q[4] ? " labels out of range" : "");
    c.fam = F_ELEM;
    run_case(k, "onehot_cat_bwd", OFF(onehot_cat_bwd), 0, &c, b_onehot_bwd, "N=%d C=%d S=%d K=%d", q[0], q[1], q[2],
             q[3]);
    ctx_free(&c);
  }
  static const int ca[][5] = {/* N, C, S, K, labels out of range */
                              {1, 1, 1, 1, 0}, {3, 5, 7, 4, 1}, {64, 128, 49, 10, 0}, {64, 256, 1, 10, 0}, {9, 3, 16, 2, 1}};
  static const char *vname[] = {"", " dx=NULL", " dgamma=dbeta=NULL"};
  for (size_t s = 0; s < sizeof ca / sizeof ca[0]; s++) {
    const int *q = ca[s];
    ctx_init(&c, F_ELEM);
    memcpy(c.i, q, 4 * sizeof(int));
    c.n[0] = (size_t)q[0] * q[1] * q[2];
    c.n[1] = (size_t)q[3] * q[1];
    c.h[0] = rnd(k, c.n[0], -2, 2);
    c.h[1] = rnd(k, c.n[1], 0.5, 1.5);
    c.h[2] = rnd(k, c.n[1], -1, 1);
    c.h[3] = labels_of(k, q[0], q[3], q[4]);
    c.h[4] = rnd(k, c.n[0], -1, 1);
    c.h[5] = rnd(k, c.n[0], -1, 1);
    c.h[6] = rnd(k, c.n[1], -1, 1);
    c.h[7] = rnd(k, c.n[1], -1, 1);
    run_case(k, "cond_affine_fwd", OFF(cond_affine_fwd), 0, &c, b_caff_fwd, "N=%d C=%d S=%d K=%d%s", q[0], q[1], q[2],
             q[3], q[4] ? " labels out of range" : "");
    c.K = (double)q[0] * q[2]; /* a class's sums: at most every row's S values */
    for (int v = 0; v < 3; v++) {
      c.i[4] = v;
      for (int j = 0; j < 8; j++) c.fam_of[j] = F_RED;
      if (v != 1) c.fam_of[0] = F_ELEM; /* dx first when present */
      run_case(k, "cond_affine_bwd", OFF(cond_affine_bwd), 0, &c, b_caff_bwd, "N=%d C=%d S=%d K=%d%s", q[0], q[1], q[2],
               q[3], vname[v]);
    }
    ctx_free(&c);
  }
  static const int pj[][4] = {/* N, F, K, labels out of range */
                              {1, 1, 1, 0}, {5, 7, 3, 0}, {64, 6272, 10, 0}, {64, 1024, 10, 0}, {3, 2, 5, 1}};
  static const char *pname[] = {"", " dh=NULL", " dtable=NULL"};
  for (size_t s = 0; s < sizeof pj / sizeof pj[0]; s++) {
    const int *q = pj[s];
    ctx_init(&c, F_RED);
    memcpy(c.i, q, 3 * sizeof(int));
    c.n[0] = (size_t)q[0] * q[1];
    c.n[1] = (size_t)q[2] * q[1];
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = rnd(k, c.n[1], -1, 1);
    c.h[2] = labels_of(k, q[0], q[2], q[3]);
    c.h[3] = rnd(k, (size_t)q[0], -1, 1);
    c.h[4] = rnd(k, (size_t)q[0], -1, 1);
    c.h[5] = rnd(k, c.n[0], -1, 1);
    c.h[6] = rnd(k, c.n[1], -1, 1);
    c.K = (double)q[1];
    run_case(k, "proj_fwd", OFF(proj_fwd), 0, &c, b_proj_fwd, "N=%d F=%d K=%d%s", q[0], q[1], q[2],
             q[3] ? " labels out of range" : "");
    c.K = (double)q[0];
    for (int v = 0; v < 3; v++) {
      c.i[3] = v;
      c.fam_of[0] = v != 1 ? F_ELEM : F_RED; /* dh first when present */
      run_case(k, "proj_bwd", OFF(proj_bwd), 0, &c, b_proj_bwd, "N=%d F=%d K=%d%s", q[0], q[1], q[2], pname[v]);
    }
    ctx_free(&c);
  }
  static const int cp[][4] = {/* rows, cols, ldd, lds */
                              {1, 1, 1, 1}, {7, 1, 1, 11}, {7, 10, 10, 11}, {7, 1, 11, 1}, {7, 10, 11, 10}, {300, 5, 7, 9}};
  for (size_t s = 0; s < sizeof cp / sizeof cp[0]; s++) {
    const int *q = cp[s];
    ctx_init(&c, F_EXACT);
    memcpy(c.i, q, 4 * sizeof(int));
    c.n[0] = (size_t)(q[0] - 1) * q[3] + q[1];
    c.n[1] = (size_t)(q[0] - 1) * q[2] + q[1];
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = rnd(k, c.n[1], -1, 1);
    run_case(k, "copy2d", OFF(copy2d), 0, &c, b_copy2d, "%dx%d ldd=%d lds=%d", q[0], q[1], q[2], q[3]);
    ctx_free(&c);
  }
}

/* ---- DiffAugment ---- */

static void b_diffaug_fwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], H = c->i[2], W = c->i[3];
  float *y = OUT(k, "y", NULL, c->n[0]);
  o->diffaug_fwd(y, SCRATCH(k, (size_t)N), IN(k, "x", c->h[0], c->n[0]), IN(k, "params", c->h[1], c->n[1]), N, C, H, W,
                 c->i[4]);
}
static void b_diffaug_bwd(kit *k, const gf__ops *o, ctx *c) {
  int N = c->i[0], C = c->i[1], H = c->i[2], W = c->i[3];
  float *dx = OUT(k, "dx", c->h[3], c->n[0]);
  o->diffaug_bwd(dx, SCRATCH(k, (size_t)N), IN(k, "dy", c->h[2], c->n[0]), IN(k, "params", c->h[1], c->n[1]), N, C, H,
                 W, c->i[4]);
}

static void cases_diffaug(kit *k) {
  static const int da[][5] = {/* N, C, H, W, flags (1 colour, 2 translation, 4 cutout) */
                              {1, 1, 8, 8, 7},   {3, 3, 9, 11, 7},  {4, 1, 28, 28, 1},  {4, 1, 28, 28, 2},
                              {4, 1, 28, 28, 4}, {4, 1, 28, 28, 6}, {2, 3, 32, 32, 7},  {64, 1, 28, 28, 7},
                              {5, 3, 8, 13, 3},  {2, 2, 16, 16, 5}};
  ctx c;
  for (size_t s = 0; s < sizeof da / sizeof da[0]; s++) {
    const int *q = da[s];
    ctx_init(&c, F_RED);
    memcpy(c.i, q, 5 * sizeof(int));
    c.n[0] = (size_t)q[0] * q[1] * q[2] * q[3];
    c.n[1] = (size_t)q[0] * GF_DIFFAUG_NPARAM;
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = rnd(k, c.n[1], 0, 1);
    for (int j = 0; j < GF_DIFFAUG_NPARAM; j++) { /* the ends of [0, 1): the extreme shifts and cuts */
      c.h[1][j] = 0.0f;
      if (q[0] > 1) c.h[1][(size_t)(q[0] - 1) * GF_DIFFAUG_NPARAM + j] = 0.99999994f;
    }
    c.h[2] = rnd(k, c.n[0], -1, 1);
    c.h[3] = rnd(k, c.n[0], -1, 1);
    c.K = (double)q[1] * q[2] * q[3]; /* the image means / gradient sums */
    run_case(k, "diffaug_fwd", OFF(diffaug_fwd), 0, &c, b_diffaug_fwd, "N=%d %dx%dx%d flags=%d", q[0], q[1], q[2], q[3],
             q[4]);
    run_case(k, "diffaug_bwd", OFF(diffaug_bwd), 0, &c, b_diffaug_bwd, "N=%d %dx%dx%d flags=%d", q[0], q[1], q[2], q[3],
             q[4]);
    ctx_free(&c);
  }
}

/* ---- misc ---- */

static void b_count(kit *k, const gf__ops *o, ctx *c) {
  const float *x = IN(k, "x", c->h[0], c->n[0]);
  float *count = STATS(k, "count", c->f, 1); /* starts from c->f[0], a whole number */
  for (int r = 0; r < ncalls(c); r++) o->count_nonfinite(count, x, c->n[0]);
}

static void cases_count(kit *k) {
  static const size_t ns[] = {1, 1000, 40001};
  static const int planted[] = {0, 1, 17};
  ctx c;
  for (int t = 0; t < 3; t++) {
    ctx_init(&c, F_EXACT);
    c.n[0] = ns[t];
    c.h[0] = rnd(k, ns[t], -1e30, 1e30);
    for (int j = 0; j < planted[t]; j++) {
      size_t at = (size_t)(next_u64(k) % ns[t]);
      c.h[0][at] = j % 3 == 0 ? NAN : j % 3 == 1 ? INFINITY : -INFINITY;
    }
    c.h[0][ns[t] - 1] = ns[t] > 1 ? 3.4028235e38f : c.h[0][0]; /* FLT_MAX is finite */
    c.f[0] = (float)(t * 3 + 1); /* the count adds to what is there */
    c.calls = t == 2 ? 2 : 1;
    run_case(k, "count_nonfinite", OFF(count_nonfinite), 0, &c, b_count,
             "n=%zu planted=%d (repeats allowed), count from %g, %d call%s", ns[t], planted[t], c.f[0], c.calls,
             c.calls > 1 ? "s" : "");
    ctx_free(&c);
  }
}

static void b_rand_normal(kit *k, const gf__ops *o, ctx *c) {
  o->rand_normal(OUT(k, "x", NULL, c->n[0]), c->n[0], c->f[0], c->f[1], c->u[0], c->u[1], c->u[2]);
}
static void b_rand_uniform(kit *k, const gf__ops *o, ctx *c) {
  o->rand_uniform(OUT(k, "x", NULL, c->n[0]), c->n[0], c->f[0], c->f[1], c->u[0], c->u[1], c->u[2]);
}

static void cases_rand(kit *k) {
  static const size_t ns[] = {1, 3, 4, 5, 1001, 40001};
  static const uint64_t ctrs[] = {0, 99, 1ull << 40};
  ctx c;
  for (int t = 0; t < 6; t++) {
    ctx_init(&c, F_ELEM);
    c.n[0] = ns[t];
    c.u[0] = next_u64(k);
    c.u[1] = 2;
    c.u[2] = ctrs[t % 3];
    c.f[0] = t % 2 ? 0.5f : 0.0f;
    c.f[1] = t % 2 ? 0.02f : 1.0f;
    run_case(k, "rand_normal", OFF(rand_normal), 0, &c, b_rand_normal, "n=%zu mean=%g std=%g counter=%llu", ns[t],
             c.f[0], c.f[1], (unsigned long long)c.u[2]);
    c.f[0] = t % 3 == 0 ? -1.0f : t % 3 == 1 ? -1.7320508f : 0.0f;
    c.f[1] = t % 3 == 0 ? 1.0f : t % 3 == 1 ? 1.7320508f : 1.0f;
    run_case(k, "rand_uniform", OFF(rand_uniform), 0, &c, b_rand_uniform, "n=%zu [%g, %g) counter=%llu", ns[t], c.f[0],
             c.f[1], (unsigned long long)c.u[2]);
  }
}

/* ---- constants, batch gather, settings, device status, whole training steps ---- */

/* upload_const: a read-only backend copy of host data (CPU: the host pointer itself), read back
   through copy; twice, so that release_const leaves the backend able to upload again. With
   c->i[0] > 0 the copy is also a gather's source (the trainer's resident dataset). */
static void b_upload_const(kit *k, const gf__ops *o, ctx *c) {
  size_t n = c->n[0];
  for (int r = 0; r < 2; r++) {
    const float *p = o->upload_const(c->h[0], sizeof(float) * n);
    float *y = OUT(k, r ? "copy (2nd upload)" : "copy", NULL, n);
    if (!p) {
      snprintf(k->fail, sizeof k->fail, "%s: upload_const of %zu bytes returned NULL (it must fit)", o->name,
               sizeof(float) * n);
      return;
    }
    o->copy(y, p, n);
    if (c->i[0] > 0 && r == 0) {
      int nb = c->i[0], rows = c->i[1], w = c->i[2];
      float *dst = OUT(k, "gathered", NULL, (size_t)nb * rows * w);
      o->gather(dst, p, (const int32_t *)IN(k, "idx", c->h[1], (size_t)nb), nb, rows, w);
    }
    o->sync(); /* every read of it is done before it goes */
    o->release_const(p);
  }
}

static void b_gather(kit *k, const gf__ops *o, ctx *c) {
  int n = c->i[0], rows = c->i[1], w = c->i[2];
  float *dst = OUT(k, "dst", NULL, (size_t)n * rows * w);
  const float *src = IN(k, "src", c->h[0], c->n[0]);
  /* the indices are int32: uploaded as raw 4-byte words through a float buffer */
  const float *idx = IN(k, "idx", c->h[1], (size_t)n);
  o->gather(dst, src, (const int32_t *)idx, n, rows, w);
}

/* n batch indices into nsrc samples as int32 words in floats; flips: 0 none, 1 odd positions,
   2 all, 3 at random. The first and last samples are always among them (n >= 2). */
static float *gather_idx(kit *k, int n, int nsrc, int flips) {
  float *h = xmalloc(sizeof(float) * (size_t)n);
  for (int i = 0; i < n; i++) {
    int32_t v = i == 0 ? 0 : i == n - 1 ? nsrc - 1 : (int32_t)(next_u64(k) % (uint64_t)nsrc);
    int f = flips == 1 ? i % 2 : flips == 2 ? 1 : flips == 3 ? (int)(next_u64(k) & 1) : 0;
    v |= f ? GF_GATHER_FLIP : 0;
    memcpy(&h[i], &v, 4);
  }
  return h;
}

static const char *flip_name[] = {"no flips", "odd rows flipped", "all flipped", "random flips"};

static void cases_const_gather(kit *k) {
  ctx c;
  static const size_t ns[] = {1, 4097, 1 << 20};
  for (int t = 0; t < 3; t++) {
    ctx_init(&c, F_EXACT);
    c.n[0] = ns[t];
    c.h[0] = rnd(k, ns[t], -1, 1);
    if (t == 2) { /* a dataset of 1024 samples of 32 x 32, a batch of 64 gathered from it */
      c.i[0] = 64; c.i[1] = 32; c.i[2] = 32;
      c.h[1] = gather_idx(k, 64, 1024, 3);
    }
    run_case(k, "upload_const", OFF(upload_const), 0, &c, b_upload_const, "n=%zu twice (release_const)%s", ns[t],
             t == 2 ? ", gather of 64 x 32x32 from it" : "");
    ctx_free(&c);
  }
  static const int gs[][4] = {/* n, rows, w, flips */
                              {1, 1, 1, 2},   {2, 1, 1, 1},  {4, 28, 28, 1}, {3, 192, 64, 3},
                              {64, 96, 32, 2}, {5, 7, 1, 2}, {2, 1, 257, 3}, {16, 3, 2, 0}};
  for (size_t t = 0; t < sizeof gs / sizeof gs[0]; t++) {
    ctx_init(&c, F_EXACT);
    int n = gs[t][0], rows = gs[t][1], w = gs[t][2], nsrc = n + 5;
    c.i[0] = n; c.i[1] = rows; c.i[2] = w;
    c.n[0] = (size_t)nsrc * rows * w;
    c.h[0] = rnd(k, c.n[0], -1, 1);
    c.h[1] = gather_idx(k, n, nsrc, gs[t][3]);
    run_case(k, "gather", OFF(gather), 0, &c, b_gather, "n=%d rows=%d w=%d of %d samples, %s", n, rows, w, nsrc,
             flip_name[gs[t][3]]);
    ctx_free(&c);
  }
}

/* The settings a side runs the rest of the cases with: the test side the kit's mode (--tf32 /
   --bf16), the reference float32; graphs on (the backends' default). */
static gf__backend_opts mode_opts(const kit *k, int side) {
  gf__backend_opts b = {side == 1 && k->tf32, side == 1 && k->bf16, 1};
  return b;
}
static void restore_opts(kit *k, const gf__ops *o) {
  gf__backend_opts b = mode_opts(k, k->side);
  if (o->configure(&b) < 0 && !k->fail[0])
    snprintf(k->fail, sizeof k->fail, "%s: configure back to the kit's settings failed: %s", o->name, gf_last_error());
}

/* A convolution forward pass y [N, OC, OH, OW] on one side: its library, or (absent or declined)
   im2col + gemm + swap01 through col [C*kh*kw, N*OH*OW] and tmp [OC, N*OH*OW]. */
static void conv_any(const gf__ops *o, float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g,
                     float *col, float *tmp) {
  if (o->conv_lib && o->conv_lib(GF_CONV_FWD, y, x, w, N, OC, g, 0.0f) == 0) return;
  int S = g->OH * g->OW, K = g->C * g->kh * g->kw;
  o->im2col(col, x, N, g);
  o->gemm(0, 0, OC, N * S, K, 1.0f, w, K, col, N * S, 0.0f, tmp, N * S);
  o->swap01(y, tmp, OC, N, S, 0.0f);
}

/* configure: c->i[0..2] the settings (tf32, bf16, graph); c->i[3]: 1 = they must be refused
   (GF_EUSAGE and a message) by every backend, 2 = they may be refused by the test side (a
   precision it cannot run: the case is then skipped with its message), 0 = must be accepted.
   Accepted settings then run a gemm and a convolution under them. Settings are put back. */
static void b_configure(kit *k, const gf__ops *o, ctx *c) {
  gf__backend_opts want = {c->i[0], c->i[1], c->i[2]};
  gf__backend_opts b = k->side == 1 ? want : (gf__backend_opts){0, 0, want.graph}; /* the reference: float32 */
  if (c->i[3] == 1) b = want;
  gf_clear_error();
  int rc = o->configure(&b);
  if (c->i[3] == 1) {
    if (rc >= 0) snprintf(k->fail, sizeof k->fail, "%s accepted tf32=%d bf16=%d together", o->name, b.tf32, b.bf16);
    else if (rc != GF_EUSAGE || !gf_last_error()[0])
      snprintf(k->fail, sizeof k->fail, "%s refused tf32=%d bf16=%d with status %d and message '%s' (want GF_EUSAGE "
               "and a message)", o->name, b.tf32, b.bf16, rc, gf_last_error());
    HVAL(k, "refused", rc < 0);
    restore_opts(k, o);
    return;
  }
  if (rc < 0) {
    if (k->side == 1 && c->i[3] == 2 && rc == GF_EUSAGE && gf_last_error()[0]) {
      k->declined = 1;
      snprintf(k->decline_why, sizeof k->decline_why, "%s", gf_last_error());
    } else {
      snprintf(k->fail, sizeof k->fail, "%s refused tf32=%d bf16=%d graph=%d: status %d, %s", o->name, b.tf32, b.bf16,
               b.graph, rc, gf_last_error());
    }
    restore_opts(k, o);
    return;
  }
  HVAL(k, "status", 0);
  int M = c->i[4], N = c->i[5], K = c->i[6];
  float *C = OUT(k, "gemm C", c->h[2], (size_t)M * N);
  o->gemm(0, 1, M, N, K, 1.0f, IN(k, "A", c->h[0], (size_t)M * K), K, IN(k, "B", c->h[1], (size_t)N * K), K, 0.5f, C, N);
  const gf__conv_geom *g = &c->g;
  int cn = c->i[7], coc = c->i[8];
  size_t S = (size_t)g->OH * g->OW;
  float *y = OUT(k, "conv y", NULL, (size_t)cn * coc * S);
  conv_any(o, y, IN(k, "x", c->h[3], c->n[3]), IN(k, "w", c->h[4], c->n[4]), cn, coc, g,
           SCRATCH(k, (size_t)g->C * g->kh * g->kw * cn * S), SCRATCH(k, (size_t)coc * cn * S));
  o->sync();
  restore_opts(k, o);
}

static void cases_configure(kit *k) {
  static const struct { int tf32, bf16, graph, rule; const char *what; } vs[] = {
    {0, 0, 1, 0, "float32, graphs on"}, {0, 0, 0, 0, "float32, graphs off"}, {1, 0, 1, 2, "TF32"},
    {0, 1, 1, 2, "bf16"}, {1, 1, 1, 1, "TF32 and bf16 together (refused)"}};
  static const cgeom q = {4, 16, 14, 14, 4, 4, 2, 2, 1, 1, 0, 0, 32};
  for (size_t v = 0; v < sizeof vs / sizeof vs[0]; v++) {
    ctx c;
    ctx_init(&c, F_MAT);
    c.i[0] = vs[v].tf32; c.i[1] = vs[v].bf16; c.i[2] = vs[v].graph; c.i[3] = vs[v].rule;
    c.i[4] = 64; c.i[5] = 96; c.i[6] = 300;
    c.h[0] = rnd(k, 64 * 300, -1, 1);
    c.h[1] = rnd(k, 96 * 300, -1, 1);
    c.h[2] = rnd(k, 64 * 96, -1, 1);
    c.g = mk_geom(&q);
    c.i[7] = q.N; c.i[8] = q.OC;
    c.n[3] = (size_t)q.N * q.C * q.H * q.W;
    c.n[4] = (size_t)q.OC * q.C * q.kh * q.kw;
    c.h[3] = rnd(k, c.n[3], -1, 1);
    c.h[4] = rnd(k, c.n[4], -1, 1);
    c.K = 300;
    c.tol = vs[v].bf16 ? RTOL_BF16 : vs[v].tf32 ? RTOL_TF32 : 0;
    if (vs[v].rule == 1) run_case(k, "configure", OFF(configure), 0, &c, b_configure, "%s", vs[v].what);
    else run_case(k, "configure", OFF(configure), 0, &c, b_configure, "%s; gemm 64x96x300, conv %s", vs[v].what, gdesc(&q));
    ctx_free(&c);
  }
}

/* check: 0 after a run of ops and a read-back (no device failure), asked twice. */
static void b_check(kit *k, const gf__ops *o, ctx *c) {
  float *y = OUT(k, "y", NULL, c->n[0]);
  o->fill(y, 0.5f, c->n[0]);
  o->axpy(y, 2.0f, IN(k, "x", c->h[0], c->n[0]), c->n[0]);
  float probe[1];
  o->to_host(probe, y, sizeof probe);
  for (int r = 0; r < 2; r++) {
    int rc = o->check();
    HVAL(k, r ? "check (again)" : "check", rc);
    if (rc != 0 && !k->fail[0])
      snprintf(k->fail, sizeof k->fail, "%s: check() = %d with no device failure: %s", o->name, rc, gf_last_error());
  }
}

static void cases_check(kit *k) {
  ctx c;
  ctx_init(&c, F_ELEM);
  c.n[0] = 40001;
  c.h[0] = rnd(k, c.n[0], -1, 1);
  run_case(k, "check", OFF(check), 0, &c, b_check, "after fill, axpy and a read-back of n=%zu, asked twice", c.n[0]);
  ctx_free(&c);
}

/* ---- whole training steps between step_begin and step_end ----
   A small model trained for STEPS steps as a trainer does (tests/test_step_ops.c's rules): the
   batch gathered (with flips) from a dataset uploaded once with upload_const, by indices uploaded
   inside the step; a probe uploaded from the SAME host buffer (to_device copies before it
   returns); statistics zeroed (fill), accumulated by two losses and count_nonfinite, read back
   once after the step; Philox noise and Adam's bias corrections (scalars) and the history slots
   (pointers) change every step; a convolution through the library. One step has an extra op (a
   backend must run it as it comes, then record again). On CUDA: warm-up, recording, replays. */
enum { ST_N = 32, ST_D = 64, ST_ROWS = 4, ST_H = 48, ST_SRC = 50, ST_PROBE = 1000, ST_STEPS = 7, ST_ODD = 4,
       ST_OC = 2 };

static void b_steps(kit *k, const gf__ops *o, ctx *c) {
  const int B = ST_N, D = ST_D, H = ST_H, S = ST_STEPS, W = ST_D / ST_ROWS;
  gf__backend_opts b = mode_opts(k, k->side);
  b.graph = c->i[0];
  if (o->configure(&b) < 0) {
    snprintf(k->fail, sizeof k->fail, "%s: configure(graph=%d) failed: %s", o->name, b.graph, gf_last_error());
    return;
  }
  const float *data = o->upload_const(c->h[0], sizeof(float) * ST_SRC * D);
  if (!data) {
    snprintf(k->fail, sizeof k->fail, "%s: upload_const of the dataset returned NULL", o->name);
    restore_opts(k, o);
    return;
  }
  /* parameters and optimizer state (compared at the end) */
  float *Wt = OUT(k, "W", c->h[1], (size_t)H * D), *bias = OUT(k, "b", c->h[2], H);
  float *m = OUT(k, "adam m", c->h[3], (size_t)H * D), *v = OUT(k, "adam v", c->h[4], (size_t)H * D);
  float *mb = OUT(k, "adam m(b)", c->h[5], H), *vb = OUT(k, "adam v(b)", c->h[6], H);
  const float *cw = IN(k, "conv w", c->h[7], (size_t)ST_OC * 9);
  /* what each step leaves behind, one slot per step */
  float *hist = OUT(k, "tanh out/step", NULL, (size_t)S * B * H);
  float *chist = OUT(k, "conv out/step", NULL, (size_t)S * B * ST_OC * D);
  float *rec = HOST(k, "stats/step", (size_t)S * 4);
  /* work buffers */
  static const float zero_idx[ST_N]; /* sample 0 */
  float *xg = SCRATCH(k, (size_t)B * D), *idx = SCRATCH_INIT(k, zero_idx, B), *probe = SCRATCH(k, ST_PROBE), *stats = SCRATCH(k, 4);
  float *act = SCRATCH(k, (size_t)B * H), *y = SCRATCH(k, (size_t)B * H), *dy = SCRATCH(k, (size_t)B * H);
  float *dact = SCRATCH(k, (size_t)B * H), *dW = SCRATCH(k, (size_t)H * D), *db = SCRATCH(k, H);
  float *noise = SCRATCH(k, (size_t)H * D), *cy = SCRATCH(k, (size_t)B * ST_OC * D);
  float *col = SCRATCH(k, (size_t)9 * B * D), *ctmp = SCRATCH(k, (size_t)ST_OC * B * D);
  float *extra = SCRATCH(k, (size_t)B * H);
  gf__conv_geom g = {1, ST_ROWS, W, 3, 3, 1, 1, 1, 1, ST_ROWS, W, 0, 0};
  float *hb = xmalloc(sizeof(float) * ST_PROBE); /* one host staging buffer, reused */
  for (int s = 0; s < S && !k->fail[0]; s++) {
    o->step_begin();
    memcpy(hb, c->h[8] + (size_t)s * B, sizeof(float) * B); /* this step's batch indices */
    o->to_device(idx, hb, sizeof(float) * B);
    memcpy(hb, c->h[9] + (size_t)s * ST_PROBE, sizeof(float) * ST_PROBE); /* the probe, same buffer */
    o->to_device(probe, hb, sizeof(float) * ST_PROBE);
    memset(hb, 0, sizeof(float) * ST_PROBE); /* a late read sees zeros: sample 0, no non-finite values */
    o->fill(stats, 0.0f, 4);
    o->gather(xg, data, (const int32_t *)idx, B, ST_ROWS, W);
    o->gemm(0, 1, B, H, D, 1.0f, xg, D, Wt, D, 0.0f, act, H); /* act [B, H] = xg W^T */
    o->bias_fwd(act, bias, B, H, 1);
    o->act_fwd(GF_ACT_TANH, y, act, (size_t)B * H, 0.0f);
    o->fill(dy, 0.0f, (size_t)B * H);
    o->gan_loss(GF_LOSS_BCE_ONE, stats, dy, y, (size_t)B * H, 1.0f);
    o->gan_loss(GF_LOSS_MSE_ZERO, stats, dy, y, (size_t)B * H, 0.5f);
    if (s == ST_ODD) { /* a step unlike the others */
      o->copy(extra, dy, (size_t)B * H);
      o->axpy(dy, 0.25f, extra, (size_t)B * H);
    }
    o->fill(dact, 0.0f, (size_t)B * H);
    o->act_bwd(GF_ACT_TANH, dact, act, y, dy, (size_t)B * H, 0.0f);
    o->gemm(1, 0, H, D, B, 1.0f, dact, H, xg, D, 0.0f, dW, D); /* dW [H, D] = dact^T xg */
    o->fill(db, 0.0f, H);
    o->bias_bwd(db, dact, B, H, 1);
    o->rand_normal(noise, (size_t)H * D, 0.0f, 1.0f, 7, 3, (uint64_t)s * ((size_t)H * D / 4));
    o->axpy(dW, 1e-4f, noise, (size_t)H * D);
    o->count_nonfinite(stats + 2, probe, ST_PROBE);
    float bc1 = (float)(1 - pow(0.5, s + 1)), bc2 = (float)(1 - pow(0.999, s + 1));
    /* eps 1e-2 (above the gradients): the update is smooth in them, so float and double agree */
    o->adam(Wt, dW, m, v, (size_t)H * D, 2e-3f, 0.5f, 0.999f, 1e-2f, bc1, bc2, 0.0f);
    o->adam(bias, db, mb, vb, H, 2e-3f, 0.5f, 0.999f, 1e-2f, bc1, bc2, 1e-4f);
    conv_any(o, cy, xg, cw, B, ST_OC, &g, col, ctmp);
    o->copy(hist + (size_t)s * B * H, y, (size_t)B * H);
    o->copy(chist + (size_t)s * B * ST_OC * D, cy, (size_t)B * ST_OC * D);
    o->step_end();
    o->to_host(rec + 4 * s, stats, sizeof(float) * 4); /* once per step, after it */
    int rc = o->check();
    if (rc != 0)
      snprintf(k->fail, sizeof k->fail, "%s: check() = %d after step %d: %s", o->name, rc, s + 1, gf_last_error());
  }
  free(hb);
  o->sync();
  o->release_const(data);
  restore_opts(k, o);
}

static void cases_steps(kit *k) {
  for (int graph = 1; graph >= 0; graph--) {
    ctx c;
    ctx_init(&c, F_MAT);
    c.i[0] = graph;
    c.K = ST_N * ST_H;
    c.h[0] = rnd(k, (size_t)ST_SRC * ST_D, -1, 1);
    c.h[1] = rnd(k, (size_t)ST_H * ST_D, -0.2, 0.2);
    c.h[2] = rnd(k, ST_H, -0.1, 0.1);
    c.h[3] = rnd(k, (size_t)ST_H * ST_D, -1e-3, 1e-3);
    c.h[4] = rnd(k, (size_t)ST_H * ST_D, 0, 1e-6);
    c.h[5] = rnd(k, ST_H, -1e-3, 1e-3);
    c.h[6] = rnd(k, ST_H, 0, 1e-6);
    c.h[7] = rnd(k, (size_t)ST_OC * 9, -1, 1);
    c.h[8] = xmalloc(sizeof(float) * ST_STEPS * ST_N);
    for (int s = 0; s < ST_STEPS; s++) {
      float *ix = gather_idx(k, ST_N, ST_SRC, 3);
      memcpy(c.h[8] + (size_t)s * ST_N, ix, sizeof(float) * ST_N);
      free(ix);
    }
    c.h[9] = rnd(k, (size_t)ST_STEPS * ST_PROBE, -10, 10);
    for (int s = 0; s < ST_STEPS; s++) /* s non-finite values in step s's probe */
      for (int j = 0; j < s; j++) c.h[9][(size_t)s * ST_PROBE + (size_t)(next_u64(k) % ST_PROBE)] = j % 2 ? NAN : -INFINITY;
    run_case(k, "step_begin/end", OFF(step_begin), 0, &c, b_steps,
             "%d steps of a small GAN-like model, graphs %s, step %d different", ST_STEPS, graph ? "on" : "off",
             ST_ODD + 1);
    ctx_free(&c);
  }
}

/* ================================================================ coverage of the table */

typedef struct member {
  const char *name;
  size_t off, size;
  const char *op; /* the case (run_case's op name) that tests it; NULL: every case (sync) or a label */
} member;

#define M(m, op) {#m, offsetof(gf__ops, m), sizeof(((gf__ops *)0)->m), op}
/* Every member of gf__ops and the case that tests it. */
static const member members[] = {
  M(name, NULL), M(alloc, "alloc"), M(free, "alloc"), M(to_device, "to_device/host"), M(to_host, "to_device/host"),
  M(copy, "copy"), M(fill, "fill"), M(sync, NULL), M(upload_const, "upload_const"), M(release_const, "upload_const"),
  M(step_begin, "step_begin/end"), M(step_end, "step_begin/end"), M(configure, "configure"), M(check, "check"),
  M(gemm, "gemm"), M(axpy, "axpy"), M(scale, "scale"), M(bias_fwd, "bias_fwd"), M(bias_bwd, "bias_bwd"),
  M(act_fwd, "act_fwd"), M(act_bwd, "act_bwd"), M(norm_fwd_train, "norm_fwd_train"), M(norm_fwd_eval, "norm_fwd_eval"),
  M(norm_bwd, "norm_bwd"), M(norm_sums, "norm_sums"), M(norm_fwd_sync, "norm_fwd_sync"),
  M(norm_bwd_sums, "norm_bwd_sums"), M(norm_bwd_sync, "norm_bwd_sync"), M(maxout_fwd, "maxout_fwd"), M(maxout_bwd, "maxout_bwd"), M(dropout_fwd, "dropout_fwd"),
  M(mul_bwd, "mul_bwd"), M(gan_loss, "gan_loss"), M(l1_loss, "l1_loss"), M(mse_loss, "mse_loss"),
  M(xent_loss, "xent_loss"), M(dot, "dot"), M(scalar_op, "scalar_op"), M(lerp_rows, "lerp_rows"),
  M(grad_penalty, "grad_penalty"), M(maxout_take, "maxout_take"), M(act_curv, "act_curv"),
  M(adam, "adam"), M(sgd, "sgd"), M(rmsprop, "rmsprop"), M(clamp, "clamp"), M(im2col, "im2col"), M(col2im, "col2im"),
  M(swap01, "swap01"), M(wino_fwd, "wino_fwd"), M(wino_dw, "wino_dw"), M(pwino_fwd, "pwino_fwd"),
  M(pwino_bwd_data, "pwino_bwd_data"), M(pwino_dw, "pwino_dw"), M(direct_fwd, "direct_fwd"),
  M(direct_bwd_data, "direct_bwd_data"), M(direct_bwd_w, "direct_bwd_w"), M(dw_fwd, "dw_fwd"),
  M(dw_bwd_data, "dw_bwd_data"), M(dw_bwd_w, "dw_bwd_w"), M(ka_coef, "ka_coef"), M(conv_lib_name, NULL),
  M(conv_lib_all, "conv_lib"), M(conv_lib, "conv_lib"), M(reflect_pad_fwd, "reflect_pad_fwd"),
  M(reflect_pad_bwd, "reflect_pad_bwd"), M(count_nonfinite, "count_nonfinite"), M(gather, "gather"),
  M(rand_normal, "rand_normal"), M(rand_uniform, "rand_uniform"), M(onehot_cat_fwd, "onehot_cat_fwd"),
  M(onehot_cat_bwd, "onehot_cat_bwd"), M(cond_affine_fwd, "cond_affine_fwd"), M(cond_affine_bwd, "cond_affine_bwd"),
  M(proj_fwd, "proj_fwd"), M(proj_bwd, "proj_bwd"), M(copy2d, "copy2d"), M(diffaug_fwd, "diffaug_fwd"),
  M(diffaug_bwd, "diffaug_bwd"),
};

static int cmp_member(const void *a, const void *b) {
  const member *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Finds bytes of gf__ops no listed member accounts for: a gap as wide as a pointer is a member
   this program does not know (a new op): returns its offset, or -1. */
static long uncovered_member(void) {
  enum { NM = sizeof members / sizeof members[0] };
  member m[NM];
  memcpy(m, members, sizeof m);
  qsort(m, NM, sizeof m[0], cmp_member);
  size_t end = 0;
  for (int i = 0; i < NM; i++) {
    if (m[i].off >= end + sizeof(void *)) return (long)end;
    if (m[i].off + m[i].size > end) end = m[i].off + m[i].size;
  }
  return sizeof(gf__ops) >= end + sizeof(void *) ? (long)end : -1;
}

/* ================================================================ self-test: planted faults */

/* The CPU table with one op broken in a way the comparison must catch. */
static const gf__ops *cpu_o;
static gf__ops faulty;

static void f_axpy_overrun(float *y, float a, const float *x, size_t n) { /* writes y[n] */
  cpu_o->axpy(y, a, x, n);
  y[n] = 0.0f;
}
static void f_act_unwritten(gf__act kind, float *y, const float *x, size_t n, float alpha) {
  if (n > 1) cpu_o->act_fwd(kind, y, x, n - 1, alpha); /* the last element left as it was */
}
static void f_gemm_off(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, float *C, int ldc) {
  cpu_o->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  C[(size_t)(M - 1) * ldc + N - 1] *= 1.0f + 1e-4f; /* one element 1e-4 off */
}
static void f_bias_bwd_clobber(float *db, const float *dy, int N, int C, int S) {
  cpu_o->bias_bwd(db, dy, N, C, S);
  ((float *)dy)[0] += 1.0f; /* writes its input */
}
static void f_dropout_counter(float *y, float *mask, const float *x, size_t n, float p, uint64_t key, uint64_t stream,
                              uint64_t counter) {
  cpu_o->dropout_fwd(y, mask, x, n, p, key, stream, counter + 1); /* the next block of the stream */
}
static void f_norm_bwd_assign(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                              const float *mean, const float *rstd, const float *gamma, int N, int C, int S) {
  if (dgamma) memset(dgamma, 0, sizeof(float) * (size_t)C); /* = instead of += */
  cpu_o->norm_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, N, C, S);
}

static void f_gan_loss_assign(gf__gan_loss kind, float *stats, float *dx, const float *x, size_t n, float scale) {
  stats[0] = stats[1] = 0.0f; /* = instead of += */
  cpu_o->gan_loss(kind, stats, dx, x, n, scale);
}
static void f_count_assign(float *count, const float *x, size_t n) {
  count[0] = 0.0f; /* = instead of += */
  cpu_o->count_nonfinite(count, x, n);
}
static void f_gather_noflip(float *dst, const float *src, const int32_t *idx, int n, int rows, int w) {
  int32_t *plain = xmalloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
  for (int i = 0; i < n; i++) plain[i] = idx[i] & ~GF_GATHER_FLIP; /* the flip bit ignored */
  cpu_o->gather(dst, src, plain, n, rows, w);
  free(plain);
}
static void f_caff_bwd_assign(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                              const float *gamma, const float *labels, int N, int C, int S, int K) {
  if (dgamma) memset(dgamma, 0, sizeof(float) * (size_t)K * C); /* = instead of += */
  cpu_o->cond_affine_bwd(dx, dgamma, dbeta, dy, x, gamma, labels, N, C, S, K);
}
static void f_diffaug_bwd_nocolor(float *dx, float *gsum, const float *dy, const float *params, int N, int C, int H,
                                  int W, int flags) {
  cpu_o->diffaug_bwd(dx, gsum, dy, params, N, C, H, W, flags & ~GF_DIFFAUG_COLOR); /* the colour transpose left out */
}
static int f_configure_lax(const gf__backend_opts *o) { (void)o; return 0; } /* accepts anything */
static int f_check_spurious(void) { return gf__fail(GF_ENODEV, "a device failure that did not happen"); }
/* to_device inside a step keeps the host pointer and copies at step_end (after the caller reused
   its buffer), against "to_device copies its host data before it returns" */
static struct { void *dst; const void *src; size_t bytes; } late[16];
static int nlate, in_step;
static void f_step_begin(void) { in_step = 1; nlate = 0; }
static void f_step_end(void) {
  for (int i = 0; i < nlate; i++) memcpy(late[i].dst, late[i].src, late[i].bytes);
  in_step = 0;
  nlate = 0;
}
static void f_to_device_late(void *dst, const void *src, size_t bytes) {
  if (in_step && nlate < 16) {
    late[nlate].dst = dst; late[nlate].src = src; late[nlate].bytes = bytes;
    nlate++;
  } else cpu_o->to_device(dst, src, bytes);
}

typedef struct fault {
  const char *op, *what;
  void (*plant)(void);
} fault;

static void p_axpy(void) { faulty.axpy = f_axpy_overrun; }
static void p_act(void) { faulty.act_fwd = f_act_unwritten; }
static void p_gemm(void) { faulty.gemm = f_gemm_off; }
static void p_bias(void) { faulty.bias_bwd = f_bias_bwd_clobber; }
static void p_drop(void) { faulty.dropout_fwd = f_dropout_counter; }
static void p_norm(void) { faulty.norm_bwd = f_norm_bwd_assign; }
static void p_loss(void) { faulty.gan_loss = f_gan_loss_assign; }
static void p_count(void) { faulty.count_nonfinite = f_count_assign; }
static void p_gather(void) { faulty.gather = f_gather_noflip; }
static void p_caff(void) { faulty.cond_affine_bwd = f_caff_bwd_assign; }
static void p_daug(void) { faulty.diffaug_bwd = f_diffaug_bwd_nocolor; }
static void p_config(void) { faulty.configure = f_configure_lax; }
static void p_check(void) { faulty.check = f_check_spurious; }
static void p_late(void) {
  faulty.step_begin = f_step_begin;
  faulty.step_end = f_step_end;
  faulty.to_device = f_to_device_late;
}

/* Runs the cases of each planted fault's op with the broken table under test: every fault must
   fail at least one case (the others' shapes may not reach it). Returns the exit status. */
static int selftest(kit *k) {
  static const fault faults[] = {
    {"axpy", "writes one element past its output", p_axpy},
    {"act_fwd", "leaves the last element unwritten", p_act},
    {"gemm", "puts one element 1e-4 (relative) off", p_gemm},
    {"bias_bwd", "changes its input", p_bias},
    {"dropout_fwd", "draws from the next counter", p_drop},
    {"norm_bwd", "overwrites dgamma instead of accumulating", p_norm},
    {"gan_loss", "overwrites its statistics instead of adding", p_loss},
    {"count_nonfinite", "overwrites the count instead of adding", p_count},
    {"gather", "ignores GF_GATHER_FLIP", p_gather},
    {"cond_affine_bwd", "overwrites dgamma instead of accumulating", p_caff},
    {"diffaug_bwd", "leaves out the colour transforms' transpose", p_daug},
    {"configure", "accepts TF32 and bf16 together", p_config},
    {"check", "reports a failure that did not happen", p_check},
    {"step_begin/end", "copies a step's uploads at step_end", p_late},
  };
  int missed = 0;
  cpu_o = gf__ops_cpu();
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
    faulty = *cpu_o;
    faults[i].plant();
    k->side_ops[0] = k->dbl;
    k->side_ops[1] = &faulty;
    k->side_name[0] = "double";
    k->side_name[1] = "faulty-cpu";
    k->only = faults[i].op;
    int f0 = k->failed, c0 = k->cases;
    k->quiet = 1;
    cases_memory(k); cases_gemm(k); cases_vector(k); cases_bias(k); cases_act(k); cases_norm(k); cases_dropout(k);
    cases_loss(k); cases_count(k); cases_const_gather(k); cases_configure(k); cases_check(k); cases_steps(k);
    cases_cond(k); cases_diffaug(k);
    k->quiet = 0;
    int caught = k->failed - f0;
    printf("  %s %-15s %-44s caught in %d of %d cases\n", caught ? "ok  " : "MISS", faults[i].op, faults[i].what, caught,
           k->cases - c0);
    missed += !caught;
  }
  printf("gf_backend_ops --selftest: %s\n", missed ? "a planted fault went unnoticed" : "every planted fault was caught");
  return missed ? 1 : 0;
}

/* ================================================================ main */

static void usage(void) {
  puts("usage: gf_backend_ops [--device D | --test B --ref R] [--ops LIST] [--big] [--tf32 | --bf16]\n"
       "                      [--seed N] [--json FILE] [--list] [--selftest]\n\n"
       "Runs every op of the backend table (src/core/ops.h) on random inputs of several shapes on\n"
       "the test backend and on the reference, and compares every output element; also constant\n"
       "uploads, settings (configure), check, and 7 whole training steps between step_begin and\n"
       "step_end (graphs on and off). Every member of the table must be reached by a case.\n"
       "  --device D   shorthand for --test D --ref cpu (e.g. --device cuda, cuda:1)\n"
       "  --test B     the backend under test (default cpu)\n"
       "  --ref R      the reference: a backend name, or 'double' (default): the naive\n"
       "               double-precision reference in tools/gpu/ref_ops.c\n"
       "  --ops LIST   only these ops (comma separated; --list prints them)\n"
       "  --big        add model-sized cases (GEMMs of 1024^3, DCGAN and CycleGAN layers, Adam on\n"
       "               11M parameters); meant for a GPU against the CPU\n"
       "  --tf32, --bf16  the test backend runs GEMMs and convolutions in TF32 / bfloat16 (through\n"
       "               its configure op); the matrix family's tolerance is loosened to 5e-3 / 3e-2\n"
       "  --json FILE  write the summary as JSON\n"
       "  --selftest   plant faults in a copy of the CPU table (an overrun, an unwritten element, an\n"
       "               error of 1e-4, a written input, a shifted random stream, = for += in a gradient,\n"
       "               loss statistics, the non-finite count and a conditional affine's gradient, a\n"
       "               gather without flips, DiffAugment's backward without its colour part, a lax\n"
       "               configure, a spurious check, a step's uploads copied late) and check that each\n"
       "               is caught\n"
       "Tolerance per output element: |t - r| <= rtol * max(|r|, F * rms(r)); exact ops bitwise;\n"
       "elementwise rtol 1e-5, F 0.1; reductions of K terms rtol 1e-5 * max(1, sqrt(K/4096)), F 1;\n"
       "Winograd F(4x4,3x3) rtol 1e-4; normalisation outputs also floored by their conditioning.\n"
       "Exit status: 0 every case passed, 1 a case failed or a backend is unavailable, 2 usage.");
}

static const char *list_ops[] = {"alloc", "to_device/host", "copy", "fill", "gemm", "axpy", "scale", "mul_bwd",
                                 "bias_fwd", "bias_bwd", "act_fwd", "act_bwd", "norm_fwd_train", "norm_fwd_eval",
                                 "norm_bwd", "norm_sums", "norm_fwd_sync", "norm_bwd_sums", "norm_bwd_sync",
                                 "maxout_fwd", "maxout_bwd", "dropout_fwd", "gan_loss", "l1_loss",
                                 "mse_loss", "xent_loss", "dot", "scalar_op", "lerp_rows", "grad_penalty",
                                 "maxout_take", "act_curv", "adam", "sgd", "rmsprop", "clamp", "im2col", "col2im", "swap01", "wino_fwd",
                                 "wino_dw", "pwino_fwd", "pwino_bwd_data", "pwino_dw", "direct_fwd", "direct_bwd_data",
                                 "direct_bwd_w", "dw_fwd", "dw_bwd_data", "dw_bwd_w", "ka_coef", "conv_lib", "reflect_pad_fwd", "reflect_pad_bwd", "count_nonfinite",
                                 "rand_normal", "rand_uniform", "upload_const", "gather", "configure", "check",
                                 "step_begin/end", "onehot_cat_fwd", "onehot_cat_bwd", "cond_affine_fwd",
                                 "cond_affine_bwd", "proj_fwd", "proj_bwd", "copy2d", "diffaug_fwd", "diffaug_bwd", NULL};

/* Every member's case ran (or was skipped as an optional op the test side lacks): 0, or -1 with
   the first member that no case reached in msg. */
static int coverage(const kit *k, char *msg, size_t cap) {
  for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
    const char *op = members[i].op;
    if (!op || !op_selected(k, op)) continue;
    int ran = 0;
    for (int j = 0; j < k->nops; j++) ran |= !strcmp(k->ops[j].op, op) && k->ops[j].cases > 0;
    if (!ran) {
      snprintf(msg, cap, "no case tested gf__ops.%s (its case '%s' did not run)", members[i].name, op);
      return -1;
    }
  }
  return 0;
}

static void write_json(kit *k, const char *path, const char *status, const char *message) {
  if (!path) return;
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "gf_backend_ops: %s: cannot write the JSON summary\n", path);
    return;
  }
  char msg[1024], tn[128], rn[128];
  jstr(msg, sizeof msg, message ? message : "");
  jstr(tn, sizeof tn, k->side_name[1] ? k->side_name[1] : "");
  jstr(rn, sizeof rn, k->side_name[0] ? k->side_name[0] : "");
  fprintf(f, "{\n  \"tool\": \"gf_backend_ops\",\n  \"status\": \"%s\",\n  \"message\": \"%s\",\n", status, msg);
  fprintf(f, "  \"test\": \"%s\",\n  \"ref\": \"%s\",\n  \"mode\": \"%s\",\n  \"big\": %d,\n  \"seed\": %llu,\n", tn, rn,
          k->bf16 ? "bf16" : k->tf32 ? "tf32" : "fp32", k->big, (unsigned long long)k->seed);
  fprintf(f,
          "  \"tolerance\": {\"exact\": \"bitwise\", \"elementwise\": \"|t-r| <= 1e-5 * max(|r|, 0.1 * rms(r))\", "
          "\"reduction\": \"|t-r| <= 1e-5 * max(1, sqrt(K/4096)) * max(|r|, rms(r))\", \"matrix\": \"as reduction; "
          "tf32 rtol %g, bf16 rtol %g\", \"winograd\": \"as matrix with rtol %g\", \"normalisation\": \"floor "
          "also (|x| + |mean|) rstd |gamma| + |beta|\"},\n",
          RTOL_TF32, RTOL_BF16, RTOL_WINO);
  fprintf(f, "  \"cases\": %d,\n  \"passed\": %d,\n  \"failed\": %d,\n  \"skipped\": %d,\n  \"ops\": [", k->cases,
          k->passed, k->failed, k->skipped);
  for (int i = 0; i < k->nops; i++)
    fprintf(f, "%s\n    {\"op\": \"%s\", \"cases\": %d, \"failed\": %d, \"skipped\": %d, \"max_err\": %.3g}", i ? "," : "",
            k->ops[i].op, k->ops[i].cases, k->ops[i].failed, k->ops[i].skipped, k->ops[i].max_err);
  fprintf(f, "\n  ],\n  \"failures\": [%s\n  ],\n  \"skips\": [%s\n  ]\n}\n", k->json_fail ? k->json_fail : "",
          k->json_skip ? k->json_skip : "");
  fclose(f);
}

int main(int argc, char **argv) {
  kit k;
  memset(&k, 0, sizeof k);
  const char *test = "cpu", *ref = "double", *json = NULL;
  int self = 0;
  k.seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return 0; }
    else if (!strcmp(a, "--list")) { for (int j = 0; list_ops[j]; j++) puts(list_ops[j]); return 0; }
    else if (!strcmp(a, "--big")) k.big = 1;
    else if (!strcmp(a, "--selftest")) self = 1;
    else if (!strcmp(a, "--tf32")) k.tf32 = 1;
    else if (!strcmp(a, "--bf16")) k.bf16 = 1;
    else if (!v) die_usage("%s needs a value (or unknown option; --help)", a);
    else if (!strcmp(a, "--device")) { test = v; ref = "cpu"; i++; }
    else if (!strcmp(a, "--test")) { test = v; i++; }
    else if (!strcmp(a, "--ref")) { ref = v; i++; }
    else if (!strcmp(a, "--ops")) { k.only = v; i++; }
    else if (!strcmp(a, "--json")) { json = v; i++; }
    else if (!strcmp(a, "--seed")) {
      char *end;
      unsigned long long s = strtoull(v, &end, 10);
      if (*end || !*v) die_usage("--seed needs a non-negative integer, not '%s'", v);
      k.seed = s;
      i++;
    } else die_usage("unknown option '%s' (--help)", a);
  }
  if (k.tf32 && k.bf16) die_usage("--tf32 and --bf16 exclude each other");
  if (k.only)
    for (const char *p = k.only; *p;) {
      const char *e = strchr(p, ',');
      size_t len = e ? (size_t)(e - p) : strlen(p);
      int found = 0;
      for (int j = 0; list_ops[j]; j++) found |= strlen(list_ops[j]) == len && !strncmp(list_ops[j], p, len);
      if (!found) die_usage("--ops: unknown op '%.*s' (--list prints them)", (int)len, p);
      if (!e) break;
      p = e + 1;
    }
  k.rs = 1;
  k.dbl = gf_kit_ref_ops();
  k.side_name[0] = ref;
  k.side_name[1] = test;
  if (gf_kit_rng_selftest() != 0) {
    fprintf(stderr, "gf_backend_ops: the reference's Philox4x32-10 / SplitMix64 fail their known-answer vectors\n");
    write_json(&k, json, "error", "reference RNG known-answer test failed");
    return 1;
  }
  long gap = uncovered_member();
  if (gap >= 0) {
    char msg[256];
    snprintf(msg, sizeof msg,
             "gf__ops has a member at byte %ld that gf_backend_ops does not test: add its case and its line in "
             "members[] (tools/gpu/backend_ops.c)",
             gap);
    fprintf(stderr, "gf_backend_ops: %s\n", msg);
    write_json(&k, json, "error", msg);
    return 1;
  }
  if (self) {
    k.json_fail = NULL;
    int rc = selftest(&k);
    free(k.json_fail);
    free(k.json_skip);
    return rc;
  }
  const char *names[2] = {ref, test};
  for (int s = 0; s < 2; s++) {
    if (!strcmp(names[s], "double")) {
      k.side_ops[s] = k.dbl;
      continue;
    }
    int rc = gf__ops_get(names[s], &k.side_ops[s]);
    if (rc < 0) {
      char msg[512];
      snprintf(msg, sizeof msg, "backend '%s' is not available: %s", names[s], gf_last_error());
      printf("gf_backend_ops: %s\n", msg);
      write_json(&k, json, "unavailable", msg);
      return 1;
    }
  }
  if (k.tf32 || k.bf16) {
    gf__backend_opts bo = {k.tf32, k.bf16, 1};
    if (k.side_ops[1]->configure(&bo) < 0) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s cannot run %s: %s", test, k.tf32 ? "TF32" : "bf16", gf_last_error());
      printf("gf_backend_ops: %s\n", msg);
      write_json(&k, json, "unavailable", msg);
      return 1;
    }
  }
  printf("gf_backend_ops: test %s against %s, %s, seed %llu%s\n", k.side_ops[1]->name,
         k.side_ops[0] == k.dbl ? "the double-precision reference" : k.side_ops[0]->name,
         k.bf16 ? "bf16" : k.tf32 ? "tf32" : "fp32", (unsigned long long)k.seed, k.big ? ", with model-sized cases" : "");
  cases_memory(&k);
  cases_gemm(&k);
  cases_vector(&k);
  cases_bias(&k);
  cases_act(&k);
  cases_norm(&k);
  cases_norm_sync(&k);
  cases_maxout(&k);
  cases_dropout(&k);
  cases_loss(&k);
  cases_optim(&k);
  cases_critic(&k);
  cases_im2col(&k);
  cases_swap01(&k);
  cases_wino(&k);
  cases_pwino(&k);
  cases_direct(&k);
  cases_dw(&k);
  cases_ka(&k);
  cases_conv_lib(&k);
  cases_rpad(&k);
  cases_cond(&k);
  cases_diffaug(&k);
  cases_count(&k);
  cases_rand(&k);
  cases_const_gather(&k);
  cases_configure(&k);
  cases_check(&k);
  cases_steps(&k);
  char cov[256];
  if (coverage(&k, cov, sizeof cov) < 0) {
    printf("  FAIL %s\n", cov);
    record_fail(&k, "coverage", "", cov);
    k.failed++;
  }
  printf("gf_backend_ops: %d cases: %d passed, %d failed, %d skipped (%s vs %s)\n", k.cases, k.passed, k.failed,
         k.skipped, test, ref);
  char msg[256];
  snprintf(msg, sizeof msg, "%d cases: %d passed, %d failed, %d skipped", k.cases, k.passed, k.failed, k.skipped);
  write_json(&k, json, k.failed ? "fail" : "pass", msg);
  free(k.json_fail);
  free(k.json_skip);
  return k.failed ? 1 : 0;
}
