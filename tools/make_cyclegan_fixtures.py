#!/usr/bin/env python3
"""PyTorch parity fixtures for tests/test_cyclegan_parity.c (PyTorch 1.13, CPU, float32).

  /usr/bin/python3 tools/make_cyclegan_fixtures.py [outdir=tests/fixtures]

cyclegan_small.safetensors: one CycleGAN step exactly as shared/bench/torch_ref.py cycle_step_fn
(its resnet_g / patch_d, imported from there) at 32x32, ngf 8, 2 residual blocks, ndf 8, pool
disabled: G losses with D frozen, G update (one Adam for G_A + G_B), D losses halved, D update.
pix2pix_small.safetensors: one pix2pix step as junyanz pix2pix_model.optimize_parameters (D step
on (A, fake B) then (A, B), halved; then G step with the updated D: BCE-with-logits + 100 * L1)
with junyanz's UnetGenerator (5 downsamplings, 32x32, ngf 4, BatchNorm, no dropout) and a
conditional NLayerDiscriminator (6 input channels, ndf 8, n_layers 3, BatchNorm).

The initial weights are not stored: both sides fill every parameter from its ganforge name n
(see init_value): element k of a 4-d weight is sin(0.37 k + 0.001 h) / sqrt(fan_in), a norm weight
1 + 0.1 sin(..), any other 1-d tensor 0.1 sin(..), with h = sum of the bytes of n.
Stored: a, b [1, 3, 32, 32]; losses; grad.<name> for every parameter (the gradients of the step,
before the optimizer update); after.<name> for the parameters of at most 4700 values of G_A / D_A
(cyclegan) or of every D tensor and the BatchNorm buffers (pix2pix) after the step.
Tensor names: "<net>.net.<state_dict key of the twin>" (see src/models/cyclegan.h).
"""
import json, math, os, struct, sys
import torch, torch.nn as nn

sys.path.insert(0, '/work/shared/bench')
from torch_ref import resnet_g, patch_d  # noqa: E402


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


def set_params(prefix, net):
    with torch.no_grad():
        for k, p in net.named_parameters():
            p.copy_(init_value(f'{prefix}.net.{k}', tuple(p.shape)))


def write_st(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    header["__metadata__"] = {"format": "ganforge-fixture"}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in blobs: f.write(b)


def cyclegan(out, size=32, ngf=8, nb=2, ndf=8):
    torch.manual_seed(0)
    GA, GB, DA, DB = resnet_g(ngf, nb), resnet_g(ngf, nb), patch_d(ndf), patch_d(ndf)
    nets = {'G_A': GA, 'G_B': GB, 'D_A': DA, 'D_B': DB}
    for n, m in nets.items(): set_params(n, m)
    oG = torch.optim.Adam(list(GA.parameters()) + list(GB.parameters()), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(list(DA.parameters()) + list(DB.parameters()), 2e-4, betas=(0.5, 0.999))
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    a = torch.rand(1, 3, size, size) * 2 - 1; b = torch.rand(1, 3, size, size) * 2 - 1
    # --- cycle_step_fn of torch_ref.py, with the loss terms kept ---
    fb, fa = GA(a), GB(b)
    ra, rb = GB(fb), GA(fa)
    ia, ib = GA(b), GB(a)
    for p in list(DA.parameters()) + list(DB.parameters()): p.requires_grad_(False)
    pb, pa = DA(fb), DB(fa)
    terms = [mse(pb, torch.ones_like(pb)), mse(pa, torch.ones_like(pa)), 10 * l1(ra, a), 10 * l1(rb, b),
             5 * l1(ia, b), 5 * l1(ib, a)]
    lg = sum(terms)
    oG.zero_grad(set_to_none=True); lg.backward(); oG.step()
    for p in list(DA.parameters()) + list(DB.parameters()): p.requires_grad_(True)
    oD.zero_grad(set_to_none=True)
    ld = []
    for D, real, fake in ((DA, b, fb), (DB, a, fa)):
        pr, pf = D(real), D(fake.detach())
        l = (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf))) * 0.5
        l.backward(); ld.append(l.item())
    oD.step()
    T = {'a': a, 'b': b,
         'loss_G': torch.tensor([lg.item()] + [t.item() for t in terms]),
         'loss_D': torch.tensor(ld)}
    for n, m in nets.items():
        for k, p in m.named_parameters():
            T[f'grad.{n}.net.{k}'] = p.grad
            if n in ('G_A', 'D_A') and p.numel() <= 4700: T[f'after.{n}.net.{k}'] = p.detach()
    path = os.path.join(out, 'cyclegan_small.safetensors')
    write_st(path, T)
    print(path, os.path.getsize(path), 'bytes; loss_G', T['loss_G'].tolist(), 'loss_D', ld)


# ---- junyanz/pytorch-CycleGAN-and-pix2pix networks (models/networks.py), BatchNorm ----
class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = norm_layer == nn.InstanceNorm2d
        if input_nc is None: input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv] + [submodule] + [uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv] + [uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm] + [submodule] + [uprelu, upconv, upnorm]
            if use_dropout: model = model + [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost: return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        ub = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=None, norm_layer=norm_layer, innermost=True)
        for _ in range(num_downs - 5):
            ub = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=ub, norm_layer=norm_layer, use_dropout=use_dropout)
        ub = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=ub, norm_layer=norm_layer)
        ub = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=ub, norm_layer=norm_layer)
        ub = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=ub, norm_layer=norm_layer)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=ub, outermost=True,
                                             norm_layer=norm_layer)

    def forward(self, x): return self.model(x)


def nlayer_d(input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
    use_bias = norm_layer == nn.InstanceNorm2d
    seq = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    nf = 1
    for n in range(1, n_layers):
        nfp, nf = nf, min(2 ** n, 8)
        seq += [nn.Conv2d(ndf * nfp, ndf * nf, 4, 2, 1, bias=use_bias), norm_layer(ndf * nf), nn.LeakyReLU(0.2, True)]
    nfp, nf = nf, min(2 ** n_layers, 8)
    seq += [nn.Conv2d(ndf * nfp, ndf * nf, 4, 1, 1, bias=use_bias), norm_layer(ndf * nf), nn.LeakyReLU(0.2, True)]
    seq += [nn.Conv2d(ndf * nf, 1, 4, 1, 1)]
    return nn.Sequential(*seq)


def pix2pix(out, size=32, ngf=4, downs=5, ndf=8):
    torch.manual_seed(1)
    G = UnetGenerator(3, 3, downs, ngf)
    D = nlayer_d(6, ndf)
    set_params('G', G); set_params('D', D)
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    a = torch.rand(1, 3, size, size) * 2 - 1; b = torch.rand(1, 3, size, size) * 2 - 1
    fake_B = G(a)
    # backward_D
    for p in D.parameters(): p.requires_grad_(True)
    oD.zero_grad()
    pf = D(torch.cat((a, fake_B), 1).detach())
    l_fake = bce(pf, torch.zeros_like(pf))
    pr = D(torch.cat((a, b), 1))
    l_real = bce(pr, torch.ones_like(pr))
    ld = (l_fake + l_real) * 0.5
    ld.backward(); oD.step()
    # backward_G
    for p in D.parameters(): p.requires_grad_(False)
    oG.zero_grad()
    pf2 = D(torch.cat((a, fake_B), 1))
    l_gan = bce(pf2, torch.ones_like(pf2))
    l_l1 = l1(fake_B, b) * 100
    lg = l_gan + l_l1
    lg.backward(); oG.step()
    T = {'a': a, 'b': b, 'loss': torch.tensor([ld.item(), l_fake.item(), l_real.item(), lg.item(), l_gan.item(), l_l1.item()])}
    for n, m in (('G', G), ('D', D)):
        for k, p in m.named_parameters():
            T[f'grad.{n}.net.{k}'] = p.grad
            if n == 'D': T[f'after.{n}.net.{k}'] = p.detach()
        for k, v in m.named_buffers():
            if not k.endswith('num_batches_tracked'): T[f'after.{n}.net.{k}'] = v
    path = os.path.join(out, 'pix2pix_small.safetensors')
    write_st(path, T)
    print(path, os.path.getsize(path), 'bytes; loss', T['loss'].tolist())


if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures')
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    cyclegan(out)
    pix2pix(out)
