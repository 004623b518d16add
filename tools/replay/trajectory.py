#!/usr/bin/env python3
"""trajectory.py: one PyTorch training trajectory of a full-size MNIST DCGAN preset on real MNIST
batches, for replay in ganforge: dcgan-mnist (nz 100, ngf = ndf = 64, batch 64, Adam 2e-4 / 0.5,
BCE) or wgan-gp-mnist (the same G, the critic without BatchNorm, WGAN-GP lambda 10 on interpolates
with create_graph=True, Adam 1e-4 (0, 0.9), 5 critic steps per G step); DCGAN initialisation.

  python3 tools/replay/trajectory.py MNIST_DIR STEPS PREFIX [--model dcgan-mnist|wgan-gp-mnist]
                                     [--dtype f32|f64] [--threads 1]

STEPS counts G steps. Writes PREFIX_data.safetensors (once: the initial weights, the real batches
[S, 64, 1, 28, 28] and the noise [S, 64, 100] of the S D steps (S = STEPS, or 5 STEPS for
wgan-gp-mnist), wgan-gp-mnist's interpolation coefficients t [S, 64], all from seed 0) and
PREFIX_<dtype>_t<threads>[_nomkldnn].safetensors: G's and D's parameters, flattened, after G steps 1, 3, 10,
30, 100, 200, 300, 500 and 1000 (G<step>, D<step>), and what FID is computed from at those steps:
G's BatchNorm running statistics (GB<step>) and G's eval-mode samples (S<step>, running statistics,
as `ganforge sample` and the twin draw them) of 256 fixed noise vectors (zeval in the data file,
seed 1). With --dtype f64 the same steps are taken in double precision: the reference trajectory
that float32 runs (PyTorch's and ganforge's, gf_replay_dcgan) drift away from."""
import argparse, os, sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from make_dcgan_fixtures import dcgan28, dcgan28_nobn, dcgan_init, state, train_iteration, write_st  # noqa: E402
from torch_twin import mnist_train  # noqa: E402

MARKS = (1, 3, 10, 30, 100, 200, 300, 500, 1000)
K_CRITIC, GP_LAMBDA = 5, 10.0
N_EVAL = 256  # fixed noise vectors whose eval-mode samples are recorded


def wgan_gp_iteration(G, D, oG, oD, real, z, t):
    """One wgan-gp-mnist iteration as ganforge takes it (gf__gan_d_step x 5, gf__gan_g_step): each
    critic step judges [real; fake] in one pass, adds lambda (|grad_x D(x^)| - 1)^2 on the
    interpolates x^ = t real + (1 - t) fake; then G on the last critic step's fakes. real [5, B, ...],
    z [5, B, nz], t [5, B]. Returns the last critic loss and G's loss."""
    B = real.shape[1]
    for k in range(K_CRITIC):
        fake = G(z[k].view(B, -1, 1, 1))
        xr, xf = real[k], fake.detach()
        both = D(torch.cat([xr, xf]))
        ld = both[B:].mean() - both[:B].mean()
        tt = t[k].view(B, 1, 1, 1)
        px = (tt * xr + (1 - tt) * xf).requires_grad_(True)
        g, = torch.autograd.grad(D(px).sum(), px, create_graph=True)
        ld = ld + GP_LAMBDA * ((g.reshape(B, -1).norm(2, dim=1) - 1) ** 2).mean()
        oD.zero_grad()
        ld.backward()
        oD.step()
    oG.zero_grad()
    lg = -D(fake).mean()
    lg.backward()
    oG.step()
    return ld.item(), lg.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mnist")
    ap.add_argument("steps", type=int)
    ap.add_argument("prefix")
    ap.add_argument("--model", choices=("dcgan-mnist", "wgan-gp-mnist"), default="dcgan-mnist")
    ap.add_argument("--dtype", choices=("f32", "f64"), default="f32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-mkldnn", action="store_true",
                    help="PyTorch's own convolutions instead of oneDNN's: another float32 rounding of the same steps")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.no_mkldnn:
        torch.backends.mkldnn.enabled = False
    torch.manual_seed(0)
    nz, B = 100, 64
    wgp = a.model == "wgan-gp-mnist"
    k = K_CRITIC if wgp else 1
    S = a.steps * k  # D steps
    G, D, _ = (dcgan28_nobn if wgp else dcgan28)(nz, 1, 64, 64)
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    for mod in D.modules():  # the critic's biases start at 0, as ganforge's normal initialiser sets them
        if isinstance(mod, nn.Conv2d) and mod.bias is not None:
            nn.init.zeros_(mod.bias)
    init = {"init." + k: v for k, v in {**state("G", G), **state("D", D)}.items()}
    m = mnist_train(a.mnist)
    idx = np.random.default_rng(0).integers(0, m.shape[0], S * B)
    real = torch.from_numpy(m[idx]).view(S, B, 1, 28, 28)
    z = torch.randn(S, B, nz)
    t = torch.rand(S, B) if wgp else None
    zeval = torch.randn(N_EVAL, nz, generator=torch.Generator().manual_seed(1))
    if not os.path.exists(a.prefix + "_data.safetensors"):
        write_st(a.prefix + "_data.safetensors",
                 {**init, "real": real, "z": z, "zeval": zeval, **({"t": t} if wgp else {})})
    dt = torch.float64 if a.dtype == "f64" else torch.float32
    G, D, real, z, zeval = G.to(dt), D.to(dt), real.to(dt), z.to(dt), zeval.to(dt)
    if wgp:
        t = t.to(dt)
        oG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
        oD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    else:
        bce = nn.BCEWithLogitsLoss()
        oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
        oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
        ones, zeros = torch.ones(B, 1, dtype=dt), torch.zeros(B, 1, dtype=dt)
    out = {}
    for it in range(a.steps):
        if wgp:
            sl = slice(it * k, (it + 1) * k)
            ld, lg = wgan_gp_iteration(G, D, oG, oD, real[sl], z[sl], t[sl])
        else:
            ld, lg = train_iteration(G, D, oG, oD, bce, real[it], z[it], ones, zeros)
        if it + 1 in MARKS:
            out[f"G{it + 1}"] = torch.cat([p.detach().flatten() for p in G.parameters()]).float()
            out[f"D{it + 1}"] = torch.cat([p.detach().flatten() for p in D.parameters()]).float()
            out[f"GB{it + 1}"] = torch.cat([b.flatten() for n, b in G.named_buffers()
                                            if not n.endswith("num_batches_tracked")]).float()
            G.eval()  # a sample as FID sees it: running statistics, no update of them
            with torch.no_grad():
                out[f"S{it + 1}"] = G(zeval.view(N_EVAL, nz, 1, 1)).flatten().float()
            G.train()
            print(f"step {it + 1} loss_D {ld:.6f} loss_G {lg:.6f}", flush=True)
    write_st(f"{a.prefix}_{a.dtype}_t{a.threads}{'_nomkldnn' if a.no_mkldnn else ''}.safetensors", out)


if __name__ == "__main__":
    main()
