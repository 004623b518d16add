#!/usr/bin/python3
"""make_parity_fixtures.py: PyTorch reference runs for tests/test_parity.c.

Builds the PyTorch twins of two ganforge architectures at reduced widths, runs exactly
ganforge's training-step protocol (src/models/gan.c: gf__gan_d_step / gf__gan_g_step) for a
few iterations on given noise and real batches, and writes the initial state, the inputs, the
per-iteration statistics and the final state into safetensors fixtures:

  tests/fixtures/parity_mlp.safetensors        preset mlp-mnist (Linear-ReLU-BatchNorm1d G with
                                               tanh output, LeakyReLU D, BCE, Adam), reusing the
                                               D step's fakes in the G step (train.g_fresh_noise=0)
  tests/fixtures/parity_goodfellow.safetensors preset goodfellow-mnist without dropout (maxout D,
                                               sigmoid G, minimax G loss, classical momentum SGD
                                               with lr decay), fresh noise for the G step

Usage (torch 1.13 from Debian's python3-torch; no other packages needed):
  /usr/bin/python3 tools/make_parity_fixtures.py [--out tests/fixtures]

Tensor names follow ganforge (gf__net_tensors): "G.net.<i>.weight" with i the nn.Sequential
index (every layer counts, activations and BatchNorm included), "G.net.<i>.running_mean" etc.
Inputs: z_<t> [B, nz] (noise of D step t), zg_<t> (noise of G step t, fresh-noise fixtures
only), x_<t> [B, 784] real batches in [-1, 1] (or [0, 1] for a sigmoid G). After iteration t:
loss_d_<t>, loss_g_<t>, d_real_<t>, d_fake_<t> ([1] each). After the last: "final.<name>" for
every parameter and buffer. Optional: zs [B, nz] and sample [B, 784] = G in eval mode.
Metadata: "preset", "overrides" (config keys applied on top of the preset), "iters", "batch".
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def write_safetensors(path, tensors, metadata):
    """Writes float32 tensors (dict name -> np.ndarray, in insertion order) by hand:
    u64 little-endian header length, JSON header (padded with spaces to 8 bytes), raw data."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class Maxout(nn.Module):
    """y[n, u] = max_j x[n, u*k + j] (ganforge groups k consecutive inputs)."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x.view(x.shape[0], -1, self.k).max(dim=2).values


def build_g(nz, hidden, out_dim, norm, out_act):
    layers, prev = [], nz
    for w in hidden:
        layers.append(nn.Linear(prev, w))
        if norm == "bn":
            layers.append(nn.BatchNorm1d(w))
        layers.append(nn.ReLU())
        if norm == "bn_after":
            layers.append(nn.BatchNorm1d(w))
        prev = w
    layers.append(nn.Linear(prev, out_dim))
    if out_act == "tanh":
        layers.append(nn.Tanh())
    elif out_act == "sigmoid":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def build_d(in_dim, hidden, act, slope=0.2, pieces=5):
    layers, prev = [], in_dim
    for w in hidden:
        if act == "maxout":
            layers.append(nn.Linear(prev, w * pieces))
            layers.append(Maxout(pieces))
        else:
            layers.append(nn.Linear(prev, w))
            layers.append(nn.LeakyReLU(slope))
        prev = w
    layers.append(nn.Linear(prev, 1))
    return nn.Sequential(*layers)


def state(prefix, net):
    """ganforge names: parameters first, then buffers (num_batches_tracked is not a ganforge tensor)."""
    out = {}
    for k, v in net.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        out[prefix + ".net." + k] = v.detach().clone().numpy()
    return out


class Adam:
    """torch.optim.Adam (the formula ganforge's cpu_adam reproduces)."""

    def __init__(self, params, lr, betas, eps):
        self.opt = torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, foreach=False)

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=False)

    def step(self):
        self.opt.step()


class Momentum:
    """ganforge's classical momentum (pylearn2): v = m*v - lr*g; p += v; then lr /= decay
    (floored at lr_min). torch.optim.SGD uses v = m*v + g; p -= lr*v instead."""

    def __init__(self, params, lr, momentum, decay, lr_min):
        self.params = list(params)
        self.v = [torch.zeros_like(p) for p in self.params]
        self.lr, self.m, self.decay, self.lr_min = lr, momentum, decay, lr_min

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        lr = np.float32(self.lr)  # ganforge passes (float)lr to the kernel
        m = np.float32(self.m)
        for p, v in zip(self.params, self.v):
            v.mul_(float(m)).sub_(float(lr) * p.grad)
            p.add_(v)
        if self.decay > 1.0:
            self.lr /= self.decay
            if self.lr < self.lr_min:
                self.lr = self.lr_min


def g_loss_fn(kind, logits):
    if kind == "nonsaturating":  # -log D(G(z)) = BCE(label 1)
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    if kind == "minimax":  # log(1 - D(G(z))) = -softplus(logit)
        return (-F.softplus(logits)).mean()
    if kind == "kl":
        return (-logits).mean()
    raise ValueError(kind)


def run(cfg, path):
    torch.manual_seed(cfg["seed"])
    B, nz, dim, iters = cfg["batch"], cfg["nz"], 784, cfg["iters"]
    G = build_g(nz, cfg["g_hidden"], dim, cfg["g_norm"], cfg["g_out"])
    D = build_d(dim, cfg["d_hidden"], cfg["d_act"], cfg.get("d_slope", 0.2), cfg.get("d_pieces", 5))
    G.train()
    D.train()
    t = {}
    t.update(state("G", G))
    t.update(state("D", D))

    gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    lo, hi = cfg["data_range"]
    zs = [torch.randn(B, nz, generator=gen) for _ in range(iters)]
    zgs = [torch.randn(B, nz, generator=gen) for _ in range(iters)] if cfg["g_fresh_noise"] else None
    # real batches: smooth blobs plus noise, clipped to the data range (MNIST-like value spread)
    xs = []
    for _ in range(iters):
        u = torch.rand(B, 1, 28, 28, generator=gen)
        blob = F.avg_pool2d(F.pad(u, (3, 3, 3, 3), mode="replicate"), 7, stride=1)
        x = (blob - blob.mean()) * 6.0
        x = torch.sigmoid(x) * (hi - lo) + lo
        xs.append(x.reshape(B, dim).contiguous())
    for i in range(iters):
        t["z_%d" % i] = zs[i].numpy()
        t["x_%d" % i] = xs[i].numpy()
        if zgs is not None:
            t["zg_%d" % i] = zgs[i].numpy()

    if cfg["optimizer"] == "adam":
        optG = Adam(G.parameters(), cfg["lr"], (0.5, 0.999), 1e-8)
        optD = Adam(D.parameters(), cfg["lr"], (0.5, 0.999), 1e-8)
    else:
        optG = Momentum(G.parameters(), cfg["lr"], cfg["momentum"], cfg["lr_decay"], cfg["lr_min"])
        optD = Momentum(D.parameters(), cfg["lr"], cfg["momentum"], cfg["lr_decay"], cfg["lr_min"])

    for i in range(iters):
        # ---- D step (gf__gan_d_step): G forward in train mode, D on real (label 1) and on the
        # detached fakes (label 0), sum of the two mean BCEs, backward, optimizer step on D
        fake = G(zs[i])
        optD.zero_grad()
        lr_ = D(xs[i])
        lf_ = D(fake.detach())
        loss_real = F.binary_cross_entropy_with_logits(lr_, torch.ones_like(lr_))
        loss_fake = F.binary_cross_entropy_with_logits(lf_, torch.zeros_like(lf_))
        loss_d = loss_real + loss_fake
        loss_d.backward()
        optD.step()
        t["loss_d_%d" % i] = np.array([loss_d.item()], np.float32)
        t["d_real_%d" % i] = np.array([torch.sigmoid(lr_).mean().item()], np.float32)
        t["d_fake_%d" % i] = np.array([torch.sigmoid(lf_).mean().item()], np.float32)
        # ---- G step (gf__gan_g_step): reuse the D step's fakes (g_fresh_noise=0) or a fresh G
        # forward on new noise; D (updated, train mode) on the fakes, G loss, backward into G
        if zgs is not None:
            fake = G(zgs[i])
        optG.zero_grad()
        out = D(fake)
        loss_g = g_loss_fn(cfg["g_loss"], out)
        loss_g.backward()
        optG.step()
        t["loss_g_%d" % i] = np.array([loss_g.item()], np.float32)

    fin = {}
    fin.update(state("G", G))
    fin.update(state("D", D))
    for k, v in fin.items():
        t["final." + k] = v
    if cfg.get("sample"):
        G.eval()
        z = torch.randn(B, nz, generator=gen)
        with torch.no_grad():
            s = G(z)
        t["zs"] = z.numpy()
        t["sample"] = s.numpy()

    meta = {"preset": cfg["preset"], "overrides": cfg["overrides"], "iters": iters, "batch": B,
            "generator": "tools/make_parity_fixtures.py (torch %s)" % torch.__version__}
    write_safetensors(path, t, meta)
    print("%s: %d tensors, %d bytes" % (path, len(t), os.path.getsize(path)))
    for i in range(iters):
        print("  iter %d: loss_d %.6f loss_g %.6f d_real %.4f d_fake %.4f" % (
            i, t["loss_d_%d" % i][0], t["loss_g_%d" % i][0], t["d_real_%d" % i][0], t["d_fake_%d" % i][0]))


MLP = {
    "preset": "mlp-mnist",
    "overrides": "model.nz=16 model.g_hidden=32,64,64 model.d_hidden=32,16 train.batch=8",
    "seed": 20240601, "batch": 8, "nz": 16, "iters": 3,
    "g_hidden": [32, 64, 64], "g_norm": "bn_after", "g_out": "tanh",
    "d_hidden": [32, 16], "d_act": "lrelu", "d_slope": 0.2,
    "optimizer": "adam", "lr": 2e-4, "g_loss": "nonsaturating", "g_fresh_noise": 0,
    "data_range": (-1.0, 1.0), "sample": True,
}

GOODFELLOW = {
    "preset": "goodfellow-mnist",
    "overrides": "model.nz=16 model.g_hidden=32,32 model.d_hidden=8,8 model.d_pieces=5 "
                 "model.d_dropout_in=0 model.d_dropout=0 train.g_loss=minimax train.g_fresh_noise=1 "
                 "train.momentum=0.5 train.momentum_final=-1 train.lr=0.1 train.lr_decay=1.1 "
                 "train.lr_min=1e-6 train.batch=8",
    "seed": 20240602, "batch": 8, "nz": 16, "iters": 3,
    "g_hidden": [32, 32], "g_norm": "none", "g_out": "sigmoid",
    "d_hidden": [8, 8], "d_act": "maxout", "d_pieces": 5,
    "optimizer": "sgd", "lr": 0.1, "momentum": 0.5, "lr_decay": 1.1, "lr_min": 1e-6,
    "g_loss": "minimax", "g_fresh_noise": 1,
    "data_range": (0.0, 1.0), "sample": False,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    run(MLP, os.path.join(a.out, "parity_mlp.safetensors"))
    run(GOODFELLOW, os.path.join(a.out, "parity_goodfellow.safetensors"))


if __name__ == "__main__":
    main()
