/* plot.c: 640x480 RGB raster plots (histogram vs normal density, 2-D scatter) with a 5x7 bitmap font. */
#include "io/image.h"

#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GF__PW 640
#define GF__PH 480

typedef struct { uint8_t r, g, b; } gf__rgb;
static const gf__rgb GF__WHITE = {255, 255, 255}, GF__BLACK = {0, 0, 0}, GF__GREY = {225, 225, 225},
                     GF__BAR = {150, 185, 225}, GF__BAR_EDGE = {70, 120, 180}, GF__RED = {215, 35, 35},
                     GF__DOT = {30, 60, 160};

typedef struct { uint8_t *p; int w, h; } gf__canvas;

/* ---- 5x7 font: each row is 5 bits, MSB (0x10) leftmost. Lower case is drawn as upper case. ---- */
typedef struct { char c; uint8_t row[7]; } gf__glyph;
static const gf__glyph gf__font[] = {
  {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
  {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
  {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
  {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
  {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
  {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
  {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
  {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
  {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
  {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
  {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
  {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
  {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
  {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
  {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
  {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
  {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
  {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
  {' ', {0, 0, 0, 0, 0, 0, 0}},                      {'.', {0, 0, 0, 0, 0, 0x0C, 0x0C}},
  {'-', {0, 0, 0, 0x1F, 0, 0, 0}},                   {'=', {0, 0, 0x1F, 0, 0x1F, 0, 0}},
  {':', {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0}},          {',', {0, 0, 0, 0, 0x0C, 0x04, 0x08}},
  {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
  {'[', {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E}}, {']', {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E}},
  {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}}, {'+', {0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0}},
  {'_', {0, 0, 0, 0, 0, 0, 0x1F}},                   {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
  {'\'', {0x04, 0x04, 0x08, 0, 0, 0, 0}},            {'*', {0, 0x04, 0x15, 0x0E, 0x15, 0x04, 0}},
  {'<', {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}}, {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}},
  {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}}, {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04}},
};

static const uint8_t *gf__glyph_rows(char c) {
  if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
  for (size_t i = 0; i < sizeof gf__font / sizeof gf__font[0]; i++)
    if (gf__font[i].c == c) return gf__font[i].row;
  return gf__glyph_rows('?');
}

/* ---- drawing primitives -------------------------------------------------------------------- */

static void gf__put(gf__canvas *cv, int x, int y, gf__rgb col) {
  if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) return;
  uint8_t *p = cv->p + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
  p[0] = col.r;
  p[1] = col.g;
  p[2] = col.b;
}

/* Fills [x0, x1] x [y0, y1] (inclusive, any order). */
static void gf__rect(gf__canvas *cv, int x0, int y0, int x1, int y1, gf__rgb col) {
  if (x0 > x1) { int t = x0; x0 = x1; x1 = t; }
  if (y0 > y1) { int t = y0; y0 = y1; y1 = t; }
  for (int y = GF_MAX(y0, 0); y <= GF_MIN(y1, cv->h - 1); y++)
    for (int x = GF_MAX(x0, 0); x <= GF_MIN(x1, cv->w - 1); x++) gf__put(cv, x, y, col);
}

/* Bresenham line with a square pen of side `thick`. */
static void gf__line(gf__canvas *cv, int x0, int y0, int x1, int y1, gf__rgb col, int thick) {
  int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy, lo = -(thick - 1) / 2, hi = thick / 2;
  for (;;) {
    gf__rect(cv, x0 + lo, y0 + lo, x0 + hi, y0 + hi, col);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
  }
}

/* Ring of radius r and width `thick` pixels. */
static void gf__circle(gf__canvas *cv, int cx, int cy, int r, gf__rgb col, int thick) {
  float ri = (float)r - 0.5f * (float)thick, ro = (float)r + 0.5f * (float)thick;
  for (int y = -r - thick; y <= r + thick; y++)
    for (int x = -r - thick; x <= r + thick; x++) {
      float d = sqrtf((float)(x * x + y * y));
      if (d >= ri && d <= ro) gf__put(cv, cx + x, cy + y, col);
    }
}

static int gf__text_width(const char *s, int scale) {
  int n = (int)strlen(s);
  return n ? (6 * n - 1) * scale : 0;
}

/* Draws s with its top-left corner at (x, y); each font pixel is scale x scale. */
static void gf__text(gf__canvas *cv, int x, int y, const char *s, gf__rgb col, int scale) {
  for (; *s; s++, x += 6 * scale) {
    const uint8_t *rows = gf__glyph_rows(*s);
    for (int r = 0; r < 7; r++)
      for (int c = 0; c < 5; c++)
        if (rows[r] & (0x10 >> c))
          gf__rect(cv, x + c * scale, y + r * scale, x + c * scale + scale - 1, y + r * scale + scale - 1, col);
  }
}

static void gf__title(gf__canvas *cv, const char *title) {
  if (!title || !*title) return;
  int scale = gf__text_width(title, 2) <= cv->w - 8 ? 2 : 1;
  int x = (cv->w - gf__text_width(title, scale)) / 2;
  gf__text(cv, GF_MAX(x, 4), scale == 2 ? 12 : 18, title, GF__BLACK, scale);
}

/* ---- axes ---------------------------------------------------------------------------------- */

typedef struct {
  int x0, y0, x1, y1;       /* plot area in pixels (y0 top) */
  double xlo, xhi, ylo, yhi; /* data range */
} gf__axes;

static int gf__px(const gf__axes *a, double x) {
  return (int)lround(a->x0 + (x - a->xlo) / (a->xhi - a->xlo) * (a->x1 - a->x0));
}
static int gf__py(const gf__axes *a, double y) {
  return (int)lround(a->y1 - (y - a->ylo) / (a->yhi - a->ylo) * (a->y1 - a->y0));
}

/* A 1-2-5 step giving about `target` ticks over `span`. */
static double gf__nice_step(double span, int target) {
  double raw = span / target, mag = pow(10.0, floor(log10(raw))), norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

static void gf__fmt_tick(char *buf, size_t cap, double v, double step) {
  if (fabs(v) < step * 1e-6) v = 0;
  int dec = (int)ceil(-log10(step) - 1e-9);
  if (fabs(v) >= 1e6 || dec > 6) snprintf(buf, cap, "%.3g", v);
  else snprintf(buf, cap, "%.*f", dec > 0 ? dec : 0, v);
}

/* Frame, light grid lines, tick marks and numeric labels on the bottom and left edges. */
static void gf__draw_axes(gf__canvas *cv, const gf__axes *a, int grid) {
  char buf[32];
  for (int axis = 0; axis < 2; axis++) {
    double lo = axis ? a->ylo : a->xlo, hi = axis ? a->yhi : a->xhi;
    double step = gf__nice_step(hi - lo, axis ? 6 : 8);
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
      gf__fmt_tick(buf, sizeof buf, t, step);
      if (axis == 0) {
        int x = gf__px(a, t);
        if (grid) gf__line(cv, x, a->y0, x, a->y1, GF__GREY, 1);
        gf__line(cv, x, a->y1, x, a->y1 + 5, GF__BLACK, 1);
        gf__text(cv, x - gf__text_width(buf, 1) / 2, a->y1 + 9, buf, GF__BLACK, 1);
      } else {
        int y = gf__py(a, t);
        if (grid) gf__line(cv, a->x0, y, a->x1, y, GF__GREY, 1);
        gf__line(cv, a->x0 - 5, y, a->x0, y, GF__BLACK, 1);
        gf__text(cv, a->x0 - 9 - gf__text_width(buf, 1), y - 3, buf, GF__BLACK, 1);
      }
    }
  }
}

static void gf__frame(gf__canvas *cv, const gf__axes *a) {
  gf__line(cv, a->x0, a->y0, a->x1, a->y0, GF__BLACK, 1);
  gf__line(cv, a->x0, a->y1, a->x1, a->y1, GF__BLACK, 1);
  gf__line(cv, a->x0, a->y0, a->x0, a->y1, GF__BLACK, 1);
  gf__line(cv, a->x1, a->y0, a->x1, a->y1, GF__BLACK, 1);
}

static int gf__canvas_new(gf__canvas *cv, const char *path) {
  cv->w = GF__PW;
  cv->h = GF__PH;
  cv->p = malloc((size_t)GF__PW * GF__PH * 3);
  if (!cv->p) return gf__fail(GF_ENOMEM, "%s: out of memory for the plot", path);
  memset(cv->p, 255, (size_t)GF__PW * GF__PH * 3);
  return 0;
}

static int gf__canvas_save(gf__canvas *cv, const char *path) {
  int rc = gf__png_write(path, cv->p, cv->w, cv->h, 3);
  free(cv->p);
  cv->p = NULL;
  return rc;
}

/* ---- plots --------------------------------------------------------------------------------- */

#define GF__NBINS 60

int gf__plot_hist_png(const char *path, const float *samples, int n, float mu, float sigma,
                      const char *title) {
  if (!path || n < 0 || (n > 0 && !samples) || !(sigma > 0) || !isfinite(sigma) || !isfinite(mu))
    return gf__fail(GF_EINVAL, "histogram plot: bad arguments (n %d, mu %g, sigma %g)", n, (double)mu, (double)sigma);
  double lo = mu - 4.0 * sigma, hi = mu + 4.0 * sigma;
  const double cap_lo = mu - 50.0 * sigma, cap_hi = mu + 50.0 * sigma;
  int nf = 0;
  for (int i = 0; i < n; i++) {
    double v = samples[i];
    if (!isfinite(v)) continue;
    nf++;
    if (v < lo) lo = GF_MAX(v, cap_lo);
    if (v > hi) hi = GF_MIN(v, cap_hi);
  }
  double bw = (hi - lo) / GF__NBINS;
  long counts[GF__NBINS] = {0};
  int outside = n - nf;
  for (int i = 0; i < n; i++) {
    double v = samples[i];
    if (!isfinite(v)) continue;
    if (v < lo || v > hi) { outside++; continue; }
    int b = (int)((v - lo) / bw);
    counts[b < GF__NBINS ? b : GF__NBINS - 1]++;
  }
  double peak = 1.0 / (sigma * sqrt(2.0 * M_PI)), ymax = peak;
  for (int b = 0; b < GF__NBINS; b++)
    if (nf > 0) ymax = GF_MAX(ymax, counts[b] / (nf * bw));

  gf__canvas cv;
  GF_TRY(gf__canvas_new(&cv, path));
  gf__axes a = {70, 50, 620, 420, lo, hi, 0.0, ymax * 1.1};
  gf__title(&cv, title);
  gf__draw_axes(&cv, &a, 1);
  for (int b = 0; b < GF__NBINS; b++) {
    if (!counts[b]) continue;
    double d = counts[b] / (nf * bw);
    int x0 = gf__px(&a, lo + b * bw), x1 = gf__px(&a, lo + (b + 1) * bw), y = gf__py(&a, d);
    gf__rect(&cv, x0, y, x1, a.y1, GF__BAR);
    gf__line(&cv, x0, y, x1, y, GF__BAR_EDGE, 1);
    gf__line(&cv, x0, y, x0, a.y1, GF__BAR_EDGE, 1);
    gf__line(&cv, x1, y, x1, a.y1, GF__BAR_EDGE, 1);
  }
  int px = -1, py = -1;
  for (int x = a.x0; x <= a.x1; x++) {
    double t = lo + (double)(x - a.x0) / (a.x1 - a.x0) * (hi - lo), z = (t - mu) / sigma;
    int y = gf__py(&a, peak * exp(-0.5 * z * z));
    if (px >= 0) gf__line(&cv, px, py, x, y, GF__RED, 2);
    px = x;
    py = y;
  }
  gf__frame(&cv, &a);
  gf__text(&cv, 8, 36, "DENSITY", GF__BLACK, 1);
  gf__text(&cv, (a.x0 + a.x1 - gf__text_width("X", 1)) / 2, 450, "X", GF__BLACK, 1);

  char buf[96];
  int lx = a.x1 - 190, ly = a.y0 + 10;
  gf__rect(&cv, lx - 6, ly - 6, a.x1 - 6, ly + (outside ? 50 : 36), GF__WHITE);
  gf__rect(&cv, lx, ly, lx + 16, ly + 8, GF__BAR);
  snprintf(buf, sizeof buf, "SAMPLES (N=%d)", nf);
  gf__text(&cv, lx + 24, ly + 1, buf, GF__BLACK, 1);
  gf__line(&cv, lx, ly + 18, lx + 16, ly + 18, GF__RED, 2);
  snprintf(buf, sizeof buf, "TARGET N(%.3g, %.3g)", (double)mu, (double)sigma);
  gf__text(&cv, lx + 24, ly + 15, buf, GF__BLACK, 1);
  if (outside) {
    snprintf(buf, sizeof buf, "%d NOT SHOWN", outside);
    gf__text(&cv, lx + 24, ly + 29, buf, GF__BLACK, 1);
  }
  return gf__canvas_save(&cv, path);
}

int gf__plot_scatter_png(const char *path, const float *xy, int n, const float *modes, int nmodes,
                         float lim, const char *title) {
  if (!path || n < 0 || (n > 0 && !xy) || nmodes < 0 || (nmodes > 0 && !modes))
    return gf__fail(GF_EINVAL, "scatter plot: bad arguments (n %d, nmodes %d)", n, nmodes);
  double L = lim;
  if (!(L > 0) || !isfinite(L)) { /* automatic: cover the points and modes */
    L = 0;
    for (int i = 0; i < 2 * n; i++)
      if (isfinite(xy[i])) L = GF_MAX(L, fabs(xy[i]));
    for (int i = 0; i < 2 * nmodes; i++)
      if (isfinite(modes[i])) L = GF_MAX(L, fabs(modes[i]));
    L = L > 0 ? L * 1.1 : 1.0;
  }
  gf__canvas cv;
  GF_TRY(gf__canvas_new(&cv, path));
  gf__axes a = {100, 50, 470, 420, -L, L, -L, L}; /* square plot area */
  gf__title(&cv, title);
  gf__draw_axes(&cv, &a, 1);
  int shown = 0;
  for (int i = 0; i < n; i++) {
    double x = xy[2 * i], y = xy[2 * i + 1];
    if (!(fabs(x) <= L && fabs(y) <= L)) continue; /* also drops NaN */
    int X = gf__px(&a, x), Y = gf__py(&a, y);
    gf__rect(&cv, X - 1, Y - 1, X, Y, GF__DOT);
    shown++;
  }
  for (int m = 0; m < nmodes; m++) {
    double x = modes[2 * m], y = modes[2 * m + 1];
    if (!(fabs(x) <= L && fabs(y) <= L)) continue;
    gf__circle(&cv, gf__px(&a, x), gf__py(&a, y), 7, GF__RED, 2);
  }
  gf__frame(&cv, &a);

  char buf[96];
  int lx = a.x1 + 16, ly = a.y0 + 4;
  gf__rect(&cv, lx + 4, ly + 2, lx + 5, ly + 3, GF__DOT);
  snprintf(buf, sizeof buf, "SAMPLES (N=%d)", n);
  gf__text(&cv, lx + 16, ly, buf, GF__BLACK, 1);
  gf__circle(&cv, lx + 5, ly + 20, 5, GF__RED, 2);
  snprintf(buf, sizeof buf, "MODES (%d)", nmodes);
  gf__text(&cv, lx + 16, ly + 17, buf, GF__BLACK, 1);
  if (shown < n) {
    snprintf(buf, sizeof buf, "%d OUTSIDE", n - shown);
    gf__text(&cv, lx + 16, ly + 34, buf, GF__BLACK, 1);
  }
  return gf__canvas_save(&cv, path);
}
