/* report.h: the self-contained HTML run report (inline SVG charts, embedded images) and the
   training-progression GIF. */
#ifndef GF_IO_REPORT_H
#define GF_IO_REPORT_H

typedef struct gf__series {
  const char *name;
  const char *color;       /* CSS colour */
  const double *y;         /* [n] */
} gf__series;

typedef struct gf__chart {
  const char *title;
  const double *x;         /* [n] shared x values (steps) */
  int n;
  gf__series s[4];
  int ns;
} gf__chart;

typedef struct gf__report {
  const char *title;          /* e.g. "mlp-mnist: runs/mlp-mnist" */
  const char *config_text;    /* effective config, `key = value` lines */
  const char *summary_html;   /* timings etc. as HTML table rows (may be NULL) */
  gf__chart charts[6];
  int ncharts;
  const char *const *images;  /* PNG paths to embed, in order */
  const char *const *captions;
  int nimages;
  const char *images_title;   /* heading of the image section */
  const char *gif_path;       /* optional animation to embed (NULL: none) */
} gf__report;

/* Writes the report atomically. Images that cannot be read are an error naming the file. */
int gf__report_write(const char *path, const gf__report *r);

/* Writes an animated GIF of PNG frames (grey or RGB, all the same size), `delay_cs` hundredths
   of a second per frame, looping forever. */
int gf__gif_from_pngs(const char *path, const char *const *pngs, int n, int delay_cs);

#endif
