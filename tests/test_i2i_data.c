/* test_i2i_data.c: image-to-image data: unaligned trainA/trainB folders (greyscale -> RGB),
   aligned A|B pairs (halves, BtoA, shared crop / flip), crops and flips, errors; the image pool;
   the memory plan; generator size checks. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/images.h"
#include "ganforge/ganforge.h"
#include "harness.h"
#include "io/image.h"
#include "models/cyclegan.h"

static uint8_t pv(int x, int y, int c, int k) { return (uint8_t)((x * 7 + y * 13 + c * 50 + k * 31) % 256); }

static void write_img(const char *path, int w, int h, int ch, int k) {
  uint8_t *p = malloc((size_t)w * h * ch);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < ch; c++) p[((size_t)y * w + x) * ch + c] = pv(x, y, c, k);
  CHECK(gf__png_write(path, p, w, h, ch) == 0, "write %s", path);
  free(p);
}

static float f(uint8_t v) { return v * (2.0f / 255.0f) - 1.0f; }

/* Does out (3 x C x C) equal the window (x0, y0) of image k (8x8 px values pv, channel map cm),
   flipped or not? */
static int window_is(const float *out, int C, int k, int x0, int y0, int flip, int grey, int xoff) {
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < C; y++)
      for (int x = 0; x < C; x++) {
        int sx = x0 + (flip ? C - 1 - x : x);
        if (out[(c * C + y) * C + x] != f(pv(sx + xoff, y0 + y, grey ? 0 : c, k))) return 0;
      }
  return 1;
}

int main(void) {
  const char *tmp = gf_t_tmpdir("i2i_data");
  char path[1024];
  snprintf(path, sizeof path, "%s/u/trainA", tmp);
  gf__mkdirs(path);
  snprintf(path, sizeof path, "%s/u/trainB", tmp);
  gf__mkdirs(path);
  for (int k = 0; k < 3; k++) {
    snprintf(path, sizeof path, "%s/u/trainA/a%d.png", tmp, k);
    write_img(path, 8, 8, 3, k);
  }
  snprintf(path, sizeof path, "%s/u/trainB/b0.png", tmp);
  write_img(path, 8, 8, 1, 10); /* greyscale */
  snprintf(path, sizeof path, "%s/u/trainB/b1.png", tmp);
  write_img(path, 8, 8, 3, 11);

  gf__i2i_data d;
  snprintf(path, sizeof path, "%s/u", tmp);
  int rc = gf__i2i_load(&d, path, "train", 0, 0, 8, 6, 0, 1);
  CHECK(rc == 0, "unaligned load: %s", gf_last_error());
  if (rc == 0) {
    CHECK(d.A.n == 3 && d.B.n == 2, "counts %d %d", d.A.n, d.B.n);
    CHECK(gf__i2i_epoch_len(&d) == 3, "epoch length max(|A|, |B|): %d", gf__i2i_epoch_len(&d));
    float a[3 * 36], b[3 * 36];
    gf__i2i_get(&d, 2, 0, NULL, 0, a, b);
    CHECK(window_is(a, 6, 2, 1, 1, 0, 0, 0), "centre crop of A[2]");
    CHECK(window_is(b, 6, 10, 1, 1, 0, 1, 0), "greyscale B[0] replicated to RGB");
    gf__rng r;
    gf__rng_init(&r, 5, GF_STREAM_DATA);
    int flips = 0, offs[3] = {0};
    for (int t = 0; t < 40; t++) {
      gf__i2i_get(&d, 1, 1, &r, 2, a, b);
      int found = 0;
      for (int y0 = 0; y0 <= 2 && !found; y0++)
        for (int x0 = 0; x0 <= 2 && !found; x0++)
          for (int fl = 0; fl <= 1 && !found; fl++)
            if (window_is(a, 6, 1, x0, y0, fl, 0, 0)) { found = 1; flips += fl; offs[x0]++; }
      CHECK(found, "random crop %d is a 6x6 window (maybe flipped) of A[1]", t);
    }
    CHECK(flips > 5 && flips < 35, "flips %d of 40", flips);
    CHECK(offs[0] && offs[1] && offs[2], "crop offsets all used: %d %d %d", offs[0], offs[1], offs[2]);
    gf__i2i_get(&d, 1, 1, &r, 1, a, b);
    int unflipped = 0;
    for (int t = 0; t < 20; t++) {
      gf__i2i_get(&d, 0, 1, &r, 1, a, b);
      for (int y0 = 0; y0 <= 2; y0++)
        for (int x0 = 0; x0 <= 2; x0++) unflipped += window_is(a, 6, 0, x0, y0, 0, 0, 0);
    }
    CHECK(unflipped == 20, "augment 1 crops without flipping (%d of 20)", unflipped);
    gf__i2i_free(&d);
  }
  /* aligned A|B: 16x8 images, left half A, right half B */
  snprintf(path, sizeof path, "%s/al/train", tmp);
  gf__mkdirs(path);
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/al/train/p%d.png", tmp, k);
    write_img(path, 16, 8, 3, k);
  }
  snprintf(path, sizeof path, "%s/al", tmp);
  rc = gf__i2i_load(&d, path, "train", 1, 0, 8, 6, 0, 1);
  CHECK(rc == 0, "aligned load: %s", gf_last_error());
  if (rc == 0) {
    CHECK(d.A.n == 2 && d.B.n == 2 && gf__i2i_epoch_len(&d) == 2, "aligned counts %d %d", d.A.n, d.B.n);
    float a[3 * 36], b[3 * 36];
    gf__rng r;
    gf__rng_init(&r, 9, GF_STREAM_DATA);
    int same = 0;
    for (int t = 0; t < 20; t++) {
      gf__i2i_get(&d, 1, 1, &r, 2, a, b);
      for (int y0 = 0; y0 <= 2; y0++)
        for (int x0 = 0; x0 <= 2; x0++)
          for (int fl = 0; fl <= 1; fl++)
            same += window_is(a, 6, 1, x0, y0, fl, 0, 0) && window_is(b, 6, 1, x0, y0, fl, 0, 8);
    }
    CHECK(same == 20, "A and B share crop and flip (%d of 20)", same);
    gf__i2i_free(&d);
  }
  rc = gf__i2i_load(&d, path, "train", 1, 1, 8, 8, 0, 1);
  CHECK(rc == 0, "aligned BtoA load");
  if (rc == 0) {
    float a[3 * 64], b[3 * 64];
    gf__i2i_get(&d, 0, 0, NULL, 0, a, b);
    CHECK(window_is(a, 8, 0, 0, 0, 0, 0, 8) && window_is(b, 8, 0, 0, 0, 0, 0, 0), "BtoA swaps the halves");
    gf__i2i_free(&d);
  }
  /* errors */
  snprintf(path, sizeof path, "%s/al", tmp);
  CHECK(gf__i2i_load(&d, path, "train", 0, 0, 8, 6, 0, 1) == GF_ENOENT, "no trainA: %s", gf_last_error());
  CHECK(strstr(gf_last_error(), "trainA") != NULL, "message names trainA: %s", gf_last_error());
  CHECK(gf__i2i_load(&d, path, "train", 1, 0, 8, 9, 0, 1) < 0, "crop larger than load refused");

  /* image pool: fills first, then returns stored or new images, the pool keeps its size */
  const gf__ops *o = gf__ops_cpu();
  gf__image_pool p;
  CHECK(gf__pool_init(&p, o, 2, 1, 3) == 0, "pool");
  float x, y;
  int stored = 0;
  for (int t = 0; t < 200; t++) {
    x = (float)t;
    gf__pool_query(&p, o, &x, 1, &y);
    if (t < 2) CHECK(y == x, "pool filling returns the new image");
    else {
      CHECK(y == x || (y < x && y >= 0), "pool returns new or past: %g at %d", y, t);
      stored += y != x;
    }
  }
  CHECK(stored > 60 && stored < 140, "about half from the pool: %d of 198", stored);
  gf__pool_free(&p, o);

  /* memory plan and size checks */
  gf_config cfg;
  CHECK(gf_preset_apply(&cfg, "cyclegan128") == 0, "preset");
  size_t need = 0;
  char rep[512];
  CHECK(gf__cyclegan_memory(&cfg, 1, &need, rep, sizeof rep) == 0, "memory plan");
  CHECK(need > (size_t)500 << 20 && need < (size_t)4 << 30, "cyclegan128 needs %zu bytes", need);
  CHECK(strstr(rep, "activations") != NULL, "report: %s", rep);
  CHECK(gf__i2i_check_size(&cfg, 130, 128) < 0 && strstr(gf_last_error(), "multiples of 4"), "ResNet size check");
  CHECK(gf__i2i_check_size(&cfg, 132, 100) == 0, "ResNet takes 100x132");
  CHECK(gf_preset_apply(&cfg, "pix2pix") == 0, "preset pix2pix");
  CHECK(gf__i2i_check_size(&cfg, 256, 384) < 0 && strstr(gf_last_error(), "256"), "U-Net 256 size check");
  CHECK(gf__i2i_check_size(&cfg, 512, 256) == 0, "U-Net 256 takes 256x512");
  return gf_t_done();
}
