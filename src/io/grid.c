/* grid.c: lays out a batch of planar CHW float images as one interleaved 8-bit grid (mid-grey padding). */
#include "io/image.h"

#include "core/util.h"

#include <string.h>

/* Colour of the padding and of the empty cells after the last image. */
#define GF__GRID_BG 128
/* Padding used by gf__grid_write_png. */
#define GF__GRID_PAD 2

int gf__grid_render(uint8_t **pix, int *W, int *H, const float *x, int n, int c, int h, int w,
                    int nrow, int pad, float lo, float hi, int upscale) {
  if (!pix || !W || !H || !x || n <= 0 || (c != 1 && c != 3) || h <= 0 || w <= 0 || nrow <= 0 ||
      pad < 0 || upscale <= 0)
    return gf__fail(GF_EINVAL, "grid: bad arguments (n %d, c %d, %dx%d, nrow %d, pad %d, upscale %d)",
                    n, c, h, w, nrow, pad, upscale);
  if (!(hi > lo) || !(hi - lo < 1e30f))
    return gf__fail(GF_EINVAL, "grid: value range [%g, %g] is empty", (double)lo, (double)hi);
  int cols = n < nrow ? n : nrow;
  int rows = (n + cols - 1) / cols;
  long long cw = (long long)w * upscale, chh = (long long)h * upscale;
  long long GW = cols * (cw + pad) + pad, GH = rows * (chh + pad) + pad;
  if (GW > 32768 || GH > 32768)
    return gf__fail(GF_EINVAL, "grid: %lldx%lld image too large", GW, GH);
  size_t bytes = (size_t)GW * (size_t)GH * (size_t)c;
  uint8_t *out = malloc(bytes);
  if (!out) return gf__fail(GF_ENOMEM, "grid: out of memory (%zu bytes)", bytes);
  memset(out, GF__GRID_BG, bytes);

  const float scale = 255.0f / (hi - lo);
  const size_t plane = (size_t)h * (size_t)w;
  for (int i = 0; i < n; i++) {
    const float *img = x + (size_t)i * (size_t)c * plane;
    long long ox = pad + (long long)(i % cols) * (cw + pad);
    long long oy = pad + (long long)(i / cols) * (chh + pad);
    for (int yy = 0; yy < h; yy++) {
      for (int xx = 0; xx < w; xx++) {
        for (int k = 0; k < c; k++) {
          float v = (img[(size_t)k * plane + (size_t)yy * w + xx] - lo) * scale;
          uint8_t b = v >= 255.0f ? 255 : v > 0.0f ? (uint8_t)(v + 0.5f) : 0; /* NaN -> 0 */
          for (int dy = 0; dy < upscale; dy++) {
            uint8_t *row = out + ((size_t)(oy + (long long)yy * upscale + dy) * (size_t)GW) * (size_t)c;
            for (int dx = 0; dx < upscale; dx++)
              row[((size_t)ox + (size_t)xx * (size_t)upscale + (size_t)dx) * (size_t)c + (size_t)k] = b;
          }
        }
      }
    }
  }
  *pix = out;
  *W = (int)GW;
  *H = (int)GH;
  return 0;
}

int gf__grid_write_png(const char *path, const float *x, int n, int c, int h, int w, int nrow,
                       float lo, float hi, int upscale) {
  uint8_t *pix;
  int W, H;
  GF_TRY(gf__grid_render(&pix, &W, &H, x, n, c, h, w, nrow, GF__GRID_PAD, lo, hi, upscale));
  int rc = gf__png_write(path, pix, W, H, c);
  free(pix);
  return rc;
}
