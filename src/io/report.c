/* report.c: writes RUN/report.html: inline SVG line charts, base64-embedded PNGs, config, timings. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "io/report.h"

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_grow(sbuf *b, size_t need) {
  if (b->oom || b->len + need + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + need + 1) cap *= 2;
  char *np = realloc(b->p, cap);
  if (!np) { b->oom = 1; return; }
  b->p = np;
  b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n) {
  sb_grow(b, n);
  if (b->oom) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void sb_printf(sbuf *b, const char *fmt, ...) GF__PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_put(b, tmp, (size_t)(n < (int)sizeof tmp ? n : (int)sizeof tmp - 1));
}

static void sb_escape(sbuf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '<': sb_put(b, "&lt;", 4); break;
    case '>': sb_put(b, "&gt;", 4); break;
    case '&': sb_put(b, "&amp;", 5); break;
    case '"': sb_put(b, "&quot;", 6); break;
    default: sb_put(b, s, 1);
    }
  }
}

static void sb_base64(sbuf *b, const unsigned char *d, size_t n) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  sb_grow(b, (n + 2) / 3 * 4);
  if (b->oom) return;
  char *o = b->p + b->len;
  size_t i = 0, k = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
    o[k++] = tbl[v >> 18]; o[k++] = tbl[(v >> 12) & 63]; o[k++] = tbl[(v >> 6) & 63]; o[k++] = tbl[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0);
    o[k++] = tbl[v >> 18]; o[k++] = tbl[(v >> 12) & 63];
    o[k++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    o[k++] = '=';
  }
  b->len += k;
  b->p[b->len] = 0;
}

/* "Nice" tick step for a range. */
static double nice_step(double range, int target) {
  double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void chart_svg(sbuf *b, const gf__chart *c) {
  const int W = 640, H = 300, L = 60, R = 20, T = 30, Bm = 40;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (int i = 0; i < c->n; i++) {
    if (isfinite(c->x[i])) { xmin = fmin(xmin, c->x[i]); xmax = fmax(xmax, c->x[i]); }
    for (int s = 0; s < c->ns; s++)
      if (isfinite(c->s[s].y[i])) { ymin = fmin(ymin, c->s[s].y[i]); ymax = fmax(ymax, c->s[s].y[i]); }
  }
  sb_printf(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' role='img'>", W, H, W, H);
  sb_printf(b, "<rect width='%d' height='%d' fill='white'/><text x='%d' y='18' font-size='14' font-family='sans-serif'>", W, H, L);
  sb_escape(b, c->title);
  sb_printf(b, "</text>");
  if (c->n < 1 || !isfinite(xmin) || !isfinite(ymin)) {
    sb_printf(b, "<text x='%d' y='%d' font-family='sans-serif'>no data yet</text></svg></figure>", W / 2 - 40, H / 2);
    return;
  }
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) { ymax += 0.5; ymin -= 0.5; }
  double pad = 0.05 * (ymax - ymin);
  ymin -= pad; ymax += pad;
  double pw = W - L - R, ph = H - T - Bm;
#define PX(v) (L + ((v) - xmin) / (xmax - xmin) * pw)
#define PY(v) (T + (ymax - (v)) / (ymax - ymin) * ph)
  double ys = nice_step(ymax - ymin, 5), xs = nice_step(xmax - xmin, 6);
  sb_printf(b, "<g font-size='11' font-family='sans-serif' fill='#444'>");
  for (double v = ceil(ymin / ys) * ys; v <= ymax; v += ys)
    sb_printf(b, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#ddd'/><text x='%d' y='%.1f' text-anchor='end'>%g</text>",
              L, W - R, PY(v), PY(v), L - 4, PY(v) + 4, fabs(v) < 1e-12 ? 0.0 : v);
  for (double v = ceil(xmin / xs) * xs; v <= xmax; v += xs)
    sb_printf(b, "<text x='%.1f' y='%d' text-anchor='middle'>%g</text>", PX(v), H - Bm + 16, v);
  sb_printf(b, "<text x='%d' y='%d' text-anchor='middle'>step</text></g>", L + (int)pw / 2, H - 6);
  sb_printf(b, "<rect x='%d' y='%d' width='%.0f' height='%.0f' fill='none' stroke='#888'/>", L, T, pw, ph);
  /* at most ~800 points per series: stride through long runs */
  int stride = c->n > 800 ? (c->n + 799) / 800 : 1;
  for (int s = 0; s < c->ns; s++) {
    sb_printf(b, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", c->s[s].color);
    for (int i = 0; i < c->n; i += stride) {
      double y = c->s[s].y[i];
      if (isfinite(y) && isfinite(c->x[i])) sb_printf(b, "%.1f,%.1f ", PX(c->x[i]), PY(y));
    }
    sb_printf(b, "'/><rect x='%d' y='%d' width='12' height='3' fill='%s'/><text x='%d' y='%d' font-size='12' font-family='sans-serif'>",
              W - R - 150, T + 8 + 16 * s, c->s[s].color, W - R - 134, T + 13 + 16 * s);
    sb_escape(b, c->s[s].name);
    sb_printf(b, "</text>");
  }
#undef PX
#undef PY
  sb_printf(b, "</svg></figure>\n");
}

static int embed_file(sbuf *b, const char *path, const char *mime, const char *alt) {
  char *data;
  size_t len;
  GF_TRY(gf__read_file(path, &data, &len));
  sb_printf(b, "<img alt='");
  sb_escape(b, alt);
  sb_printf(b, "' src='data:%s;base64,", mime);
  sb_base64(b, (const unsigned char *)data, len);
  sb_printf(b, "'>");
  free(data);
  return 0;
}

int gf__report_write(const char *path, const gf__report *r) {
  sbuf b = {0};
  int rc = 0;
  sb_printf(&b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>");
  sb_escape(&b, r->title);
  sb_printf(&b, "</title><style>body{font-family:sans-serif;margin:24px;max-width:1400px}"
                "figure{display:inline-block;margin:8px}figcaption{text-align:center;font-size:13px}"
                "img{image-rendering:pixelated;border:1px solid #ccc;max-width:400px}"
                "pre{background:#f6f6f6;padding:8px;font-size:12px;columns:2}"
                "table{border-collapse:collapse}td{padding:2px 12px 2px 0}</style></head><body>\n<h1>");
  sb_escape(&b, r->title);
  sb_printf(&b, "</h1>\n");
  if (r->summary_html) sb_printf(&b, "<h2>Summary</h2><table>%s</table>\n", r->summary_html);
  sb_printf(&b, "<h2>Training curves</h2>\n");
  for (int i = 0; i < r->ncharts; i++) chart_svg(&b, &r->charts[i]);
  if (r->gif_path) {
    sb_printf(&b, "<h2>Progress</h2><figure>");
    if ((rc = embed_file(&b, r->gif_path, "image/gif", "training progression")) < 0) goto out;
    sb_printf(&b, "<figcaption>fixed noise, one frame per epoch</figcaption></figure>\n");
  }
  sb_printf(&b, "<h2>");
  sb_escape(&b, r->images_title ? r->images_title : "Samples");
  sb_printf(&b, "</h2>\n");
  for (int i = 0; i < r->nimages; i++) {
    sb_printf(&b, "<figure>");
    if ((rc = embed_file(&b, r->images[i], "image/png", r->captions ? r->captions[i] : r->images[i])) < 0) goto out;
    sb_printf(&b, "<figcaption>");
    sb_escape(&b, r->captions ? r->captions[i] : "");
    sb_printf(&b, "</figcaption></figure>\n");
  }
  sb_printf(&b, "<h2>Configuration</h2><pre>");
  sb_escape(&b, r->config_text);
  sb_printf(&b, "</pre>\n<p style='color:#888;font-size:12px'>written by ganforge</p>\n"
                "<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
                "for(var i=0;i<im.length;i++)if(im[i].complete&&im[i].naturalWidth>0)ok++;"
                "document.body.setAttribute('data-images-total',im.length);"
                "document.body.setAttribute('data-images-loaded',ok);});</script></body></html>\n");
  if (b.oom) rc = gf__fail(GF_ENOMEM, "%s: out of memory building the report", path);
  else rc = gf__write_file_atomic(path, b.p, b.len);
out:
  free(b.p);
  return rc;
}
