#!/usr/bin/env python3
"""PyTorch parity fixtures for tests/test_cond_parity.c: 3 training iterations (D step on a real
and a fake batch, then G step on the same fakes, as gf__gan_d_step / gf__gan_g_step) of reduced
conditional models, and the DiffAugment forward for given random parameters.

  /opt/t2/bin/python tools/make_cond_fixtures.py [outdir=tests/fixtures [name ...]]

Per model <name> one file <name>.safetensors holding
  init.G.net.<i>.<param> / init.D.net.<i>.<param>   initial weights and BN buffers
  real [3, B, 1, 28, 28], y_real [3, B], z [3, B, nz], y_fake [3, B]   batches, labels, noise
  loss_d, loss_g [3]                                  losses of each iteration
  final.G.net... / final.D.net...                     after the 3 iterations
Models (28x28x1, nz 16, batch 8, 10 classes): cgan_small (cgan-mnist with G 32-64, D 64-32),
cdcgan_small (cdcgan-mnist, ngf = ndf = 8: conditional BatchNorm + projection), acgan_small
(acgan-mnist, ngf = ndf = 8), cdcgan_concat_small (cdcgan-mnist with model.cond=concat: the label
as 10 extra input channels of D), cdcgan_sn_small (cdcgan-mnist with model.dcgan_d_norm=spectral:
SNGAN-projection, spectral norm on every conv, the projection's linear weight and its class
embedding, no BatchNorm in D, so real and fake rows share one D pass; u, v buffers compared too). The ACGAN loss is BCE(source) + aux_weight x cross-entropy(class)
on real and fake rows for D, and the non-saturating BCE + aux_weight x cross-entropy for G.

Gradient penalties with conditional critics (no BatchNorm in D: one fused D pass), as
src/models/critic.c computes them, through torch.autograd.grad(create_graph=True):
cgan_gp_concat (cgan-mnist, WGAN-GP), cdcgan_gp_proj (cdcgan-mnist with model.dcgan_d_norm=none,
WGAN-GP), cdcgan_r1_concat (that D with model.cond=concat, the label as input planes; BCE + lazy
R1, gamma 1000 every 2nd D step), cdcgan_r1_sn (BCE + R1 every step on SNGAN-projection); WGAN-GP
with Adam 1e-4 (0, 0.9), lambda 10. The penalty's
forward runs D in eval mode (spectral norm: no power iteration of its own) on rows labelled with
the REAL batch's labels: R1 on the real rows; WGAN-GP on x^ = t real + (1 - t) fake with one
t ~ U[0, 1) per row (the fake of row i was drawn with label y_fake[i]; the interpolate keeps
y_real[i], as StudioGAN's cal_grad_penalty), the norm over the image input only. These files add
t [3, B] and grad0.D.<param> (D's parameter gradients of the first D step: loss + penalty).

diffaug.safetensors: x [6, 3, 16, 12] and x1 [4, 1, 28, 28], params [.., 8] uniforms, and the
outputs of Zhao et al.'s DiffAugment (color, translation, cutout; written here as their
functions with the random draws replaced by the given parameters) for every transform alone
and all three (y_color, y_translation, y_cutout, y_all; y1_all for x1).
"""
import os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cond_modules import CondDiscriminator, CondGenerator, CondBatchNorm, Projection  # noqa: E402
from make_dcgan_fixtures import write_st  # noqa: E402

BASE = {"model.bn_eps": "1e-5", "model.bn_momentum": "0.1", "model.d_slope": "0.2", "model.nz": "16",
        "model.n_classes": "10", "model.nc": "1", "model.size": "28", "model.d_norm": "none", "model.d_dropout": "0",
        "model.d_dropout_in": "0", "model.dcgan_d_norm": "bn"}


def param_of(m):  # the parameter: weight_orig under spectral norm
    return m.weight_orig if hasattr(m, "weight_orig") else m.weight


def init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(param_of(m), 0.0, 0.02)
        if m.bias is not None:
            nn.init.normal_(m.bias, 0.0, 0.02)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.normal_(m.bias, 0.0, 0.02)
    elif isinstance(m, CondBatchNorm):
        nn.init.normal_(m.weight, 1.0, 0.1)
        nn.init.normal_(m.bias, 0.0, 0.1)
    elif isinstance(m, Projection):
        nn.init.normal_(param_of(m), 0.0, 0.02)
        nn.init.normal_(param_of(m.embed), 0.0, 0.1)


def state(prefix, net):
    return {f"{prefix}.{k}": v.detach().clone() for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def d_loss(out, target, y, acgan, w):
    if not acgan:
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))
    src = out[:, :1]
    return F.binary_cross_entropy_with_logits(src, torch.full_like(src, target)) + w * F.cross_entropy(out[:, 1:], y)


def penalty(D, x, y, pen):
    """pen["loss"] wgan-gp: lambda mean (|g| - 1)^2; R1: gamma every / 2 mean |g|^2, g = d sum D(x, y) / dx."""
    x = x.detach().clone().requires_grad_(True)
    D.eval()  # spectral norm: no power iteration of its own
    out = D(x, y)
    D.train()
    g, = torch.autograd.grad(out.sum(), x, create_graph=True)
    g = g.reshape(x.shape[0], -1)
    if pen["loss"] == "wgan-gp":
        return pen["gp_lambda"] * ((g.norm(2, dim=1) - 1) ** 2).mean()
    return pen["r1"] * pen["r1_every"] / 2 * g.pow(2).sum(1).mean()


def make(name, cfg, out, B=8, iters=3, seed=0, only=None, pen=None):
    if only and name not in only:
        return
    torch.manual_seed(seed)
    c = {**BASE, **cfg}
    nz, K = int(c["model.nz"]), int(c["model.n_classes"])
    G, D = CondGenerator(c, (1, 28, 28)), CondDiscriminator(c, (1, 28, 28))
    G.apply(init)
    D.apply(init)
    T = {}
    for k, v in {**state("G", G), **state("D", D)}.items():
        T["init." + k] = v
    real = torch.rand(iters, B, 1, 28, 28) * 2 - 1
    y_real = torch.randint(0, K, (iters, B))
    z = torch.randn(iters, B, nz)
    y_fake = torch.randint(0, K, (iters, B))
    t = torch.rand(iters, B)
    acgan, w = c["model.cond"] == "acgan", 1.0
    loss = pen["loss"] if pen else "bce"
    # no BatchNorm in D: real and fake rows share one D pass (gf__gan_d_step's fused pass; with
    # spectral norm that is one power iteration per D step, as there)
    fused = not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    lr, betas = (pen.get("lr", 2e-4), pen.get("betas", (0.5, 0.999))) if pen else (2e-4, (0.5, 0.999))
    oG = torch.optim.Adam(G.parameters(), lr, betas=betas)
    oD = torch.optim.Adam(D.parameters(), lr, betas=betas)
    lds, lgs = [], []
    for it in range(iters):
        fake = G(z[it], y_fake[it])
        oD.zero_grad()
        if fused:
            both = D(torch.cat([real[it], fake.detach()]), torch.cat([y_real[it], y_fake[it]]))
            out_r, out_f = both[:B], both[B:]
        else:
            out_r, out_f = D(real[it], y_real[it]), D(fake.detach(), y_fake[it])
        if loss == "wgan-gp":
            ld = out_f.mean() - out_r.mean()
        else:
            ld = d_loss(out_r, 1.0, y_real[it], acgan, w) + d_loss(out_f, 0.0, y_fake[it], acgan, w)
        if loss == "wgan-gp":
            tt = t[it].view(B, 1, 1, 1)
            ld = ld + penalty(D, tt * real[it] + (1 - tt) * fake.detach(), y_real[it], pen)
        elif pen and it % pen["r1_every"] == 0:
            ld = ld + penalty(D, real[it], y_real[it], pen)
        ld.backward()
        if pen and it == 0:
            for k, p in D.named_parameters():
                T["grad0.D." + k] = p.grad.detach().clone()
        oD.step()
        oG.zero_grad()
        if loss == "wgan-gp":
            lg = -D(fake, y_fake[it]).mean()
        else:
            lg = d_loss(D(fake, y_fake[it]), 1.0, y_fake[it], acgan, w)
        lg.backward()
        oG.step()
        lds.append(ld.item())
        lgs.append(lg.item())
    for k, v in {**state("G", G), **state("D", D)}.items():
        T["final." + k] = v
    if pen:
        T["t"] = t
    T.update({"real": real, "y_real": y_real.float(), "z": z, "y_fake": y_fake.float(),
              "loss_d": torch.tensor(lds), "loss_g": torch.tensor(lgs)})
    path = os.path.join(out, name + ".safetensors")
    write_st(path, T)
    print(path, os.path.getsize(path), "bytes; loss_d", lds, "loss_g", lgs)


# ---- DiffAugment (Zhao et al. 2020) with its random draws given -------------------------------
def pick(u, n):  # floor(u * n) in [0, n), as gf__k_aug_pick (float32)
    return torch.clamp((u * n).floor().long(), 0, n - 1)


def brightness(x, p):
    return x + (p[:, 0] - 0.5).view(-1, 1, 1, 1)


def saturation(x, p):
    m = x.mean(dim=1, keepdim=True)
    return (x - m) * (p[:, 1] * 2).view(-1, 1, 1, 1) + m


def contrast(x, p):
    m = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - m) * (p[:, 2] + 0.5).view(-1, 1, 1, 1) + m


def translation(x, p, ratio=0.125):
    B, C, H, W = x.shape
    sx, sy = int(H * ratio + 0.5), int(W * ratio + 0.5)
    tx = (pick(p[:, 3], 2 * sx + 1) - sx).view(B, 1, 1)
    ty = (pick(p[:, 4], 2 * sy + 1) - sy).view(B, 1, 1)
    gb, gx, gy = torch.meshgrid(torch.arange(B), torch.arange(H), torch.arange(W), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, H + 1)
    gy = torch.clamp(gy + ty + 1, 0, W + 1)
    xp = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return xp.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def cutout(x, p, ratio=0.5):
    B, C, H, W = x.shape
    cs = int(H * ratio + 0.5), int(W * ratio + 0.5)
    ox = pick(p[:, 5], H + (1 - cs[0] % 2)).view(B, 1, 1)
    oy = pick(p[:, 6], W + (1 - cs[1] % 2)).view(B, 1, 1)
    gb, gx, gy = torch.meshgrid(torch.arange(B), torch.arange(cs[0]), torch.arange(cs[1]), indexing="ij")
    gx = torch.clamp(gx + ox - cs[0] // 2, min=0, max=H - 1)
    gy = torch.clamp(gy + oy - cs[1] // 2, min=0, max=W - 1)
    mask = torch.ones(B, H, W, dtype=x.dtype)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


def diffaug(x, p, color=True, trans=True, cut=True):
    if color:
        x = contrast(saturation(brightness(x, p), p), p)
    if trans:
        x = translation(x, p)
    if cut:
        x = cutout(x, p)
    return x


def make_diffaug(out, seed=1):
    torch.manual_seed(seed)
    x = torch.rand(6, 3, 16, 12) * 2 - 1
    p = torch.rand(6, 8)
    p[0, 3:7] = torch.tensor([0.0, 0.9999, 0.0, 0.9999])   # extreme shifts and cut positions
    p[1, 3:7] = torch.tensor([0.9999, 0.0, 0.9999, 0.0])
    x1 = torch.rand(4, 1, 28, 28) * 2 - 1
    p1 = torch.rand(4, 8)
    T = {"x": x, "params": p, "x1": x1, "params1": p1,
         "y_color": diffaug(x, p, True, False, False), "y_translation": diffaug(x, p, False, True, False),
         "y_cutout": diffaug(x, p, False, False, True), "y_all": diffaug(x, p), "y1_all": diffaug(x1, p1)}
    path = os.path.join(out, "diffaug.safetensors")
    write_st(path, T)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    mlp = {"model.arch": "mlp", "model.g_hidden": "32,64", "model.g_act": "relu", "model.g_norm": "bn_after",
           "model.g_out": "tanh", "model.d_hidden": "64,32", "model.d_act": "lrelu"}
    dc = {"model.arch": "dcgan", "model.ngf": "8", "model.ndf": "8"}
    only = sys.argv[2:]  # names to write (default: all)
    make("cgan_small", {**mlp, "model.cond": "concat"}, out, only=only)
    make("cdcgan_small", {**dc, "model.cond": "projection"}, out, only=only)
    make("acgan_small", {**dc, "model.cond": "acgan"}, out, only=only)
    make("cdcgan_concat_small", {**dc, "model.cond": "concat"}, out, only=only)
    make("cdcgan_sn_small", {**dc, "model.cond": "projection", "model.dcgan_d_norm": "spectral"}, out, only=only)
    # gradient penalties with conditional critics (WGAN-GP with Gulrajani et al.'s Adam (0, 0.9))
    gp = {"loss": "wgan-gp", "gp_lambda": 10.0, "lr": 1e-4, "betas": (0.0, 0.9)}
    r1 = {"loss": "bce", "r1": 10.0, "r1_every": 2}
    nobn = {**dc, "model.dcgan_d_norm": "none"}
    make("cgan_gp_concat", {**mlp, "model.cond": "concat"}, out, only=only, seed=1, pen=gp)
    make("cdcgan_gp_proj", {**nobn, "model.cond": "projection"}, out, only=only, seed=2, pen=gp)
    # gamma 1000: at this init the input gradients are small, and R1's share of D's gradient
    # should be large enough for the comparison to see it
    make("cdcgan_r1_concat", {**nobn, "model.cond": "concat"}, out, only=only, seed=4, pen={**r1, "r1": 1000.0})
    make("cdcgan_r1_sn", {**dc, "model.cond": "projection", "model.dcgan_d_norm": "spectral"}, out, only=only, seed=5,
         pen={**r1, "r1_every": 1})
    if not only or "diffaug" in only:
        make_diffaug(out)
