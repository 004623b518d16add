/* classifier.h: a small CNN image classifier trained by ganforge (`classifier-mnist` etc.): the
   feature network behind the fid-/kid-/pr-/score- metrics and Stacked MNIST mode counting. */
#ifndef GF_MODELS_CLASSIFIER_H
#define GF_MODELS_CLASSIFIER_H

#include "core/ops.h"
#include "core/rng.h"
#include "ganforge/config.h"
#include "nn/nn.h"

#define GF_CLASSIFIER_FEAT 128 /* width of the feature layer */

typedef struct gf__classifier {
  gf_config cfg;
  const gf__ops *ops;
  gf__net net;            /* name "C": conv-relu, 2 x [conv s2-BN-relu], flatten, linear-relu (features), dropout, linear */
  gf__ctx ctx;
  int B;                  /* batch the context is planned for */
  int c, h, w, nclass;
  int feat_layer;         /* index of the layer whose output is the feature vector [B, 128] */
  float *xb, *yb;         /* [B, c*h*w] inputs, [B] labels as floats (backend memory) */
  float *prob;            /* [B, nclass] class probabilities (backend memory) */
  float *stats;           /* [2] cross-entropy statistics (backend memory): loss, correct */
  gf__rng r_init, r_drop;
  long t;                 /* Adam steps */
  double lr;
  double test_accuracy;   /* of the loaded / trained weights (-1: unknown) */
} gf__classifier;

/* Builds the network for (c, h, w) images and nclass classes, planned for batch B. */
int gf__classifier_create(gf__classifier *m, const gf_config *cfg, const gf__ops *ops, int c, int h, int w,
                          int nclass, int B);
void gf__classifier_destroy(gf__classifier *m);
/* Opens RUN/classifier.safetensors or a classifier .safetensors file (checks it is one), for
   batches up to B. */
int gf__classifier_open(gf__classifier *m, const char *path, const gf__ops *ops, int B);
/* Runs n images x [n, c*h*w] (host, pixels in [-1, 1]) through the net in eval mode. feat
   [n, 128] and prob [n, nclass] (host, either may be NULL) receive the feature vectors and the
   class probabilities. */
int gf__classifier_apply(gf__classifier *m, const float *x, int n, float *feat, float *prob);
/* Loads the dataset a config names (search / download as training does). */
struct gf__dataset;
int gf__dataset_from_config(const gf_config *cfg, struct gf__dataset *ds);
/* Records (and returns) the GF_EUSAGE error for a dataset smaller than the batch: names the
   folder or set, the real sample count, and the fix (--batch, data.n or data.limit). */
int gf__fail_small_dataset(const gf_config *cfg, const struct gf__dataset *ds, int batch);
/* The config of the held-out images of a classifier's set: the test split (MNIST-like sets) or a
   fresh 10,000-image set from another seed (shapes). */
void gf__classifier_test_config(const gf_config *cfg, gf_config *test);
/* Trains per cfg (model.arch = classifier) into the run folder: config.txt, log.csv,
   accuracy.csv (test accuracy per epoch), classifier.safetensors. */
struct gf_train_opts;
int gf__train_classifier(const gf_config *cfg, const struct gf_train_opts *opts);

#endif
