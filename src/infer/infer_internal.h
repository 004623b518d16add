/* infer_internal.h: what the exporters need from an open generator handle. */
#ifndef GF_INFER_INFER_INTERNAL_H
#define GF_INFER_INFER_INTERNAL_H

#include "ganforge/config.h"
#include "ganforge/infer.h"
#include "nn/nn.h"

/* The handle's network (built for the trained size), its config and the file it came from. */
int gf__infer_net(gf_generator *g, gf__net **net, const gf_config **cfg, const char **file);

#endif
