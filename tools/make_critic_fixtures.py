#!/usr/bin/env python3
"""make_critic_fixtures.py: PyTorch references for tests/test_critic_parity.c: whole training
iterations (train.d_steps D steps, then one G step on the last D step's fakes, as gf__gan_d_step /
gf__gan_g_step) with the losses, gradient penalties and spectral norm of src/models/critic.c, on
reduced models of the presets, written as safetensors.

  /opt/t2/bin/python tools/make_critic_fixtures.py [--out tests/fixtures] [name ...]

The protocol it follows (that of ganforge):
- D step: fakes G(z) in train mode; D without BatchNorm judges [real; fake] in ONE forward (so a
  spectrally normalised D does one power iteration per D step), D with BatchNorm judges real then
  fake; loss by train.loss; then the penalty, if any: WGAN-GP on x^ = t real + (1 - t) fake with
  one t ~ U[0, 1) per row D sees (packs), R1 on real rows every r1_every-th D step (counted from
  0) with its weight times r1_every; the penalty's own forward runs D in eval mode (spectral norm
  without a power iteration); gradients of the penalty through autograd with create_graph=True;
  one optimiser step; WGAN: clipping of every D parameter after it.
- G step: D (train mode) on the last D step's fakes (RaGAN: on [real; fake] in one forward, or
  real then fake with BatchNorm), G loss by train.loss, one optimiser step.
- DiffAugment (RaGAN fixtures with `diffaug`): D sees the rows after the transform of
  make_cond_fixtures.diffaug, with fresh uniforms for [real; fake] (real rows first) in every D
  step and in the G step; the fakes' gradient in the G step goes back through the transform.

Per fixture <name>.safetensors: init.{G,D}.net.<i>.<tensor> (weights, BatchNorm buffers, spectral
norm's weight_orig / weight_u / weight_v), real [S, B, c, h, w] and z [S, B, nz] for the S = iters
x d_steps D steps, t [S, Bd] (WGAN-GP's coefficients), aug_u [iters, d_steps + 1, 2B, 8] (DiffAugment
fixtures: each D step's, then the G step's uniforms for [real; fake], in ganforge's draw order), loss_d [S], loss_g [iters], grad0.D.<...>
(D's parameter gradients after the first D step: loss plus penalty), final.{G,D}.<...>. Metadata:
preset, overrides (config keys on top of the preset), iters, d_steps, batch, c, h, w.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_cond_fixtures import diffaug  # noqa: E402
from make_parity_fixtures import Maxout, write_safetensors  # noqa: E402


def sn(m, on):
    return spectral_norm(m) if on else m


def dcgan_init(m):
    """ganforge's normal init (N(0, 0.02) weights, zero biases; BatchNorm weight N(1, 0.02))."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def dcgan_g(nz, ngf, nc, size):
    def block(i, o, k, s, p):
        return [nn.ConvTranspose2d(i, o, k, s, p, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    if size == 28:
        layers = block(nz, 4 * ngf, 7, 1, 0) + block(4 * ngf, 2 * ngf, 4, 2, 1)
        prev = 2 * ngf
    else:
        levels = size.bit_length() - 3
        layers = block(nz, ngf << (levels - 1), 4, 1, 0)
        for k in range(levels - 2, -1, -1):
            layers += block(ngf << (k + 1), ngf << k, 4, 2, 1)
        prev = ngf
    return nn.Sequential(*layers, nn.ConvTranspose2d(prev, nc, 4, 2, 1, bias=False), nn.Tanh())


def dcgan_d(nc, ndf, size, norm, slope, spectral):
    """build_dcgan_d: norm 'bn' (BatchNorm after the inner convolutions) or not (they get a bias)."""
    bn = norm == "bn"
    layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(slope)]
    chans = [ndf << k for k in range(1, 2 if size == 28 else size.bit_length() - 3)]
    prev = ndf
    for c in chans:
        layers.append(nn.Conv2d(prev, c, 4, 2, 1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(c))
        layers.append(nn.LeakyReLU(slope))
        prev = c
    layers += [nn.Conv2d(prev, 1, 7 if size == 28 else 4, 1, 0, bias=False), nn.Flatten()]
    D = nn.Sequential(*layers)
    D.apply(dcgan_init)
    if spectral:  # after the init: weight_orig keeps the initialised values
        for i, m in enumerate(D):
            if isinstance(m, nn.Conv2d):
                D[i] = spectral_norm(m)
    return D


def mlp_g(nz, hidden, out_dim, norm, out_act):
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
    return nn.Sequential(*layers)


def mlp_d(in_dim, hidden, act, norm, spectral, slope=0.2, pieces=5):
    layers, prev = [], in_dim
    for w in hidden:
        layers.append(sn(nn.Linear(prev, w * pieces if act == "maxout" else w), spectral))
        if norm == "bn":
            layers.append(nn.BatchNorm1d(w * pieces if act == "maxout" else w))
        layers.append(Maxout(pieces) if act == "maxout" else nn.LeakyReLU(slope))
        prev = w
    layers.append(sn(nn.Linear(prev, 1), spectral))
    return nn.Sequential(*layers)


def state(prefix, net):
    return {f"{prefix}.net.{k}": v.detach().clone().numpy() for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def has_bn(net):
    return any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in net.modules())


def d_losses(kind, lr, lf):
    """D's loss on real and fake logits (gf__critic_d_loss)."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + \
            F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
    if kind in ("wgan", "wgan-gp"):
        return lf.mean() - lr.mean()
    if kind == "hinge":
        return F.relu(1 - lr).mean() + F.relu(1 + lf).mean()
    if kind == "lsgan":
        return ((lr - 1) ** 2).mean() + (lf ** 2).mean()
    if kind == "ragan":
        return F.binary_cross_entropy_with_logits(lr - lf.mean(), torch.ones_like(lr)) + \
            F.binary_cross_entropy_with_logits(lf - lr.mean(), torch.zeros_like(lf))
    raise ValueError(kind)


def g_loss(kind, lf, lr=None):
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))
    if kind in ("wgan", "wgan-gp", "hinge"):
        return -lf.mean()
    if kind == "lsgan":
        return ((lf - 1) ** 2).mean()
    if kind == "ragan":
        return F.binary_cross_entropy_with_logits(lr - lf.mean(), torch.zeros_like(lr)) + \
            F.binary_cross_entropy_with_logits(lf - lr.mean(), torch.ones_like(lf))
    raise ValueError(kind)


def run(spec, out):
    torch.manual_seed(spec["seed"])
    G, D = spec["build"]()
    c, h, w = spec["shape"]
    B, nz, iters, ks = spec["batch"], spec["nz"], spec["iters"], spec["d_steps"]
    pack = spec.get("pack", 1)
    Bd = B // pack
    S = iters * ks
    loss = spec["loss"]
    T = {}
    for k, v in {**state("G", G), **state("D", D)}.items():
        T["init." + k] = v
    gen = torch.Generator().manual_seed(spec["seed"] + 1)
    real = torch.rand(S, B, c, h, w, generator=gen) * 2 - 1
    z = torch.randn(S, B, nz, generator=gen)
    t = torch.rand(S, Bd, generator=gen)
    # DiffAugment's uniforms in the order ganforge draws them: per D step, then per G step, the
    # [real; fake] rows' GF_DIFFAUG_NPARAM (8) each (read back through gan.aug->params_override)
    aug = spec.get("diffaug")
    u = torch.rand(iters, ks + 1, 2 * B, 8, generator=gen) if aug else None
    oG = spec["opt"](G.parameters(), spec["lr"])
    oD = spec["opt"](D.parameters(), spec.get("lr_d", spec["lr"]))
    bn = has_bn(D)
    flat = spec["flat"]  # MLP: D and G see [B, c*h*w]

    def shaped(x):
        return x.reshape(B, -1) if flat else x

    def packed(x):  # [B, ...] read as [Bd, pack * ...]
        return x.reshape(Bd, pack * x.shape[1], *x.shape[2:])

    def gz(zz):
        return G(zz if flat else zz.view(B, nz, 1, 1))

    def augd(x, p):  # DiffAugment of [n, ...] rows (samples: pack 1) with the uniforms p [n, 8]
        if not aug:
            return x
        return diffaug(x.reshape(-1, c, h, w), p, "color" in aug, "translation" in aug, "cutout" in aug
                       ).reshape(x.shape)

    def judge(xr, xf, p):  # D's logits on the real and the fake rows (p: [2B, 8] uniforms, real first)
        if bn:
            return D(augd(xr, p[:B] if aug else None)), D(augd(xf, p[B:] if aug else None))
        both = D(augd(torch.cat([xr, xf]), p))
        return both[:Bd], both[Bd:]

    ld_all, lg_all = [], []
    step = 0
    fake = None
    for it in range(iters):
        for k in range(ks):
            xr = packed(shaped(real[step]))
            fake = gz(z[step])
            xf = packed(fake.detach())
            oD.zero_grad()
            lr_, lf_ = judge(xr, xf, u[it, k] if aug else None)
            ld = d_losses(loss, lr_, lf_)
            pen = None
            if loss == "wgan-gp":
                tt = t[step].view(Bd, *([1] * (xr.dim() - 1)))
                pen_x = (tt * xr + (1 - tt) * xf).requires_grad_(True)
            elif spec.get("r1", 0) > 0 and step % spec["r1_every"] == 0:
                pen_x = xr.detach().clone().requires_grad_(True)
            else:
                pen_x = None
            if pen_x is not None:
                D.eval()  # spectral norm: no power iteration of its own
                out_p = D(pen_x)
                D.train()
                g, = torch.autograd.grad(out_p.sum(), pen_x, create_graph=True)
                g = g.reshape(Bd, -1)
                if loss == "wgan-gp":
                    pen = spec["gp_lambda"] * ((g.norm(2, dim=1) - 1) ** 2).mean()
                else:
                    pen = spec["r1"] * spec["r1_every"] / 2 * g.pow(2).sum(1).mean()
                ld = ld + pen
            ld.backward()
            oD.step()
            if spec.get("clip", 0) > 0:
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-spec["clip"], spec["clip"])
            if step == 0:
                for name, p in D.named_parameters():
                    T["grad0.D.net." + name] = p.grad.detach().clone().numpy()
            ld_all.append(ld.item())
            step += 1
        # G step on the last D step's fakes
        oG.zero_grad()
        xf = packed(fake)
        if loss == "ragan":
            xr = packed(shaped(real[step - 1]))
            lr_, lf_ = judge(xr, xf, u[it, ks] if aug else None)
            lg = g_loss(loss, lf_, lr_.detach())
        else:
            assert not aug, "DiffAugment fixtures: train.loss=ragan only"
            lg = g_loss(loss, D(xf))
        lg.backward()
        oG.step()
        lg_all.append(lg.item())
    for k, v in {**state("G", G), **state("D", D)}.items():
        T["final." + k] = v
    T["real"] = real.numpy()
    T["z"] = z.numpy()
    T["t"] = t.numpy()
    if aug:
        T["aug_u"] = u.numpy()
    T["loss_d"] = np.array(ld_all, np.float32)
    T["loss_g"] = np.array(lg_all, np.float32)
    meta = {"preset": spec["preset"], "overrides": spec["overrides"], "iters": iters, "d_steps": ks, "batch": B,
            "c": c, "h": h, "w": w, "generator": "tools/make_critic_fixtures.py (torch %s)" % torch.__version__}
    path = os.path.join(out, spec["name"] + ".safetensors")
    write_safetensors(path, T, meta)
    print("%s: %d tensors, %d bytes; loss_d %s; loss_g %s" % (path, len(T), os.path.getsize(path),
          np.round(ld_all, 5).tolist(), np.round(lg_all, 5).tolist()))


def adam(b1, b2):
    return lambda p, lr: torch.optim.Adam(p, lr, betas=(b1, b2), eps=1e-8, foreach=False)


def sgd(p, lr):
    return torch.optim.SGD(p, lr, momentum=0.0, foreach=False)


def rmsprop(p, lr):
    return torch.optim.RMSprop(p, lr, alpha=0.99, eps=1e-8, foreach=False)


DC28 = "model.ngf=8 model.ndf=8 model.nz=16 train.batch=4"
MLP = "model.nz=16 model.g_hidden=32,64 model.d_hidden=32,16 train.batch=8"
MLPA = "model.nz=8 model.g_hidden=16 model.d_hidden=8 train.batch=8"
SPECS = [
    # WGAN: critic with BatchNorm (real and fake judged apart), clipping, RMSprop, 2 critic steps
    dict(name="critic_wgan", preset="wgan-mnist", overrides=DC28 + " train.d_steps=2 train.lr=5e-4",
         build=lambda: (dcgan_g(16, 8, 1, 28).apply(dcgan_init), dcgan_d(1, 8, 28, "bn", 0.2, False)),
         shape=(1, 28, 28), flat=False, batch=4, nz=16, iters=2, d_steps=2, loss="wgan", clip=0.01,
         opt=rmsprop, lr=5e-4, seed=11),
    # WGAN-GP: the wgan-gp-mnist critic (no BatchNorm), Adam (0, 0.9), lambda 10, 2 critic steps
    dict(name="critic_wgangp", preset="wgan-gp-mnist", overrides=DC28 + " train.d_steps=2",
         build=lambda: (dcgan_g(16, 8, 1, 28).apply(dcgan_init), dcgan_d(1, 8, 28, "none", 0.2, False)),
         shape=(1, 28, 28), flat=False, batch=4, nz=16, iters=2, d_steps=2, loss="wgan-gp", gp_lambda=10.0,
         opt=adam(0.0, 0.9), lr=1e-4, seed=12),
    # hinge + spectral norm on every conv of a 32x32 RGB DCGAN critic (sngan-folder)
    dict(name="critic_hinge_sn", preset="sngan-folder", overrides="model.ngf=4 model.ndf=4 model.nz=16 train.batch=4",
         build=lambda: (dcgan_g(16, 4, 3, 32).apply(dcgan_init), dcgan_d(3, 4, 32, "spectral", 0.1, True)),
         shape=(3, 32, 32), flat=False, batch=4, nz=16, iters=3, d_steps=1, loss="hinge",
         opt=adam(0.5, 0.999), lr=2e-4, seed=13),
    # LSGAN on the MLP nets (mlp-mnist's, reduced, on 8x8 images: the nets take their sizes from the data)
    dict(name="critic_lsgan", preset="mlp-mnist", overrides=MLP + " train.loss=lsgan",
         build=lambda: (mlp_g(16, [32, 64], 64, "bn_after", "tanh"), mlp_d(64, [32, 16], "lrelu", "none", False)),
         shape=(1, 8, 8), flat=True, batch=8, nz=16, iters=3, d_steps=1, loss="lsgan",
         opt=adam(0.5, 0.999), lr=2e-4, seed=14),
    # RaGAN on the MLP nets (one fused D pass), TTUR rates. Plain SGD: a relativistic loss is blind
    # to D's last bias (its true gradient is 0), and Adam would turn rounding noise into full steps
    dict(name="critic_ragan", preset="mlp-mnist",
         overrides=MLP + " train.loss=ragan train.optimizer=sgd train.momentum=0 train.lr=0.05 train.lr_d=0.1",
         build=lambda: (mlp_g(16, [32, 64], 64, "bn_after", "tanh"), mlp_d(64, [32, 16], "lrelu", "none", False)),
         shape=(1, 8, 8), flat=True, batch=8, nz=16, iters=3, d_steps=1, loss="ragan",
         opt=sgd, lr=0.05, lr_d=0.1, seed=15),
    # RaGAN with BatchNorm in D (real and fake apart)
    dict(name="critic_ragan_bn", preset="mlp-mnist",
         overrides=MLP + " train.loss=ragan model.d_norm=bn train.optimizer=sgd train.momentum=0 train.lr=0.05",
         build=lambda: (mlp_g(16, [32, 64], 64, "bn_after", "tanh"), mlp_d(64, [32, 16], "lrelu", "bn", False)),
         shape=(1, 8, 8), flat=True, batch=8, nz=16, iters=2, d_steps=1, loss="ragan",
         opt=sgd, lr=0.05, seed=16),
    # RaGAN with DiffAugment (colour, translation, cutout) on 8x8 RGB images: one D step and one G
    # step, fresh uniforms for [real; fake] in each (aug_u); the G step's fake gradient goes back
    # through the transform. One fused D pass, then real and fake apart (BatchNorm in D)
    dict(name="critic_ragan_aug", preset="mlp-mnist",
         overrides=MLPA + " train.loss=ragan train.diffaug=color,translation,cutout train.optimizer=sgd "
                   "train.momentum=0 train.lr=0.05 train.lr_d=0.1",
         build=lambda: (mlp_g(8, [16], 192, "bn_after", "tanh"), mlp_d(192, [8], "lrelu", "none", False)),
         shape=(3, 8, 8), flat=True, batch=8, nz=8, iters=1, d_steps=1, loss="ragan",
         diffaug="color,translation,cutout", opt=sgd, lr=0.05, lr_d=0.1, seed=19),
    dict(name="critic_ragan_aug_bn", preset="mlp-mnist",
         overrides=MLPA + " train.loss=ragan train.diffaug=color,translation,cutout model.d_norm=bn "
                   "train.optimizer=sgd train.momentum=0 train.lr=0.05",
         build=lambda: (mlp_g(8, [16], 192, "bn_after", "tanh"), mlp_d(192, [8], "lrelu", "bn", False)),
         shape=(3, 8, 8), flat=True, batch=8, nz=8, iters=1, d_steps=1, loss="ragan",
         diffaug="color,translation,cutout", opt=sgd, lr=0.05, seed=20),
    # BCE with lazy R1 (gamma 10 every 2nd D step) on a spectrally normalised MLP critic
    dict(name="critic_r1_sn", preset="mlp-mnist",
         overrides=MLP + " model.d_norm=spectral train.r1_gamma=10 train.r1_every=2",
         build=lambda: (mlp_g(16, [32, 64], 64, "bn_after", "tanh"), mlp_d(64, [32, 16], "lrelu", "none", True)),
         shape=(1, 8, 8), flat=True, batch=8, nz=16, iters=3, d_steps=1, loss="bce", r1=10.0, r1_every=2,
         opt=adam(0.5, 0.999), lr=2e-4, seed=17),
    # WGAN-GP on the grid25 nets: maxout critic on packs of 2 points, G with BatchNorm (plain SGD:
    # G's biases before BatchNorm have a true gradient of 0, which Adam (b1 0) would blow up)
    dict(name="critic_gp_maxout", preset="wgan-gp-grid25",
         overrides="model.g_hidden=16,16 model.d_hidden=8,8 model.pack=2 train.batch=8 train.d_steps=2 "
                   "train.optimizer=sgd train.momentum=0 train.lr=0.05",
         build=lambda: (mlp_g(2, [16, 16], 2, "bn", "linear"), mlp_d(4, [8, 8], "maxout", "none", False)),
         shape=(2, 1, 1), flat=True, batch=8, nz=2, iters=2, d_steps=2, loss="wgan-gp", gp_lambda=10.0, pack=2,
         opt=sgd, lr=0.05, seed=18),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures"))
    ap.add_argument("names", nargs="*", help="fixtures to write (default: all)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    for spec in SPECS:
        if not a.names or spec["name"] in a.names:
            run(spec, a.out)


if __name__ == "__main__":
    main()
