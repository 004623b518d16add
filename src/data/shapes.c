/* shapes.c: procedural grayscale circles/squares/triangles with 4x4-supersampled edges. */
#include "data/dataset.h"
#include "core/rng.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GF__PI 3.14159265358979323846

/* A shape as a signed-distance-like function: < 0 inside. For convex polygons the max over
   edge half-planes is exact inside and a lower bound of the distance outside, which is enough
   to decide that a whole pixel is inside or outside. */
typedef struct {
  int kind;          /* 0 circle, 1 square, 2 triangle */
  float cx, cy, r;   /* centre, circle radius */
  int ne;            /* polygon edges */
  float nx[4], ny[4], off[4]; /* unit outward normals and offsets: n . p - off */
} shape;

static inline float sdf(const shape *s, float x, float y) {
  if (s->kind == 0) {
    float dx = x - s->cx, dy = y - s->cy;
    return sqrtf(dx * dx + dy * dy) - s->r;
  }
  float m = -1e30f;
  for (int e = 0; e < s->ne; e++) {
    float v = s->nx[e] * x + s->ny[e] * y - s->off[e];
    if (v > m) m = v;
  }
  return m;
}

/* Regular polygon with k vertices on a circle of radius R around (cx, cy), rotated by th. */
static void polygon(shape *s, int k, float cx, float cy, float R, float th) {
  s->ne = k;
  for (int e = 0; e < k; e++) {
    float a = th + (float)(2.0 * GF__PI) * ((float)e + 0.5f) / (float)k; /* edge-normal angle */
    s->nx[e] = cosf(a);
    s->ny[e] = sinf(a);
    /* apothem = R cos(pi/k) */
    s->off[e] = s->nx[e] * cx + s->ny[e] * cy + R * cosf((float)GF__PI / (float)k);
  }
}

static void render(const shape *s, float *img, int size, float bg, float fg, float R) {
  for (int i = 0; i < size * size; i++) img[i] = bg;
  int x0 = GF_MAX(0, (int)floorf(s->cx - R - 1)), x1 = GF_MIN(size - 1, (int)ceilf(s->cx + R + 1));
  int y0 = GF_MAX(0, (int)floorf(s->cy - R - 1)), y1 = GF_MIN(size - 1, (int)ceilf(s->cy + R + 1));
  const float half_diag = 0.7072f;
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      float v = sdf(s, (float)x + 0.5f, (float)y + 0.5f);
      float cov;
      if (v <= -half_diag) cov = 1.0f;
      else if (v >= half_diag) cov = 0.0f;
      else {
        int hit = 0;
        for (int sy = 0; sy < 4; sy++)
          for (int sx = 0; sx < 4; sx++)
            hit += sdf(s, (float)x + 0.125f + 0.25f * (float)sx, (float)y + 0.125f + 0.25f * (float)sy) < 0.0f;
        cov = (float)hit * (1.0f / 16.0f);
      }
      img[y * size + x] = bg + cov * (fg - bg);
    }
}

int gf__shapes_make(gf__dataset *d, int n, int size, uint64_t seed, gf__scale scale) {
  if (!d) return gf__fail(GF_EINVAL, "shapes: NULL dataset");
  memset(d, 0, sizeof *d);
  if (n <= 0) return gf__fail(GF_EINVAL, "shapes: sample count must be positive (got %d)", n);
  if (size < 8 || size > 1024) return gf__fail(GF_EINVAL, "shapes: image size %d outside 8..1024", size);
  size_t dim = (size_t)size * size;
  d->x = gf__alloc_aligned((size_t)n * dim * sizeof(float));
  d->labels = gf__calloc((size_t)n, sizeof(int));
  if (!d->x || !d->labels) { gf__dataset_free(d); return GF_ENOMEM; }
  float bg = scale == GF_SCALE_UNIT ? 0.0f : -1.0f, fg = 1.0f;
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_DATA);
  const float S = (float)size;
  for (int i = 0; i < n; i++) {
    /* Two blocks per image, addressed by index: image i does not depend on how many came before. */
    r.counter = (uint64_t)i * 2;
    float u[8];
    gf__rng_uniform(&r, u, 8, 0.0f, 1.0f);
    shape s;
    memset(&s, 0, sizeof s);
    s.kind = (int)(u[0] * 3.0f);
    if (s.kind > 2) s.kind = 2;
    float extent = (0.35f + 0.45f * u[1]) * S; /* diameter / side / triangle side: 35-80% */
    float th = (float)(2.0 * GF__PI) * u[4];
    float R; /* circumradius about the centre */
    if (s.kind == 0) R = 0.5f * extent;
    else if (s.kind == 1) R = extent * 0.70710678f;    /* square of side `extent` */
    else R = extent * 0.57735027f;                     /* equilateral triangle of side `extent` */
    /* Centre range: keep the shape's circumcircle at least ~85% inside the frame. */
    float m = GF_MIN(0.85f * R, 0.5f * S);
    s.cx = m + (S - 2.0f * m) * u[2];
    s.cy = m + (S - 2.0f * m) * u[3];
    if (s.kind == 0) s.r = R;
    else polygon(&s, s.kind == 1 ? 4 : 3, s.cx, s.cy, R, th);
    render(&s, d->x + (size_t)i * dim, size, bg, fg, R);
    d->labels[i] = s.kind;
  }
  snprintf(d->name, sizeof d->name, "shapes");
  d->n = n;
  d->c = 1;
  d->h = d->w = size;
  d->nclass = 3;
  return 0;
}
