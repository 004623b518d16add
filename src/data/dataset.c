/* dataset.c: releasing an in-memory dataset. */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

void gf__dataset_free(gf__dataset *d) {
  if (!d) return;
  free(d->x);
  free(d->labels);
  free(d->modes);
  memset(d, 0, sizeof *d);
}
