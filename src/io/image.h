/* image.h: PNG/JPEG/PGM reading and writing, sample grids, and simple raster plots. */
#ifndef GF_IO_IMAGE_H
#define GF_IO_IMAGE_H

#include <stdint.h>

/* Writes 8-bit grey (channels 1) or RGB (channels 3) pixels, row-major interleaved.
   Written atomically (tmp + rename) so a crash never leaves a half PNG. */
int gf__png_write(const char *path, const uint8_t *pix, int w, int h, int channels);
/* The same at zlib level `level` (1 fastest .. 9 smallest; -1: libpng's default, 6): `translate`
   writes at 1 (a 256x256 photo: half the CPU time of level 6, a 4% larger file). */
int gf__png_write_level(const char *path, const uint8_t *pix, int w, int h, int channels, int level);
/* Reads an 8-bit PNG; *pix malloc'ed, channels 1 or 3 (alpha dropped, palette expanded).
   16-bit PNGs are an error (GF_EFORMAT) naming the file. */
int gf__png_read(const char *path, uint8_t **pix, int *w, int *h, int *channels);

/* Lays out n samples (each c x h x w, planar CHW float) in a grid with `nrow` images per row,
   `pad` pixels of border, values mapped from [lo, hi] to 0..255 (clamped), each pixel repeated
   `upscale` times. c is 1 or 3. Output: *pix malloc'ed, interleaved, *W x *H, channels = c.
   Columns = min(n, nrow), rows = ceil(n / columns); *W = cols*(w*upscale+pad)+pad (same for *H).
   Padding and the empty cells after the last image are mid grey (128); NaN maps to 0. */
int gf__grid_render(uint8_t **pix, int *W, int *H, const float *x, int n, int c, int h, int w,
                    int nrow, int pad, float lo, float hi, int upscale);
/* Convenience: render (pad 2) and write a grid PNG. */
int gf__grid_write_png(const char *path, const float *x, int n, int c, int h, int w, int nrow,
                       float lo, float hi, int upscale);

/* Histogram of 1-D samples against the N(mu, sigma) density, as a PNG (axes, ticks, legend). */
int gf__plot_hist_png(const char *path, const float *samples, int n, float mu, float sigma,
                      const char *title);
/* Scatter of 2-D samples (x,y pairs) over the true mode means (drawn as circles) as a PNG. */
int gf__plot_scatter_png(const char *path, const float *xy, int n, const float *modes, int nmodes,
                         float lim, const char *title);

#endif
