#!/usr/bin/env python3
"""torch_twin.py: trains the PyTorch twin of a ganforge MLP or DCGAN run (same architecture,
initialisation scheme, optimiser, batch, epochs and step order, read from the run's config.txt) on
MNIST, then writes 10,000 samples as a float32 .npy [n, 1, 28, 28] in [-1, 1] for `ganforge eval`,
so that both runs are scored by the same code.

  python3 tools/torch_twin.py RUN/config.txt MNIST_DIR OUT.npy [--threads 2] [--seed 1]

The step is the one ganforge takes (src/models/gan.c): D on a real batch and a fake batch (BCE with
logits, labels 1 / 0), then G with the non-saturating loss on the same fakes."""
import argparse, gzip, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_in_pytorch import build_generator, parse_config  # noqa: E402


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic != 0x803:
        raise SystemExit(f"{path}: not an IDX image file")
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)


def build_discriminator(cfg):
    slope = float(cfg["model.d_slope"])
    if cfg["model.arch"] == "dcgan":
        ndf, eps, mom = int(cfg["model.ndf"]), float(cfg["model.bn_eps"]), float(cfg["model.bn_momentum"])
        return nn.Sequential(nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(slope),
                             nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ndf, eps=eps, momentum=mom),
                             nn.LeakyReLU(slope), nn.Conv2d(2 * ndf, 1, 7, 1, 0, bias=False), nn.Flatten())
    widths = [int(x) for x in cfg["model.d_hidden"].split(",") if x]
    layers, prev = [nn.Flatten()], 784
    for w in widths:
        layers += [nn.Linear(prev, w), nn.LeakyReLU(slope)]
        prev = w
    layers.append(nn.Linear(prev, 1))
    return nn.Sequential(*layers)


def dcgan_init(m, std):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, std)
    elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(m.weight, 1.0, std)
        nn.init.zeros_(m.bias)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("mnist")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (smoke tests)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = parse_config(open(a.config).read())
    if cfg["data.name"] != "mnist" or cfg["model.arch"] not in ("mlp", "dcgan"):
        raise SystemExit("torch_twin.py covers MLP and DCGAN runs on MNIST")
    if cfg["train.optimizer"] != "adam" or cfg["train.g_loss"] != "nonsaturating" or cfg["train.d_steps"] != "1":
        raise SystemExit("torch_twin.py covers Adam, non-saturating G loss, k = 1")
    imgs = [f for f in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte") if os.path.exists(os.path.join(a.mnist, f))]
    x = torch.from_numpy(read_idx(os.path.join(a.mnist, imgs[0])).astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
    G, D = build_generator(cfg), build_discriminator(cfg)
    if cfg["model.arch"] == "dcgan":
        G.apply(lambda m: dcgan_init(m, float(cfg["model.g_init_scale"])))
        D.apply(lambda m: dcgan_init(m, float(cfg["model.d_init_scale"])))
    lr, b1, b2 = float(cfg["train.lr"]), float(cfg["train.beta1"]), float(cfg["train.beta2"])
    oG = torch.optim.Adam(G.parameters(), lr, betas=(b1, b2))
    oD = torch.optim.Adam(D.parameters(), lr, betas=(b1, b2))
    bce = nn.BCEWithLogitsLoss()
    B, epochs, nz = int(cfg["train.batch"]), int(cfg["train.epochs"]), int(cfg["model.nz"])
    nb = x.shape[0] // B
    t0 = time.time()
    step = 0
    for ep in range(epochs):
        if a.max_steps and step >= a.max_steps:
            break
        perm = torch.randperm(x.shape[0])
        for b in range(nb):
            if a.max_steps and step >= a.max_steps:
                break
            step += 1
            real = x[perm[b * B:(b + 1) * B]]
            fake = G(torch.randn(B, nz))
            dr, df = D(real), D(fake.detach())
            ld = bce(dr, torch.ones_like(dr)) + bce(df, torch.zeros_like(df))
            oD.zero_grad()
            ld.backward()
            oD.step()
            dg = D(fake)
            lg = bce(dg, torch.ones_like(dg))
            oG.zero_grad()
            lg.backward()
            oG.step()
        print(f"epoch {ep + 1}/{epochs} loss_D {ld.item():.4f} loss_G {lg.item():.4f} {time.time() - t0:.0f} s", flush=True)
    G.eval()
    with torch.no_grad():
        s = torch.cat([G(torch.randn(500, nz)) for _ in range(a.n // 500)]).reshape(-1, 1, 28, 28)
    np.save(a.out, s.numpy().astype(np.float32))
    print(f"wrote {a.out}: {tuple(s.shape)}, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
