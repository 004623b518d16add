#!/usr/bin/env python3
"""The docs figure of a CAT run (docs/img/cat-h2z.png): the rows of RUN/compare.png (input | teacher |
student, 256 px cells) of one or more compress runs of the same teacher, side by side as
input | teacher | student of each run, cells scaled to CELL px.

  /opt/t2/bin/python tools/cat_figure.py OUT.png CELL RUN [RUN...]

or, from `ganforge translate` outputs of teacher and student (the first N images of INPUT_DIR, by
name, beside the same names in the two output folders):

  /opt/t2/bin/python tools/cat_figure.py OUT.png CELL --dirs INPUT_DIR TEACHER_OUT STUDENT_OUT [N=4]
"""
import os
import sys
from PIL import Image

out, cell, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if runs and runs[0] == "--dirs":
    ind, td, sd = runs[1:4]
    n = int(runs[4]) if len(runs) > 4 else 4
    pad = 2
    names = sorted(os.listdir(ind))[:n]
    fig = Image.new('RGB', (3 * cell + 4 * pad, len(names) * cell + (len(names) + 1) * pad), (128, 128, 128))
    for r, f in enumerate(names):
        png = os.path.splitext(f)[0] + '.png'
        for c, path in enumerate((os.path.join(ind, f), os.path.join(td, png), os.path.join(sd, png))):
            t = Image.open(path).convert('RGB').resize((cell, cell), Image.LANCZOS)
            fig.paste(t, (pad + c * (cell + pad), pad + r * (cell + pad)))
    fig.save(out, optimize=True)
    print(out, fig.size)
    sys.exit(0)
grids = [Image.open(f'{r}/compare.png').convert('RGB') for r in runs]
g0 = grids[0]
pad = 2
side = (g0.width - 4 * pad) // 3  # ganforge's grids: 2 px borders between cells
rows = (g0.height - pad) // (side + pad)
cols = 2 + len(grids)
fig = Image.new('RGB', (cols * cell + (cols + 1) * pad, rows * cell + (rows + 1) * pad), (128, 128, 128))
for r in range(rows):
    y = pad + r * (side + pad)
    tiles = [g0.crop((pad + c * (side + pad), y, pad + c * (side + pad) + side, y + side)) for c in range(2)]
    tiles += [g.crop((pad + 2 * (side + pad), y, pad + 2 * (side + pad) + side, y + side)) for g in grids]
    for c, t in enumerate(tiles):
        fig.paste(t.resize((cell, cell), Image.LANCZOS), (pad + c * (cell + pad), pad + r * (cell + pad)))
fig.save(out, optimize=True)
print(out, fig.size)
