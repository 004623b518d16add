#!/usr/bin/env python3
"""compare.py: relative distance ||w - w_ref|| / ||w_ref|| of G's and D's parameters between a
reference trajectory and others, at every step both recorded.

  python3 tools/replay/compare.py REF OTHER [OTHER ...]

Each argument is a PyTorch trajectory (PREFIX_<dtype>_t<n>.safetensors from trajectory.py) or a
ganforge replay (OUT.bin from gf_replay_dcgan)."""
import os, sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from make_dcgan_fixtures import dcgan28, dcgan28_nobn  # noqa: E402
from load_in_pytorch import read_safetensors  # noqa: E402


def read_replay(path):
    """OUT.bin -> {"G<step>": flat G parameters, "D<step>": ...} in PyTorch's parameter order (that of
    dcgan-mnist's networks, or of wgan-gp-mnist's when D has no BatchNorm)."""
    d, i, per_step = open(path, "rb").read(), 0, {}
    while i < len(d):
        j = d.index(b"\n", i)
        step, name, n = d[i:j].decode().split()
        n = int(n)
        per_step.setdefault(int(step), {})[name] = np.frombuffer(d[j + 1:j + 1 + 4 * n], np.float32)
        i = j + 1 + 4 * n
    names = next(iter(per_step.values())) if per_step else {}
    G, D, _ = (dcgan28 if "D.net.3.running_mean" in names else dcgan28_nobn)(100, 1, 64, 64)
    order = {"G": ["G.net." + k for k, _ in G.named_parameters()], "D": ["D.net." + k for k, _ in D.named_parameters()]}
    out = {}
    for step, t in per_step.items():
        for net in ("G", "D"):
            out[f"{net}{step}"] = np.concatenate([t[k] for k in order[net]])
    return out


def load(path):
    return read_replay(path) if path.endswith(".bin") else read_safetensors(path)[0]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ref, others = load(sys.argv[1]), [(os.path.basename(p), load(p)) for p in sys.argv[2:]]
    print("relative distance to " + os.path.basename(sys.argv[1]) + " (G, D)")
    print("step  " + "  ".join(f"{name[:24]:>24s}" for name, _ in others))
    steps = sorted(int(k[1:]) for k in ref if k[0] == "G")
    for s in steps:
        cells = []
        for _, t in others:
            if f"G{s}" not in t:
                cells.append(f"{'-':>24s}")
                continue
            rg = np.linalg.norm(t[f"G{s}"] - ref[f"G{s}"]) / np.linalg.norm(ref[f"G{s}"])
            rd = np.linalg.norm(t[f"D{s}"] - ref[f"D{s}"]) / np.linalg.norm(ref[f"D{s}"])
            cells.append(f"{rg:11.2e},{rd:11.2e} ")
        print(f"{s:4d}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
