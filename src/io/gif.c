/* gif.c: animated GIF of PNG frames with giflib (grey: 256 levels; RGB: a fixed 6x7x6 palette),
   encoded in memory and written atomically. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "io/image.h"
#include "io/report.h"

#ifdef GF_HAVE_GIF
#include <gif_lib.h>

static int put_loop_ext(GifFileType *g) {
  unsigned char app[11] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  unsigned char sub[3] = {1, 0, 0};
  if (EGifPutExtensionLeader(g, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR) return -1;
  if (EGifPutExtensionBlock(g, 11, app) == GIF_ERROR) return -1;
  if (EGifPutExtensionBlock(g, 3, sub) == GIF_ERROR) return -1;
  return EGifPutExtensionTrailer(g) == GIF_ERROR ? -1 : 0;
}

/* The GIF grows in memory; it reaches the disk in one atomic write. */
typedef struct gif_out {
  unsigned char *p;
  size_t len, cap;
} gif_out;

static int gif_put(GifFileType *g, const GifByteType *data, int n) {
  gif_out *o = g->UserData;
  if (n < 0) return 0;
  if ((size_t)n > o->cap - o->len) {
    size_t cap = o->cap ? o->cap : 65536;
    while ((size_t)n > cap - o->len) cap *= 2;
    unsigned char *q = realloc(o->p, cap);
    if (!q) return 0;
    o->p = q;
    o->cap = cap;
  }
  memcpy(o->p + o->len, data, (size_t)n);
  o->len += (size_t)n;
  return n;
}

int gf__gif_from_pngs(const char *path, const char *const *pngs, int n, int delay_cs) {
  if (n < 1) return gf__fail(GF_EINVAL, "%s: no frames", path);
  gif_out out = {NULL, 0, 0};
  int err = 0, rc = 0, W = 0, H = 0, C = 0;
  GifFileType *g = NULL;
  GifByteType *idx = NULL;
  ColorMapObject *cmap = NULL;
  for (int f = 0; f < n && rc == 0; f++) {
    uint8_t *pix;
    int w, h, c;
    if ((rc = gf__png_read(pngs[f], &pix, &w, &h, &c)) < 0) break;
    if (f == 0) {
      W = w; H = h; C = c;
      cmap = GifMakeMapObject(256, NULL);
      idx = malloc((size_t)W * H);
      if (!cmap || !idx) { free(pix); rc = gf__fail(GF_ENOMEM, "out of memory"); break; }
      for (int i = 0; i < 256; i++) {
        GifColorType *e = &cmap->Colors[i];
        if (C == 1) { e->Red = e->Green = e->Blue = (GifByteType)i; }
        else if (i < 252) {
          e->Red = (GifByteType)(i / 42 * 51); e->Green = (GifByteType)((i / 6) % 7 * 255 / 6); e->Blue = (GifByteType)(i % 6 * 51);
        } else { e->Red = e->Green = e->Blue = 0; }
      }
      g = EGifOpen(&out, gif_put, &err);
      if (!g) { free(pix); rc = gf__fail(GF_EIO, "%s: cannot write GIF (giflib error %d)", path, err); break; }
      EGifSetGifVersion(g, true);
      if (EGifPutScreenDesc(g, W, H, 8, 0, cmap) == GIF_ERROR || put_loop_ext(g) < 0) {
        free(pix); rc = gf__fail(GF_EIO, "%s: GIF write failed", path); break;
      }
    }
    if (w != W || h != H || c != C) {
      free(pix);
      rc = gf__fail(GF_EINVAL, "%s: frame %s is %dx%dx%d, the first is %dx%dx%d", path, pngs[f], w, h, c, W, H, C);
      break;
    }
    for (long i = 0; i < (long)W * H; i++) {
      if (C == 1) idx[i] = pix[i];
      else {
        int r = (pix[3 * i] + 25) / 51, gg = (pix[3 * i + 1] * 6 + 127) / 255, bb = (pix[3 * i + 2] + 25) / 51;
        idx[i] = (GifByteType)(r * 42 + gg * 6 + bb);
      }
    }
    free(pix);
    GraphicsControlBlock gcb = {0, false, delay_cs, NO_TRANSPARENT_COLOR};
    GifByteType ext[4];
    EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, ext) == GIF_ERROR ||
        EGifPutImageDesc(g, 0, 0, W, H, false, NULL) == GIF_ERROR) {
      rc = gf__fail(GF_EIO, "%s: GIF write failed", path);
      break;
    }
    for (int y = 0; y < H && rc == 0; y++)
      if (EGifPutLine(g, idx + (size_t)y * W, W) == GIF_ERROR) rc = gf__fail(GF_EIO, "%s: GIF write failed", path);
  }
  if (g && EGifCloseFile(g, &err) == GIF_ERROR && rc == 0) rc = gf__fail(GF_EIO, "%s: GIF close failed (%d)", path, err);
  if (cmap) GifFreeMapObject(cmap);
  free(idx);
  if (rc == 0) rc = gf__write_file_atomic(path, out.p, out.len);
  free(out.p);
  return rc;
}
#else
int gf__gif_from_pngs(const char *path, const char *const *pngs, int n, int delay_cs) {
  (void)pngs; (void)n; (void)delay_cs;
  return gf__fail(GF_ENOSYS, "%s: this build has no GIF support (install libgif-dev and rebuild)", path);
}
#endif
