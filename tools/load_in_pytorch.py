#!/usr/bin/env python3
"""load_in_pytorch.py: builds the PyTorch twin of a ganforge generator, loads a ganforge
checkpoint or generator file into it (state_dict names match), and checks that its samples equal
`ganforge sample`'s for the same noise.

usage: load_in_pytorch.py RUN_OR_FILE [--ganforge PATH] [-n N] [--tol T]
       load_in_pytorch.py CHECKPOINT --d-check DUMP   (the discriminator, spectral norm included)
Exit 0 when the samples match (or PyTorch is absent: prints 'skipped: ...'), 1 otherwise.

Conditional generators (model.cond; layers in cond_modules.py) are checked with sample i of class
i mod K (`ganforge sample --npy`) and again with every sample of the last class (--class)."""
import argparse, json, os, struct, subprocess, sys, tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:  # the check needs PyTorch and NumPy
    print(f"skipped: PyTorch/NumPy not available ({e})")
    sys.exit(0)


def read_safetensors(path):
    """Minimal reader: returns ({name: np.ndarray}, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen])
    meta = header.pop("__metadata__", {})
    base = 8 + hlen
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}")
        b, e = info["data_offsets"]
        tensors[name] = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(info["shape"]).copy()
    return tensors, meta


def parse_config(text):
    cfg = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            cfg[k.strip()] = v.strip()
    return cfg


def data_shape(cfg):
    name = cfg["data.name"]
    if name == "gauss1d":
        return (1, 1, 1)
    if name in ("ring8", "grid25"):
        return (2, 1, 1)
    if name == "digits":
        return (1, 8, 8)
    if name == "shapes":
        s = int(cfg["data.size"])
        return (1, s, s)
    return (1, 28, 28)


def activation(name, slope):
    return {"relu": nn.ReLU(), "lrelu": nn.LeakyReLU(slope), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[name]


def build_dcgan_generator(cfg):
    """The twin of build_dcgan_g (src/models/gan.c): ConvTranspose2d/BatchNorm2d/ReLU, tanh."""
    nz, ngf, nc, size = int(cfg["model.nz"]), int(cfg["model.ngf"]), int(cfg["model.nc"]), int(cfg["model.size"])
    eps, mom = float(cfg["model.bn_eps"]), float(cfg["model.bn_momentum"])

    def block(i, o, k, s, p):
        return [nn.ConvTranspose2d(i, o, k, s, p, bias=False), nn.BatchNorm2d(o, eps=eps, momentum=mom), nn.ReLU()]
    if size == 28:
        layers = block(nz, 4 * ngf, 7, 1, 0) + block(4 * ngf, 2 * ngf, 4, 2, 1)
        prev = 2 * ngf
    else:
        levels = size.bit_length() - 3          # 64 -> 4 blocks before the output layer
        layers = block(nz, ngf << (levels - 1), 4, 1, 0)
        for k in range(levels - 2, -1, -1):
            layers += block(ngf << (k + 1), ngf << k, 4, 2, 1)
        prev = ngf
    layers += [nn.ConvTranspose2d(prev, nc, 4, 2, 1, bias=False), nn.Tanh()]

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(*layers)

        def forward(self, z):
            return self.net(z.view(z.shape[0], nz, 1, 1))

    return G()


def build_generator(cfg):
    """The twin of gf__build_generator (src/models/gan.c): same layers, same order, same indices."""
    if cfg.get("model.cond", "none") != "none":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from cond_modules import CondGenerator
        if cfg["model.arch"] == "dcgan":
            nc, size = int(cfg["model.nc"]), int(cfg["model.size"])
            return CondGenerator(cfg, (nc, size, size))
        return CondGenerator(cfg, data_shape(cfg))
    if cfg["model.arch"] == "dcgan":
        return build_dcgan_generator(cfg)
    if cfg["model.arch"] != "mlp":
        raise SystemExit(f"architecture {cfg['model.arch']} is not supported by this tool yet")
    c, h, w = data_shape(cfg)
    nz, slope = int(cfg["model.nz"]), float(cfg["model.d_slope"])
    eps, mom = float(cfg["model.bn_eps"]), float(cfg["model.bn_momentum"])
    widths = [int(x) for x in cfg["model.g_hidden"].split(",") if x]
    layers, prev = [], nz
    for wd in widths:
        layers.append(nn.Linear(prev, wd))
        if cfg["model.g_norm"] == "bn":
            layers.append(nn.BatchNorm1d(wd, eps=eps, momentum=mom))
        layers.append(activation(cfg["model.g_act"], slope))
        if cfg["model.g_norm"] == "bn_after":
            layers.append(nn.BatchNorm1d(wd, eps=eps, momentum=mom))
        prev = wd
    layers.append(nn.Linear(prev, c * h * w))
    if cfg["model.g_out"] in ("tanh", "sigmoid"):
        layers.append(activation(cfg["model.g_out"], slope))

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(*layers)

        def forward(self, z):
            return self.net(z).view(-1, c, h, w)

    return G()


class Maxout(nn.Module):
    def __init__(self, pieces):
        super().__init__()
        self.k = pieces

    def forward(self, x):  # units of k consecutive values, as cpu_maxout_fwd
        return x.view(x.shape[0], -1, self.k).max(-1).values


class FlatSequential(nn.Sequential):
    """nn.Sequential over flattened samples (the MLP discriminator: indices as ganforge's layers)."""

    def forward(self, x):
        return super().forward(x.reshape(x.shape[0], -1))


def build_discriminator(cfg, in_c):
    """The twin of gf__build_discriminator (src/models/gan.c), as an nn.Sequential; in_c = pack *
    channels (DCGAN) or pack * values per sample (MLP). Spectral norm (model.d_norm=spectral, or
    model.dcgan_d_norm=spectral) wraps every Linear / Conv2d in torch.nn.utils.spectral_norm, whose
    state_dict names (weight_orig, weight_u, weight_v) ganforge's tensors carry."""
    from torch.nn.utils import spectral_norm
    slope = float(cfg["model.d_slope"])
    eps, mom = float(cfg["model.bn_eps"]), float(cfg["model.bn_momentum"])
    d_norm, dc_norm = cfg.get("model.d_norm", "none"), cfg.get("model.dcgan_d_norm", "bn")
    if cfg["model.arch"] == "dcgan":
        sn = d_norm == "spectral" or dc_norm == "spectral"
        bn = dc_norm == "bn"
        size, ndf = int(cfg["model.size"]), int(cfg["model.ndf"])
        chans = [ndf << k for k in range(1, 2 if size == 28 else size.bit_length() - 3)]
        layers, prev = [nn.Conv2d(in_c, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(slope)], ndf
        for c in chans:  # no BatchNorm: the convolution it followed gets a bias
            layers.append(nn.Conv2d(prev, c, 4, 2, 1, bias=not bn))
            if bn:
                layers.append(nn.BatchNorm2d(c, eps=eps, momentum=mom))
            layers.append(nn.LeakyReLU(slope))
            prev = c
        layers += [nn.Conv2d(prev, 1, 7 if size == 28 else 4, 1, 0, bias=False), nn.Flatten()]
    else:
        if d_norm == "bn" or float(cfg["model.d_dropout"]) > 0 or float(cfg["model.d_dropout_in"]) > 0:
            raise SystemExit("the MLP discriminator twin covers d_norm none | spectral without dropout")
        sn = d_norm == "spectral"
        widths = [int(x) for x in cfg["model.d_hidden"].split(",") if x]
        maxout, k = cfg["model.d_act"] == "maxout", int(cfg["model.d_pieces"])
        layers, prev = [], in_c
        for w in widths:
            if maxout:
                layers += [nn.Linear(prev, w * k), Maxout(k)]
            else:
                layers += [nn.Linear(prev, w), nn.LeakyReLU(slope) if cfg["model.d_act"] == "lrelu" else nn.ReLU()]
            prev = w
        layers.append(nn.Linear(prev, 1))
    if sn:
        layers = [spectral_norm(m) if isinstance(m, (nn.Linear, nn.Conv2d)) else m for m in layers]
    return nn.Sequential(*layers) if cfg["model.arch"] == "dcgan" else FlatSequential(*layers)


def d_check(path, dump):
    """Loads a checkpoint's discriminator into its PyTorch twin (strict state_dict) and compares the
    twin's eval-mode logits with ganforge's on the same inputs (dump: tensors x, d)."""
    tensors, meta = read_safetensors(path)
    cfg = parse_config(meta["config"])
    x, d = read_safetensors(dump)[0]["x"], read_safetensors(dump)[0]["d"]
    # x holds what D reads: [rows, pack * c, h, w]
    in_c = x.shape[1] if cfg["model.arch"] == "dcgan" else int(np.prod(x.shape[1:]))

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = build_discriminator(cfg, in_c)

        def forward(self, v):
            return self.net(v)

    net = D()
    sd = {k[2:]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith("D.")}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"{path}: discriminator state_dict mismatch: missing {missing}, unexpected {unexpected}")
    net.eval()
    with torch.no_grad():
        y = net(torch.from_numpy(x)).reshape(-1).numpy()
    err = float(np.max(np.abs(y - d.reshape(-1))))
    scale = max(1.0, float(np.max(np.abs(d))))
    ok = err <= 1e-4 * scale
    names = sorted(k for k in sd if "weight_" in k)
    print(f"{'PASS' if ok else 'FAIL'}: {path}: PyTorch discriminator twin ({len(sd)} tensors, e.g. {names[:3]}) "
          f"vs ganforge, {len(y)} logits, max abs diff {err:.3g}, torch {torch.__version__}")
    return 0 if ok else 1


def load_generator(path):
    tensors, meta = read_safetensors(path)
    if "config" not in meta:
        raise SystemExit(f"{path}: no ganforge config in the metadata")
    cfg = parse_config(meta["config"])
    G = build_generator(cfg)
    sd = {k[2:]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith("G.")}
    missing, unexpected = G.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"{path}: state_dict mismatch: missing {missing}, unexpected {unexpected}")
    return G, cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--ganforge", default=os.environ.get("GANFORGE", "build/ganforge"))
    ap.add_argument("-n", type=int, default=32)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--d-check", metavar="DUMP",
                    help="instead: load RUN's discriminator (a checkpoint) into its twin and compare its logits "
                         "with ganforge's (DUMP: safetensors with x and d)")
    a = ap.parse_args()
    if a.d_check:
        return d_check(a.run, a.d_check)
    path = a.run
    if os.path.isdir(path):
        path = os.path.join(path, "generator.safetensors")
    G, cfg = load_generator(path)
    G.eval()
    K = int(cfg.get("model.n_classes", "0")) if cfg.get("model.cond", "none") != "none" else 0
    err, scale = 0.0, 1.0
    for klass in ([None, K - 1] if K else [None]):
        with tempfile.TemporaryDirectory() as tmp:
            xs, zs = os.path.join(tmp, "x.npy"), os.path.join(tmp, "z.npy")
            extra = ["--class", str(klass)] if klass is not None else []
            subprocess.run([a.ganforge, "sample", a.run, "-n", str(a.n), "--seed", "11", "--npy", xs, "--noise-out", zs,
                            *extra], check=True, stdout=subprocess.DEVNULL)
            x, z = np.load(xs), np.load(zs)
        with torch.no_grad():
            if K:  # sample i of class i mod K, or all of --class
                y_lab = torch.full((a.n,), klass) if klass is not None else torch.arange(a.n) % K
                y = G(torch.from_numpy(z), y_lab).numpy()
            else:
                y = G(torch.from_numpy(z)).numpy()
        err = max(err, float(np.max(np.abs(y - x))))
        scale = max(scale, float(np.max(np.abs(x))) or 1.0)
    ok = err <= a.tol * max(1.0, scale)
    print(f"{'PASS' if ok else 'FAIL'}: {path}: PyTorch twin vs ganforge sample, {a.n} samples, "
          f"max abs diff {err:.3g} (tolerance {a.tol:g}), torch {torch.__version__}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
