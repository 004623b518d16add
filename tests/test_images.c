/* test_images.c: image-folder and CIFAR-10 loaders on bad and odd inputs (truncated batch, wrong
   record size, bad label, non-image files, zero-byte and 1x1 images, 16-bit PNG, grey into an RGB
   model, RGB into a grey one), each error message checked; and the batch prefetcher. */
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/util.h"
#include "data/images.h"
#include "harness.h"
#include "io/image.h"
#include "io/imgload.h"

static char tmp[1024];

static const char *tp(const char *name) {
  static char buf[4][1400];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
  return buf[k];
}

static int has(const char *needle) { return strstr(gf_last_error(), needle) != NULL; }

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
  if (len) fwrite(data, 1, len, f);
  fclose(f);
}

static void write_png16(const char *path, int w, int h) {
  FILE *fp = fopen(path, "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) exit(2);
  png_init_io(png, fp);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  uint8_t *row = calloc((size_t)w * 2, 1);
  for (int y = 0; y < h; y++) png_write_row(png, row);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  free(row);
  fclose(fp);
}

/* n CIFAR records: label i % 10, R plane = 10*i, G = 100, B = 200 (pixel 0 of R is 255). */
static void write_cifar(const char *path, int n, size_t cut, int bad_label) {
  size_t len = (size_t)n * 3073;
  uint8_t *b = malloc(len);
  for (int i = 0; i < n; i++) {
    uint8_t *r = b + (size_t)i * 3073;
    r[0] = (uint8_t)(bad_label && i == 1 ? 10 : i % 10);
    memset(r + 1, 10 * i, 1024);
    memset(r + 1 + 1024, 100, 1024);
    memset(r + 1 + 2048, 200, 1024);
    r[1] = 255;
  }
  write_bytes(path, b, len - cut);
  free(b);
}

static void test_cifar(void) {
  gf__dataset d;
  write_cifar(tp("data_batch_1.bin"), 5, 0, 0);
  int rc = gf__cifar10_load(&d, tp("data_batch_1.bin"), 0, 3, 32, GF_SCALE_UNIT, 0, 0);
  CHECK(rc == 0, "cifar file: %s", gf_last_error());
  if (rc == 0) {
    CHECK(d.n == 5 && d.c == 3 && d.h == 32 && d.w == 32 && d.nclass == 10, "cifar shape n=%d %dx%dx%d", d.n, d.c, d.h, d.w);
    CHECK(d.labels[3] == 3, "label %d", d.labels[3]);
    CHECK_CLOSE(d.x[3 * 3072 + 5], 30 / 255.0, 1e-6, 1e-6, "R plane of record 3");
    CHECK_CLOSE(d.x[3 * 3072 + 1024 + 5], 100 / 255.0, 1e-6, 1e-6, "G plane");
    CHECK_CLOSE(d.x[3 * 3072 + 2048 + 5], 200 / 255.0, 1e-6, 1e-6, "B plane");
    CHECK_CLOSE(d.x[0], 1.0, 1e-6, 1e-6, "first pixel");
    gf__dataset_free(&d);
  }
  /* a folder with the 5 train batches + test batch; grey 16x16 conversion, offset / limit */
  for (int i = 2; i <= 5; i++) {
    char name[32];
    snprintf(name, sizeof name, "data_batch_%d.bin", i);
    write_cifar(tp(name), 2, 0, 0);
  }
  write_cifar(tp("test_batch.bin"), 3, 0, 0);
  rc = gf__cifar10_load(&d, tmp, 0, 3, 32, GF_SCALE_TANH, 0, 0);
  CHECK(rc == 0 && d.n == 13, "cifar folder train: rc %d n %d: %s", rc, d.n, gf_last_error());
  if (rc == 0) gf__dataset_free(&d);
  rc = gf__cifar10_load(&d, tmp, 1, 1, 16, GF_SCALE_UNIT, 1, 1);
  CHECK(rc == 0 && d.n == 1 && d.c == 1 && d.h == 16, "cifar test split grey 16: rc %d", rc);
  if (rc == 0) {
    /* record 1: R 10, G 100, B 200 -> luma (10*299 + 100*587 + 200*114 + 500) / 1000 = 84 */
    CHECK_CLOSE(d.x[100], 84 / 255.0, 1e-6, 1e-6, "grey conversion");
    gf__dataset_free(&d);
  }
  /* truncated batch */
  write_cifar(tp("trunc.bin"), 3, 100, 0);
  rc = gf__cifar10_load(&d, tp("trunc.bin"), 0, 3, 32, GF_SCALE_UNIT, 0, 0);
  CHECK(rc == GF_EFORMAT && has("trunc.bin") && has("9119 bytes is not a whole number of 3073-byte"),
        "truncated: %s", gf_last_error());
  /* wrong record size (e.g. the CIFAR-100 3074-byte records) */
  uint8_t *b = calloc(3074 * 4, 1);
  write_bytes(tp("c100.bin"), b, 3074 * 4);
  free(b);
  rc = gf__cifar10_load(&d, tp("c100.bin"), 0, 3, 32, GF_SCALE_UNIT, 0, 0);
  CHECK(rc == GF_EFORMAT && has("c100.bin") && has("not a whole number of 3073-byte CIFAR-10 records"), "record size: %s",
        gf_last_error());
  write_cifar(tp("badlabel.bin"), 3, 0, 1);
  rc = gf__cifar10_load(&d, tp("badlabel.bin"), 0, 3, 32, GF_SCALE_UNIT, 0, 0);
  CHECK(rc == GF_EFORMAT && has("record 1 has label 10"), "bad label: %s", gf_last_error());
  rc = gf__cifar10_load(&d, tp("nonexistent"), 0, 3, 32, GF_SCALE_UNIT, 0, 0);
  CHECK(rc == GF_ENOENT && has("nonexistent"), "missing: %s", gf_last_error());
}

static void test_folder(void) {
  char dir[1400], sub[1500];
  snprintf(dir, sizeof dir, "%s/imgs", tmp);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  gf__mkdirs(sub);
  /* a grey 8x4 gradient (in a subfolder), an RGB 6x6 image, a 1x1 image */
  uint8_t g[32], rgb[108], one[1] = {200};
  for (int i = 0; i < 32; i++) g[i] = (uint8_t)(i * 8);
  for (int i = 0; i < 36; i++) { rgb[3 * i] = 255; rgb[3 * i + 1] = 0; rgb[3 * i + 2] = 0; }
  char p[1600];
  snprintf(p, sizeof p, "%s/a_grey.png", sub);
  gf__png_write(p, g, 8, 4, 1);
  snprintf(p, sizeof p, "%s/b_red.png", dir);
  gf__png_write(p, rgb, 6, 6, 3);
  snprintf(p, sizeof p, "%s/c_one.png", dir);
  gf__png_write(p, one, 1, 1, 1);
  snprintf(p, sizeof p, "%s/notes.txt", dir); /* not an image name: ignored */
  write_bytes(p, "hello", 5);
  gf__dataset d;
  int skipped = -1;
  int rc = gf__imagefolder_load(&d, dir, "folder", 3, 4, GF_SCALE_UNIT, 1, 0, &skipped);
  CHECK(rc == 0, "clean folder: %s", gf_last_error());
  if (rc == 0) {
    CHECK(d.n == 3 && d.c == 3 && d.h == 4 && skipped == 0, "n %d c %d skipped %d", d.n, d.c, skipped);
    /* sorted by path: b_red, c_one, sub/a_grey; grey replicated into R = G = B */
    CHECK_CLOSE(d.x[0], 1.0, 1e-6, 1e-6, "red R");
    CHECK_CLOSE(d.x[16], 0.0, 1e-6, 1e-6, "red G");
    for (int k = 0; k < 48; k++) CHECK_CLOSE(d.x[48 + k], 200 / 255.0, 1e-6, 1e-6, "1x1 image upsampled");
    const float *ag = d.x + 2 * 48;
    CHECK(ag[0] == ag[16] && ag[5] == ag[37], "grey into RGB replicates the channel");
    gf__dataset_free(&d);
  }
  /* RGB into a grey model */
  rc = gf__imagefolder_load(&d, dir, "folder", 1, 4, GF_SCALE_UNIT, 1, 0, NULL);
  CHECK(rc == 0 && d.c == 1, "grey model: %s", gf_last_error());
  if (rc == 0) {
    CHECK_CLOSE(d.x[0], 76 / 255.0, 1e-6, 1e-6, "red luma"); /* (255*299 + 500) / 1000 = 76 */
    gf__dataset_free(&d);
  }
  /* bad files: text named .jpg, zero-byte .png, 16-bit PNG */
  snprintf(p, sizeof p, "%s/d_text.jpg", dir);
  write_bytes(p, "this is not an image", 20);
  rc = gf__imagefolder_load(&d, dir, "folder", 3, 4, GF_SCALE_UNIT, 1, 0, NULL);
  CHECK(rc == GF_EFORMAT && has("d_text.jpg") && has("not a PNG, JPEG or PGM image") && has("data.on_bad_image=fail"),
        "text file: %s", gf_last_error());
  rc = gf__imagefolder_load(&d, dir, "folder", 3, 4, GF_SCALE_UNIT, 0, 0, &skipped);
  CHECK(rc == 0 && d.n == 3 && skipped == 1, "skip text file: rc %d skipped %d", rc, skipped);
  if (rc == 0) gf__dataset_free(&d);
  remove(p);
  snprintf(p, sizeof p, "%s/e_empty.png", dir);
  write_bytes(p, "", 0);
  rc = gf__imagefolder_load(&d, dir, "folder", 3, 4, GF_SCALE_UNIT, 1, 0, NULL);
  CHECK(rc == GF_EFORMAT && has("e_empty.png") && has("empty file (0 bytes)"), "zero-byte: %s", gf_last_error());
  remove(p);
  snprintf(p, sizeof p, "%s/f_16bit.png", dir);
  write_png16(p, 4, 4);
  rc = gf__imagefolder_load(&d, dir, "folder", 3, 4, GF_SCALE_UNIT, 1, 0, NULL);
  CHECK(rc == GF_EFORMAT && has("f_16bit.png") && has("16-bit PNG not supported"), "16-bit: %s", gf_last_error());
  rc = gf__imagefolder_load(&d, dir, "folder", 3, 4, GF_SCALE_UNIT, 0, 0, &skipped);
  CHECK(rc == 0 && d.n == 3 && skipped == 1, "skip 16-bit: rc %d skipped %d", rc, skipped);
  if (rc == 0) gf__dataset_free(&d);
  remove(p);
  /* a folder with no images */
  char empty[1500];
  snprintf(empty, sizeof empty, "%s/noimg", tmp);
  gf__mkdirs(empty);
  rc = gf__imagefolder_load(&d, empty, "folder", 3, 4, GF_SCALE_UNIT, 0, 0, NULL);
  CHECK(rc == GF_ENOENT && has("no PNG, JPEG or PGM images"), "empty folder: %s", gf_last_error());
}

static void test_faces(void) {
  char dir[2048];
  snprintf(dir, sizeof dir, "%s/faces/orl_faces/s1", gf_t_data());
  struct stat st;
  if (stat(dir, &st) != 0) { fprintf(stderr, "skip: no %s\n", dir); return; }
  gf__dataset d;
  int rc = gf__imagefolder_load(&d, dir, "faces", 1, 64, GF_SCALE_TANH, 1, 0, NULL);
  CHECK(rc == 0 && d.n == 10 && d.h == 64 && d.c == 1, "ORL s1: %s", gf_last_error());
  if (rc == 0) gf__dataset_free(&d);
}

static void test_prefetch(void) {
  gf__dataset d;
  memset(&d, 0, sizeof d);
  d.n = 10; d.c = 1; d.h = 2; d.w = 3;
  d.x = malloc(sizeof(float) * 60);
  for (int i = 0; i < 60; i++) d.x[i] = (float)i;
  float seen[2][3 * 4 * 6];
  for (int run = 0; run < 2; run++) {
    gf__prefetch *pf;
    CHECK(gf__prefetch_start(&pf, &d, 3, 4, 42, 1, NULL) == 0, "prefetch start");
    int k = 0, e, last_e = 0;
    const float *b;
    gf__batch_info bi;
    while ((b = gf__prefetch_next(pf, &bi))) {
      e = bi.epoch;
      CHECK(e >= last_e, "epochs in order");
      last_e = e;
      if (k < 4) memcpy(seen[run] + k * 18, b, sizeof(float) * 18);
      if (run == 1 && k == 0) { struct timespec ts = {0, 20000000}; nanosleep(&ts, NULL); } /* timing must not matter */
      gf__prefetch_release(pf);
      k++;
    }
    CHECK(k == 12 && last_e == 4, "3 batches x 4 epochs: got %d (epoch %d)", k, last_e);
    gf__prefetch_stop(pf);
  }
  CHECK(!memcmp(seen[0], seen[1], sizeof seen[0]), "the same batches in both runs");
  {
    /* resume: from (epoch 2, batch 1, the counter epoch 2 started at) the batches continue as before */
    gf__prefetch *pf;
    gf__batch_info bi, at = {0};
    float want[18];
    CHECK(gf__prefetch_start(&pf, &d, 3, 4, 42, 1, NULL) == 0, "start");
    for (int k = 0; k < 5; k++) {
      const float *b = gf__prefetch_next(pf, &bi);
      if (k == 4) { memcpy(want, b, sizeof want); at = bi; }
      gf__prefetch_release(pf);
    }
    gf__prefetch_stop(pf);
    CHECK(at.epoch == 2 && at.batch == 1, "5th batch is epoch 2 batch 1 (%d, %d)", at.epoch, at.batch);
    CHECK(gf__prefetch_start(&pf, &d, 3, 4, 42, 1, &at) == 0, "resume start");
    const float *b = gf__prefetch_next(pf, &bi);
    CHECK(b && bi.epoch == 2 && bi.batch == 1 && !memcmp(b, want, sizeof want), "resumed batch identical");
    gf__prefetch_release(pf);
    gf__prefetch_stop(pf);
  }
  /* every sample is a row of the data, maybe mirrored */
  int flipped = 0;
  for (int s = 0; s < 12; s++) {
    const float *v = seen[0] + s * 6;
    int base = (int)v[0] / 6 * 6;
    if (v[0] != base) { base = (int)v[2] / 6 * 6; flipped++; CHECK(v[0] == base + 2 && v[1] == base + 1, "mirrored row"); }
  }
  CHECK(flipped > 0 && flipped < 12, "some but not all flipped (%d)", flipped);
  gf__prefetch *pf;
  CHECK(gf__prefetch_start(&pf, &d, 3, 1000, 1, 0, NULL) == 0, "start");
  gf__prefetch_next(pf, NULL);
  gf__prefetch_stop(pf); /* stops mid-epoch without hanging */
  gf__dataset_free(&d);
}

/* Decoding limits: headers claiming more than GF_IMAGE_MAX_PIXELS are refused before anything is
   allocated, and an image too elongated to resize on its shorter side is refused, not resized
   into gigabytes. */
static void test_limits(void) {
  /* P5 header of 10000 x 10000 (10^8 pixels) with the data: refused for its size, not decoded */
  const char *hdr = "P5\n10000 10000\n255\n";
  size_t hl = strlen(hdr), n = hl + (size_t)10000 * 10000;
  uint8_t *big = calloc(n, 1);
  CHECK(big != NULL, "calloc");
  if (big) {
    memcpy(big, hdr, hl);
    uint8_t *pix = NULL;
    int w, h, c;
    int rc = gf__pgm_decode_mem("big.pgm", big, n, &pix, &w, &h, &c);
    CHECK(rc == GF_EFORMAT && pix == NULL && strstr(gf_last_error(), "big.pgm: PGM of 10000x10000 pixels, over the limit"),
          "rc %d: %s", rc, gf_last_error());
    free(big);
  }
  /* 65535 x 2 strip: 65535 * 512 / 2 x 512 pixels after resizing its shorter side to 512 */
  uint8_t *strip = calloc((size_t)65535 * 2, 1);
  float *out = malloc(sizeof(float) * 512 * 512);
  CHECK(strip && out, "alloc");
  if (strip && out) {
    int rc = gf__image_to_sample(out, strip, 65535, 2, 1, 1, 512, GF_SCALE_TANH);
    CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "65535x2 image is too elongated"), "rc %d: %s", rc, gf_last_error());
    /* the same strip at 16 px is fine (65535 * 8 x 16 pixels) */
    CHECK(gf__image_to_sample(out, strip, 65535, 2, 1, 1, 16, GF_SCALE_TANH) == 0, "%s", gf_last_error());
  }
  free(strip);
  free(out);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "%s", gf_t_tmpdir("images"));
  test_limits();
  test_cifar();
  test_folder();
  test_faces();
  test_prefetch();
  return gf_t_done();
}
