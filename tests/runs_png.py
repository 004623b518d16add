#!/usr/bin/env python3
"""runs_png.py: helpers for test_runs.sh, standard library only (zlib, struct, ast).

  runs_png.py size FILE.png        prints "WIDTH HEIGHT"
  runs_png.py distinct FILE.png    prints "WIDTH HEIGHT DISTINCT" (distinct pixel values after decoding)
  runs_png.py npy FILE.npy         prints "dtype shape finite min max" of a float32 .npy
  runs_png.py tiles FILE.npy DIR   writes each sample of a float32 .npy [n, 1, h, w] in [-1, 1] as
                                   DIR/NNNNN.png (8-bit grey)"""
import ast, math, struct, sys, zlib


def chunks(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("not a PNG")
    p = 8
    while p < len(data):
        (n,) = struct.unpack(">I", data[p:p + 4])
        kind = data[p + 4:p + 8]
        body = data[p + 8:p + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[p + 8 + n:p + 12 + n])[0]:
            raise SystemExit(f"bad CRC in {kind!r}")
        yield kind, body
        p += 12 + n


def decode(path):
    data = open(path, "rb").read()
    ihdr, idat = None, b""
    for kind, body in chunks(data):
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or interlace:
        raise SystemExit(f"unsupported PNG: depth {depth}, interlace {interlace}")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "size":
        for kind, body in chunks(open(path, "rb").read()):
            if kind == b"IHDR":
                w, h = struct.unpack(">II", body[:8])
                print(w, h)
                return
    elif cmd == "distinct":
        w, h, bpp, rows = decode(path)
        seen = set()
        for r in rows:
            seen.update(r[i:i + bpp] for i in range(0, len(r), bpp))
        print(w, h, len(seen))
    elif cmd == "npy":
        d = open(path, "rb").read()
        if d[:6] != b"\x93NUMPY":
            raise SystemExit("not an .npy file")
        major = d[6]
        hl, off = (struct.unpack("<H", d[8:10])[0], 10) if major == 1 else (struct.unpack("<I", d[8:12])[0], 12)
        hdr = ast.literal_eval(d[off:off + hl].decode("latin1"))
        if (off + hl) % 64:
            raise SystemExit(f"data not 64-byte aligned ({off + hl})")
        n = 1
        for s in hdr["shape"]:
            n *= s
        body = d[off + hl:]
        if hdr["descr"] != "<f4" or hdr["fortran_order"] or len(body) != 4 * n:
            raise SystemExit(f"bad npy: {hdr}, {len(body)} data bytes")
        vals = struct.unpack(f"<{n}f", body)
        fin = all(math.isfinite(v) for v in vals)
        print(hdr["descr"], "x".join(map(str, hdr["shape"])), "finite" if fin else "nonfinite", min(vals), max(vals))
    elif cmd == "tiles":
        import os
        d = open(path, "rb").read()
        hl, off = struct.unpack("<H", d[8:10])[0], 10
        hdr = ast.literal_eval(d[off:off + hl].decode("latin1"))
        shape = hdr["shape"]
        n, h, w = shape[0], shape[-2], shape[-1]
        vals = struct.unpack(f"<{n * h * w}f", d[off + hl:off + hl + 4 * n * h * w])
        out = sys.argv[3]
        os.makedirs(out, exist_ok=True)

        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        for i in range(n):
            px = vals[i * h * w:(i + 1) * h * w]
            raw = b"".join(b"\0" + bytes(max(0, min(255, round((v + 1) * 127.5))) for v in px[r * w:(r + 1) * w])
                           for r in range(h))
            png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                   chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
            open(os.path.join(out, f"{i:05d}.png"), "wb").write(png)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
