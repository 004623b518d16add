#!/usr/bin/env python3
"""compare.py: relative distance ||w - w_ref|| / ||w_ref|| of G's and D's parameters between a
reference trajectory and others, at every step both recorded; then, where both recorded them, of
G's BatchNorm running statistics and of G's eval-mode samples of the fixed noise (what FID sees).

  python3 tools/replay/compare.py REF OTHER [OTHER ...]

Each argument is a PyTorch trajectory (PREFIX_<dtype>_t<n>.safetensors from trajectory.py) or a
ganforge replay (OUT.bin from gf_replay_dcgan)."""
import os, sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from make_dcgan_fixtures import dcgan28, dcgan28_nobn  # noqa: E402
from load_in_pytorch import read_safetensors  # noqa: E402


def read_replay(path):
    """OUT.bin -> {"G<step>": flat G parameters, "D<step>": ..., "GB<step>": G's running statistics,
    "S<step>": eval-mode samples} in PyTorch's order (that of dcgan-mnist's networks, or of
    wgan-gp-mnist's when D has no BatchNorm)."""
    d, i, per_step = open(path, "rb").read(), 0, {}
    while i < len(d):
        j = d.index(b"\n", i)
        step, name, n = d[i:j].decode().split()
        n = int(n)
        per_step.setdefault(int(step), {})[name] = np.frombuffer(d[j + 1:j + 1 + 4 * n], np.float32)
        i = j + 1 + 4 * n
    names = next(iter(per_step.values())) if per_step else {}
    G, D, _ = (dcgan28 if "D.net.3.running_mean" in names else dcgan28_nobn)(100, 1, 64, 64)
    order = {"G": ["G.net." + k for k, _ in G.named_parameters()], "D": ["D.net." + k for k, _ in D.named_parameters()],
             "GB": ["G.net." + k for k, _ in G.named_buffers() if not k.endswith("num_batches_tracked")],
             "S": ["samples"]}
    out = {}
    for step, t in per_step.items():
        for net, names in order.items():
            if all(k in t for k in names):
                out[f"{net}{step}"] = np.concatenate([t[k] for k in names])
    return out


def load(path):
    return read_replay(path) if path.endswith(".bin") else read_safetensors(path)[0]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ref, others = load(sys.argv[1]), [(os.path.basename(p), load(p)) for p in sys.argv[2:]]
    steps = sorted(int(k[1:]) for k in ref if k[0] == "G" and k[1:].isdigit())
    for a, b, what in (("G", "D", "G, D parameters"), ("GB", "S", "G's running statistics, G's eval-mode samples")):
        if not any(f"{a}{s}" in ref for s in steps):
            continue
        print("relative distance to " + os.path.basename(sys.argv[1]) + f" ({what})")
        print("step  " + "  ".join(f"{name[:24]:>24s}" for name, _ in others))
        for s in steps:
            cells = []
            for _, t in others:
                if f"{a}{s}" not in t or f"{a}{s}" not in ref:
                    cells.append(f"{'-':>24s}")
                    continue
                ra = np.linalg.norm(t[f"{a}{s}"] - ref[f"{a}{s}"]) / np.linalg.norm(ref[f"{a}{s}"])
                rb = np.linalg.norm(t[f"{b}{s}"] - ref[f"{b}{s}"]) / np.linalg.norm(ref[f"{b}{s}"])
                cells.append(f"{ra:11.2e},{rb:11.2e} ")
            print(f"{s:4d}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
