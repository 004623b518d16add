#!/usr/bin/env python3
"""make_data.py: the GPU check kit's tiny datasets (python3 standard library only).

    python3 tools/gpu/make_data.py SHARED_DATA_DIR OUT_DIR

Writes into OUT_DIR one small folder per dataset the presets read, so that 3 training steps of
every preset run from the same data on the CPU and on the GPU (tools/gpu/check.sh, part b):
  mnist/, fashion-mnist/   the first 512 training and 128 test digits of MNIST (IDX, gzip); the
                           Fashion-MNIST folder holds the same digits (only the data path matters)
  digits/                  the first 256 / 64 rows of UCI optdigits .tra / .tes
  faces/orl_faces/s1..s4   40 ORL faces (PGM)
  h2z/trainA, h2z/trainB   4 horse and 4 zebra JPEGs of the horse2zebra subset (cyclegan, dcgan64)
  pix2pix/train            4 aligned A|B pairs, 512x256 PNG, drawn here (no paired set is shared)
  cifar10/cifar-10-batches-bin   5 training batches of 40 records of seeded pseudo-random pixels
                           (CIFAR-10 is not among the shared data)
Everything is deterministic: the same files on every run.
"""
import gzip, os, random, shutil, struct, sys, zlib


def idx_subset(src, dst, n, image):
    """Copies the first n items of an IDX file (gzip), fixing the count in its header."""
    with gzip.open(src, 'rb') as f:
        magic = f.read(4)
        count = struct.unpack('>I', f.read(4))[0]
        dims = [struct.unpack('>I', f.read(4))[0] for _ in range(2 if image else 0)]
        per = dims[0] * dims[1] if image else 1
        n = min(n, count)
        body = f.read(n * per)
    with gzip.GzipFile(dst, 'wb', mtime=0) as g:
        g.write(magic + struct.pack('>I', n) + b''.join(struct.pack('>I', d) for d in dims) + body)


def png(path, w, h, rgb):
    """Writes 8-bit RGB rows (bytes of w*3 each) as a PNG."""
    raw = b''.join(b'\x00' + row for row in rgb)
    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def pair_image(k):
    """A|B pair k: A a coloured disc on a gradient, B the same scene as an outline (512x256)."""
    s = 256
    cx, cy, r = 80 + 30 * k, 100 + 20 * k, 50 + 10 * k
    rows = []
    for y in range(s):
        a, b = bytearray(), bytearray()
        for x in range(s):
            d2 = (x - cx) ** 2 + (y - cy) ** 2
            inside = d2 < r * r
            a += bytes((200 if inside else x, 60 + 40 * k if inside else y, 255 - x if inside else 128))
            edge = abs(d2 - r * r) < 2 * r
            b += bytes((0, 0, 0)) if edge else bytes((255, 255, 255))
        rows.append(bytes(a + b))
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: make_data.py SHARED_DATA_DIR OUT_DIR')
    src, out = sys.argv[1], sys.argv[2]
    if not os.path.isdir(os.path.join(src, 'mnist')):
        sys.exit(f'make_data.py: {src}: no mnist/ folder (expected the shared data folder)')
    if os.path.exists(out):
        shutil.rmtree(out)
    for name in ('mnist', 'fashion-mnist'):
        d = os.path.join(out, name)
        os.makedirs(d)
        for split, n in (('train', 512), ('t10k', 128)):
            idx_subset(f'{src}/mnist/{split}-images-idx3-ubyte.gz', f'{d}/{split}-images-idx3-ubyte.gz', n, True)
            idx_subset(f'{src}/mnist/{split}-labels-idx1-ubyte.gz', f'{d}/{split}-labels-idx1-ubyte.gz', n, False)
    d = os.path.join(out, 'digits')
    os.makedirs(d)
    for ext, n in (('tra', 256), ('tes', 64)):
        with open(f'{src}/digits/optdigits.{ext}') as f, open(f'{d}/optdigits.{ext}', 'w') as g:
            g.writelines(f.readlines()[:n])
    for s in range(1, 5):
        shutil.copytree(f'{src}/faces/orl_faces/s{s}', f'{out}/faces/orl_faces/s{s}')
    for side in ('trainA', 'trainB'):
        os.makedirs(f'{out}/h2z/{side}')
        for name in sorted(os.listdir(f'{src}/horse2zebra/{side}'))[:4]:
            shutil.copy(f'{src}/horse2zebra/{side}/{name}', f'{out}/h2z/{side}/{name}')
    os.makedirs(f'{out}/pix2pix/train')
    for k in range(4):
        png(f'{out}/pix2pix/train/{k + 1}.png', 512, 256, pair_image(k))
    d = os.path.join(out, 'cifar10', 'cifar-10-batches-bin')
    os.makedirs(d)
    rng = random.Random(1)
    for b in range(1, 6):
        with open(f'{d}/data_batch_{b}.bin', 'wb') as f:
            for _ in range(40):
                f.write(bytes([rng.randrange(10)]) + bytes(rng.randrange(256) for _ in range(3072)))
    total = sum(os.path.getsize(os.path.join(p, f)) for p, _, fs in os.walk(out) for f in fs)
    print(f'make_data.py: {out}: {total / 1e6:.1f} MB')


if __name__ == '__main__':
    main()
