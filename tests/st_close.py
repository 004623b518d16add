#!/usr/bin/env python3
"""st_close.py A B [--tol T] [--prefix P ...] [--expect-differ]: compares the float32 tensors of
two safetensors files (those whose names start with a --prefix, default all).

Element-wise |a - b| <= T (1 + |b|) (T = 1e-5: relative above 1, absolute below, as
torch.testing's float32 default atol 1e-5). Prints the worst tensors and exits 1 when an element
is beyond it or the files hold different tensors (with --expect-differ: exits 1 when all agree)."""
import json
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__" or v.get("dtype") != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"])
    return out


def main():
    args = sys.argv[1:]
    rtol, prefixes, files, expect_differ = 1e-5, [], [], False
    i = 0
    while i < len(args):
        if args[i] == "--expect-differ":
            expect_differ = True; i += 1
        elif args[i] == "--tol":
            rtol = float(args[i + 1]); i += 2
        elif args[i] == "--prefix":
            prefixes.append(args[i + 1]); i += 2
        else:
            files.append(args[i]); i += 1
    a, b = read(files[0]), read(files[1])
    names = sorted(k for k in set(a) | set(b) if not prefixes or any(k.startswith(p) for p in prefixes))
    worst, bad = [], 0
    for k in names:
        if k not in a or k not in b or a[k].shape != b[k].shape:
            print(f"{k}: only in one file or shapes differ"); bad += 1; continue
        x, y = a[k].astype(np.float64), b[k].astype(np.float64)
        r = (np.abs(x - y) / (1 + np.abs(y))).max() if x.size else 0.0
        worst.append((r, k, int(np.count_nonzero(x != y)), x.size))
        if not r <= rtol:
            bad += 1
    worst.sort(reverse=True)
    for r, k, nd, n in worst[:6]:
        print(f"{k}: max |a - b| / (1 + |b|) = {r:.3g} ({nd} of {n} elements differ)")
    print(f"{len(names)} tensors compared, {bad} beyond {rtol:g}")
    if expect_differ:
        return 0 if bad else 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
