/* npyio.h: a small, strict NumPy .npy reader and writer for float32 arrays (evaluation inputs).

   Reads format versions 1.0, 2.0 and 3.0 with a header dict holding exactly the keys 'descr',
   'fortran_order' and 'shape' (any order). Only little-endian float32 ('<f4') in C order is
   accepted; everything else (other dtypes, big-endian, Fortran order, object arrays, a file shorter
   or longer than the header promises, a malformed header) fails with GF_EFORMAT and a message
   naming the file and what is wrong. A missing or unreadable file gives GF_ENOENT / GF_EIO. */
#ifndef GF_EVAL_NPYIO_H
#define GF_EVAL_NPYIO_H

#include <stddef.h>

#define GF_NPY_MAXDIM 8

typedef struct gf__npy {
  int ndim;                    /* 0 for a scalar */
  long shape[GF_NPY_MAXDIM];
  size_t count;                /* number of elements (product of shape; 1 for a scalar) */
  float *data;                 /* [count] float32, malloc'ed */
} gf__npy;

/* Reads a float32 .npy file. On failure *a is left empty (data NULL). */
int gf__npy_read_f32(const char *path, gf__npy *a);
/* Parses an in-memory .npy image (`what` names it in messages). */
int gf__npy_parse_f32(const void *buf, size_t len, const char *what, gf__npy *a);
void gf__npy_free(gf__npy *a);
/* Writes a float32 C-order .npy (version 1.0) atomically. ndim 1..GF_NPY_MAXDIM. */
int gf__npy_write_f32(const char *path, const float *x, const long *shape, int ndim);

#endif
