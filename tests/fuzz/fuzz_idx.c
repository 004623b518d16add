/* fuzz_idx.c: MNIST IDX files (plain) through gf__mnist_load; input layout in idx_common.h. */
#include "idx_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_idx(data, size, 0); }
