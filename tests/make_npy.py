"""make_npy.py: writes a float32 .npy of uniform values in [-1, 1) with the standard library alone.
usage: python3 make_npy.py OUT.npy SEED D0 D1 ..."""
import random
import struct
import sys

out, seed, shape = sys.argv[1], int(sys.argv[2]), [int(d) for d in sys.argv[3:]]
rng = random.Random(seed)
n = 1
for d in shape:
    n *= d
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d, " % d for d in shape)
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%df" % n, *(rng.uniform(-1, 1) for _ in range(n))))
