/* test_fetch.c: dataset download/lookup against a local python http.server mirror (checksums, errors, cache). */
#include "harness.h"
#include "core/util.h"
#include "data/dataset.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t server_pid = -1;

static void stop_server(void) {
  if (server_pid <= 0) return;
  kill(server_pid, SIGTERM);
  for (int i = 0; i < 100; i++) { /* up to 2 s, then SIGKILL */
    if (waitpid(server_pid, NULL, WNOHANG) == server_pid) { server_pid = -1; return; }
    usleep(20000);
  }
  kill(server_pid, SIGKILL);
  waitpid(server_pid, NULL, 0);
  server_pid = -1;
}

static void on_signal(int sig) {
  if (server_pid > 0) kill(server_pid, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0) {
    if (s >= 0) close(s);
    return -1;
  }
  close(s);
  return ntohs(a.sin_port);
}

static int port_open(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
  if (s >= 0) close(s);
  return ok;
}

/* Starts `python3 -m http.server` on a free port serving dir; returns the port or -1. */
static int start_server(const char *dir) {
  for (int attempt = 0; attempt < 3; attempt++) {
    int port = free_port();
    if (port <= 0) return -1;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      int nul = open("/dev/null", O_RDWR);
      if (nul >= 0) { dup2(nul, 0); dup2(nul, 1); dup2(nul, 2); }
      execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1", ps, "--directory", dir, (char *)NULL);
      _exit(127);
    }
    server_pid = pid;
    for (int i = 0; i < 200; i++) { /* up to 10 s */
      if (port_open(port)) return port;
      if (waitpid(pid, NULL, WNOHANG) == pid) { server_pid = -1; break; }
      usleep(50000);
    }
    stop_server();
  }
  return -1;
}

static int copy_file(const char *src, const char *dst, int corrupt) {
  char *buf;
  size_t n;
  if (gf__read_file(src, &buf, &n) != 0) return -1;
  if (corrupt && n > 100) buf[n / 2] ^= 0x20;
  int rc = gf__write_file_atomic(dst, buf, n);
  free(buf);
  return rc;
}

static int file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static int dir_has_part_files(const char *dir) {
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | grep -q '\\.part\\.'", dir);
  return system(cmd) == 0;
}

static char tmproot[2048], data_abs[4096];

static const char *T(const char *leaf) {
  static char bufs[8][4200];
  static int k = 0;
  k = (k + 1) % 8;
  snprintf(bufs[k], sizeof bufs[k], "%s/%s", tmproot, leaf);
  return bufs[k];
}

static void test_known_and_locate_offline(void) {
  const char *const *k = gf__data_known();
  int n = 0, mn = 0, dg = 0, fm = 0, cf = 0;
  for (; k[n]; n++) {
    mn += strcmp(k[n], "mnist") == 0;
    dg += strcmp(k[n], "digits") == 0;
    fm += strcmp(k[n], "fashion-mnist") == 0;
    cf += strcmp(k[n], "cifar10") == 0;
  }
  CHECK(mn && dg && fm && cf && n == 4, "known list (%d entries)", n);

  char out[4096], want[4200];
  unsetenv("GANFORGE_DATA");
  setenv("GANFORGE_CACHE", T("cache_empty"), 1);
  snprintf(want, sizeof want, "%s/mnist", data_abs);
  CHECK(gf__data_locate("mnist", want, 0, out, sizeof out) == 0 && strcmp(out, want) == 0, "explicit dir: %s", gf_last_error());
  snprintf(want, sizeof want, "%s/digits/optdigits.tes", data_abs);
  CHECK(gf__data_locate("digits", want, 0, out, sizeof out) == 0 && strcmp(out, want) == 0, "explicit digits file: %s",
        gf_last_error());
  snprintf(want, sizeof want, "%s/mnist/train-images-idx3-ubyte.gz", data_abs);
  CHECK(gf__data_locate("mnist", want, 0, out, sizeof out) == GF_ENOENT && strstr(gf_last_error(), "is a file"),
        "explicit file for mnist: %s", gf_last_error());
  gf__mkdirs(T("emptydir"));
  int rc = gf__data_locate("mnist", T("emptydir"), 1, out, sizeof out);
  CHECK(rc == GF_ENOENT && strstr(gf_last_error(), "does not hold the mnist files") &&
            strstr(gf_last_error(), "train-images-idx3-ubyte.gz"),
        "explicit empty dir: rc %d %s", rc, gf_last_error());
  rc = gf__data_locate("mnist", T("nonexistent"), 1, out, sizeof out);
  CHECK(rc == GF_ENOENT && strstr(gf_last_error(), "nonexistent"), "explicit missing: %s", gf_last_error());
  CHECK(gf__data_locate("mnist", want, 0, out, 8) != 0, "tiny buffer rejected");

  setenv("GANFORGE_DATA", data_abs, 1);
  snprintf(want, sizeof want, "%s/mnist", data_abs);
  CHECK(gf__data_locate("mnist", NULL, 0, out, sizeof out) == 0 && strcmp(out, want) == 0, "$GANFORGE_DATA: %s (%s)", out,
        gf_last_error());
  snprintf(want, sizeof want, "%s/faces", data_abs);
  CHECK(gf__data_locate("faces", NULL, 0, out, sizeof out) == 0 && strcmp(out, want) == 0, "faces via $GANFORGE_DATA: %s",
        gf_last_error());
  rc = gf__data_locate("fashion-mnist", NULL, 0, out, sizeof out);
  CHECK(rc == GF_ENOENT && strstr(gf_last_error(), "ganforge data fetch fashion-mnist") &&
            strstr(gf_last_error(), "cache_empty/fashion-mnist") && strstr(gf_last_error(), "--data"),
        "not found message: %s", gf_last_error());
  unsetenv("GANFORGE_DATA");
  unsetenv("GANFORGE_CACHE");
  setenv("XDG_CACHE_HOME", T("xdg"), 1);
  rc = gf__data_locate("digits", NULL, 0, out, sizeof out);
  CHECK(rc == GF_ENOENT && strstr(gf_last_error(), "xdg/ganforge/digits"), "XDG cache dir in message: %s", gf_last_error());
  CHECK(gf__data_locate("nope", NULL, 1, out, sizeof out) == GF_EINVAL, "unknown name");
  rc = gf__data_fetch("faces", T("faces_dl"));
  CHECK(rc == GF_EINVAL && strstr(gf_last_error(), "no verified download"), "faces fetch: %s", gf_last_error());
  CHECK(gf__data_fetch("nope", T("x")) == GF_EINVAL, "unknown fetch");
}

static void test_unreachable(void) {
  setenv("GANFORGE_MIRROR", "http://127.0.0.1:1", 1);
  double t0 = gf__now();
  int rc = gf__data_fetch("digits", T("dl_unreach"));
  double dt = gf__now() - t0;
  CHECK(rc == GF_ENET, "unreachable: rc %d %s", rc, gf_last_error());
  CHECK(strstr(gf_last_error(), "http://127.0.0.1:1/digits/optdigits.tra") &&
            strstr(gf_last_error(), "download it yourself into") && strstr(gf_last_error(), "dl_unreach"),
        "unreachable message: %s", gf_last_error());
  CHECK(dt < 5.0, "unreachable took %.1f s", dt);
  CHECK(!dir_has_part_files(T("dl_unreach")), "no temp files left");
  printf("unreachable mirror: %s (%.2f s)\n", gf_last_error(), dt);
}

static void test_http(int port) {
  char mirror[256], out[4096];
  snprintf(mirror, sizeof mirror, "http://127.0.0.1:%d/good/", port);
  setenv("GANFORGE_MIRROR", mirror, 1);
  double t0 = gf__now();
  int rc = gf__data_fetch("mnist", T("dl_mnist"));
  printf("fetch mnist from local mirror: %.2f s\n", gf__now() - t0);
  CHECK(rc == 0, "fetch mnist: %s", gf_last_error());
  if (rc == 0) {
    gf__dataset d;
    CHECK(gf__mnist_load(&d, T("dl_mnist"), 0, GF_SCALE_UNIT, 0, 0) == 0 && d.n == 10000, "load fetched mnist: %s",
          gf_last_error());
    gf__dataset_free(&d);
    char h[65];
    snprintf(out, sizeof out, "%s/train-labels-idx1-ubyte.gz", T("dl_mnist"));
    CHECK(gf__sha256_file(out, h) == 0 &&
              strcmp(h, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c") == 0,
          "fetched file hash %s", h);
  }
  CHECK(!dir_has_part_files(T("dl_mnist")), "no temp files left after fetch");
  rc = gf__data_fetch("digits", T("dl_digits"));
  CHECK(rc == 0, "fetch digits: %s", gf_last_error());
  if (rc == 0) {
    gf__dataset d;
    snprintf(out, sizeof out, "%s/optdigits.tes", T("dl_digits"));
    CHECK(gf__digits_load(&d, out, GF_SCALE_TANH, 0) == 0 && d.n == 1797, "load fetched digits: %s", gf_last_error());
    gf__dataset_free(&d);
  }

  /* A file:// mirror laid out like shared/data works too. */
  char fmirror[4200];
  snprintf(fmirror, sizeof fmirror, "file://%s", data_abs);
  setenv("GANFORGE_MIRROR", fmirror, 1);
  CHECK(gf__data_fetch("digits", T("dl_file")) == 0, "file:// mirror: %s", gf_last_error());

  /* Files already present and verified are not downloaded again (mirror now unreachable). */
  setenv("GANFORGE_MIRROR", "http://127.0.0.1:1", 1);
  CHECK(gf__data_fetch("mnist", T("dl_mnist")) == 0, "refetch with files present: %s", gf_last_error());

  /* Checksum mismatch: a corrupted optdigits.tra on the mirror. */
  snprintf(mirror, sizeof mirror, "http://127.0.0.1:%d/bad", port);
  setenv("GANFORGE_MIRROR", mirror, 1);
  rc = gf__data_fetch("digits", T("dl_bad"));
  CHECK(rc == GF_ECHECKSUM, "corrupt: rc %d %s", rc, gf_last_error());
  CHECK(strstr(gf_last_error(), "optdigits.tra") &&
            strstr(gf_last_error(), "e1b683cc211604fe8fd8c4417e6a69f31380e0c61d4af22e93cc21e9257ffedd") &&
            strstr(gf_last_error(), "got "),
        "checksum message: %s", gf_last_error());
  snprintf(out, sizeof out, "%s/optdigits.tra", T("dl_bad"));
  CHECK(!file_exists(out), "corrupt file not kept");
  CHECK(!dir_has_part_files(T("dl_bad")), "corrupt temp file deleted");
  printf("checksum mismatch: %s\n", gf_last_error());

  /* HTTP 404 -> GF_ENET naming the URL. */
  rc = gf__data_fetch("mnist", T("dl_404"));
  CHECK(rc == GF_ENET && strstr(gf_last_error(), "/bad/mnist/train-images-idx3-ubyte.gz") && strstr(gf_last_error(), "404"),
        "404: rc %d %s", rc, gf_last_error());

  /* locate downloads into the cache when allowed, then finds it there offline. */
  unsetenv("GANFORGE_DATA");
  setenv("GANFORGE_CACHE", T("cache"), 1);
  snprintf(mirror, sizeof mirror, "http://127.0.0.1:%d/good", port);
  setenv("GANFORGE_MIRROR", mirror, 1);
  rc = gf__data_locate("digits", NULL, 0, out, sizeof out);
  CHECK(rc == GF_ENOENT, "not cached yet, download not allowed: rc %d", rc);
  rc = gf__data_locate("digits", NULL, 1, out, sizeof out);
  CHECK(rc == 0 && strcmp(out, T("cache/digits")) == 0, "locate+download: rc %d out %s %s", rc, out, gf_last_error());
  setenv("GANFORGE_MIRROR", "http://127.0.0.1:1", 1);
  rc = gf__data_locate("digits", NULL, 1, out, sizeof out);
  CHECK(rc == 0 && strcmp(out, T("cache/digits")) == 0, "locate from cache: rc %d %s", rc, gf_last_error());
  gf__dataset d;
  CHECK(gf__digits_load(&d, out, GF_SCALE_TANH, 0) == 0 && d.n == 3823, "load located digits folder: %s", gf_last_error());
  gf__dataset_free(&d);
  rc = gf__data_locate("mnist", NULL, 1, out, sizeof out);
  CHECK(rc == GF_ENET && strstr(gf_last_error(), "cache/mnist"), "locate, download fails: rc %d %s", rc, gf_last_error());
  unsetenv("GANFORGE_CACHE");
  unsetenv("GANFORGE_MIRROR");
}

int main(void) {
  atexit(stop_server);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGABRT, on_signal);
  signal(SIGSEGV, on_signal);
  snprintf(tmproot, sizeof tmproot, "%s", gf_t_tmpdir("fetch"));
  if (!realpath(gf_t_data(), data_abs)) snprintf(data_abs, sizeof data_abs, "%s", gf_t_data());

  test_known_and_locate_offline();
  test_unreachable();

  /* Mirror layout: srv/good -> the shared data; srv/bad/digits has a corrupted optdigits.tra. */
  CHECK(gf__mkdirs(T("srv/bad/digits")) == 0, "mkdir srv");
  CHECK(symlink(data_abs, T("srv/good")) == 0, "symlink good mirror");
  char src[4200];
  snprintf(src, sizeof src, "%s/digits/optdigits.tra", data_abs);
  CHECK(copy_file(src, T("srv/bad/digits/optdigits.tra"), 1) == 0, "corrupt copy");
  snprintf(src, sizeof src, "%s/digits/optdigits.tes", data_abs);
  CHECK(copy_file(src, T("srv/bad/digits/optdigits.tes"), 0) == 0, "copy tes");

  int port = start_server(T("srv"));
  if (port < 0) {
    printf("SKIP http tests: could not start python3 -m http.server\n");
  } else {
    printf("mirror server on port %d\n", port);
    test_http(port);
  }
  stop_server();
  return gf_t_done();
}
