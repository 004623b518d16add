/* weights.c: network tensors to and from safetensors files, and opening a run's generator. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "io/safetensors.h"
#include "models/gan.h"
#include "models/weights.h"

#define MAXT 4096 /* tensors of one file (a CycleGAN with inception generators has ~1,000) */

int gf__weights_save(const char *path, gf__net *const *nets, int n, const gf_config *cfg,
                     const char *const *meta_kv, int n_meta) {
  return gf__weights_save_ex(path, nets, n, NULL, 0, cfg, meta_kv, n_meta);
}

int gf__weights_save_ex(const char *path, gf__net *const *nets, int n, const gf__flat_tensor *extra, int n_extra,
                        const gf_config *cfg, const char *const *meta_kv, int n_meta) {
  gf__tensor_ref *refs = calloc(MAXT, sizeof *refs);
  gf__st_tensor *ts = calloc(MAXT, sizeof *ts);
  float **host = calloc(MAXT, sizeof *host);
  const char **meta = calloc((size_t)(2 * n_meta + 8), sizeof *meta);
  char *cfg_text = cfg ? gf_config_to_text(cfg) : NULL;
  int rc = 0, nt = 0;
  if (!refs || !ts || !host || !meta) { rc = gf__fail(GF_ENOMEM, "out of memory"); goto done; }
  for (int k = 0; k < n; k++) {
    int m = gf__net_tensors(nets[k], refs + nt, MAXT - nt);
    if (nt + m > MAXT) { rc = gf__fail(GF_EINVAL, "too many tensors"); goto done; }
    for (int i = nt; i < nt + m; i++) {
      host[i] = malloc(sizeof(float) * (size_t)(refs[i].n + 1));
      if (!host[i]) { rc = gf__fail(GF_ENOMEM, "out of memory"); goto done; }
      nets[k]->ops->to_host(host[i], refs[i].data, sizeof(float) * (size_t)refs[i].n);
      ts[i].name = refs[i].name;
      ts[i].data = host[i];
      ts[i].ndim = refs[i].ndim;
      for (int d = 0; d < refs[i].ndim; d++) ts[i].shape[d] = refs[i].shape[d];
    }
    nt += m;
  }
  for (int k = 0; k < n_extra; k++, nt++) {
    if (nt >= MAXT) { rc = gf__fail(GF_EINVAL, "too many tensors"); goto done; }
    host[nt] = malloc(sizeof(float) * (size_t)(extra[k].n + 1));
    if (!host[nt]) { rc = gf__fail(GF_ENOMEM, "out of memory"); goto done; }
    nets[0]->ops->to_host(host[nt], extra[k].data, sizeof(float) * (size_t)extra[k].n);
    ts[nt].name = extra[k].name;
    ts[nt].data = host[nt];
    ts[nt].ndim = 1;
    ts[nt].shape[0] = extra[k].n;
  }
  int nm = 0;
  meta[nm++] = "format";
  meta[nm++] = "ganforge";
  if (cfg_text) {
    meta[nm++] = "config";
    meta[nm++] = cfg_text;
  }
  for (int i = 0; i < 2 * n_meta; i++) meta[nm++] = meta_kv[i];
  rc = gf__st_write(path, ts, nt, meta, nm / 2);
done:
  for (int i = 0; host && i < nt; i++) free(host[i]);
  free(host); free(ts); free(refs); free(meta); free(cfg_text);
  return rc;
}

int gf__weights_load_net(const gf__st_file *f, gf__net *net) { return gf__weights_load_net_prefixed(f, net, ""); }

int gf__weights_fit(const gf__st_file *f, const gf__net *net) {
  /* every tensor must be in the file, each in its own bytes: a config asking for more cannot be
     right, and would be allocated for nothing (a few bytes could ask for gigabytes) */
  double need = 4.0 * ((double)net->nparam + (double)net->nbuf);
  if (need > (double)f->len)
    return gf__fail(GF_EFORMAT, "%s: its stored config describes a network %s of %ld weights (%.0f bytes), more than the "
                    "file's %zu bytes hold (a damaged file, or a config that does not belong to these weights)",
                    f->path, net->name, net->nparam + net->nbuf, need, f->len);
  return 0;
}

int gf__weights_load_net_prefixed(const gf__st_file *f, gf__net *net, const char *prefix) {
  int m = gf__net_tensors(net, NULL, 0);
  gf__tensor_ref *refs = malloc(sizeof *refs * (size_t)(m + 1));
  if (!refs) return gf__fail(GF_ENOMEM, "out of memory");
  gf__net_tensors(net, refs, m);
  int rc = 0;
  for (int i = 0; i < m && rc == 0; i++) {
    int64_t shape[4];
    for (int d = 0; d < refs[i].ndim; d++) shape[d] = refs[i].shape[d];
    char name[224];
    snprintf(name, sizeof name, "%.60s%.160s", prefix, refs[i].name);
    float *tmp = malloc(sizeof(float) * (size_t)(refs[i].n + 1));
    if (!tmp) { rc = gf__fail(GF_ENOMEM, "out of memory"); break; }
    rc = gf__st_read_into(f, name, tmp, refs[i].ndim, shape);
    if (rc == 0) net->ops->to_device(refs[i].data, tmp, sizeof(float) * (size_t)refs[i].n);
    free(tmp);
  }
  free(refs);
  return rc;
}

int gf__generator_open(const char *run, const gf__ops *ops, gf_config *cfg, gf__net *G, int *c, int *h, int *w) {
  char path[2048];
  struct stat st;
  if (stat(run, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such run folder or checkpoint", run);
  if (S_ISDIR(st.st_mode)) snprintf(path, sizeof path, "%s/generator.safetensors", run);
  else snprintf(path, sizeof path, "%s", run);
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  const char *text = gf__st_meta(&f, "config");
  if (!text) {
    gf__st_close(&f);
    return gf__fail(GF_EFORMAT, "%s: no ganforge config in the file's metadata", path);
  }
  gf_config_defaults(cfg);
  int rc = gf__config_from_stored(cfg, text, path, "metadata");
  if (rc < 0) {
    gf__st_close(&f);
    return rc;
  }
  gf__data_shape(cfg, c, h, w);
  rc = gf__build_generator_plan(G, cfg, ops, (long)*c * *h * *w);
  if (rc == 0) rc = gf__weights_fit(&f, G);
  if (rc == 0) rc = gf__net_finalize(G);
  if (rc == 0) rc = gf__weights_load_net(&f, G);
  /* a training checkpoint of a train.ema run: sample the average, as generator.safetensors does */
  int64_t np[1] = {G->nparam}, nb[1] = {G->nbuf};
  int has_ema = 0;
  for (int i = 0; i < f.n && !has_ema; i++) has_ema = !strcmp(gf__st_name(&f, i), "ema.G.params");
  if (rc == 0 && has_ema) {
    float *tmp = malloc(sizeof(float) * (size_t)(G->nparam + G->nbuf + 1));
    if (!tmp) rc = gf__fail(GF_ENOMEM, "out of memory");
    if (rc == 0 && (rc = gf__st_read_into(&f, "ema.G.params", tmp, 1, np)) == 0)
      ops->to_device(G->params, tmp, sizeof(float) * (size_t)G->nparam);
    if (rc == 0 && G->nbuf && (rc = gf__st_read_into(&f, "ema.G.buffers", tmp, 1, nb)) == 0)
      ops->to_device(G->buffers, tmp, sizeof(float) * (size_t)G->nbuf);
    free(tmp);
  }
  gf__st_close(&f);
  if (rc < 0) {
    gf__net_free(G);
    if (!strstr(gf_last_error(), path)) { /* a network the stored config cannot build: name the file */
      char msg[768];
      snprintf(msg, sizeof msg, "%s", gf_last_error());
      rc = gf__fail(rc, "%s: %s", path, msg);
    }
  }
  return rc;
}
