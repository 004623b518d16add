/* test_data.c: dataset loaders (MNIST, digits), synthetic sets, shapes, SHA-256/MD5, and their error messages. */
#include "harness.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/digest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char path_buf[4096];
static const char *P(const char *dir, const char *leaf) {
  snprintf(path_buf, sizeof path_buf, "%s/%s", dir, leaf);
  return path_buf;
}

static int write_bytes(const char *path, const void *data, size_t n, int gz) {
  if (gz) {
    gzFile g = gzopen(path, "wb");
    if (!g) return -1;
    int ok = n == 0 || gzwrite(g, data, (unsigned)n) == (int)n;
    return gzclose(g) == Z_OK && ok ? 0 : -1;
  }
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

static void be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Writes a small IDX pair: `nimg` images claimed (only `img_have` present), `nlab` labels. */
static void write_idx(const char *dir, const char *split, uint32_t img_magic, uint32_t nimg, uint32_t img_have,
                      uint32_t nlab, int gz) {
  size_t isz = 16 + (size_t)img_have * 784, lsz = 8 + nlab;
  uint8_t *im = calloc(isz, 1), *lb = calloc(lsz, 1);
  be32(im, img_magic); be32(im + 4, nimg); be32(im + 8, 28); be32(im + 12, 28);
  for (size_t i = 16; i < isz; i++) im[i] = (uint8_t)(i * 7);
  be32(lb, 0x801); be32(lb + 4, nlab);
  for (uint32_t i = 0; i < nlab; i++) lb[8 + i] = (uint8_t)(i % 10);
  char name[256];
  snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", split, gz ? ".gz" : "");
  CHECK(write_bytes(P(dir, name), im, isz, gz) == 0, "write %s", name);
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", split, gz ? ".gz" : "");
  CHECK(write_bytes(P(dir, name), lb, lsz, gz) == 0, "write %s", name);
  free(im);
  free(lb);
}

static void test_mnist(void) {
  char dir[2048];
  snprintf(dir, sizeof dir, "%s/mnist", gf_t_data());
  gf__dataset d;
  double t0 = gf__now();
  int rc = gf__mnist_load(&d, dir, 1, GF_SCALE_UNIT, 0, 0);
  double dt = gf__now() - t0;
  CHECK(rc == 0, "mnist train load: %s", gf_last_error());
  if (rc != 0) return;
  printf("mnist train: %d samples in %.2f s\n", d.n, dt);
  CHECK(d.n == 60000 && d.c == 1 && d.h == 28 && d.w == 28 && d.nclass == 10, "shape n=%d %dx%dx%d", d.n, d.c, d.h, d.w);
  CHECK(strcmp(d.name, "mnist") == 0, "name %s", d.name);
  static const int want_counts[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
  int counts[10] = {0};
  for (int i = 0; i < d.n; i++) counts[d.labels[i]]++;
  for (int k = 0; k < 10; k++) CHECK(counts[k] == want_counts[k], "train class %d: %d vs %d", k, counts[k], want_counts[k]);
  static const int first[10] = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
  for (int i = 0; i < 10; i++) CHECK(d.labels[i] == first[i], "train label %d = %d", i, d.labels[i]);
  float mn = 1e9f, mx = -1e9f;
  double sum = 0;
  for (long i = 0; i < (long)d.n * 784; i++) {
    mn = d.x[i] < mn ? d.x[i] : mn;
    mx = d.x[i] > mx ? d.x[i] : mx;
    sum += d.x[i];
  }
  CHECK(mn == 0.0f && mx == 1.0f, "unit range %g..%g", mn, mx);
  CHECK_CLOSE(sum / ((double)d.n * 784), 0.1307, 0, 0.001, "MNIST train mean pixel");
  /* offset/limit pick the same rows. */
  gf__dataset s;
  rc = gf__mnist_load(&s, dir, 1, GF_SCALE_TANH, 100, 10);
  CHECK(rc == 0 && s.n == 10, "offset/limit load: %s", gf_last_error());
  if (rc == 0) {
    CHECK(memcmp(s.labels, d.labels + 100, 10 * sizeof(int)) == 0, "offset labels");
    int same = 1;
    for (int i = 0; i < 10 * 784; i++)
      if (fabsf(s.x[i] - (d.x[100 * 784 + i] * 2.0f - 1.0f)) > 1e-5f) same = 0;
    CHECK(same, "offset pixels match, tanh = 2*unit-1");
    gf__dataset_free(&s);
  }
  rc = gf__mnist_load(&s, dir, 1, GF_SCALE_TANH, 60000, 0);
  CHECK(rc == GF_EINVAL, "offset past end: rc %d", rc);
  gf__dataset_free(&d);

  rc = gf__mnist_load(&d, dir, 0, GF_SCALE_TANH, 0, 0);
  CHECK(rc == 0 && d.n == 10000, "mnist test load: %s", gf_last_error());
  if (rc == 0) {
    static const int tfirst[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
    for (int i = 0; i < 10; i++) CHECK(d.labels[i] == tfirst[i], "test label %d = %d", i, d.labels[i]);
    static const int tc[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    int c2[10] = {0};
    for (int i = 0; i < d.n; i++) c2[d.labels[i]]++;
    for (int k = 0; k < 10; k++) CHECK(c2[k] == tc[k], "test class %d: %d", k, c2[k]);
    float lo = 0, hi = 0;
    for (long i = 0; i < (long)d.n * 784; i++) { lo = d.x[i] < lo ? d.x[i] : lo; hi = d.x[i] > hi ? d.x[i] : hi; }
    CHECK(lo == -1.0f && hi == 1.0f, "tanh range %g..%g", lo, hi);
  }

  /* The same test split decompressed (plain IDX) loads identically. */
  const char *pd = gf_t_tmpdir("data_plain");
  char pdir[2048];
  snprintf(pdir, sizeof pdir, "%s", pd);
  const char *names[2] = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  for (int f = 0; f < 2; f++) {
    char src[2300];
    snprintf(src, sizeof src, "%s/%s.gz", dir, names[f]);
    gzFile g = gzopen(src, "rb");
    size_t cap = 8u << 20, n = 0;
    uint8_t *buf = malloc(cap);
    int k;
    while (g && (k = gzread(g, buf + n, (unsigned)(cap - n))) > 0) n += (size_t)k;
    if (g) gzclose(g);
    CHECK(write_bytes(P(pdir, names[f]), buf, n, 0) == 0, "write plain %s", names[f]);
    free(buf);
  }
  gf__dataset p;
  rc = gf__mnist_load(&p, pdir, 0, GF_SCALE_TANH, 0, 0);
  CHECK(rc == 0, "plain IDX load: %s", gf_last_error());
  if (rc == 0 && d.x) {
    CHECK(p.n == d.n && memcmp(p.x, d.x, (size_t)d.n * 784 * sizeof(float)) == 0, "plain == gz pixels");
    CHECK(memcmp(p.labels, d.labels, (size_t)d.n * sizeof(int)) == 0, "plain == gz labels");
  }
  gf__dataset_free(&p);
  gf__dataset_free(&d);
}

static void test_mnist_errors(void) {
  gf__dataset d;
  char dir[2048];
  int rc;

  /* Real train-images.gz cut to its first 200 kB: the message gives the full expected size. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_trunc_real"));
  {
    char src[2300];
    snprintf(src, sizeof src, "%s/mnist/train-images-idx3-ubyte.gz", gf_t_data());
    char *buf;
    size_t n;
    CHECK(gf__read_file(src, &buf, &n) == 0, "read %s", src);
    CHECK(write_bytes(P(dir, "train-images-idx3-ubyte.gz"), buf, 200000, 0) == 0, "write cut gz");
    free(buf);
    snprintf(src, sizeof src, "%s/mnist/train-labels-idx1-ubyte.gz", gf_t_data());
    CHECK(gf__read_file(src, &buf, &n) == 0, "read %s", src);
    CHECK(write_bytes(P(dir, "train-labels-idx1-ubyte.gz"), buf, n, 0) == 0, "copy labels");
    free(buf);
  }
  rc = gf__mnist_load(&d, dir, 1, GF_SCALE_TANH, 0, 0);
  CHECK(rc == GF_EFORMAT, "cut gz: rc %d", rc);
  CHECK(strstr(gf_last_error(), "train-images-idx3-ubyte.gz: truncated: expected 47040016 bytes of image data, got ") != NULL,
        "msg: %s", gf_last_error());
  CHECK(d.x == NULL && d.labels == NULL, "nothing left allocated on failure");

  /* Corrupted deflate data in the middle of the real labels file (images intact). */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_corrupt_gz"));
  {
    char src[2300], *buf;
    size_t n;
    snprintf(src, sizeof src, "%s/mnist/t10k-labels-idx1-ubyte.gz", gf_t_data());
    CHECK(gf__read_file(src, &buf, &n) == 0, "read %s", src);
    for (size_t i = n / 3; i < n / 3 + 64; i++) buf[i] = (char)(buf[i] ^ 0x5a);
    CHECK(write_bytes(P(dir, "t10k-labels-idx1-ubyte.gz"), buf, n, 0) == 0, "write corrupt gz");
    free(buf);
    snprintf(src, sizeof src, "%s/mnist/t10k-images-idx3-ubyte.gz", gf_t_data());
    CHECK(gf__read_file(src, &buf, &n) == 0, "read %s", src);
    CHECK(write_bytes(P(dir, "t10k-images-idx3-ubyte.gz"), buf, n, 0) == 0, "copy images");
    free(buf);
  }
  rc = gf__mnist_load(&d, dir, 0, GF_SCALE_TANH, 0, 0);
  CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "t10k-labels-idx1-ubyte.gz"), "corrupt gz: rc %d msg %s", rc,
        gf_last_error());
  printf("corrupt gz: %s\n", gf_last_error());

  /* Valid gzip whose IDX data is shorter than its header claims. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_trunc_gz"));
  write_idx(dir, "train", 0x803, 10, 7, 10, 1);
  rc = gf__mnist_load(&d, dir, 1, GF_SCALE_TANH, 0, 0);
  CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "truncated: expected 7856 bytes of image data, got 5504"),
        "short gz: rc %d msg %s", rc, gf_last_error());

  /* Same as plain IDX. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_trunc_plain"));
  write_idx(dir, "t10k", 0x803, 10, 3, 10, 0);
  rc = gf__mnist_load(&d, dir, 0, GF_SCALE_UNIT, 0, 0);
  CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "t10k-images-idx3-ubyte: truncated: expected 7856 bytes of image data, got 2368"),
        "short plain: rc %d msg %s", rc, gf_last_error());

  /* Short label file. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_trunc_labels"));
  write_idx(dir, "train", 0x803, 10, 10, 10, 0);
  {
    uint8_t lb[8 + 4];
    be32(lb, 0x801); be32(lb + 4, 10);
    memset(lb + 8, 1, 4);
    CHECK(write_bytes(P(dir, "train-labels-idx1-ubyte"), lb, sizeof lb, 0) == 0, "short labels");
  }
  rc = gf__mnist_load(&d, dir, 1, GF_SCALE_UNIT, 0, 0);
  CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "truncated: expected 18 bytes of label data, got 12"),
        "short labels: rc %d msg %s", rc, gf_last_error());

  /* A complete small pair loads. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_small_ok"));
  write_idx(dir, "train", 0x803, 10, 10, 10, 1);
  rc = gf__mnist_load(&d, dir, 1, GF_SCALE_UNIT, 2, 5);
  CHECK(rc == 0 && d.n == 5 && d.labels[0] == 2 && d.labels[4] == 6, "small ok: rc %d %s", rc, gf_last_error());
  if (rc == 0) CHECK_CLOSE(d.x[0], (double)(uint8_t)((16 + 2 * 784) * 7) / 255.0, 0, 1e-6, "small pixel 0");
  gf__dataset_free(&d);

  /* Bad magic. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_magic"));
  write_idx(dir, "train", 0x12345678, 10, 10, 10, 1);
  rc = gf__mnist_load(&d, dir, 1, GF_SCALE_TANH, 0, 0);
  CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "bad magic 0x12345678") &&
            strstr(gf_last_error(), "train-images-idx3-ubyte.gz"),
        "bad magic: rc %d msg %s", rc, gf_last_error());

  /* Count mismatch. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_count"));
  write_idx(dir, "train", 0x803, 10, 10, 9, 1);
  rc = gf__mnist_load(&d, dir, 1, GF_SCALE_TANH, 0, 0);
  CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "has 10 images but") && strstr(gf_last_error(), "has 9 labels"),
        "count mismatch: rc %d msg %s", rc, gf_last_error());

  /* Missing files. */
  snprintf(dir, sizeof dir, "%s", gf_t_tmpdir("data_missing"));
  rc = gf__mnist_load(&d, dir, 1, GF_SCALE_TANH, 0, 0);
  CHECK(rc == GF_ENOENT && strstr(gf_last_error(), dir) && strstr(gf_last_error(), "train-images-idx3-ubyte"),
        "missing: rc %d msg %s", rc, gf_last_error());
}

static void test_digits(void) {
  char p[2048];
  gf__dataset d;
  snprintf(p, sizeof p, "%s/digits/optdigits.tra", gf_t_data());
  int rc = gf__digits_load(&d, p, GF_SCALE_UNIT, 0);
  CHECK(rc == 0 && d.n == 3823 && d.c == 1 && d.h == 8 && d.w == 8 && d.nclass == 10, "tra: rc %d n %d %s", rc, d.n,
        gf_last_error());
  if (rc == 0) {
    static const int want[10] = {376, 389, 380, 389, 387, 376, 377, 387, 380, 382};
    int c[10] = {0};
    for (int i = 0; i < d.n; i++) c[d.labels[i]]++;
    for (int k = 0; k < 10; k++) CHECK(c[k] == want[k], "tra class %d: %d", k, c[k]);
    float lo = 1, hi = 0;
    for (int i = 0; i < d.n * 64; i++) { lo = d.x[i] < lo ? d.x[i] : lo; hi = d.x[i] > hi ? d.x[i] : hi; }
    CHECK(lo == 0.0f && hi == 1.0f, "unit range %g..%g", lo, hi);
  }
  gf__dataset_free(&d);
  snprintf(p, sizeof p, "%s/digits/optdigits.tes", gf_t_data());
  rc = gf__digits_load(&d, p, GF_SCALE_TANH, 0);
  CHECK(rc == 0 && d.n == 1797, "tes: rc %d n %d %s", rc, d.n, gf_last_error());
  if (rc == 0) {
    static const int want[10] = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
    int c[10] = {0};
    for (int i = 0; i < d.n; i++) c[d.labels[i]]++;
    for (int k = 0; k < 10; k++) CHECK(c[k] == want[k], "tes class %d: %d", k, c[k]);
    /* First sklearn digit (a 0): row 0 = 0,0,5,13,9,1,0,0 -> tanh v/8-1. */
    CHECK(d.labels[0] == 0, "first label %d", d.labels[0]);
    CHECK_CLOSE(d.x[2], 5.0 / 8.0 - 1.0, 0, 1e-6, "tes x[2]");
    CHECK_CLOSE(d.x[3], 13.0 / 8.0 - 1.0, 0, 1e-6, "tes x[3]");
  }
  gf__dataset_free(&d);
  /* A folder means optdigits.tra; limit keeps the first rows. */
  snprintf(p, sizeof p, "%s/digits", gf_t_data());
  rc = gf__digits_load(&d, p, GF_SCALE_TANH, 50);
  CHECK(rc == 0 && d.n == 50, "dir + limit: rc %d n %d", rc, d.n);
  gf__dataset_free(&d);

  const char *dir = gf_t_tmpdir("data_digits_bad");
  char good[400] = "";
  for (int j = 0; j < 64; j++) strcat(good, j % 3 ? "3," : "16,");
  char text[4096];
  struct { const char *bad; const char *msg; } cases[] = {
    {"1,2,3\n", ":3: expected 65 comma-separated fields, got 3"},
    {"BADCLASS", ":3: class 10 out of range 0..9"},
    {"BADVAL", ":3: field 5 value 17 out of range 0..16"},
    {"BADCHAR", ":3: field 2 is not a non-negative integer"},
  };
  for (int c = 0; c < 4; c++) {
    char badline[512];
    if (strcmp(cases[c].bad, "BADCLASS") == 0) snprintf(badline, sizeof badline, "%s10\n", good);
    else if (strcmp(cases[c].bad, "BADVAL") == 0) {
      strcpy(badline, "0,0,0,0,17,");
      for (int j = 5; j < 64; j++) strcat(badline, "1,");
      strcat(badline, "4\n");
    } else if (strcmp(cases[c].bad, "BADCHAR") == 0) snprintf(badline, sizeof badline, "1,x,%s\n", good);
    else snprintf(badline, sizeof badline, "%s", cases[c].bad);
    snprintf(text, sizeof text, "%s1\n%s2\n%s%s3\n", good, good, badline, good);
    char fp[2300];
    snprintf(fp, sizeof fp, "%s/bad%d.tra", dir, c);
    CHECK(write_bytes(fp, text, strlen(text), 0) == 0, "write %s", fp);
    rc = gf__digits_load(&d, fp, GF_SCALE_TANH, 0);
    CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), fp) && strstr(gf_last_error(), cases[c].msg),
          "case %d: rc %d msg '%s' want '%s'", c, rc, gf_last_error(), cases[c].msg);
    CHECK(d.x == NULL, "freed on error");
  }
  /* CRLF line endings and a missing final newline are fine. */
  snprintf(text, sizeof text, "%s1\r\n%s2", good, good);
  char fp[2300];
  snprintf(fp, sizeof fp, "%s/crlf.tra", dir);
  CHECK(write_bytes(fp, text, strlen(text), 0) == 0, "write crlf");
  rc = gf__digits_load(&d, fp, GF_SCALE_UNIT, 0);
  CHECK(rc == 0 && d.n == 2 && d.labels[1] == 2 && d.x[0] == 1.0f, "crlf: rc %d %s", rc, gf_last_error());
  gf__dataset_free(&d);
  snprintf(fp, sizeof fp, "%s/nope.tra", dir);
  rc = gf__digits_load(&d, fp, GF_SCALE_UNIT, 0);
  CHECK(rc == GF_ENOENT && strstr(gf_last_error(), fp), "missing digits: rc %d %s", rc, gf_last_error());
}

static void test_synth(void) {
  gf__dataset d, e;
  int rc = gf__synth_gauss1d(&d, 200000, 2.0f, 0.5f, 7);
  CHECK(rc == 0 && d.n == 200000 && d.c == 1 && d.h == 1 && d.w == 1, "gauss1d: %s", gf_last_error());
  if (rc == 0) {
    double s = 0, s2 = 0;
    for (int i = 0; i < d.n; i++) { s += d.x[i]; s2 += (double)d.x[i] * d.x[i]; }
    double m = s / d.n, sd = sqrt(s2 / d.n - m * m);
    CHECK_CLOSE(m, 2.0, 0, 0.005, "gauss1d mean");
    CHECK_CLOSE(sd, 0.5, 0, 0.005, "gauss1d std");
    CHECK(d.nmodes == 1 && d.modes[0] == 2.0f && d.mode_sigma == 0.5f && d.labels == NULL, "gauss1d modes");
    CHECK(gf__synth_gauss1d(&e, 200000, 2.0f, 0.5f, 7) == 0 && memcmp(d.x, e.x, 200000 * sizeof(float)) == 0,
          "gauss1d deterministic");
    gf__dataset_free(&e);
  }
  gf__dataset_free(&d);
  CHECK(gf__synth_gauss1d(&d, 0, 0, 1, 1) == GF_EINVAL, "n=0 rejected");

  rc = gf__synth_ring8(&d, 20000, 3);
  CHECK(rc == 0 && d.n == 20000 && d.c == 2 && d.nmodes == 8 && d.mode_sigma == 0.01f, "ring8: %s", gf_last_error());
  if (rc == 0) {
    int cnt[8] = {0}, far = 0, far6 = 0, wrong = 0;
    for (int i = 0; i < d.n; i++) {
      int best = 0;
      double bd = 1e9;
      for (int k = 0; k < 8; k++) {
        double dx = d.x[2 * i] - d.modes[2 * k], dy = d.x[2 * i + 1] - d.modes[2 * k + 1];
        double dd = sqrt(dx * dx + dy * dy);
        if (dd < bd) { bd = dd; best = k; }
      }
      if (bd > 5 * 0.01) far++;
      if (bd > 6 * 0.01) far6++;
      if (d.labels[i] != best) wrong++;
      cnt[best]++;
    }
    /* P(radius > 5 sigma) = exp(-12.5) ~ 4e-6 per 2-D point: expect ~0.07 of 20000 (this seed has one). */
    CHECK(far <= 2, "ring8: %d points beyond 5 sigma", far);
    CHECK(far6 == 0, "ring8: %d points beyond 6 sigma", far6);
    CHECK(wrong == 0, "ring8: %d labels not the nearest mode", wrong);
    for (int k = 0; k < 8; k++) CHECK(cnt[k] > 2200 && cnt[k] < 2800, "ring8 mode %d count %d", k, cnt[k]);
    CHECK_CLOSE(d.modes[2 * 2], 0.0, 0, 1e-6, "mode 2 x");
    CHECK_CLOSE(d.modes[2 * 2 + 1], 1.0, 0, 1e-6, "mode 2 y");
  }
  gf__dataset_free(&d);

  rc = gf__synth_grid25(&d, 25000, 4);
  CHECK(rc == 0 && d.nmodes == 25 && d.mode_sigma == 0.05f, "grid25: %s", gf_last_error());
  if (rc == 0) {
    int cnt[25] = {0}, far = 0;
    for (int i = 0; i < d.n; i++) {
      int gx = (int)lround((d.x[2 * i] + 4) / 2), gy = (int)lround((d.x[2 * i + 1] + 4) / 2);
      if (gx < 0 || gx > 4 || gy < 0 || gy > 4) { far++; continue; }
      double dx = d.x[2 * i] - (-4 + 2 * gx), dy = d.x[2 * i + 1] - (-4 + 2 * gy);
      if (sqrt(dx * dx + dy * dy) > 5 * 0.05) far++;
      cnt[gx * 5 + gy]++;
    }
    CHECK(far == 0, "grid25: %d points beyond 5 sigma", far);
    int present = 0;
    for (int k = 0; k < 25; k++) present += cnt[k] > 700;
    CHECK(present == 25, "grid25: %d modes well populated", present);
  }
  gf__dataset_free(&d);
}

static void test_shapes(void) {
  gf__dataset a, b, c;
  double t0 = gf__now();
  int rc = gf__shapes_make(&a, 10000, 28, 1, GF_SCALE_TANH);
  double dt = gf__now() - t0;
  printf("shapes: 10000 x 28x28 in %.3f s\n", dt);
  CHECK(rc == 0 && a.n == 10000 && a.c == 1 && a.h == 28 && a.w == 28 && a.nclass == 3, "shapes: %s", gf_last_error());
  if (rc != 0) return;
  CHECK(dt < 3.0, "shapes too slow: %.2f s", dt);
  CHECK(gf__shapes_make(&b, 10000, 28, 1, GF_SCALE_TANH) == 0, "shapes again");
  CHECK(memcmp(a.x, b.x, 10000 * 784 * sizeof(float)) == 0 && memcmp(a.labels, b.labels, 10000 * sizeof(int)) == 0,
        "same seed -> identical");
  gf__dataset_free(&b);
  CHECK(gf__shapes_make(&b, 10000, 28, 2, GF_SCALE_TANH) == 0, "shapes seed 2");
  CHECK(memcmp(a.x, b.x, 10000 * 784 * sizeof(float)) != 0, "different seed -> different");
  gf__dataset_free(&b);
  /* Prefix property: the first k images do not depend on n. */
  CHECK(gf__shapes_make(&b, 100, 28, 1, GF_SCALE_TANH) == 0 && memcmp(a.x, b.x, 100 * 784 * sizeof(float)) == 0,
        "prefix stable");
  gf__dataset_free(&b);
  int cnt[3] = {0}, bad_range = 0, no_edge = 0, no_bg = 0, no_fg = 0;
  double cover[3] = {0};
  for (int i = 0; i < a.n; i++) {
    CHECK(a.labels[i] >= 0 && a.labels[i] <= 2, "label %d", a.labels[i]);
    cnt[a.labels[i]]++;
    int edge = 0, bg = 0, fg = 0;
    double s = 0;
    for (int j = 0; j < 784; j++) {
      float v = a.x[(size_t)i * 784 + j];
      if (v < -1.0f || v > 1.0f) bad_range++;
      if (v == -1.0f) bg++;
      else if (v == 1.0f) fg++;
      else edge++;
      s += (v + 1) / 2;
    }
    cover[a.labels[i]] += s / 784;
    no_edge += edge == 0;
    no_bg += bg == 0;
    no_fg += fg == 0;
  }
  for (int k = 0; k < 3; k++) CHECK(cnt[k] > 3000, "class %d count %d", k, cnt[k]);
  CHECK(bad_range == 0, "%d values outside [-1,1]", bad_range);
  CHECK(no_edge == 0 && no_fg == 0, "images without anti-aliased edge: %d, without full fg: %d", no_edge, no_fg);
  CHECK(no_bg < 200, "%d images without background", no_bg);
  for (int k = 0; k < 3; k++) {
    double m = cover[k] / cnt[k];
    printf("shapes class %d: mean coverage %.3f\n", k, m);
    CHECK(m > 0.08 && m < 0.6, "class %d coverage %.3f", k, m);
  }
  CHECK(gf__shapes_make(&c, 50, 28, 1, GF_SCALE_UNIT) == 0, "unit shapes");
  int mism = 0;
  for (int j = 0; j < 50 * 784; j++)
    if (fabsf(c.x[j] - (a.x[j] + 1) / 2) > 1e-6f) mism++;
  CHECK(mism == 0, "unit = (tanh+1)/2: %d mismatches", mism);
  gf__dataset_free(&c);
  gf__dataset_free(&a);
  CHECK(gf__shapes_make(&a, 10, 2, 1, GF_SCALE_UNIT) == GF_EINVAL, "tiny size rejected");
}

static void hexof(const void *s, size_t n, char out[65]) {
  uint8_t d[32];
  gf__sha256(s, n, d);
  gf__hex(d, 32, out);
}

static void test_hashes(void) {
  char h[65];
  hexof("abc", 3, h);
  CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "sha256(abc) %s", h);
  hexof("", 0, h);
  CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0, "sha256('') %s", h);
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hexof(two, strlen(two), h);
  CHECK(strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0, "sha256(2 blocks) %s", h);
  /* One million 'a' fed in uneven pieces. */
  char *m = malloc(1000000);
  memset(m, 'a', 1000000);
  gf__sha256_ctx c;
  gf__sha256_init(&c);
  for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 1031 + 1)
    gf__sha256_update(&c, m + off, off + step > 1000000 ? 1000000 - off : step);
  uint8_t dg[32];
  gf__sha256_final(&c, dg);
  gf__hex(dg, 32, h);
  CHECK(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "sha256(1M a) %s", h);
  free(m);

  /* Shared data files against their SHA256SUMS. */
  const char *sets[2] = {"mnist", "digits"};
  for (int s = 0; s < 2; s++) {
    char sums[2048], *text = NULL;
    snprintf(sums, sizeof sums, "%s/%s/SHA256SUMS", gf_t_data(), sets[s]);
    CHECK(gf__read_file(sums, &text, NULL) == 0, "read %s", sums);
    if (!text) continue;
    int checked = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      char want[65], name[512], fp[2600];
      if (sscanf(line, "%64s %511s", want, name) != 2) continue;
      snprintf(fp, sizeof fp, "%s/%s/%s", gf_t_data(), sets[s], name[0] == '*' ? name + 1 : name);
      CHECK(gf__sha256_file(fp, h) == 0, "hash %s: %s", fp, gf_last_error());
      CHECK(strcmp(h, want) == 0, "%s: %s vs %s", fp, h, want);
      checked++;
    }
    CHECK(checked >= 2, "%s: %d files checked", sets[s], checked);
    free(text);
  }
  CHECK(gf__sha256_file("/nonexistent/x", h) == GF_ENOENT, "sha256 missing file");

  uint8_t md[16];
  char mh[33];
  gf__md5("", 0, md);
  gf__hex(md, 16, mh);
  CHECK(strcmp(mh, "d41d8cd98f00b204e9800998ecf8427e") == 0, "md5('') %s", mh);
  gf__md5("abc", 3, md);
  gf__hex(md, 16, mh);
  CHECK(strcmp(mh, "900150983cd24fb0d6963f7d28e17f72") == 0, "md5(abc) %s", mh);
  const char *q = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
  gf__md5(q, strlen(q), md);
  gf__hex(md, 16, mh);
  CHECK(strcmp(mh, "57edf4a22be3c955ac49da2e2107b67a") == 0, "md5(80 digits) %s", mh);
  char fp[2048];
  snprintf(fp, sizeof fp, "%s/mnist/train-images-idx3-ubyte.gz", gf_t_data());
  CHECK(gf__md5_file(fp, mh) == 0 && strcmp(mh, "f68b3c2dcbeaaa9fbdd348bbdeb94873") == 0, "md5 train-images %s", mh);
}

int main(void) {
  test_hashes();
  test_synth();
  test_shapes();
  test_digits();
  test_mnist_errors();
  test_mnist();
  return gf_t_done();
}
