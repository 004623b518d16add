/* tboard.h: TensorBoard event files (train.tensorboard=1): scalars and PNG pictures as Event
   protobufs in TFRecord framing, written into the run folder. */
#ifndef GF_IO_TBOARD_H
#define GF_IO_TBOARD_H

typedef struct gf__tb gf__tb;

/* Creates RUN/events.out.tfevents.<unix seconds>.<host>.<pid> (one file per training session;
   TensorBoard reads every such file of a folder) and writes its version record. */
int gf__tb_open(gf__tb **tb, const char *dir);
/* One scalar series point (tag, e.g. "loss_D", at a generator step). */
int gf__tb_scalar(gf__tb *tb, long step, const char *tag, double value);
/* Several points at one step: names "a,b,c" (comma separated) for v[0..n). */
int gf__tb_scalars(gf__tb *tb, long step, const char *names, const double *v, int n);
/* A PNG file as an image summary (tag "samples"), at a step. */
int gf__tb_image_png(gf__tb *tb, long step, const char *tag, const char *png_path);
/* Flushes and closes (NULL is fine). */
int gf__tb_close(gf__tb *tb);

#endif
