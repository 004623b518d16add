#!/usr/bin/env python3
"""torch_critic.py: the PyTorch peer of `ganforge bench wgan-gp-mnist`: times whole WGAN-GP
iterations of the wgan-gp-mnist networks (5 critic steps, each with the gradient penalty through
torch.autograd.grad(create_graph=True), then one G step; Adam 1e-4 (0, 0.9); batch 64) on random
data, as tools/replay/trajectory.py takes them.

  python3 bench/torch_critic.py [--threads 1] [--steps 5] [--warmup 1] [--batch 64]

Prints "median_ms_per_step=... steps=..." (one step = one G step with its 5 critic steps)."""
import argparse, os, statistics, sys, time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "replay"))
from make_dcgan_fixtures import dcgan28_nobn, dcgan_init  # noqa: E402
from trajectory import K_CRITIC, wgan_gp_iteration  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    B, nz = a.batch, 100
    G, D, _ = dcgan28_nobn(nz, 1, 64, 64)
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    oG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    oD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    times = []
    for i in range(a.warmup + a.steps):
        real = torch.rand(K_CRITIC, B, 1, 28, 28) * 2 - 1
        z, t = torch.randn(K_CRITIC, B, nz), torch.rand(K_CRITIC, B)
        t0 = time.perf_counter()
        wgan_gp_iteration(G, D, oG, oD, real, z, t)
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    print(f"torch {torch.__version__} threads={a.threads} median_ms_per_step={1e3 * statistics.median(times):.1f} "
          f"steps={a.steps}")


if __name__ == "__main__":
    main()
