"""npy_maxdiff.py: largest absolute difference of two float32 .npy files of one shape (standard
library only); exits 1 above TOL. usage: npy_maxdiff.py A.npy B.npy TOL [LABEL]"""
import ast
import struct
import sys


def load(path):
    raw = open(path, "rb").read()
    assert raw[:6] == b"\x93NUMPY", path + ": not a .npy file"
    hl = struct.unpack("<H", raw[8:10])[0] if raw[6] == 1 else struct.unpack("<I", raw[8:12])[0]
    off = 10 if raw[6] == 1 else 12
    hdr = ast.literal_eval(raw[off:off + hl].decode())
    assert hdr["descr"] == "<f4" and not hdr["fortran_order"], path + ": not float32 C order"
    n = 1
    for d in hdr["shape"]:
        n *= d
    return tuple(hdr["shape"]), struct.unpack("<%df" % n, raw[off + hl:off + hl + 4 * n])


(sa, a), (sb, b) = load(sys.argv[1]), load(sys.argv[2])
tol, label = float(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else sys.argv[2]
if sa != sb:
    print("FAIL: %s: shapes %s and %s" % (label, sa, sb))
    sys.exit(1)
err = max(abs(x - y) if x == x and y == y else float("inf") for x, y in zip(a, b))
print("%s: max abs error %.3g (tolerance %.3g)" % (label, err, tol))
sys.exit(0 if err <= tol else 1)
