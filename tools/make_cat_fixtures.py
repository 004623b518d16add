#!/usr/bin/env python3
"""PyTorch fixtures for tests/test_cat_parity.c (CAT, Jin et al. 2021; CPU, float32).

  /opt/t2/bin/python tools/make_cat_fixtures.py [outdir=tests/fixtures]

cat_small.safetensors holds, for inputs and upstream gradients drawn here:
  conv.<case>.*   grouped / depth-wise Conv2d: x, y, dy (upstream), dx, dw, db for
                  dw2s2 (4 -> 8 channels, groups 4, 3x3, stride 2, padding 1),
                  dw5 (6 -> 6, groups 6, 5x5, padding 2), g2 (4 -> 6, groups 2, 3x3, padding 1, no bias)
  <net>.x, <net>.y, <net>.dy, <net>.dx, grad.<net>.<key>: an inception generator (the module layout and
                  state_dict keys of snap-research/CAT's InceptionGenerator, re-written here), forward
                  and backward of sum(y * dy), for
                  T: a teacher (ngf 8, kernels 1,3,5, branch width 32 / 6 = 5, 2 blocks, affine InstanceNorm)
                  S: a pruned student (model.g_channels = S_CHANNELS below: partly pruned, empty and full blocks)
  ka.x, ka.y, ka.value, ka.dx: CAT's kernel alignment KA(X, Y) of activations of different widths
                  and the gradient of -KA with respect to X.
Initial weights are not stored: both sides fill each parameter from its name (init_value, as in
make_cyclegan_fixtures.py), the names being "<net>.<CAT state_dict key>".
"""
import json, math, os, struct, sys
import torch, torch.nn as nn

S_CHANNELS = '6,12,20;5,0,3,2,4,0;0,0,0,0,0,0;4,1,4,4,4,2;10,8'


def init_value(name, shape):
    h = sum(name.encode())
    n = 1
    for s in shape: n *= s
    vals = [math.sin(0.37 * k + 0.001 * h) for k in range(n)]
    if len(shape) == 4:
        sc = 1.0 / math.sqrt(n // shape[0])
        vals = [v * sc for v in vals]
    elif name.endswith('.weight'):
        vals = [1.0 + 0.1 * v for v in vals]
    else:
        vals = [0.1 * v for v in vals]
    return torch.tensor(vals, dtype=torch.float64).to(torch.float32).view(*shape)


def write_st(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    header["__metadata__"] = {"format": "ganforge-fixture", "S_CHANNELS": S_CHANNELS}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in blobs: f.write(b)


# ---- the inception generator, laid out as CAT's InceptionGenerator (same module indices) ----
def norm(c): return nn.InstanceNorm2d(c, affine=True)


class Block(nn.Module):
    """y = x + norm(sum of the branches); plain branches [pad, (conv k, norm, relu), dropout, pad, conv k],
    depth-wise branches [(conv 1, norm, relu), pad, (dw conv k, norm, relu), dropout, conv 1]; a width of 0
    drops the branch (the kept ones are numbered in order)."""
    def __init__(self, C, ks, res, dw):
        super().__init__()
        self.res_ops, self.dw_ops = nn.ModuleList(), nn.ModuleList()
        for k, w in zip(ks, res):
            if w == 0: continue
            p = (k - 1) // 2
            self.res_ops.append(nn.Sequential(nn.ReflectionPad2d(p), nn.Sequential(nn.Conv2d(C, w, k), norm(w), nn.ReLU()),
                                              nn.Dropout(0.0), nn.ReflectionPad2d(p), nn.Conv2d(w, C, k)))
        for k, w in zip(ks, dw):
            if w == 0: continue
            p = (k - 1) // 2
            self.dw_ops.append(nn.Sequential(nn.Sequential(nn.Conv2d(C, w, 1), norm(w), nn.ReLU()), nn.ReflectionPad2d(p),
                                             nn.Sequential(nn.Conv2d(w, w, k, groups=w), norm(w), nn.ReLU()),
                                             nn.Dropout(0.0), nn.Conv2d(w, C, 1)))
        self.pw_bn = norm(C)

    def forward(self, x):
        if len(self.res_ops) == 0 and len(self.dw_ops) == 0: return x
        return x + self.pw_bn(sum(op(x) for op in self.res_ops) + sum(op(x) for op in self.dw_ops))


class InceptionG(nn.Module):
    def __init__(self, ds, blocks, us, ks):
        super().__init__()
        self.down_sampling = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(3, ds[0], 7), norm(ds[0]), nn.ReLU(),
                                           nn.Conv2d(ds[0], ds[1], 3, 2, 1), norm(ds[1]), nn.ReLU(),
                                           nn.Conv2d(ds[1], ds[2], 3, 2, 1), norm(ds[2]), nn.ReLU())
        self.features = nn.Sequential(*[Block(ds[2], ks, r, d) for r, d in blocks])
        self.up_sampling = nn.Sequential(nn.ConvTranspose2d(ds[2], us[0], 3, 2, 1, 1), norm(us[0]), nn.ReLU(),
                                         nn.ConvTranspose2d(us[0], us[1], 3, 2, 1, 1), norm(us[1]), nn.ReLU(),
                                         nn.ReflectionPad2d(3), nn.Conv2d(us[1], 3, 7), nn.Tanh())

    def forward(self, x): return self.up_sampling(self.features(self.down_sampling(x)))


def parse_channels(spec, nk):
    g = [[int(v) for v in grp.split(',')] for grp in spec.split(';')]
    return g[0], [(b[:nk], b[nk:]) for b in g[1:-1]], g[-1]


def ka(X, Y):
    X, Y = X.reshape(X.shape[0], -1), Y.reshape(Y.shape[0], -1)
    gx, gy = X @ X.T, Y @ Y.T
    return (gx * gy).sum() / ((gx ** 2).sum() * (gy ** 2).sum()) ** 0.5


def main(out):
    torch.manual_seed(0)
    T = {}
    for case, (C, OC, k, s, p, g, bias, H, W) in {'dw2s2': (4, 8, 3, 2, 1, 4, True, 9, 7),
                                                  'dw5': (6, 6, 5, 1, 2, 6, True, 8, 8),
                                                  'g2': (4, 6, 3, 1, 1, 2, False, 6, 5)}.items():
        conv = nn.Conv2d(C, OC, k, s, p, groups=g, bias=bias)
        x = torch.randn(2, C, H, W, requires_grad=True)
        y = conv(x)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        T.update({f'conv.{case}.x': x, f'conv.{case}.w': conv.weight, f'conv.{case}.y': y, f'conv.{case}.dy': dy,
                  f'conv.{case}.dx': x.grad, f'conv.{case}.dw': conv.weight.grad})
        if bias: T.update({f'conv.{case}.b': conv.bias, f'conv.{case}.db': conv.bias.grad})
    ks = [1, 3, 5]
    nets = {'T': InceptionG([8, 16, 32], [([5] * 3, [5] * 3)] * 2, [16, 8], ks),
            'S': InceptionG(*parse_channels(S_CHANNELS, 3), ks)}
    for n, G in nets.items():
        with torch.no_grad():
            for key, prm in G.named_parameters(): prm.copy_(init_value(f'{n}.{key}', tuple(prm.shape)))
        x = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_(True)
        y = G(x)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        T.update({f'{n}.x': x, f'{n}.y': y, f'{n}.dy': dy, f'{n}.dx': x.grad})
        for key, prm in G.named_parameters():  # an empty block's pw_bn is unused (and absent in ganforge)
            if prm.grad is not None: T[f'grad.{n}.{key}'] = prm.grad
    X = torch.randn(3, 5, 4, 4, requires_grad=True)
    Y = torch.randn(3, 7, 4, 4) + 0.5 * torch.cat([X.detach(), X.detach()[:, :2]], 1)
    v = ka(X, Y)
    (-v).backward()
    T.update({'ka.x': X, 'ka.y': Y, 'ka.value': v.reshape(1), 'ka.dx': X.grad})
    path = os.path.join(out, 'cat_small.safetensors')
    write_st(path, T)
    print(path, os.path.getsize(path), 'bytes; KA', v.item())


if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures')
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    main(out)
