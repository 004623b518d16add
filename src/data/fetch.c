/* fetch.c: dataset lookup (explicit path, $GANFORGE_DATA, cache) and verified downloads via libcurl
   (a build with -DGANFORGE_CURL=OFF finds local datasets only). */
#include "data/dataset.h"
#include "data/digest.h"
#include "core/util.h"

#ifdef GF_HAVE_CURL
#include <curl/curl.h>
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  const char *file;
  const char *sha256; /* NULL when not published */
  const char *md5;    /* NULL when not needed */
} gf__dfile;

typedef struct {
  const char *name;
  const char *base_url; /* canonical download folder; NULL: no verified download */
  const char *home;     /* where a person gets the files by hand */
  gf__dfile files[4];
  int nfiles;
  const char *alt;      /* another path whose presence also means "the set is here" */
  int file_ok;          /* an explicit path may be a single file */
} gf__dspec;

/* Checksums: MNIST and optdigits sha256 from shared/data/README.md (MNIST md5s = canonical).
   Fashion-MNIST: md5 published by Zalando Research; sha256 as listed by many independent
   public loaders next to those md5s (both are checked). CIFAR-10: md5 published by the author. */
static const gf__dspec gf__specs[] = {
  {"mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/",
   {{"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
     "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
    {"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
     "d53e105ee54ea40749a09fcbcd1e9432"},
    {"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
     "9fb629c4189551a2d022fa330f9573f3"},
    {"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
     "ec29112dd5afa0611ce80d1b7f02629c"}},
   4, NULL, 0},
  {"fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
   "https://github.com/zalandoresearch/fashion-mnist",
   {{"train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
     "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
    {"train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
     "25c81989df183df01b3e8a0aad5dffbe"},
    {"t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
     "bef4ecab320f06d8554ea6380940ec79"},
    {"t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
     "bb300cfdad3c16e7a12a480ee83cd310"}},
   4, NULL, 0},
  {"digits", "https://archive.ics.uci.edu/ml/machine-learning-databases/optdigits/",
   "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
   {{"optdigits.tra", "e1b683cc211604fe8fd8c4417e6a69f31380e0c61d4af22e93cc21e9257ffedd", NULL},
    {"optdigits.tes", "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8", NULL}},
   2, NULL, 1},
  {"cifar10", "https://www.cs.toronto.edu/~kriz/", "https://www.cs.toronto.edu/~kriz/cifar.html",
   {{"cifar-10-binary.tar.gz", NULL, "c32a1d4ab5d03f1284b67883e8d87530"}},
   1, "cifar-10-batches-bin/data_batch_1.bin", 0},
  /* Found locally only: no published checksums to verify a download against. */
  {"faces", NULL, "AT&T Laboratories Cambridge \"The Database of Faces\" (ORL)", {{0}}, 0, "orl_faces/s1/1.pgm", 0},
  {"horse2zebra", NULL, "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/horse2zebra.zip",
   {{0}}, 0, "trainA", 0},
};
enum { GF__NSPECS = (int)(sizeof gf__specs / sizeof gf__specs[0]) };

const char *const *gf__data_known(void) {
  static const char *const names[] = {"mnist", "fashion-mnist", "digits", "cifar10", NULL};
  return names;
}

static const gf__dspec *find_spec(const char *name) {
  for (int i = 0; i < GF__NSPECS; i++)
    if (strcmp(gf__specs[i].name, name) == 0) return &gf__specs[i];
  return NULL;
}

static int exists(const char *path, int want_dir) {
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  return want_dir ? S_ISDIR(st.st_mode) : 1;
}

/* Whether dir holds every file of the set (a .gz file may also be present decompressed). */
static int has_files(const gf__dspec *s, const char *dir) {
  char p[4200];
  if (!exists(dir, 1)) return 0;
  if (s->alt) {
    snprintf(p, sizeof p, "%s/%s", dir, s->alt);
    if (exists(p, 0)) return 1;
  }
  if (s->nfiles == 0) return 0;
  for (int i = 0; i < s->nfiles; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, s->files[i].file);
    if (exists(p, 0)) continue;
    size_t n = strlen(p);
    if (n > 3 && strcmp(p + n - 3, ".gz") == 0) {
      p[n - 3] = 0;
      if (exists(p, 0)) continue;
    }
    return 0;
  }
  return 1;
}

static void file_list(const gf__dspec *s, char *buf, size_t cap) {
  buf[0] = 0;
  size_t used = 0;
  for (int i = 0; i < s->nfiles && used < cap; i++)
    used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", s->files[i].file);
  if (s->nfiles == 0 && s->alt) snprintf(buf, cap, "%s", s->alt);
}

/* The cache root: $GANFORGE_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/ganforge. */
static int cache_root(char *out, size_t cap) {
  const char *c = getenv("GANFORGE_CACHE");
  if (c && *c) return snprintf(out, cap, "%s", c) < (int)cap ? 0 : -1;
  const char *x = getenv("XDG_CACHE_HOME");
  if (x && *x) return snprintf(out, cap, "%s/ganforge", x) < (int)cap ? 0 : -1;
  const char *h = getenv("HOME");
  if (h && *h) return snprintf(out, cap, "%s/.cache/ganforge", h) < (int)cap ? 0 : -1;
  return -1;
}

static int put(char *out, size_t cap, const char *path) {
  if (!out || cap == 0) return gf__fail(GF_EINVAL, "data: no output buffer");
  if (strlen(path) >= cap) return gf__fail(GF_EINVAL, "%s: path longer than %zu bytes", path, cap - 1);
  memcpy(out, path, strlen(path) + 1);
  return 0;
}

#ifdef GF_HAVE_CURL
static pthread_once_t gf__curl_once = PTHREAD_ONCE_INIT;
static CURLcode gf__curl_init_rc = CURLE_OK;
static void curl_init_once(void) { gf__curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
  FILE *f;
  int werr;
} sink;

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  sink *s = ud;
  size_t n = size * nmemb;
  if (n && fwrite(ptr, 1, n, s->f) != n) {
    s->werr = errno ? errno : EIO;
    return 0;
  }
  return n;
}

static int download(const char *url, const char *tmp, const char *dest_dir) {
  pthread_once(&gf__curl_once, curl_init_once);
  if (gf__curl_init_rc != CURLE_OK)
    return gf__fail(GF_ENET, "cannot initialise libcurl: %s", curl_easy_strerror(gf__curl_init_rc));
  sink s = {fopen(tmp, "wb"), 0};
  if (!s.f) return gf__fail(GF_EIO, "%s: cannot create: %s", tmp, strerror(errno));
  CURL *c = curl_easy_init();
  if (!c) {
    fclose(s.f);
    unlink(tmp);
    return gf__fail(GF_ENET, "cannot create a libcurl handle");
  }
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* abort below 1 KiB/s ... */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);    /* ... sustained for a minute */
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ganforge/0.1 (libcurl)");
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  int cerr = fclose(s.f);
  if (rc != CURLE_OK || s.werr || cerr != 0) {
    unlink(tmp);
    if (s.werr || (rc == CURLE_OK && cerr != 0))
      return gf__fail(GF_EIO, "%s: write failed while downloading %s: %s", tmp, url, strerror(s.werr ? s.werr : errno));
    return gf__fail(GF_ENET, "download of %s failed: %s; download it yourself into %s or pass --data",
                    url, errbuf[0] ? errbuf : curl_easy_strerror(rc), dest_dir);
  }
  return 0;
}
#else
static int download(const char *url, const char *tmp, const char *dest_dir) {
  (void)tmp;
  return gf__fail(GF_ENET, "this ganforge is built without downloads (-DGANFORGE_CURL=OFF): cannot fetch %s; "
                  "download it yourself into %s or pass --data", url, dest_dir);
}
#endif

/* Verifies path against the spec's checksums. Returns 0, GF_ECHECKSUM (message set) or an I/O error. */
static int verify(const char *path, const gf__dfile *f, const char *shown) {
  if (f->sha256) {
    char hex[65];
    GF_TRY(gf__sha256_file(path, hex));
    if (strcmp(hex, f->sha256) != 0)
      return gf__fail(GF_ECHECKSUM, "%s: checksum mismatch: expected sha256 %s, got %s", shown, f->sha256, hex);
  }
  if (f->md5) {
    char hex[33];
    GF_TRY(gf__md5_file(path, hex));
    if (strcmp(hex, f->md5) != 0)
      return gf__fail(GF_ECHECKSUM, "%s: checksum mismatch: expected md5 %s, got %s", shown, f->md5, hex);
  }
  return 0;
}

static int unknown(const char *name) {
  return gf__fail(GF_EINVAL, "unknown dataset '%s' (downloadable: mnist, fashion-mnist, digits, cifar10)", name);
}

int gf__data_fetch(const char *name, const char *dest_dir) {
  if (!name || !dest_dir || !*dest_dir) return gf__fail(GF_EINVAL, "data fetch: NULL name or destination");
  const gf__dspec *s = find_spec(name);
  if (!s) return unknown(name);
  if (!s->base_url)
    return gf__fail(GF_EINVAL, "dataset '%s' has no verified download; get it from %s and pass --data DIR",
                    name, s->home);
  GF_TRY(gf__mkdirs(dest_dir));
  char base[2048];
  const char *mirror = getenv("GANFORGE_MIRROR");
  if (mirror && *mirror) {
    size_t m = strlen(mirror);
    while (m > 1 && mirror[m - 1] == '/') m--;
    snprintf(base, sizeof base, "%.*s/%s/", (int)m, mirror, name);
  } else {
    snprintf(base, sizeof base, "%s", s->base_url);
  }
  for (int i = 0; i < s->nfiles; i++) {
    const gf__dfile *f = &s->files[i];
    char final[4200], tmp[4300], url[4200];
    snprintf(final, sizeof final, "%s/%s", dest_dir, f->file);
    if (exists(final, 0) && verify(final, f, final) == 0) continue; /* already there and good */
    snprintf(tmp, sizeof tmp, "%s/.%s.part.%ld", dest_dir, f->file, (long)getpid());
    snprintf(url, sizeof url, "%s%s", base, f->file);
    GF_TRY(download(url, tmp, dest_dir));
    char shown[4400];
    snprintf(shown, sizeof shown, "%s (downloaded from %s)", f->file, url);
    int rc = verify(tmp, f, shown);
    if (rc < 0) {
      unlink(tmp);
      return rc;
    }
    if (rename(tmp, final) != 0) {
      int e = errno;
      unlink(tmp);
      return gf__fail(GF_EIO, "%s: cannot rename into place: %s", final, strerror(e));
    }
  }
  return 0;
}

int gf__data_locate(const char *name, const char *explicit_path, int allow_download, char *out, size_t cap) {
  if (!name || !*name) return gf__fail(GF_EINVAL, "data: no dataset name");
  const gf__dspec *s = find_spec(name);
  char files[512];
  if (s) file_list(s, files, sizeof files);
  else files[0] = 0;

  if (explicit_path && *explicit_path) {
    struct stat st;
    if (stat(explicit_path, &st) != 0)
      return gf__fail(GF_ENOENT, "%s: no such file or directory (given as the %s data path)", explicit_path, name);
    if (S_ISDIR(st.st_mode)) {
      if (s && !has_files(s, explicit_path))
        return gf__fail(GF_ENOENT, "%s: does not hold the %s files (%s)", explicit_path, name, files);
      return put(out, cap, explicit_path);
    }
    if (!s || s->file_ok) return put(out, cap, explicit_path);
    return gf__fail(GF_ENOENT, "%s: is a file; %s needs a folder holding %s", explicit_path, name, files);
  }

  char env_dir[4200] = "", cache_dir[4200] = "", root[4096];
  const char *gd = getenv("GANFORGE_DATA");
  if (gd && *gd) {
    snprintf(env_dir, sizeof env_dir, "%s/%s", gd, name);
    if (s ? has_files(s, env_dir) : exists(env_dir, 1)) return put(out, cap, env_dir);
  }
  if (cache_root(root, sizeof root) == 0) {
    snprintf(cache_dir, sizeof cache_dir, "%s/%s", root, name);
    if (s ? has_files(s, cache_dir) : exists(cache_dir, 1)) return put(out, cap, cache_dir);
  }
  if (!s) return unknown(name);
  if (allow_download && s->base_url && cache_dir[0]) {
    GF_TRY(gf__data_fetch(name, cache_dir));
    return put(out, cap, cache_dir);
  }
  const char *where = cache_dir[0] ? cache_dir : "$GANFORGE_DATA/<name>";
  if (s->base_url)
    return gf__fail(GF_ENOENT,
                    "dataset '%s' not found%s%s%s%s; run `ganforge data fetch %s`, or put %s (from %s) into %s, "
                    "or pass --data DIR",
                    name, env_dir[0] ? " in " : "", env_dir, cache_dir[0] ? " nor in " : "", cache_dir, name,
                    files, s->base_url, where);
  return gf__fail(GF_ENOENT, "dataset '%s' not found%s%s%s%s; get it from %s, unpack it into %s or pass --data DIR",
                  name, env_dir[0] ? " in " : "", env_dir, cache_dir[0] ? " nor in " : "", cache_dir, s->home, where);
}
