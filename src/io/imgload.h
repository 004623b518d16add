/* imgload.h: image decoding by content (PNG, JPEG, binary PGM) plus bilinear resize and center crop. */
#ifndef GF_IO_IMGLOAD_H
#define GF_IO_IMGLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The most pixels a decoded image may have (2^26: 8192 x 8192): a small crafted file cannot make
   the decoders allocate gigabytes (a PNG header alone can claim 65535 x 65535, 12 GiB of RGB).
   A variable only so the fuzz targets can lower it (their inputs then decode in milliseconds). */
extern size_t gf__image_max_pixels;
#define GF_IMAGE_MAX_PIXELS gf__image_max_pixels

/* Loads an 8-bit image, choosing the decoder from the file's magic bytes (not its extension):
   PNG (palette expanded, alpha dropped), JPEG (grey or RGB; CMYK rejected) or binary PGM "P5"
   (maxval <= 255, rescaled to 0..255). *pix is malloc'ed, row-major interleaved, *channels 1 or 3.
   Empty, unknown, truncated or corrupt files are GF_EFORMAT with a message naming the path. */
int gf__image_load(const char *path, uint8_t **pix, int *w, int *h, int *channels);

/* Decoders on an in-memory file; `name` is used in error messages only. */
int gf__png_decode_mem(const char *name, const uint8_t *buf, size_t len, uint8_t **pix, int *w,
                       int *h, int *channels);
int gf__jpeg_decode_mem(const char *name, const uint8_t *buf, size_t len, uint8_t **pix, int *w,
                        int *h, int *channels);
int gf__pgm_decode_mem(const char *name, const uint8_t *buf, size_t len, uint8_t **pix, int *w,
                       int *h, int *channels);

/* Bilinear resize of an interleaved uint8 image with c channels (any c >= 1) from sw x sh to
   dw x dh into the caller's buffer dst (dw*dh*c bytes). Pixel centres are aligned as in
   PIL / torch align_corners=False; results are rounded to nearest. */
int gf__image_resize_bilinear(const uint8_t *src, int sw, int sh, int c, uint8_t *dst, int dw, int dh);

/* Copies the centred cw x ch window of an interleaved sw x sh image (c channels) into dst
   (cw*ch*c bytes). When the size difference is odd the extra pixel is left on the right/bottom.
   GF_EINVAL if the window is larger than the image. */
int gf__image_center_crop(const uint8_t *src, int sw, int sh, int c, uint8_t *dst, int cw, int ch);

#endif
