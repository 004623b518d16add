"""cond_modules.py: the PyTorch twins of ganforge's conditional layers (src/nn/cond_layers.c) and
conditional networks (model.cond in src/models/cond.c + gan.c), with state_dict names equal to
ganforge's tensor names (G.net.<i>.weight ...). Used by make_cond_fixtures.py, torch_twin.py and
load_in_pytorch.py.

  OneHotConcat(K)       [x; one-hot(y)] along dim 1, the one-hot repeated over H x W
  CondBatchNorm(C, K)   batch_norm without affine, then weight[y] * . + bias[y]; weight, bias [K, C],
                        running_mean / running_var [C] as BatchNorm's
  Projection(F, K)      x @ weight.T + bias + <embed(y), x>; weight [1, F], bias [1], embed [K, F]
A CondSequential passes the labels to the layers that take them (attribute cond = True).
A spectrally normalised D (model.d_norm=spectral or model.dcgan_d_norm=spectral) wraps every
Conv2d / Linear, the Projection (its weight) and the Projection's nn.Embedding in
torch.nn.utils.spectral_norm (SNGAN-projection; dim 0: embed.weight_u [K], embed.weight_v [F])."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class OneHotConcat(nn.Module):
    cond = True

    def __init__(self, K):
        super().__init__()
        self.K = K

    def forward(self, x, y):
        oh = F.one_hot(y.long(), self.K).to(x.dtype)
        oh = oh.view(*oh.shape, *([1] * (x.dim() - 2))).expand(x.shape[0], self.K, *x.shape[2:])
        return torch.cat([x, oh], 1)


class CondBatchNorm(nn.Module):
    cond = True

    def __init__(self, C, K, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(K, C))
        self.bias = nn.Parameter(torch.zeros(K, C))
        self.register_buffer("running_mean", torch.zeros(C))
        self.register_buffer("running_var", torch.ones(C))

    def forward(self, x, y):
        h = F.batch_norm(x, self.running_mean, self.running_var, None, None, self.training, self.momentum, self.eps)
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        return h * self.weight[y.long()].view(shape) + self.bias[y.long()].view(shape)


class Projection(nn.Module):
    cond = True

    def __init__(self, F_, K):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, F_))
        self.bias = nn.Parameter(torch.zeros(1))
        self.embed = nn.Embedding(K, F_)
        bound = 1.0 / F_ ** 0.5  # ganforge's torch init: like the linear weight
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)
        nn.init.uniform_(self.embed.weight, -bound, bound)

    def forward(self, x, y):
        return F.linear(x, self.weight, self.bias) + (self.embed(y.long()) * x).sum(1, keepdim=True)


class CondSequential(nn.Sequential):
    def forward(self, x, y=None):
        for m in self:
            x = m(x, y) if getattr(m, "cond", False) else m(x)
        return x


def mode(cfg):
    return cfg.get("model.cond", "none")


def classes(cfg):
    return int(cfg.get("model.n_classes", "0"))


def activation(name, slope):
    return {"relu": nn.ReLU(), "lrelu": nn.LeakyReLU(slope), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[name]


def g_norm(cfg, C, dims):
    """BatchNorm, or CondBatchNorm with model.cond=projection (gf__cond_add_g_norm)."""
    eps, mom = float(cfg["model.bn_eps"]), float(cfg["model.bn_momentum"])
    if mode(cfg) == "projection":
        return CondBatchNorm(C, classes(cfg), eps, mom)
    return (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(C, eps=eps, momentum=mom)


def generator_layers(cfg, out_shape):
    """The layers of gf__build_generator for mlp and dcgan (28x28 and powers of two)."""
    nz, K, m = int(cfg["model.nz"]), classes(cfg), mode(cfg)
    layers = [OneHotConcat(K)] if m in ("concat", "acgan") else []
    nin = nz + (K if layers else 0)
    if cfg["model.arch"] == "dcgan":
        ngf, nc, size = int(cfg["model.ngf"]), int(cfg["model.nc"]), int(cfg["model.size"])

        def block(i, o, k, s, p):
            return [nn.ConvTranspose2d(i, o, k, s, p, bias=False), g_norm(cfg, o, 2), nn.ReLU()]
        if size == 28:
            layers += block(nin, 4 * ngf, 7, 1, 0) + block(4 * ngf, 2 * ngf, 4, 2, 1)
            prev = 2 * ngf
        else:
            levels = size.bit_length() - 3
            layers += block(nin, ngf << (levels - 1), 4, 1, 0)
            for k in range(levels - 2, -1, -1):
                layers += block(ngf << (k + 1), ngf << k, 4, 2, 1)
            prev = ngf
        return layers + [nn.ConvTranspose2d(prev, nc, 4, 2, 1, bias=False), nn.Tanh()]
    slope = float(cfg["model.d_slope"])
    widths = [int(x) for x in cfg["model.g_hidden"].split(",") if x]
    prev = nin
    for w in widths:
        layers.append(nn.Linear(prev, w))
        if cfg["model.g_norm"] == "bn":
            layers.append(g_norm(cfg, w, 1))
        layers.append(activation(cfg["model.g_act"], slope))
        if cfg["model.g_norm"] == "bn_after":
            layers.append(g_norm(cfg, w, 1))
        prev = w
    c, h, w_ = out_shape
    layers.append(nn.Linear(prev, c * h * w_))
    if cfg["model.g_out"] in ("tanh", "sigmoid"):
        layers.append(activation(cfg["model.g_out"], slope))
    return layers


class CondGenerator(nn.Module):
    """G(z, y): z [N, nz] (viewed as [N, nz, 1, 1] for DCGAN), y [N] class indices."""

    def __init__(self, cfg, out_shape):
        super().__init__()
        self.dcgan = cfg["model.arch"] == "dcgan"
        self.shape = out_shape
        self.net = CondSequential(*generator_layers(cfg, out_shape))

    def forward(self, z, y=None):
        if self.dcgan:
            z = z.view(z.shape[0], -1, 1, 1)
        return self.net(z, y).view(-1, *self.shape)


def head(cfg, in_c, k):
    """gf__cond_add_d_head: Conv2d k x k (k = 0: Linear) to 1 (+ K class logits), or a projection."""
    K, m = classes(cfg), mode(cfg)
    if m == "projection":
        return ([nn.Flatten()] if k else []) + [Projection(in_c * (k * k if k else 1), K)]
    outs = 1 + K if m == "acgan" else 1
    if not k:
        return [nn.Linear(in_c, outs)]
    return [nn.Conv2d(in_c, outs, k, 1, 0, bias=False), nn.Flatten()]


def discriminator_layers(cfg, in_shape):
    """The layers of gf__build_discriminator (no packing, no dropout) for mlp and 28x28 dcgan."""
    K, m = classes(cfg), mode(cfg)
    c, h, w = in_shape
    slope = float(cfg["model.d_slope"])
    eps, mom = float(cfg["model.bn_eps"]), float(cfg["model.bn_momentum"])
    if cfg["model.arch"] == "dcgan":
        if int(cfg["model.size"]) != 28:
            raise SystemExit("the conditional twins cover the 28x28 DCGAN discriminator")
        ndf = int(cfg["model.ndf"])
        layers = [OneHotConcat(K)] if m == "concat" else []
        cin = c + (K if layers else 0)
        if cfg.get("model.dcgan_d_norm", "bn") != "bn":  # none or spectral: a bias instead of BatchNorm
            mid = [nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=True)]
        else:
            mid = [nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ndf, eps=eps, momentum=mom)]
        layers += [nn.Conv2d(cin, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(slope), *mid, nn.LeakyReLU(slope)]
        if m == "projection":  # flatten 2ndf x 7 x 7 then the projection head
            return layers + [nn.Flatten(), Projection(2 * ndf * 49, K)]
        return layers + head(cfg, 2 * ndf, 7)
    if cfg["model.d_norm"] not in ("none", "spectral") or float(cfg["model.d_dropout"]) > 0 or \
            float(cfg["model.d_dropout_in"]) > 0:
        raise SystemExit("the conditional twins cover MLP discriminators without BatchNorm or dropout")
    layers, prev = [], c * h * w  # ganforge's Linear reads the image flat (CondDiscriminator flattens)
    if m == "concat":  # an explicit Reshape layer before the one-hot in ganforge
        layers += ([nn.Flatten()] if h * w > 1 else []) + [OneHotConcat(K)]
        prev += K
    widths = [int(x) for x in cfg["model.d_hidden"].split(",") if x]
    for wd in widths:
        layers += [nn.Linear(prev, wd), activation(cfg["model.d_act"], slope)]
        prev = wd
    return layers + head(cfg, prev, 0)


def d_spectral(cfg):
    return cfg.get("model.d_norm", "none") == "spectral" or \
        (cfg["model.arch"] == "dcgan" and cfg.get("model.dcgan_d_norm", "bn") == "spectral")


def spectral(layers):
    """spectral_norm on every weight of D (gf__net_spectral_last): Linear, Conv2d, and a Projection's
    linear weight and class embedding."""
    from torch.nn.utils import spectral_norm
    out = []
    for m in layers:
        if isinstance(m, Projection):
            m.embed = spectral_norm(m.embed)
        out.append(spectral_norm(m) if isinstance(m, (nn.Linear, nn.Conv2d, Projection)) else m)
    return out


class CondDiscriminator(nn.Module):
    def __init__(self, cfg, in_shape):
        super().__init__()
        self.mlp = cfg["model.arch"] == "mlp"
        layers = discriminator_layers(cfg, in_shape)
        self.net = CondSequential(*(spectral(layers) if d_spectral(cfg) else layers))

    def forward(self, x, y=None):
        if self.mlp and not isinstance(self.net[0], nn.Flatten):
            x = x.flatten(1)
        return self.net(x, y)
