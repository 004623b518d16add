/* i2i.c: image-to-image datasets (unaligned trainA / trainB folders, aligned A|B pairs) held as
   8-bit RGB at load size, with random crop and flip per draw (junyanz base_dataset.get_transform). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/images.h"
#include "io/imgload.h"

/* Converts to RGB and resizes (a horizontal slice [x0, x0 + cw) of) an image to load x load. */
static int to_rgb_load(const uint8_t *pix, int w, int h, int ch, int x0, int cw, int load, uint8_t *out) {
  uint8_t *rgb = malloc((size_t)cw * h * 3);
  if (!rgb) return gf__fail(GF_ENOMEM, "out of memory");
  for (int y = 0; y < h; y++)
    for (int x = 0; x < cw; x++) {
      const uint8_t *p = pix + ((size_t)y * w + x0 + x) * ch;
      uint8_t *q = rgb + ((size_t)y * cw + x) * 3;
      if (ch >= 3) { q[0] = p[0]; q[1] = p[1]; q[2] = p[2]; }
      else q[0] = q[1] = q[2] = p[0];
    }
  int rc = 0;
  if (cw == load && h == load) memcpy(out, rgb, (size_t)load * load * 3);
  else rc = gf__image_resize_bilinear(rgb, cw, h, 3, out, load, load);
  free(rgb);
  return rc;
}

static int load_set(gf__i2i_set *A, gf__i2i_set *B, const char *dir, int pair, int btoa, int load, int limit,
                    int fail_bad) {
  char **paths;
  int n;
  GF_TRY(gf__image_list(dir, &paths, &n));
  int want = limit > 0 && limit < n ? limit : n, rc = 0, bad = 0;
  size_t sz = (size_t)load * load * 3;
  A->px = malloc(sz * (size_t)want);
  if (pair) B->px = malloc(sz * (size_t)want);
  if (!A->px || (pair && !B->px)) { rc = gf__fail(GF_ENOMEM, "%s: no memory for %d images", dir, want); goto done; }
  A->n = 0;
  for (int i = 0; i < n && A->n < want; i++) {
    uint8_t *pix = NULL;
    int w, h, ch;
    int r = gf__image_load(paths[i], &pix, &w, &h, &ch);
    if (r == 0 && pair && w < 2) r = gf__fail(GF_EFORMAT, "%s: too narrow for an A|B pair", paths[i]);
    if (r == 0) {
      int half = pair ? w / 2 : w;
      uint8_t *first = A->px + sz * A->n, *second = pair ? B->px + sz * A->n : NULL;
      if (pair && btoa) { uint8_t *t = first; first = second; second = t; }
      r = to_rgb_load(pix, w, h, ch, 0, half, load, first);
      if (r == 0 && pair) r = to_rgb_load(pix, w, h, ch, half, half, load, second);
    }
    free(pix);
    if (r < 0) {
      if (fail_bad) { rc = r; goto done; }
      fprintf(stderr, "warning: skipping %s\n", gf_last_error());
      bad++;
      continue;
    }
    A->n++;
  }
  if (pair) B->n = A->n;
  if (A->n == 0) rc = gf__fail(GF_EFORMAT, "%s: none of the %d image files could be read", dir, n);
done:
  for (int i = 0; i < n; i++) free(paths[i]);
  free(paths);
  return rc;
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int gf__i2i_load(gf__i2i_data *d, const char *root, const char *phase, int aligned, int btoa, int load, int crop,
                 int limit, int fail_on_bad) {
  memset(d, 0, sizeof *d);
  if (crop > load) return gf__fail(GF_EINVAL, "crop size %d is larger than the load size %d", crop, load);
  d->aligned = aligned;
  d->load = load;
  d->crop = crop;
  char path[2048];
  int rc;
  if (aligned) {
    snprintf(path, sizeof path, "%s/%s", root, phase);
    rc = load_set(&d->A, &d->B, is_dir(path) ? path : root, 1, btoa, load, limit, fail_on_bad);
  } else {
    snprintf(path, sizeof path, "%s/%sA", root, phase);
    if (!is_dir(path))
      return gf__fail(GF_ENOENT, "%s: no %sA folder (unaligned data needs %sA/ and %sB/ under the data folder)", root, phase,
                      phase, phase);
    rc = load_set(&d->A, NULL, path, 0, 0, load, limit, fail_on_bad);
    if (rc == 0) {
      snprintf(path, sizeof path, "%s/%sB", root, phase);
      if (!is_dir(path)) rc = gf__fail(GF_ENOENT, "%s: no %sB folder", root, phase);
      else rc = load_set(&d->B, NULL, path, 0, 0, load, limit, fail_on_bad);
    }
  }
  if (rc < 0) gf__i2i_free(d);
  return rc;
}

void gf__i2i_free(gf__i2i_data *d) {
  free(d->A.px);
  free(d->B.px);
  d->A.px = d->B.px = NULL;
  d->A.n = d->B.n = 0;
}

int gf__i2i_epoch_len(const gf__i2i_data *d) {
  if (d->aligned) return d->A.n;
  return d->A.n > d->B.n ? d->A.n : d->B.n;
}

static void crop_to_float(const uint8_t *img, int load, int crop, int x0, int y0, int flip, float *out) {
  size_t plane = (size_t)crop * crop;
  for (int y = 0; y < crop; y++)
    for (int x = 0; x < crop; x++) {
      int sx = x0 + (flip ? crop - 1 - x : x);
      const uint8_t *p = img + ((size_t)(y0 + y) * load + sx) * 3;
      for (int c = 0; c < 3; c++) out[c * plane + (size_t)y * crop + x] = p[c] * (2.0f / 255.0f) - 1.0f;
    }
}

void gf__i2i_get(const gf__i2i_data *d, int ia, int ib, gf__rng *r, int augment, float *a, float *b) {
  int L = d->load, C = d->crop, span = L - C + 1;
  size_t sz = (size_t)L * L * 3;
  int xa = (L - C) / 2, ya = xa, fa = 0, xb = xa, yb = xa, fb = 0;
  if (augment) {
    xa = (int)gf__rng_below(r, (uint32_t)span);
    ya = (int)gf__rng_below(r, (uint32_t)span);
    fa = augment > 1 && gf__rng_float(r) < 0.5f;
    if (d->aligned) { xb = xa; yb = ya; fb = fa; }
    else {
      xb = (int)gf__rng_below(r, (uint32_t)span);
      yb = (int)gf__rng_below(r, (uint32_t)span);
      fb = augment > 1 && gf__rng_float(r) < 0.5f;
    }
  }
  crop_to_float(d->A.px + sz * ia, L, C, xa, ya, fa, a);
  crop_to_float(d->B.px + sz * ib, L, C, xb, yb, fb, b);
}
