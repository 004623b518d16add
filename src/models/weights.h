/* weights.h: saving and loading network tensors (PyTorch state_dict names) in safetensors files. */
#ifndef GF_MODELS_WEIGHTS_H
#define GF_MODELS_WEIGHTS_H

#include "ganforge/config.h"
#include "nn/nn.h"

/* Writes the parameters and buffers of nets[0..n) plus the config (metadata "config") and extra
   metadata pairs, atomically. */
int gf__weights_save(const char *path, gf__net *const *nets, int n, const gf_config *cfg,
                     const char *const *meta_kv, int n_meta);
/* Same, plus extra flat tensors (name, backend data, length) such as optimizer moments. */
typedef struct gf__flat_tensor {
  char name[64];
  const float *data;
  long n;
} gf__flat_tensor;
int gf__weights_save_ex(const char *path, gf__net *const *nets, int n, const gf__flat_tensor *extra, int n_extra,
                        const gf_config *cfg, const char *const *meta_kv, int n_meta);
/* Loads every tensor of `net` from an opened file, checking names and shapes; the _prefixed form
   reads "<prefix><name>" (e.g. "init.G.net.0.weight" from a trajectory file). */
struct gf__st_file;
int gf__weights_load_net(const struct gf__st_file *f, gf__net *net);
int gf__weights_load_net_prefixed(const struct gf__st_file *f, gf__net *net, const char *prefix);
/* Before allocating a planned network from a file's stored config: GF_EFORMAT (naming the file)
   when the file is too small to hold the network's tensors. */
int gf__weights_fit(const struct gf__st_file *f, const gf__net *net);
/* Opens a run folder (uses RUN/generator.safetensors) or a .safetensors file, reads its config
   and builds and loads the generator on ops. *dim receives the sample size, shape into c/h/w. */
int gf__generator_open(const char *run, const gf__ops *ops, gf_config *cfg, gf__net *G, int *c, int *h, int *w);

#endif
