#!/usr/bin/env python3
"""torch_twin.py: trains the PyTorch twin of a ganforge MLP or DCGAN run (same architecture,
initialisation scheme, optimiser, learning-rate decay, generator EMA, packing, batch, epochs and
step order, read from the run's config.txt), then writes samples as a float32 .npy for
`ganforge eval`, so that both runs are scored by the same code.

  python3 tools/torch_twin.py RUN/config.txt MNIST_DIR OUT.npy [--threads 2] [--seed 1] [--epochs N] [--device cuda]

Data sets: mnist (10,000 samples [n, 1, 28, 28] in [-1, 1]), stacked-mnist (26,000 [n, 3, 28, 28]:
three random MNIST training digits as the channels; score with --metric stacked-modes), ring8 and
grid25 (2,500 points [n, 2], the same mixtures as src/data/synth.c; score with --metric modes
--modes ring8|grid25; MNIST_DIR is then unused).

Conditional runs (model.cond = concat | projection | acgan, MNIST): the twins of the conditional
layers and networks are in cond_modules.py; real batches carry their labels, the fakes' labels are
drawn uniformly, ACGAN adds train.aux_weight x the cross-entropy of D's class logits (real and fake
rows for D, fake rows for G); sample i of the .npy is of class i mod 10, as `ganforge sample --npy`
writes them, so `ganforge eval OUT.npy --metric cacc-mnist` scores its classes.

The step is the one ganforge takes (src/models/gan.c, critic.c): D on a real batch and a fake batch
(one pass over both when D has no BatchNorm) with train.loss (bce, wgan, wgan-gp, hinge, lsgan,
ragan) and its penalty (WGAN-GP on interpolates, lazy R1; create_graph=True), clipping after the
update (train.clip), and after every train.d_steps D steps G with the loss's generator form on the
last D step's fakes; Adam or RMSprop, train.lr_d for D (TTUR), spectral norm as
torch.nn.utils.spectral_norm. With model.pack = k
the discriminator reads k consecutive samples as one (concatenated along the channels); with
train.lr_decay the rate is divided by it after every optimiser step; with train.ema the samples
come from the weight average (decay min(ema, (1 + t) / (10 + t)) after G step t) whose BatchNorm
statistics are recomputed as the mean over ceil(2048 / batch) batches, as gf__gan_ema_enter does.

With --gf-rng INIT.safetensors (written by `gf_replay_dcgan --init PRESET SEED INIT.safetensors`)
the twin starts from the initial weights of the ganforge run of that seed and draws that run's
random numbers (gf_rng.py: each epoch's data order, the noise of every D step, WGAN-GP's
coefficients) instead of PyTorch's: the two runs then differ only in their arithmetic, so a
ganforge run and its --gf-rng twin form a pair (unconditional MLP / DCGAN runs, normal noise).
The final samples still come from PyTorch's generator."""
import argparse, gzip, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_in_pytorch import build_discriminator, build_generator, parse_config  # noqa: E402
from make_critic_fixtures import d_losses, g_loss  # noqa: E402
from cond_modules import CondBatchNorm, CondDiscriminator, CondGenerator, Projection  # noqa: E402
import gf_rng  # noqa: E402


def read_idx(path, magic_want=0x803):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic != magic_want:
        raise SystemExit(f"{path}: not an IDX file of the expected kind")
    if magic == 0x803:
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8)


def mnist_train(mnist_dir):
    for f in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        if os.path.exists(os.path.join(mnist_dir, f)):
            return read_idx(os.path.join(mnist_dir, f)).astype(np.float32) / 127.5 - 1.0
    raise SystemExit(f"{mnist_dir}: no train-images-idx3-ubyte[.gz]")


def mnist_train_labels(mnist_dir):
    for f in ("train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte"):
        if os.path.exists(os.path.join(mnist_dir, f)):
            return torch.from_numpy(read_idx(os.path.join(mnist_dir, f), 0x801).astype(np.int64))
    raise SystemExit(f"{mnist_dir}: no train-labels-idx1-ubyte[.gz]")


def mixture_modes(name):
    if name == "ring8":
        a = 2 * np.pi * np.arange(8) / 8
        return np.stack([np.cos(a), np.sin(a)], 1).astype(np.float32), 0.01
    g = np.array([(-4 + 2 * i, -4 + 2 * j) for i in range(5) for j in range(5)], np.float32)
    return g, 0.05


def load_data(cfg, mnist_dir, rng):
    """Training set as a float32 tensor [n, c, h, w]."""
    name = cfg["data.name"]
    if name in ("ring8", "grid25"):
        modes, sigma = mixture_modes(name)
        n = int(cfg["data.n"])
        x = modes[rng.integers(0, len(modes), n)] + rng.normal(0.0, sigma, (n, 2)).astype(np.float32)
        return torch.from_numpy(x.astype(np.float32)).view(n, 2, 1, 1)
    m = mnist_train(mnist_dir)
    if name == "mnist":
        return torch.from_numpy(m).unsqueeze(1)
    if name == "stacked-mnist":
        n = int(cfg.get("data.n", "0")) or 60000  # the presets set data.n = 60000
        idx = rng.integers(0, m.shape[0], (n, 3))
        return torch.from_numpy(m[idx])  # [n, 3, 28, 28]
    raise SystemExit(f"torch_twin.py: data set {name} is not covered (mnist, stacked-mnist, ring8, grid25)")


def init_net(net, kind, std, bn_std):
    """ganforge's initialisers (gf__net_init_params): torch = PyTorch's defaults; normal = N(0, std)
    weights and zero biases; BatchNorm weight N(1, bn_std) (1 when bn_std = 0), bias 0."""
    if kind not in ("torch", "normal"):
        raise SystemExit(f"torch_twin.py covers the torch and normal initialisers, not {kind}")
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and kind == "normal":
            nn.init.normal_(m.weight_orig if hasattr(m, "weight_orig") else m.weight, 0.0, std)  # spectral norm
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, CondBatchNorm)):  # CBN: per-class gamma as BN's
            if bn_std > 0:
                nn.init.normal_(m.weight, 1.0, bn_std)
            else:
                nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, Projection) and kind == "normal":  # the embedding is drawn like the weight
            for t in (m, m.embed):  # weight_orig under spectral norm (SNGAN-projection)
                nn.init.normal_(t.weight_orig if hasattr(t, "weight_orig") else t.weight, 0.0, std)
            nn.init.zeros_(m.bias)


def noise(cfg, n, nz, gen=None):
    """Noise on the default device; with a generator (a CPU one) drawn there and moved."""
    dev = gen.device if gen is not None else None
    if cfg["model.noise"] == "uniform":
        lo, hi = float(cfg["model.noise_lo"]), float(cfg["model.noise_hi"])
        z = torch.rand(n, nz, generator=gen, device=dev) * (hi - lo) + lo
    else:
        z = torch.randn(n, nz, generator=gen, device=dev)
    return z.to(torch.get_default_device())


def ema_batchnorm_stats(G, cfg, B, nz, K=0):
    """Running statistics of the averaged weights: the mean of ceil(2048 / B) batch statistics
    (a conditional G: labels i mod K in every batch)."""
    bns = [m for m in G.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, CondBatchNorm))]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    nbatch = (2048 + B - 1) // B
    for m in bns:
        if isinstance(m, CondBatchNorm):
            m.running_mean.zero_()
            m.running_var.fill_(1.0)
        else:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    G.train()
    with torch.no_grad():
        for k in range(nbatch):
            for m in bns:
                if isinstance(m, CondBatchNorm):
                    m.momentum = 1.0 / (k + 1)
            if K:
                G(noise(cfg, B, nz), torch.arange(B) % K)
            else:
                G(noise(cfg, B, nz))
    for m, mom in zip(bns, saved):
        m.momentum = mom


def load_gf_init(path, G, D, seed):
    """G's and D's initial tensors from `gf_replay_dcgan --init` (state_dict names G.*, D.*)."""
    from load_in_pytorch import read_safetensors
    tensors, meta = read_safetensors(path)
    run = parse_config(meta.get("config", ""))
    if int(run.get("train.seed", "-1")) != seed:
        raise SystemExit(f"{path}: initial weights of seed {run.get('train.seed')}, not --seed {seed}")
    for pre, net in (("G.", G), ("D.", D)):
        sd = {k[len(pre):]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith(pre)}
        if not any(k.startswith("net.") for k in net.state_dict()):  # a bare Sequential (the twins' D)
            sd = {k[4:] if k.startswith("net.") else k: v for k, v in sd.items()}
        missing, unexpected = net.load_state_dict(sd, strict=False)
        missing = [m for m in missing if not m.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise SystemExit(f"{path}: {pre[0]} state_dict mismatch: missing {missing}, unexpected {unexpected}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("mnist")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=0, help="override train.epochs")
    ap.add_argument("--n", type=int, default=0, help="samples to write (default: the metric's count)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (smoke tests)")
    ap.add_argument("--every-epoch", action="store_true",
                    help="also write OUT_epoch<E>.npy after every epoch (noise from its own generator: the training "
                         "and the final samples are those of a run without it; MLP / DCGAN without EMA)")
    ap.add_argument("--checkpoint", default="",
                    help="save the whole training state to this file after every epoch and, when it exists, continue "
                         "from it (the run then ends as an uninterrupted one would; CPU runs only)")
    ap.add_argument("--limit", type=int, default=0,
                    help="train on the first N images only (ganforge's data.limit; rehearsals of a long run)")
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda[:N]: every tensor on it (torch.set_default_device); the same recipe, "
                         "other random streams than a CPU run of the same seed")
    ap.add_argument("--gf-rng", metavar="INIT", default="",
                    help="start from a ganforge run's initial weights (gf_replay_dcgan --init) and train on its "
                         "random numbers (data order, noise, penalty coefficients) for the same --seed")
    a = ap.parse_args()
    if a.device != "cpu" and a.checkpoint:
        raise SystemExit("torch_twin.py: --checkpoint saves the CPU random state only: use it with --device cpu")
    torch.set_num_threads(a.threads)
    if a.device != "cpu":
        torch.backends.cudnn.benchmark = True
    torch.set_default_device(a.device)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    cfg = parse_config(open(a.config).read())
    if cfg["model.arch"] not in ("mlp", "dcgan"):
        raise SystemExit("torch_twin.py covers MLP and DCGAN runs")
    if cfg["train.optimizer"] not in ("adam", "rmsprop") or cfg["train.g_loss"] != "nonsaturating":
        raise SystemExit("torch_twin.py covers Adam and RMSprop, and the non-saturating G loss of bce")
    if float(cfg.get("train.weight_decay", "0")) > 0 or int(cfg.get("train.g_fresh_noise", "0")):
        raise SystemExit("torch_twin.py covers no weight decay, and G steps on the last D step's fakes")
    x = load_data(cfg, a.mnist, rng).to(a.device)
    if a.limit > 0:
        x = x[:a.limit]
    name = cfg["data.name"]
    n_out = a.n or {"ring8": 2500, "grid25": 2500, "stacked-mnist": 26000}.get(name, 10000)
    pack = max(1, int(cfg.get("model.pack", "1")))
    per_sample = x.shape[1] if cfg["model.arch"] == "dcgan" else int(np.prod(x.shape[1:]))  # channels / values
    cond = cfg.get("model.cond", "none")
    K, labels = 0, None
    if cond != "none":
        if name != "mnist":
            raise SystemExit("torch_twin.py covers conditional runs on MNIST")
        labels, K = mnist_train_labels(a.mnist).to(a.device), int(cfg["model.n_classes"])
        G, D = CondGenerator(cfg, tuple(x.shape[1:])), CondDiscriminator(cfg, tuple(x.shape[1:]))
    else:
        G, D = build_generator(cfg), build_discriminator(cfg, pack * per_sample)
    acgan, aux_w = cond == "acgan", float(cfg.get("train.aux_weight", "1"))
    gfr = None
    if a.gf_rng:
        if cond != "none" or cfg["model.noise"] != "normal" or cfg.get("train.loss", "bce") == "ragan" \
                or float(cfg.get("train.r1_gamma", "0")) > 0 or a.device != "cpu":
            raise SystemExit("torch_twin.py --gf-rng covers unconditional CPU runs with normal noise "
                             "(no RaGAN or R1)")
        gfr = {k: gf_rng.Stream(a.seed, s) for k, s in
               (("noise", gf_rng.STREAM_NOISE), ("data", gf_rng.STREAM_DATA), ("pen", gf_rng.STREAM_PENALTY))}

    bce = nn.BCEWithLogitsLoss()

    def closs(out, target, y):  # BCE with logits (ACGAN: + aux_w x cross-entropy of the class logits)
        if not acgan:
            return bce(out, torch.full_like(out, target))
        return bce(out[:, :1], torch.full_like(out[:, :1], target)) + aux_w * nn.functional.cross_entropy(out[:, 1:], y)
    bn_std = float(cfg.get("model.bn_init_std", "0"))
    init_net(G, cfg["model.g_init"], float(cfg["model.g_init_scale"]), bn_std)
    init_net(D, cfg["model.d_init"], float(cfg["model.d_init_scale"]), bn_std)
    if gfr is not None:
        load_gf_init(a.gf_rng, G, D, a.seed)
    lr, b1, b2 = float(cfg["train.lr"]), float(cfg["train.beta1"]), float(cfg["train.beta2"])
    lr_d = float(cfg.get("train.lr_d", "0")) or lr  # TTUR
    eps = float(cfg.get("train.adam_eps", "1e-8"))
    decay, lr_min = float(cfg.get("train.lr_decay", "1")), float(cfg.get("train.lr_min", "0"))
    ema = float(cfg.get("train.ema", "0"))
    if cfg["train.optimizer"] == "rmsprop":
        alpha = float(cfg.get("train.rms_alpha", "0.99"))
        oG = torch.optim.RMSprop(G.parameters(), lr, alpha=alpha, eps=eps)
        oD = torch.optim.RMSprop(D.parameters(), lr_d, alpha=alpha, eps=eps)
    else:
        oG = torch.optim.Adam(G.parameters(), lr, betas=(b1, b2), eps=eps)
        oD = torch.optim.Adam(D.parameters(), lr_d, betas=(b1, b2), eps=eps)
    avg = [p.detach().clone() for p in G.parameters()] if ema > 0 else None
    loss = cfg.get("train.loss", "bce")
    k_d = int(cfg["train.d_steps"])
    if K and (loss != "bce" or k_d != 1 or float(cfg.get("train.r1_gamma", "0")) > 0 or float(cfg.get("train.clip", "0")) > 0):
        raise SystemExit("torch_twin.py: conditional twins train with train.loss=bce, one D step, no penalty or clipping")
    clip = float(cfg.get("train.clip", "0"))
    gp_lambda = float(cfg.get("train.gp_lambda", "10"))
    r1, r1_every = float(cfg.get("train.r1_gamma", "0")), int(cfg.get("train.r1_every", "1"))
    fused = not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in D.modules())
    B, nz = int(cfg["train.batch"]), int(cfg["model.nz"])
    epochs = a.epochs or int(cfg["train.epochs"])
    if B % pack:
        raise SystemExit(f"batch {B} is not divisible by model.pack {pack}")
    Bd = B // pack

    def packed(t):  # [B, c, h, w] read as [B / pack, pack * c, h, w]
        return t.reshape(Bd, pack * t.shape[1], *t.shape[2:])

    def judge(xr, xf):  # D on real and fake rows: one pass unless D has BatchNorm (gf__gan_d_step)
        if not fused:
            return D(xr), D(xf)
        both = D(torch.cat([xr, xf]))
        return both[:Bd], both[Bd:]

    def penalty(xr, xf, d_step):
        """WGAN-GP on interpolates (one t per row D sees) or lazy R1 on real rows; D's own pass in
        eval mode (spectral norm without a power iteration), gradients with create_graph=True."""
        if loss == "wgan-gp":
            if gfr is not None:
                t = torch.from_numpy(gfr["pen"].uniform(Bd)).reshape(Bd, *([1] * (xr.dim() - 1)))
            else:
                t = torch.rand(Bd, *([1] * (xr.dim() - 1)))
            px = (t * xr + (1 - t) * xf).requires_grad_(True)
        elif r1 > 0 and d_step % r1_every == 0:
            px = xr.detach().clone().requires_grad_(True)
        else:
            return None
        D.eval()
        out = D(px)
        D.train()
        g, = torch.autograd.grad(out.sum(), px, create_graph=True)
        g = g.reshape(Bd, -1)
        if loss == "wgan-gp":
            return gp_lambda * ((g.norm(2, dim=1) - 1) ** 2).mean()
        return r1 * r1_every / 2 * g.pow(2).sum(1).mean()

    def decay_lr(o):
        if decay > 1:
            for g in o.param_groups:
                g["lr"] = max(g["lr"] / decay, lr_min)

    nb = x.shape[0] // B
    t0 = time.time()
    step = d_steps = 0  # step: G steps
    ep0 = 0
    if a.checkpoint and os.path.exists(a.checkpoint):
        st = torch.load(a.checkpoint, weights_only=False)
        G.load_state_dict(st["G"])
        D.load_state_dict(st["D"])
        oG.load_state_dict(st["oG"])
        oD.load_state_dict(st["oD"])
        if avg is not None:
            for q, v in zip(avg, st["avg"]):
                q.copy_(v)
        torch.set_rng_state(st["rng"])
        step, ep0 = st["step"], st["epoch"]
        if gfr is not None:
            if not st.get("gf_counters"):
                raise SystemExit(f"{a.checkpoint}: saved without --gf-rng: resume it without --gf-rng")
            for k, c in st["gf_counters"].items():
                gfr[k].counter = c
        d_steps = st.get("d_steps", step * k_d)
        print(f"resumed {a.checkpoint}: epoch {ep0}, step {step}", flush=True)
    for ep in range(ep0, epochs):
        if a.max_steps and step >= a.max_steps:
            break
        perm = torch.from_numpy(gfr["data"].perm(x.shape[0])) if gfr is not None else torch.randperm(x.shape[0])
        for b in range(nb):
            if a.max_steps and step >= a.max_steps:
                break
            real = x[perm[b * B:(b + 1) * B]]
            if K:  # conditional twins: BCE (+ ACGAN's class term), one D step per G step
                yr, yf = labels[perm[b * B:(b + 1) * B]], torch.randint(0, K, (B,))
                fake = G(noise(cfg, B, nz), yf)
                ld = closs(D(real, yr), 1.0, yr) + closs(D(fake.detach(), yf), 0.0, yf)
                oD.zero_grad()
                ld.backward()
                oD.step()
                decay_lr(oD)
                d_steps += 1
                step += 1
                lg = closs(D(fake, yf), 1.0, yf)
            else:
                z = torch.from_numpy(gfr["noise"].normal(B * nz)).reshape(B, nz) if gfr is not None else noise(cfg, B, nz)
                fake = G(z)
                xr, xf = packed(real), packed(fake.detach())
                dr, df = judge(xr, xf)
                ld = d_losses(loss, dr, df)
                pen = penalty(xr, xf, d_steps)
                if pen is not None:
                    ld = ld + pen
                oD.zero_grad()
                ld.backward()
                oD.step()
                if clip > 0:
                    with torch.no_grad():
                        for p in D.parameters():
                            p.clamp_(-clip, clip)
                decay_lr(oD)
                d_steps += 1
                if d_steps % k_d:
                    continue
                step += 1
                if loss == "ragan":  # G's relativistic loss sees D on the real batch too
                    dr, dg = judge(xr, packed(fake))
                    lg = g_loss(loss, dg, dr.detach())
                else:
                    lg = g_loss(loss, D(packed(fake)))
            oG.zero_grad()
            lg.backward()
            oG.step()
            decay_lr(oG)
            if avg is not None:
                d = min(ema, (1.0 + step) / (10.0 + step))
                with torch.no_grad():
                    torch._foreach_lerp_(avg, [p.detach() for p in G.parameters()], 1.0 - d)
        print(f"epoch {ep + 1}/{epochs} loss_D {ld.item():.4f} loss_G {lg.item():.4f} {time.time() - t0:.0f} s", flush=True)
        if a.every_epoch and avg is None:
            gen = torch.Generator().manual_seed(1000 + a.seed)
            G.eval()
            with torch.no_grad():
                parts = []
                for i in range(0, n_out, 500):
                    m = min(500, n_out - i)
                    zz = noise(cfg, m, nz, gen)
                    parts.append(G(zz, torch.arange(i, i + m) % K) if K else G(zz))
            G.train()
            es = torch.cat(parts)
            es = es.reshape(n_out, -1) if name in ("ring8", "grid25") else es.reshape(n_out, *x.shape[1:])
            np.save(a.out[:-4] + f"_epoch{ep + 1}.npy", es.cpu().numpy().astype(np.float32))
        if a.checkpoint:  # after the samples: their generator is separate, the training stream is not touched
            torch.save({"G": G.state_dict(), "D": D.state_dict(), "oG": oG.state_dict(), "oD": oD.state_dict(),
                        "avg": avg, "rng": torch.get_rng_state(), "step": step, "d_steps": d_steps, "epoch": ep + 1,
                        "gf_counters": {k: v.counter for k, v in gfr.items()} if gfr is not None else None},
                       a.checkpoint + ".tmp")
            os.replace(a.checkpoint + ".tmp", a.checkpoint)
    if avg is not None:
        with torch.no_grad():
            for q, p in zip(avg, G.parameters()):
                p.copy_(q)
        ema_batchnorm_stats(G, cfg, B, nz, K)
    G.eval()
    chunk = 500
    with torch.no_grad():
        if K:  # sample i of class i mod K
            s = torch.cat([G(noise(cfg, min(chunk, n_out - i), nz), torch.arange(i, min(i + chunk, n_out)) % K)
                           for i in range(0, n_out, chunk)])
        else:
            s = torch.cat([G(noise(cfg, min(chunk, n_out - i), nz)) for i in range(0, n_out, chunk)])
    s = s.reshape(n_out, -1) if name in ("ring8", "grid25") else s.reshape(n_out, *x.shape[1:])
    np.save(a.out, s.cpu().numpy().astype(np.float32))
    print(f"wrote {a.out}: {tuple(s.shape)}, {step} steps, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
