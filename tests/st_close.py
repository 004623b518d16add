#!/usr/bin/env python3
"""st_close.py A B [--rtol R] [--prefix P ...]: compares the float32 tensors of two safetensors files.

For every tensor (or those whose names start with a --prefix), the relative difference is
max|a - b| / max|b| over the tensor (elements near zero would make an element-wise ratio
meaningless). Prints the worst tensors and exits 1 when one exceeds --rtol or the files hold
different tensors."""
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
    rtol, prefixes, files = 1e-5, [], []
    i = 0
    while i < len(args):
        if args[i] == "--rtol":
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
        scale = np.abs(y).max()
        r = np.abs(x - y).max() / scale if scale > 0 else np.abs(x - y).max()
        worst.append((r, k, int(np.count_nonzero(x != y)), x.size))
        if not r <= rtol:
            bad += 1
    worst.sort(reverse=True)
    for r, k, nd, n in worst[:6]:
        print(f"{k}: relative difference {r:.3g} ({nd} of {n} elements differ)")
    print(f"{len(names)} tensors compared, {bad} beyond rtol {rtol:g}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
