/* test_safetensors.c: safetensors round trip, metadata, every malformed-file error, Python interop. */
#include "harness.h"

#include "core/util.h"
#include "io/safetensors.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmp[2048];

static const char *tpath(const char *name) {
  static char buf[4][2300];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
  return buf[k];
}

static int has(const char *needle) { return strstr(gf_last_error(), needle) != NULL; }

/* Writes [u64 header_len][header][data]; header_len is normally strlen(header). */
static void write_raw(const char *path, uint64_t hlen, const char *hdr, const void *data, size_t dlen) {
  FILE *f = fopen(path, "wb");
  if (!f) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
  uint8_t le[8];
  for (int i = 0; i < 8; i++) le[i] = (uint8_t)(hlen >> (8 * i));
  fwrite(le, 1, 8, f);
  fwrite(hdr, 1, strlen(hdr), f);
  if (dlen) fwrite(data, 1, dlen, f);
  fclose(f);
}

static void write_hdr(const char *path, const char *hdr, size_t dlen) {
  static uint8_t zeros[4096];
  write_raw(path, strlen(hdr), hdr, zeros, dlen);
}

/* Expects gf__st_open to fail with `status` and a message containing `needle` and the path. */
static void expect_open_fail(const char *what, const char *path, int status, const char *needle) {
  gf__st_file f;
  int rc = gf__st_open(&f, path);
  CHECK(rc == status, "%s: rc %d (%s), expected %d", what, rc, gf_err_name(rc), status);
  CHECK(has(needle), "%s: message '%s' lacks '%s'", what, gf_last_error(), needle);
  CHECK(has(path), "%s: message '%s' does not name the file", what, gf_last_error());
  CHECK(f.buf == NULL && f.json == NULL, "%s: failed open left state behind", what);
  gf__st_close(&f);
}

#define WN 256
#define WM 128
static float w_[WN * WM], b_[4], big_[2 * 3 * 4], scalar_ = 3.5f;

static void fill(void) {
  for (int i = 0; i < WN * WM; i++) w_[i] = (float)((i % 97) - 48) * 0.125f;
  for (int i = 0; i < 4; i++) b_[i] = -1.5f + (float)i;
  for (int i = 0; i < 24; i++) big_[i] = (float)i * 0.5f - 3.0f;
}

static const char *main_file(void) { return tpath("model.safetensors"); }

static int write_model(const char *path) {
  gf__st_tensor t[5] = {
      {"G.net.0.weight", w_, 2, {WN, WM}},
      {"G.net.0.bias", b_, 1, {4}},
      {"scalar", &scalar_, 0, {0}},
      {"empty", NULL, 2, {0, 5}},
      {"D.block.3", big_, 3, {2, 3, 4}},
  };
  const char *meta[] = {"format", "pt", "epoch", "12", "note", "quotes \" and \\ and unicode \xc3\xa9"};
  return gf__st_write(path, t, 5, meta, 3);
}

static int count_tmp_leftovers(void) {
  DIR *d = opendir(tmp);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) n++;
  if (d) closedir(d);
  return n;
}

static void test_roundtrip(void) {
  const char *p = main_file();
  int rc = write_model(p);
  CHECK(rc == 0, "write: %s", gf_last_error());
  rc = write_model(p); /* overwriting an existing file works */
  CHECK(rc == 0, "rewrite: %s", gf_last_error());
  CHECK(count_tmp_leftovers() == 0, "temp files left behind");

  char *raw;
  size_t len;
  gf__read_file(p, &raw, &len);
  uint64_t hn = 0;
  for (int i = 0; i < 8; i++) hn |= (uint64_t)(uint8_t)raw[i] << (8 * i);
  CHECK(hn % 8 == 0, "header length %llu is a multiple of 8", (unsigned long long)hn);
  CHECK(raw[8] == '{', "header starts with '{'");
  size_t want = (WN * WM + 4 + 1 + 0 + 24) * 4;
  CHECK(len == 8 + hn + want, "file size %zu, expected %zu", len, (size_t)(8 + hn + want));
  free(raw);

  gf__st_file f;
  rc = gf__st_open(&f, p);
  CHECK(rc == 0, "open: %s", gf_last_error());
  if (rc) return;
  CHECK(f.n == 5, "n = %d", f.n);
  const char *names[5] = {"G.net.0.weight", "G.net.0.bias", "scalar", "empty", "D.block.3"};
  for (int i = 0; i < 5; i++)
    CHECK(gf__st_name(&f, i) && strcmp(gf__st_name(&f, i), names[i]) == 0, "name %d = %s", i,
          gf__st_name(&f, i) ? gf__st_name(&f, i) : "(null)");
  CHECK(gf__st_name(&f, 5) == NULL, "name past the end is NULL");
  CHECK(gf__st_meta(&f, "format") && strcmp(gf__st_meta(&f, "format"), "pt") == 0, "meta format");
  CHECK(gf__st_meta(&f, "epoch") && strcmp(gf__st_meta(&f, "epoch"), "12") == 0, "meta epoch");
  CHECK(gf__st_meta(&f, "note") && strcmp(gf__st_meta(&f, "note"), "quotes \" and \\ and unicode \xc3\xa9") == 0,
        "meta escaping");
  CHECK(gf__st_meta(&f, "missing") == NULL, "absent meta key is NULL");

  float *w = malloc(sizeof w_);
  int64_t ws[2] = {WN, WM};
  rc = gf__st_read_into(&f, "G.net.0.weight", w, 2, ws);
  CHECK(rc == 0 && memcmp(w, w_, sizeof w_) == 0, "weight values: %s", gf_last_error());
  float b[4], big[24], sc = 0;
  int64_t bs[1] = {4}, gs[3] = {2, 3, 4};
  CHECK(gf__st_read_into(&f, "G.net.0.bias", b, 1, bs) == 0 && memcmp(b, b_, sizeof b) == 0, "bias values");
  CHECK(gf__st_read_into(&f, "D.block.3", big, 3, gs) == 0 && memcmp(big, big_, sizeof big) == 0, "3-d values");
  CHECK(gf__st_read_into(&f, "scalar", &sc, 0, NULL) == 0 && sc == 3.5f, "scalar value");
  int64_t es[2] = {0, 5};
  CHECK(gf__st_read_into(&f, "empty", NULL, 2, es) == 0, "empty tensor: %s", gf_last_error());

  const uint8_t *data;
  int nd;
  int64_t shape[GF_ST_MAXDIM];
  rc = gf__st_get(&f, "D.block.3", &data, &nd, shape);
  CHECK(rc == 0 && nd == 3 && shape[0] == 2 && shape[1] == 3 && shape[2] == 4, "get shape");
  if (rc == 0) {
    float v;
    memcpy(&v, data + 4 * 23, 4);
    CHECK(v == big_[23], "get data pointer");
  }

  int64_t wrong[2] = {256, 64};
  rc = gf__st_read_into(&f, "G.net.0.weight", w, 2, wrong);
  CHECK(rc == GF_EMISMATCH, "shape mismatch rc %d", rc);
  CHECK(has("tensor 'G.net.0.weight' has shape [256, 128], expected [256, 64]") && has(p), "mismatch message: %s",
        gf_last_error());
  rc = gf__st_read_into(&f, "G.net.0.bias", b, 2, wrong);
  CHECK(rc == GF_EMISMATCH && has("has shape [4], expected [256, 64]"), "rank mismatch: %s", gf_last_error());
  rc = gf__st_read_into(&f, "G.net.9.weight", w, 2, ws);
  CHECK(rc == GF_ENOENT && has("missing tensor 'G.net.9.weight'") && has(p), "missing: %s", gf_last_error());
  rc = gf__st_get(&f, "__metadata__", &data, &nd, shape);
  CHECK(rc == GF_ENOENT, "__metadata__ is not a tensor");
  free(w);
  gf__st_close(&f);
  gf__st_close(&f); /* idempotent */

  /* no tensors, no metadata */
  rc = gf__st_write(tpath("empty.safetensors"), NULL, 0, NULL, 0);
  CHECK(rc == 0, "empty file write: %s", gf_last_error());
  rc = gf__st_open(&f, tpath("empty.safetensors"));
  CHECK(rc == 0 && f.n == 0 && gf__st_meta(&f, "format") == NULL, "empty file open: %s", gf_last_error());
  gf__st_close(&f);

  /* writer argument errors */
  gf__st_tensor dup[2] = {{"a", b_, 1, {4}}, {"a", b_, 1, {4}}};
  CHECK(gf__st_write(tpath("dup.safetensors"), dup, 2, NULL, 0) == GF_EINVAL && has("'a'"), "duplicate names");
  gf__st_tensor neg[1] = {{"a", b_, 1, {-4}}};
  CHECK(gf__st_write(tpath("neg.safetensors"), neg, 1, NULL, 0) == GF_EINVAL, "negative dim");
  CHECK(gf__st_write("/nonexistent-dir/m.safetensors", dup, 1, NULL, 0) == GF_EIO && has("/nonexistent-dir"),
        "unwritable path: %s", gf_last_error());
  CHECK(gf__st_open(&f, tpath("nope.safetensors")) == GF_ENOENT, "open missing file");
}

static void test_malformed(void) {
  const char *p = tpath("bad.safetensors");
  FILE *fz = fopen(p, "wb");
  fwrite("\x05\x00\x00", 1, 3, fz);
  fclose(fz);
  expect_open_fail("3-byte file", p, GF_EFORMAT, "too short");
  fz = fopen(p, "wb");
  fclose(fz);
  expect_open_fail("0-byte file", p, GF_EFORMAT, "too short");

  const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  write_raw(p, 1000, h, "12345678", 8);
  expect_open_fail("header length > file", p, GF_EFORMAT, "header length 1000 is larger than the file");
  write_raw(p, UINT64_MAX, h, "12345678", 8);
  expect_open_fail("huge header length", p, GF_EFORMAT, "is larger than the file");

  write_hdr(p, "{\"a\":{\"dtype\":\"F32\",", 0);
  expect_open_fail("not JSON", p, GF_EFORMAT, "header is not valid JSON");
  write_hdr(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} xx", 8);
  expect_open_fail("trailing junk", p, GF_EFORMAT, "header is not valid JSON");
  write_hdr(p, "", 0);
  expect_open_fail("empty header", p, GF_EFORMAT, "header is not valid JSON");
  write_hdr(p, "[1, 2, 3]", 0);
  expect_open_fail("array header", p, GF_EFORMAT, "header is not a JSON object");
  write_hdr(p, "{\"a\": 5}", 0);
  expect_open_fail("entry not object", p, GF_EFORMAT, "tensor 'a' entry is not an object");

  write_hdr(p, "{\"x\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
  expect_open_fail("no dtype", p, GF_EFORMAT, "tensor 'x' has no dtype");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8);
  expect_open_fail("no shape", p, GF_EFORMAT, "tensor 'x' has no shape");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8);
  expect_open_fail("no data_offsets", p, GF_EFORMAT, "tensor 'x' has no data_offsets");
  write_hdr(p, "{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
  expect_open_fail("F16", p, GF_EFORMAT, "tensor 'x' has dtype F16, expected F32");
  write_hdr(p, "{\"x\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
  expect_open_fail("numeric dtype", p, GF_EFORMAT, "non-string dtype");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", 8);
  expect_open_fail("negative dim", p, GF_EFORMAT, "tensor 'x' has an invalid shape");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8);
  expect_open_fail("string shape", p, GF_EFORMAT, "tensor 'x' has an invalid shape");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8);
  expect_open_fail("9 dims", p, GF_EFORMAT, "invalid shape");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-4,4]}}", 8);
  expect_open_fail("negative offset", p, GF_EFORMAT, "tensor 'x' has invalid data_offsets");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8);
  expect_open_fail("one offset", p, GF_EFORMAT, "tensor 'x' has invalid data_offsets");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8.5]}}", 16);
  expect_open_fail("fractional offset", p, GF_EFORMAT, "invalid data_offsets");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8);
  expect_open_fail("end < begin", p, GF_EFORMAT, "tensor 'x' has data_offsets [8, 0] with end < begin");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24);
  expect_open_fail("size != shape", p, GF_EFORMAT, "tensor 'x' has shape [2, 3] (24 float32 bytes) but data_offsets [0, 20] span 20 bytes");
  write_hdr(p,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
            24);
  expect_open_fail("overlap", p, GF_EFORMAT, "tensors 'a' and 'b' overlap");
  write_hdr(p,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[1000,1016]}}",
            32);
  expect_open_fail("out of range", p, GF_EFORMAT, "tensor 'b' has data_offsets [1000, 1016] out of range");
  write_hdr(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[1e300,1e300]}}", 0);
  expect_open_fail("absurd offsets", p, GF_EFORMAT, "invalid data_offsets");
  write_hdr(p,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
            32);
  expect_open_fail("duplicate name", p, GF_EFORMAT, "duplicate tensor name 'a'");
  write_hdr(p, "{\"__metadata__\":{\"epoch\":12}}", 0);
  expect_open_fail("non-string metadata", p, GF_EFORMAT, "__metadata__ is not an object of strings");

  /* a valid file, truncated in its data section */
  char *raw;
  size_t len;
  if (gf__read_file(main_file(), &raw, &len) == 0) {
    FILE *f = fopen(p, "wb");
    fwrite(raw, 1, len - 10, f);
    fclose(f);
    free(raw);
    expect_open_fail("truncated data", p, GF_EFORMAT, "truncated file");
  }

  /* valid corner cases: trailing spaces in the header, empty tensors anywhere, metadata only */
  write_hdr(p, "{\"__metadata__\":{\"k\":\"v\"},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}      ",
            8);
  gf__st_file f;
  int rc = gf__st_open(&f, p);
  CHECK(rc == 0 && f.n == 2 && strcmp(gf__st_meta(&f, "k"), "v") == 0, "lenient valid file: %s", gf_last_error());
  gf__st_close(&f);
}

/* Files are read and written by Python's safetensors package when it is installed. */
static const char *py_script =
    "import sys\n"
    "import numpy as np\n"
    "from safetensors import safe_open\n"
    "from safetensors.numpy import load_file, save_file\n"
    "src, dst = sys.argv[1], sys.argv[2]\n"
    "t = load_file(src)\n"
    "assert sorted(t) == sorted(['G.net.0.weight', 'G.net.0.bias', 'scalar', 'empty', 'D.block.3']), sorted(t)\n"
    "w = ((np.arange(256 * 128) % 97) - 48).astype(np.float32).reshape(256, 128) * np.float32(0.125)\n"
    "assert t['G.net.0.weight'].dtype == np.float32 and np.array_equal(t['G.net.0.weight'], w)\n"
    "assert np.array_equal(t['G.net.0.bias'], np.array([-1.5, -0.5, 0.5, 1.5], np.float32))\n"
    "assert t['scalar'].shape == () and t['scalar'] == np.float32(3.5)\n"
    "assert t['empty'].shape == (0, 5)\n"
    "assert np.array_equal(t['D.block.3'], (np.arange(24, dtype=np.float32) * 0.5 - 3).reshape(2, 3, 4))\n"
    "with safe_open(src, framework='np') as f:\n"
    "    md = f.metadata()\n"
    "assert md == {'format': 'pt', 'epoch': '12', 'note': 'quotes \" and \\\\ and unicode \\u00e9'}, md\n"
    "save_file({'w': np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.25),\n"
    "           'bias': np.array([1.5, -2.0, 3.25], np.float32)}, dst,\n"
    "          metadata={'format': 'pt', 'source': 'python'})\n"
    "print('python safetensors: ok')\n";

static void test_python(void) {
  if (system("python3 -c 'import safetensors, numpy' >/dev/null 2>&1") != 0) {
    printf("skipped: python3 with safetensors and numpy not available (pip install safetensors numpy)\n");
    return;
  }
  const char *script = tpath("check.py");
  FILE *f = fopen(script, "w");
  fputs(py_script, f);
  fclose(f);
  char cmd[8000];
  char src[2300], dst[2300];
  snprintf(src, sizeof src, "%s", main_file());
  snprintf(dst, sizeof dst, "%s", tpath("from_python.safetensors"));
  snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s'", script, src, dst);
  int rc = system(cmd);
  CHECK(rc == 0, "python could not load the C-written file (rc %d)", rc);
  if (rc != 0) return;
  gf__st_file st;
  rc = gf__st_open(&st, dst);
  CHECK(rc == 0, "open python file: %s", gf_last_error());
  if (rc) return;
  float w[12], b[3];
  int64_t ws[2] = {3, 4}, bs[1] = {3};
  CHECK(gf__st_read_into(&st, "w", w, 2, ws) == 0, "python w: %s", gf_last_error());
  int ok = 1;
  for (int i = 0; i < 12; i++) ok &= w[i] == (float)i * 0.25f;
  CHECK(ok, "python w values");
  CHECK(gf__st_read_into(&st, "bias", b, 1, bs) == 0 && b[0] == 1.5f && b[1] == -2.0f && b[2] == 3.25f, "python bias");
  CHECK(gf__st_meta(&st, "source") && strcmp(gf__st_meta(&st, "source"), "python") == 0, "python metadata");
  CHECK(st.n == 2, "python tensors %d", st.n);
  gf__st_close(&st);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "%s", gf_t_tmpdir("safetensors"));
  fill();
  test_roundtrip();
  test_malformed();
  test_python();
  return gf_t_done();
}
