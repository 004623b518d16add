/* images.c: image datasets: folders of PNG / JPEG / PGM files (recursive; resized on the shorter
   side and center-cropped, converted to the model's channels) and CIFAR-10 binary batches. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/dataset.h"
#include "data/images.h"
#include "io/imgload.h"

static float scale_px(uint8_t v, gf__scale s) {
  return s == GF_SCALE_UNIT ? v * (1.0f / 255.0f) : v * (2.0f / 255.0f) - 1.0f;
}

/* Converts an interleaved image to `nc` channels (grey -> RGB by replication, RGB -> grey by
   ITU-R 601 luma as PIL's convert("L")), resizes the shorter side to `size` (bilinear),
   center-crops size x size and writes planar CHW floats. */
int gf__image_to_sample(float *out, const uint8_t *pix, int w, int h, int ch, int nc, int size, gf__scale scale) {
  size_t npx = (size_t)w * h;
  uint8_t *conv = malloc(npx * (size_t)nc);
  if (!conv) return gf__fail(GF_ENOMEM, "out of memory");
  for (size_t i = 0; i < npx; i++) {
    if (nc == ch) memcpy(conv + i * nc, pix + i * ch, (size_t)nc);
    else if (nc == 3) conv[i * 3] = conv[i * 3 + 1] = conv[i * 3 + 2] = pix[i * ch];
    else {
      const uint8_t *p = pix + i * ch;
      conv[i] = (uint8_t)((p[0] * 299 + p[1] * 587 + p[2] * 114 + 500) / 1000);
    }
  }
  long rw = w, rh = h;
  if (w < h) { rw = size; rh = ((long)h * size + w / 2) / w; }
  else { rh = size; rw = ((long)w * size + h / 2) / h; }
  if (rw < size) rw = size;
  if (rh < size) rh = size;
  /* a 65535 x 1 strip would be resized to 65535 * size x size before the crop */
  if ((size_t)rw * (size_t)rh > GF_IMAGE_MAX_PIXELS) {
    free(conv);
    return gf__fail(GF_EFORMAT, "a %dx%d image is too elongated to resize to %d pixels on its shorter side", w, h, size);
  }
  uint8_t *rs = conv;
  if (rw != w || rh != h) {
    rs = malloc((size_t)rw * rh * nc);
    if (!rs) { free(conv); return gf__fail(GF_ENOMEM, "out of memory"); }
    int rc = gf__image_resize_bilinear(conv, w, h, nc, rs, (int)rw, (int)rh);
    if (rc < 0) { free(rs); free(conv); return rc; }
  }
  uint8_t *crop = malloc((size_t)size * size * nc);
  int rc = crop ? gf__image_center_crop(rs, (int)rw, (int)rh, nc, crop, size, size) : gf__fail(GF_ENOMEM, "out of memory");
  if (rc == 0)
    for (int c = 0; c < nc; c++)
      for (int k = 0; k < size * size; k++) out[(size_t)c * size * size + k] = scale_px(crop[(size_t)k * nc + c], scale);
  free(crop);
  if (rs != conv) free(rs);
  free(conv);
  return rc;
}

static int is_image_name(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot) return 0;
  static const char *const ext[] = {".png", ".jpg", ".jpeg", ".pgm", NULL};
  for (int i = 0; ext[i]; i++)
    if (!strcasecmp(dot, ext[i])) return 1;
  return 0;
}

typedef struct flist {
  char **v;
  int n, cap;
} flist;

static int collect(flist *fl, const char *dir, int depth) {
  if (depth > 32) return 0;
  DIR *d = opendir(dir);
  if (!d) return gf__fail(GF_ENOENT, "%s: cannot open the image folder", dir);
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d)) && rc == 0) {
    if (e->d_name[0] == '.') continue; /* ., .., hidden files */
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    char *path = malloc(len);
    if (!path) { rc = gf__fail(GF_ENOMEM, "out of memory"); break; }
    snprintf(path, len, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) { free(path); continue; }
    if (S_ISDIR(st.st_mode)) {
      rc = collect(fl, path, depth + 1);
      free(path);
    } else if (S_ISREG(st.st_mode) && is_image_name(e->d_name)) {
      if (fl->n == fl->cap) {
        int nc = fl->cap ? 2 * fl->cap : 256;
        char **nv = realloc(fl->v, sizeof(char *) * (size_t)nc);
        if (!nv) { free(path); rc = gf__fail(GF_ENOMEM, "out of memory"); break; }
        fl->v = nv;
        fl->cap = nc;
      }
      fl->v[fl->n++] = path;
    } else {
      free(path);
    }
  }
  closedir(d);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Class labels of a folder with one subfolder per class (ImageFolder's convention): every image
   lies under a first-level subfolder and there are at least two; class k is the k-th subfolder
   name in sorted order. *cls [fl->n] (malloc'ed) or NULL when the folder is not organised so. */
static int folder_classes(const flist *fl, const char *dir, int **cls, int *nclass) {
  *cls = NULL;
  *nclass = 0;
  size_t skip = strlen(dir) + 1;
  char **names = calloc((size_t)fl->n, sizeof(char *)), **u = malloc(sizeof(char *) * (size_t)fl->n);
  int *out = malloc(sizeof(int) * (size_t)fl->n);
  int rc = names && u && out ? 0 : gf__fail(GF_ENOMEM, "out of memory"), flat = 0;
  for (int i = 0; i < fl->n && rc == 0 && !flat; i++) {
    const char *rel = fl->v[i] + skip, *slash = strchr(rel, '/');
    if (!slash) flat = 1; /* an image directly in the folder: no classes */
    else if (!(names[i] = strndup(rel, (size_t)(slash - rel)))) rc = gf__fail(GF_ENOMEM, "out of memory");
  }
  if (rc == 0 && !flat) {
    int nu = 0; /* the distinct names, sorted; a file's class is its name's rank */
    memcpy(u, names, sizeof(char *) * (size_t)fl->n);
    qsort(u, (size_t)fl->n, sizeof(char *), cmp_str);
    for (int i = 0; i < fl->n; i++)
      if (!nu || strcmp(u[nu - 1], u[i])) u[nu++] = u[i];
    for (int i = 0; i < fl->n; i++) {
      int lo = 0, hi = nu - 1;
      while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(u[mid], names[i]) < 0) lo = mid + 1;
        else hi = mid;
      }
      out[i] = lo;
    }
    if (nu >= 2) {
      *cls = out;
      *nclass = nu;
      out = NULL;
    }
  }
  for (int i = 0; names && i < fl->n; i++) free(names[i]);
  free(names);
  free(u);
  free(out);
  return rc;
}

int gf__imagefolder_load(gf__dataset *d, const char *dir, const char *name, int nc, int size, gf__scale scale,
                         int fail_on_bad, int limit, int *skipped) {
  memset(d, 0, sizeof *d);
  if (skipped) *skipped = 0;
  if (nc != 1 && nc != 3) return gf__fail(GF_EINVAL, "image folder: %d channels (must be 1 or 3)", nc);
  flist fl = {0};
  int *cls = NULL; /* class of every file (a folder with one subfolder per class), else NULL */
  int rc = collect(&fl, dir, 0);
  if (rc == 0 && fl.n == 0) rc = gf__fail(GF_ENOENT, "%s: no PNG, JPEG or PGM images (searched recursively)", dir);
  if (rc < 0) goto done;
  qsort(fl.v, (size_t)fl.n, sizeof(char *), cmp_str); /* the order does not depend on the file system */
  int want = limit > 0 && limit < fl.n ? limit : fl.n;
  long dim = (long)nc * size * size;
  d->x = malloc(sizeof(float) * (size_t)want * dim);
  if (!d->x) { rc = gf__fail(GF_ENOMEM, "image folder %s: no memory for %d images", dir, want); goto done; }
  if ((rc = folder_classes(&fl, dir, &cls, &d->nclass)) < 0) goto done; /* one subfolder per class */
  if (cls) {
    d->labels = malloc(sizeof(int) * (size_t)want);
    if (!d->labels) { free(cls); rc = gf__fail(GF_ENOMEM, "out of memory"); goto done; }
  }
  int n = 0, bad = 0;
  char first_bad[512] = "";
  for (int i = 0; i < fl.n && n < want; i++) {
    uint8_t *pix = NULL;
    int w, h, ch;
    int r = gf__image_load(fl.v[i], &pix, &w, &h, &ch);
    if (r == 0 && (r = gf__image_to_sample(d->x + (size_t)n * dim, pix, w, h, ch, nc, size, scale)) < 0) {
      char msg[400];
      snprintf(msg, sizeof msg, "%s", gf_last_error());
      r = gf__fail(r, "%s: %s", fl.v[i], msg);
    }
    free(pix);
    if (r < 0) {
      if (fail_on_bad) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", gf_last_error());
        rc = gf__fail(GF_EFORMAT, "%s (data.on_bad_image=fail; use skip to leave such files out)", msg);
        goto done;
      }
      if (!bad) snprintf(first_bad, sizeof first_bad, "%s", gf_last_error());
      fprintf(stderr, "warning: skipping %s\n", gf_last_error());
      bad++;
      continue;
    }
    if (cls) d->labels[n] = cls[i];
    n++;
  }
  if (skipped) *skipped = bad;
  if (n == 0) {
    rc = gf__fail(GF_EFORMAT, "%s: none of the %d image files could be read (first: %s)", dir, fl.n, first_bad);
    goto done;
  }
  if (bad) fprintf(stderr, "warning: %s: skipped %d unreadable image file%s of %d\n", dir, bad, bad > 1 ? "s" : "", fl.n);
  snprintf(d->name, sizeof d->name, "%s", name);
  d->n = n;
  d->c = nc;
  d->h = d->w = size;
done:
  for (int i = 0; i < fl.n; i++) free(fl.v[i]);
  free(fl.v);
  free(cls);
  if (rc < 0) gf__dataset_free(d);
  return rc;
}

/* ---- CIFAR-10 binary: records of 1 label byte + 3072 bytes (R, G, B planes of 32x32) ---- */
#define CIFAR_REC 3073

static int cifar_file(gf__dataset *d, const char *path, int nc, int size, gf__scale scale, int *have, int want) {
  FILE *f = fopen(path, "rb");
  if (!f) return gf__fail(GF_ENOENT, "%s: cannot open CIFAR-10 batch", path);
  struct stat st;
  if (fstat(fileno(f), &st) != 0) { fclose(f); return gf__fail(GF_EIO, "%s: cannot stat", path); }
  long long len = (long long)st.st_size;
  if (len == 0 || len % CIFAR_REC) {
    fclose(f);
    return gf__fail(GF_EFORMAT, "%s: %lld bytes is not a whole number of 3073-byte CIFAR-10 records "
                    "(truncated, or not a CIFAR-10 binary batch; a full batch is 30730000 bytes)", path, len);
  }
  long recs = (long)(len / CIFAR_REC);
  long dim = (long)nc * size * size;
  uint8_t rec[CIFAR_REC], px[3072];
  int rc = 0;
  for (long r = 0; r < recs && *have < want; r++) {
    if (fread(rec, 1, CIFAR_REC, f) != CIFAR_REC) { rc = gf__fail(GF_EIO, "%s: read error at record %ld", path, r); break; }
    if (rec[0] > 9) { rc = gf__fail(GF_EFORMAT, "%s: record %ld has label %d (must be 0..9): not a CIFAR-10 batch", path, r, rec[0]); break; }
    float *out = d->x + (size_t)*have * dim;
    if (nc == 3 && size == 32) {
      for (int k = 0; k < 3072; k++) out[k] = scale_px(rec[1 + k], scale);
    } else {
      for (int k = 0; k < 1024; k++)
        for (int c = 0; c < 3; c++) px[k * 3 + c] = rec[1 + c * 1024 + k];
      if ((rc = gf__image_to_sample(out, px, 32, 32, 3, nc, size, scale)) < 0) break;
    }
    d->labels[*have] = rec[0];
    (*have)++;
  }
  fclose(f);
  return rc;
}

int gf__cifar10_load(gf__dataset *d, const char *path, int split, int nc, int size, gf__scale scale, int offset, int limit) {
  memset(d, 0, sizeof *d);
  char files[6][2300];
  int nf = 0;
  struct stat st;
  if (stat(path, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such CIFAR-10 folder or batch file", path);
  if (S_ISREG(st.st_mode)) {
    snprintf(files[nf++], sizeof files[0], "%s", path);
  } else {
    char dir[2100];
    snprintf(dir, sizeof dir, "%s/cifar-10-batches-bin", path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) snprintf(dir, sizeof dir, "%s", path);
    if (split != 1)
      for (int i = 1; i <= 5; i++) snprintf(files[nf++], sizeof files[0], "%s/data_batch_%d.bin", dir, i);
    if (split != 0) snprintf(files[nf++], sizeof files[0], "%s/test_batch.bin", dir);
  }
  long total = 0;
  for (int i = 0; i < nf; i++) {
    if (stat(files[i], &st) != 0) return gf__fail(GF_ENOENT, "%s: missing CIFAR-10 batch", files[i]);
    total += (long)(st.st_size / CIFAR_REC);
  }
  if (total == 0) return gf__fail(GF_EFORMAT, "%s: holds no 3073-byte CIFAR-10 record (empty?)", nf == 1 ? files[0] : path);
  long want = total - offset;
  if (limit > 0 && limit < want) want = limit;
  if (want <= 0) return gf__fail(GF_EINVAL, "%s: CIFAR-10 data.offset %d leaves none of its %ld samples", path, offset, total);
  long dim = (long)nc * size * size;
  int have = 0;
  /* read offset + want records, then drop the first offset */
  d->x = malloc(sizeof(float) * (size_t)(offset + want) * dim);
  d->labels = malloc(sizeof(int) * (size_t)(offset + want));
  if (!d->x || !d->labels) { gf__dataset_free(d); return gf__fail(GF_ENOMEM, "%s: out of memory for %ld CIFAR-10 samples", path, offset + want); }
  for (int i = 0; i < nf && have < offset + want; i++) {
    int rc = cifar_file(d, files[i], nc, size, scale, &have, (int)(offset + want));
    if (rc < 0) { gf__dataset_free(d); return rc; }
  }
  if (offset) {
    memmove(d->x, d->x + (size_t)offset * dim, sizeof(float) * (size_t)(have - offset) * dim);
    memmove(d->labels, d->labels + offset, sizeof(int) * (size_t)(have - offset));
  }
  snprintf(d->name, sizeof d->name, "cifar10");
  d->n = have - offset;
  d->c = nc;
  d->h = d->w = size;
  d->nclass = 10;
  return 0;
}

int gf__image_list(const char *dir, char ***paths, int *n) {
  flist fl = {0};
  *paths = NULL;
  *n = 0;
  int rc = collect(&fl, dir, 0);
  if (rc == 0 && fl.n == 0) rc = gf__fail(GF_ENOENT, "%s: no PNG, JPEG or PGM images (searched recursively)", dir);
  if (rc < 0) {
    for (int i = 0; i < fl.n; i++) free(fl.v[i]);
    free(fl.v);
    return rc;
  }
  qsort(fl.v, (size_t)fl.n, sizeof(char *), cmp_str);
  *paths = fl.v;
  *n = fl.n;
  return 0;
}
