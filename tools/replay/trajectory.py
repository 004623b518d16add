#!/usr/bin/env python3
"""trajectory.py: one PyTorch training trajectory of the full-size dcgan-mnist (nz 100, ngf = ndf = 64,
batch 64, Adam 2e-4 / 0.5, DCGAN initialisation) on real MNIST batches, for replay in ganforge.

  python3 tools/replay/trajectory.py MNIST_DIR STEPS PREFIX [--dtype f32|f64] [--threads 1]

Writes PREFIX_data.safetensors (once: the initial weights, the real batches [STEPS, 64, 1, 28, 28]
and the noise [STEPS, 64, 100], all from seed 0) and PREFIX_<dtype>_t<threads>.safetensors: G's and
D's parameters, flattened, after steps 1, 3, 10, 30, 100, 200, 300, 500 and 1000 (G<step>, D<step>).
With --dtype f64 the same steps are taken in double precision: the reference trajectory that
float32 runs (PyTorch's and ganforge's, gf_replay_dcgan) drift away from."""
import argparse, os, sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from make_dcgan_fixtures import dcgan28, dcgan_init, state, train_iteration, write_st  # noqa: E402
from torch_twin import mnist_train  # noqa: E402

MARKS = (1, 3, 10, 30, 100, 200, 300, 500, 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mnist")
    ap.add_argument("steps", type=int)
    ap.add_argument("prefix")
    ap.add_argument("--dtype", choices=("f32", "f64"), default="f32")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    nz, B = 100, 64
    G, D, _ = dcgan28(nz, 1, 64, 64)
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    init = {"init." + k: v for k, v in {**state("G", G), **state("D", D)}.items()}
    m = mnist_train(a.mnist)
    idx = np.random.default_rng(0).integers(0, m.shape[0], a.steps * B)
    real = torch.from_numpy(m[idx]).view(a.steps, B, 1, 28, 28)
    z = torch.randn(a.steps, B, nz)
    if not os.path.exists(a.prefix + "_data.safetensors"):
        write_st(a.prefix + "_data.safetensors", {**init, "real": real, "z": z})
    dt = torch.float64 if a.dtype == "f64" else torch.float32
    G, D, real, z = G.to(dt), D.to(dt), real.to(dt), z.to(dt)
    bce = nn.BCEWithLogitsLoss()
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(B, 1, dtype=dt), torch.zeros(B, 1, dtype=dt)
    out = {}
    for it in range(a.steps):
        ld, lg = train_iteration(G, D, oG, oD, bce, real[it], z[it], ones, zeros)
        if it + 1 in MARKS:
            out[f"G{it + 1}"] = torch.cat([p.detach().flatten() for p in G.parameters()]).float()
            out[f"D{it + 1}"] = torch.cat([p.detach().flatten() for p in D.parameters()]).float()
            print(f"step {it + 1} loss_D {ld:.6f} loss_G {lg:.6f}", flush=True)
    write_st(f"{a.prefix}_{a.dtype}_t{a.threads}.safetensors", out)


if __name__ == "__main__":
    main()
