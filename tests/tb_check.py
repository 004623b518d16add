"""tb_check.py: reads a run folder's TensorBoard event file with tensorboard's own reader and checks
it against the run's CSV files: every column of log.csv (and metrics.csv) but step / epoch /
seconds is a scalar series with the same steps and values (float32), plus `extra` series named on
the command line; every epoch picture is an image whose PNG bytes equal samples/epoch_NNN.png.
usage: tb_check.py RUN [EXTRA_TAG ...]"""
import csv
import glob
import os
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator

run, extra = sys.argv[1], sys.argv[2:]
files = glob.glob(os.path.join(run, "events.out.tfevents.*"))
assert len(files) == 1, "expected one event file in %s, found %s" % (run, files)
acc = event_accumulator.EventAccumulator(files[0], size_guidance={"scalars": 0, "images": 0})
acc.Reload()
tags = acc.Tags()
fail = []


def check_csv(path, skip=("step", "epoch", "seconds", "eval_seconds")):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert rows, path + " is empty"
    for col in rows[0]:
        if col in skip:
            continue
        if col not in tags["scalars"]:
            fail.append("%s: no scalar series %r (have %s)" % (path, col, tags["scalars"]))
            continue
        ev = acc.Scalars(col)
        got = [(e.step, e.value) for e in ev]
        want = [(int(r["step"]), struct.unpack("f", struct.pack("f", float(r[col])))[0]) for r in rows]
        if [s for s, _ in got] != [s for s, _ in want]:
            fail.append("%s: steps differ: %s vs %s" % (col, [s for s, _ in got], [s for s, _ in want]))
        elif any(abs(a - b) > 1e-5 * max(1.0, abs(b)) for (_, a), (_, b) in zip(got, want)):
            fail.append("%s: values differ: %s vs %s" % (col, got[:4], want[:4]))
    return len(rows)


n_log = check_csv(os.path.join(run, "log.csv"))
if os.path.exists(os.path.join(run, "metrics.csv")):
    check_csv(os.path.join(run, "metrics.csv"))
for t in extra:
    if t not in tags["scalars"] or len(acc.Scalars(t)) != n_log:
        fail.append("series %r missing or not %d points" % (t, n_log))


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# the TFRecord framing, checked here too (lengths and both masked CRC-32C of every record)
raw, pos, nrec = open(files[0], "rb").read(), 0, 0
while pos < len(raw):
    (n,) = struct.unpack("<Q", raw[pos:pos + 8])
    (lc,) = struct.unpack("<I", raw[pos + 8:pos + 12])
    body = raw[pos + 12:pos + 12 + n]
    (dc,) = struct.unpack("<I", raw[pos + 12 + n:pos + 16 + n])
    if lc != masked(raw[pos:pos + 8]) or dc != masked(body) or len(body) != n:
        fail.append("record %d at byte %d: bad framing or CRC" % (nrec, pos))
        break
    pos, nrec = pos + 16 + n, nrec + 1
pngs = sorted(glob.glob(os.path.join(run, "samples", "epoch_*.png")))
imgs = acc.Images("samples") if "samples" in tags["images"] else []
if len(imgs) != len(pngs) or not pngs:
    fail.append("%d images in the event file, %d epoch pictures" % (len(imgs), len(pngs)))
for ev, p in zip(imgs, pngs):
    data = open(p, "rb").read()
    w, h = struct.unpack(">II", data[16:24])
    if ev.encoded_image_string != data or (ev.width, ev.height) != (w, h):
        fail.append("image at step %d differs from %s" % (ev.step, p))
for f in fail:
    print("FAIL:", f)
print("tensorboard: %d records, %d scalar series, %d images, %d log rows" % (nrec, len(tags["scalars"]), len(imgs), n_log))
sys.exit(1 if fail else 0)
