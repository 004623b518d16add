"""gf_rng.py: ganforge's random streams in NumPy (src/kern/kern_rng.h, src/core/rng.c): Philox4x32-10
keyed by (seed, stream), Box-Muller in double, 24-bit uniforms, Fisher-Yates permutations with a
64-bit multiply-shift. tools/torch_twin.py --gf-rng trains on the numbers a ganforge run of the
same seed draws (data order, noise, WGAN-GP coefficients), so that the two runs differ only in
their arithmetic."""
import numpy as np

M64 = (1 << 64) - 1
STREAM_NOISE, STREAM_DATA, STREAM_PENALTY = 2, 3, 9  # src/core/rng.h


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def stream_key(seed, stream):
    return splitmix64(seed ^ splitmix64(stream))


def philox(key, stream, ctr):
    """Blocks for the counters ctr (uint64 array) of one stream: uint32 [len(ctr), 4]."""
    ctr = np.asarray(ctr, dtype=np.uint64)
    m32 = np.uint64(0xFFFFFFFF)
    c0, c1 = ctr & m32, ctr >> np.uint64(32)
    c2 = np.full_like(ctr, stream & 0xFFFFFFFF)
    c3 = np.full_like(ctr, stream >> 32)
    k0, k1 = key & 0xFFFFFFFF, key >> 32
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c0
        p1 = np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & m32,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & m32)
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


class Stream:
    """One stream of a run seed, consumed in blocks of 4 words as gf__rng is."""

    def __init__(self, seed, stream):
        self.key, self.stream, self.counter = stream_key(seed, stream), stream, 0

    def blocks(self, nb):
        u = philox(self.key, self.stream, np.arange(self.counter, self.counter + nb, dtype=np.uint64))
        self.counter += nb
        return u

    def normal(self, n):
        """n N(0, 1) float32 values (gf__rng_normal / the backends' rand_normal)."""
        return self.normal_d(n).astype(np.float32)

    def normal_d(self, n):
        """n N(0, 1) values in double, before rounding (mean + std z is rounded once, in C)."""
        u = self.blocks((n + 3) // 4).astype(np.float64)
        u1 = (u[:, 0::2] + 1.0) * (1.0 / 4294967296.0)
        u2 = u[:, 1::2] * (1.0 / 4294967296.0)
        rad, th = np.sqrt(-2.0 * np.log(u1)), 6.283185307179586 * u2
        z = np.stack([rad[:, 0] * np.cos(th[:, 0]), rad[:, 0] * np.sin(th[:, 0]),
                      rad[:, 1] * np.cos(th[:, 1]), rad[:, 1] * np.sin(th[:, 1])], axis=1)
        return z.reshape(-1)[:n]

    def uniform(self, n):
        """n U[0, 1) float32 values with 24 bits."""
        u = self.blocks((n + 3) // 4).reshape(-1)[:n]
        return ((u >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)).astype(np.float32)

    def perm(self, n):
        """gf__rng_perm: Fisher-Yates from the top, one block per swap."""
        u = self.blocks(n - 1).astype(np.uint64)
        hi, lo = u[:, 0], u[:, 1]
        m = np.arange(n, 1, -1, dtype=np.uint64)  # i + 1 for i = n-1 .. 1
        j = (hi * m + ((lo * m) >> np.uint64(32))) >> np.uint64(32)
        idx = list(range(n))
        for i, jj in zip(range(n - 1, 0, -1), j.tolist()):
            idx[i], idx[jj] = idx[jj], idx[i]
        return np.array(idx, dtype=np.int64)
