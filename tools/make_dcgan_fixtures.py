#!/usr/bin/env python3
"""PyTorch parity fixtures for tests/test_dcgan_parity.c: 3 DCGAN training iterations (D step, then
G step on the same fakes, as gf__gan_d_step / gf__gan_g_step) of reduced models, written as
safetensors (by hand: no safetensors package needed).

  /usr/bin/python3 tools/make_dcgan_fixtures.py [outdir=tests/fixtures]

Per model <name> (dcgan64_small: 64x64x3, ngf=ndf=4, nz=16, batch 4; dcgan28_small: 28x28x1,
ngf=ndf=8, nz=16, batch 4; dcgan28_nobn_small: the same with model.dcgan_d_norm=none) one file <name>.safetensors holding
  init.G.net.<i>.<param>  / init.D.net.<i>.<param>   initial weights and BN buffers
  real    [3, B, nc, S, S]   real batches,  z [3, B, nz]  noise
  loss_d, loss_g [3]         losses of each iteration
  final.G.net... / final.D.net...   weights and buffers after the 3 iterations
"""
import json, struct, sys, os
import torch, torch.nn as nn

def dcgan64(nz, nc, ngf, ndf):
    G = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf*8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf*8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf*8, ngf*4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf*4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf*4, ngf*2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf*2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf*2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf*2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf*2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf*2, ndf*4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf*4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf*4, ndf*8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf*8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf*8, 1, 4, 1, 0, bias=False), nn.Flatten())
    return G, D, 64

def dcgan28(nz, nc, ngf, ndf):
    G = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf*4, 7, 1, 0, bias=False), nn.BatchNorm2d(ngf*4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf*4, ngf*2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf*2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf*2, nc, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf*2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf*2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf*2, 1, 7, 1, 0, bias=False), nn.Flatten())
    return G, D, 28

def dcgan28_nobn(nz, nc, ngf, ndf):
    # model.dcgan_d_norm=none: no BatchNorm in D; the convolution it followed gets a bias
    G, _, S = dcgan28(nz, nc, ngf, ndf)
    D = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf*2, 4, 2, 1, bias=True), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf*2, 1, 7, 1, 0, bias=False), nn.Flatten())
    return G, D, S

def dcgan_init(m):  # pytorch/examples dcgan weights_init
    name = m.__class__.__name__
    if name.find('Conv') != -1: nn.init.normal_(m.weight, 0.0, 0.02)
    elif name.find('BatchNorm') != -1:
        nn.init.normal_(m.weight, 1.0, 0.02); nn.init.zeros_(m.bias)

def state(prefix, net):
    return {f"{prefix}.net.{k}": v.detach().clone() for k, v in net.state_dict().items()
            if not k.endswith('num_batches_tracked')}

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

def train_iteration(G, D, oG, oD, bce, real, z, ones, zeros):
    """One ganforge iteration (gf__gan_d_step, gf__gan_g_step): D on a real and a fake batch, then G
    with the non-saturating loss on the same fakes. Returns the two losses."""
    fake = G(z.view(z.shape[0], -1, 1, 1))
    oD.zero_grad()
    ld = bce(D(real), ones) + bce(D(fake.detach()), zeros)
    ld.backward(); oD.step()
    oG.zero_grad()
    lg = bce(D(fake), ones)
    lg.backward(); oG.step()
    return ld.item(), lg.item()

def make(name, build, out, nz=16, nc=3, ngf=8, ndf=8, B=4, iters=3, seed=0):
    torch.manual_seed(seed)
    G, D, S = build(nz, nc, ngf, ndf)
    G.apply(dcgan_init); D.apply(dcgan_init)
    T = {}
    for k, v in {**state('G', G), **state('D', D)}.items(): T['init.' + k] = v
    real = torch.rand(iters, B, nc, S, S) * 2 - 1
    z = torch.randn(iters, B, nz)
    bce = nn.BCEWithLogitsLoss()
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
    ld_all, lg_all = [], []
    for it in range(iters):
        ld, lg = train_iteration(G, D, oG, oD, bce, real[it], z[it], ones, zeros)
        ld_all.append(ld); lg_all.append(lg)
    for k, v in {**state('G', G), **state('D', D)}.items(): T['final.' + k] = v
    T['real'] = real; T['z'] = z
    T['loss_d'] = torch.tensor(ld_all); T['loss_g'] = torch.tensor(lg_all)
    path = os.path.join(out, name + '.safetensors')
    write_st(path, T)
    print(path, os.path.getsize(path), 'bytes; loss_d', ld_all, 'loss_g', lg_all)

if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures')
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    make('dcgan64_small', dcgan64, out, nc=3, ngf=4, ndf=4)
    make('dcgan28_small', dcgan28, out, nc=1)
    make('dcgan28_nobn_small', dcgan28_nobn, out, nc=1)
