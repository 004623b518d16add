#!/usr/bin/env python3
"""make_seeds.py: (re)builds the fuzz seed corpora under tests/fuzz/corpus/<target>/ from small
slices of ../shared/data and small made files, and the hand-made regression inputs of issues
found by reading the parsers (tests/fuzz/regress/<target>/). The files are committed; run this
only to change them.

usage: /opt/t2/bin/python tests/fuzz/make_seeds.py BUILD_DIR   (numpy, PIL and safetensors;
BUILD_DIR holds a regular build: its ganforge and fuzz_checkpoint write the ganforge-made seeds)
"""
import gzip, io, os, struct, subprocess, sys, tempfile

import numpy as np
from PIL import Image
from safetensors.numpy import save as st_save

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, '..', 'shared', 'data')
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'build'))
CORPUS = os.path.join(ROOT, 'tests', 'fuzz', 'corpus')
REGRESS = os.path.join(ROOT, 'tests', 'fuzz', 'regress')


def put(kind, target, name, data):
    d = os.path.join(kind, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def seed(target, name, data):
    put(CORPUS, target, name, data)


def regress(target, name, data):
    put(REGRESS, target, name, data)


def gz(b):  # deterministic gzip (no name, no time)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode='wb', mtime=0, filename='') as f:
        f.write(b)
    return out.getvalue()


# ---- IDX: u16 LE length of the labels file, labels file, images file --------------------------
def idx_images(count, rows, cols, pix, extra=b''):
    return struct.pack('>IIII', 0x803, count, rows, cols) + bytes(pix) + extra


def idx_labels(count, labs, extra=b''):
    return struct.pack('>II', 0x801, count) + bytes(labs) + extra


def idx_pair(lab, img):
    return struct.pack('<H', len(lab)) + lab + img


with gzip.open(os.path.join(DATA, 'mnist', 'train-images-idx3-ubyte.gz')) as f:
    mn_img = f.read(16 + 3 * 784)[16:]
with gzip.open(os.path.join(DATA, 'mnist', 'train-labels-idx1-ubyte.gz')) as f:
    mn_lab = f.read(8 + 3)[8:]
real = (idx_labels(3, mn_lab), idx_images(3, 28, 28, mn_img))
small = (idx_labels(2, [1, 9]), idx_images(2, 2, 3, range(12)))
seed('idx', 'mnist-train-first3', idx_pair(*real))
seed('idx', 'made-2x3-two', idx_pair(*small))
seed('idx_gz', 'mnist-train-first3', idx_pair(gz(real[0]), gz(real[1])))
seed('idx_gz', 'made-2x3-two', idx_pair(gz(small[0]), gz(small[1])))
# regressions: trailing bytes (refused); a header declaring 10^8 images in a few bytes (refused
# before allocating 78 GB)
regress('idx', 'trailing-bytes', idx_pair(idx_labels(2, [1, 9]), idx_images(2, 2, 3, range(12), b'\0' * 5)))
regress('idx', 'trailing-label-bytes', idx_pair(idx_labels(2, [1, 9], b'\1'), idx_images(2, 2, 3, range(12))))
regress('idx', 'huge-count', idx_pair(idx_labels(100000000, [1, 2]), idx_images(100000000, 28, 28, range(8))))
regress('idx_gz', 'huge-count', idx_pair(gz(idx_labels(100000000, [1, 2])), gz(idx_images(100000000, 28, 28, range(8)))))
regress('idx_gz', 'trailing-bytes', idx_pair(gz(small[0]), gz(idx_images(2, 2, 3, range(12), b'xyz'))))

# ---- CIFAR-10: mode byte + records (1 label byte + 3072 bytes of R, G, B planes) --------------
rng = np.random.default_rng(1)
recs = b''.join(bytes([k]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes() for k in (3, 7))
for mode in (0x00, 0x03, 0x0c, 0x18):
    seed('cifar', 'made-2rec-mode%02x' % mode, bytes([mode]) + recs)

# ---- images -------------------------------------------------------------------------------
def png(im, **kw):
    b = io.BytesIO()
    im.save(b, 'PNG', **kw)
    return b.getvalue()


def jpg(im, **kw):
    b = io.BytesIO()
    im.save(b, 'JPEG', **kw)
    return b.getvalue()


grad = Image.fromarray(np.add.outer(np.arange(12) * 20, np.arange(9) * 5).astype(np.uint8))
rgb = Image.fromarray(rng.integers(0, 256, (10, 7, 3), dtype=np.uint8))
seed('png', 'made-grey', png(grad))
seed('png', 'made-rgb', png(rgb))
seed('png', 'made-rgba', png(rgb.convert('RGBA')))
seed('png', 'made-la', png(grad.convert('LA')))
seed('png', 'made-palette', png(rgb.convert('P')))
seed('png', 'made-1bit', png(grad.convert('1')))
def png_adam7(a):  # a hand-made interlaced grey PNG (PIL writes none)
    import zlib
    h, w = a.shape
    raw = b''
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
        sub = a[y0::dy, x0::dx]
        if sub.size:
            raw += b''.join(b'\0' + row.tobytes() for row in sub)
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 1)) +
            chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


seed('png', 'made-interlaced', png_adam7(np.asarray(grad)))
seed('jpeg', 'made-grey', jpg(grad, quality=80))
seed('jpeg', 'made-rgb', jpg(rgb, quality=90))
seed('jpeg', 'made-rgb-progressive', jpg(rgb.resize((20, 17)), quality=75, progressive=True))
seed('jpeg', 'made-rgb-420-restart', jpg(rgb.resize((24, 16)), quality=60, subsampling=2))
h2z = sorted(os.listdir(os.path.join(DATA, 'horse2zebra', 'testB')))
smallest = min((os.path.getsize(os.path.join(DATA, 'horse2zebra', 'testB', f)), f) for f in h2z)[1]
with open(os.path.join(DATA, 'horse2zebra', 'testB', smallest), 'rb') as f:
    real_jpg = f.read()
seed('jpeg', 'h2z-' + smallest[:-4] + '-first4k', real_jpg[:4096])
seed('jpeg', 'h2z-64px', jpg(Image.open(io.BytesIO(real_jpg)).resize((64, 64)), quality=85))
with open(os.path.join(DATA, 'faces', 'orl_faces', 's1', '1.pgm'), 'rb') as f:
    face = f.read()
seed('pgm', 'orl-s1-1', face)
seed('pgm', 'made-comment-maxval15', b'P5\n# made\n4 3\n15\n' + bytes(range(12)))
seed('png', 'orl-s1-1-as-png', png(Image.open(io.BytesIO(face)).resize((23, 28))))

# regressions: headers that claim huge images (65535 x 65535 RGB PNG: 12 GiB; a JPEG of 60000 x
# 60000; a 60000 x 60000 PGM) are refused before anything is allocated
def png_chunk(t, d):
    import zlib
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)


regress('png', 'huge-dims', b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', 65535, 65535, 8, 2, 0, 0, 0)) +
        png_chunk(b'IDAT', __import__('zlib').compress(b'\0' * 64)) + png_chunk(b'IEND', b''))
j = bytearray(jpg(grad, quality=80))
sof = j.index(b'\xff\xc0')
j[sof + 5:sof + 9] = struct.pack('>HH', 60000, 60000)
regress('jpeg', 'huge-dims', bytes(j))
regress('pgm', 'huge-dims', b'P5 60000 60000 255\n' + bytes(64))

# ---- optdigits ------------------------------------------------------------------------------
with open(os.path.join(DATA, 'digits', 'optdigits.tra'), 'rb') as f:
    lines = f.read().split(b'\n')
seed('digits', 'optdigits-tra-first5', b'\n'.join(lines[:5]) + b'\n')
seed('digits', 'made-crlf-two', (b','.join(b'%d' % (i % 17) for i in range(64)) + b',3\r\n') * 2)

# ---- .npy -----------------------------------------------------------------------------------
def npy(a, version=None):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, a, version=version)
    else:
        np.save(b, a)
    return b.getvalue()


seed('npy', 'made-2x3', npy(np.arange(6, dtype='<f4').reshape(2, 3)))
seed('npy', 'made-empty', npy(np.zeros((0, 4), dtype='<f4')))
seed('npy', 'made-scalar', npy(np.float32(1.5)))
seed('npy', 'made-v2-1x1x2x2', npy(np.ones((1, 1, 2, 2), dtype='<f4'), version=(2, 0)))

# ---- ganforge-made files: a generator, a run's config.txt, a checkpoint -----------------------
tmp = tempfile.mkdtemp()
gfbin = os.path.join(BUILD, 'ganforge')
subprocess.run([gfbin, 'train', 'gauss1d', '--epochs', '1', '--set', 'data.n=64', '--set', 'model.g_hidden=3',
                '--set', 'model.d_hidden=3', '--set', 'model.nz=2', '--set', 'train.batch=32', '--set',
                'train.grid=8', '--out', os.path.join(tmp, 'run'), '--quiet'], check=True)
with open(os.path.join(tmp, 'run', 'generator.safetensors'), 'rb') as f:
    seed('safetensors', 'ganforge-generator-gauss1d', f.read())
with open(os.path.join(tmp, 'run', 'config.txt'), 'rb') as f:
    seed('config', 'ganforge-config-txt', f.read())
seed('config', 'made-sections', b'# a comment\n[train]\nlr = 1e-3  # inline\nbatch=16\n\n[model]\nnz = 8\n'
     b'data.name = shapes\n')
seed('safetensors', 'made-meta-two', st_save({'a': np.arange(6, dtype='<f4').reshape(2, 3),
                                               'b': np.zeros((0,), dtype='<f4')}, metadata={'k': 'v'}))
ck = os.path.join(tmp, 'ck.safetensors')
subprocess.run([os.path.join(BUILD, 'fuzz_checkpoint'), '/dev/null'], check=True,
               env=dict(os.environ, GF_FUZZ_WRITE_SEED=ck), stdout=subprocess.DEVNULL)
with open(ck, 'rb') as f:
    seed('checkpoint', 'ganforge-checkpoint-mlp-bn-ema', f.read())

# ---- generator files for the inference API (fuzz_generator: 1 byte, bit 0 = BtoA, then the file):
# the gauss1d MLP above, and made at step 0 (--epochs 0): a 16 px DCGAN, a 32 px ResNet CycleGAN,
# a 128 px U-Net pix2pix, each with 1-2 feature maps
from safetensors.numpy import load as st_load
from safetensors import safe_open


def gen_seed(name, path, byte=0):
    with open(path, 'rb') as f:
        seed('generator', name, bytes([byte]) + f.read())


def with_config(path, **kv):  # the file with config keys replaced (the tensors unchanged)
    with safe_open(path, 'np') as f:
        meta = f.metadata()
    with open(path, 'rb') as f:
        tensors = st_load(f.read())
    lines = meta['config'].split('\n')
    for k, v in kv.items():
        key = k.replace('__', '.')
        lines = [key + ' = ' + v if ln.split(' = ')[0] == key else ln for ln in lines]
    meta['config'] = '\n'.join(lines)
    return st_save(tensors, metadata=meta)


gen_seed('ganforge-mlp-gauss1d', os.path.join(tmp, 'run', 'generator.safetensors'))
subprocess.run([gfbin, 'train', 'demo-shapes', '--epochs', '0', '--set', 'model.ngf=2', '--set', 'model.ndf=2',
                '--set', 'model.nz=4', '--set', 'data.n=64', '--out', os.path.join(tmp, 'dc'), '--quiet'], check=True)
gen_seed('ganforge-dcgan-16px', os.path.join(tmp, 'dc', 'generator.safetensors'))
subprocess.run([gfbin, 'train', 'cyclegan', '--data', os.path.join(DATA, 'horse2zebra'), '--epochs', '0', '--set',
                'model.ngf=1', '--set', 'model.ndf=1', '--set', 'model.n_blocks=1', '--set', 'data.load_size=32',
                '--set', 'data.crop_size=32', '--set', 'data.limit=2', '--out', os.path.join(tmp, 'cyc'), '--quiet'],
               check=True, stderr=subprocess.DEVNULL)
gen_seed('ganforge-cyclegan-resnet-32px-BtoA', os.path.join(tmp, 'cyc', 'cyclegan.safetensors'), 1)
os.makedirs(os.path.join(tmp, 'p2p', 'train'))
for i in range(2):
    Image.fromarray(rng.integers(0, 256, (128, 256, 3), dtype=np.uint8)).save(os.path.join(tmp, 'p2p', 'train', '%d.png' % i))
subprocess.run([gfbin, 'train', 'pix2pix', '--data', os.path.join(tmp, 'p2p'), '--epochs', '0', '--set',
                'model.netG=unet_128', '--set', 'model.ngf=1', '--set', 'model.ndf=1', '--set', 'data.load_size=128',
                '--set', 'data.crop_size=128', '--out', os.path.join(tmp, 'pix'), '--quiet'], check=True,
               stderr=subprocess.DEVNULL)
gen_seed('ganforge-pix2pix-unet128', os.path.join(tmp, 'pix', 'pix2pix.safetensors'))
# regressions (issue 20, the inference API): a 2 KB file whose config asks for an MLP of 10^12
# weights was allocated (terabytes) before any tensor was read; a config the network builder
# refuses gave a message that named no file
regress('generator', 'huge-network',
        b'\0' + with_config(os.path.join(tmp, 'run', 'generator.safetensors'), model__g_hidden='1048576,1048576'))
regress('generator', 'unet-size-unnamed',
        b'\0' + with_config(os.path.join(tmp, 'pix', 'pix2pix.safetensors'), data__crop_size='96', data__load_size='96'))

# regressions from reading the reader: a line longer than the reader's buffer was cut into two
# settings (the tail of a long comment applied as a setting); a NUL ended the line early; a value
# over 255 characters was cut short
regress('config', 'long-comment-split', b'train.batch = 8  # ' + b'x' * 492 + b' train.lr=5\n')
regress('config', 'long-value', b'train.epochs = ' + b'0' * 300 + b'12\n')
regress('config', 'nul-in-line', b'train.lr = 1e-3\0train.batch=1\n')
print('seeds:', sum(len(fs) for _, _, fs in os.walk(CORPUS)), 'files,',
      sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(CORPUS) for f in fs), 'bytes')
