"""darknet_bnstats.py - gives the batch norms of a Darknet .weights file that the darknet binary
wrote (its own initialisation: rolling variances 0, which Darknet turns into a division by 1e-6
and NaN outputs) seeded statistics a trained network could have: scales in [0.5, 1.5], means in
[-0.2, 0.2], variances in [0.5, 2], biases in [-0.1, 0.1]; every other byte is kept. The layout
comes from the cfg (section kinds, batch_normalize, groups, filters, size) and fovea's Darknet
table (each layer's input channels / inputs).
usage: darknet_bnstats.py CFG TABLE IN.weights OUT.weights SEED"""
import random
import re
import struct
import sys


def sections(path):
    out = []
    for line in open(path):
        line = re.sub(r"\s", "", line)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            out.append((line[1:-1], {}))
        else:
            k, v = line.split("=", 1)
            out[-1][1].setdefault(k, v)
    return out[1:]  # the layers, after [net]


def main():
    cfg, table, src, dst, seed = sys.argv[1:6]
    rng = random.Random(int(seed))
    rows = open(table).read().splitlines()[1:]
    data = bytearray(open(src, "rb").read())
    major, minor = struct.unpack_from("<ii", data, 0)
    at = 20 if major * 10 + minor >= 2 and major < 1000 and minor < 1000 else 16
    for i, (kind, kv) in enumerate(sections(cfg)):
        bn = int(kv.get("batch_normalize", "0"))
        if kind in ("convolutional", "conv"):
            n, s, g = int(kv.get("filters", "1")), int(kv.get("size", "1")), int(kv.get("groups", "1"))
            c = int(re.search(r"x\s*(\d+)\s+->", rows[i]).group(1))
            nw = n * (c // g) * s * s
            blocks = [("bias", n)] + ([("scale", n), ("mean", n), ("var", n)] if bn else []) + [("w", nw)]
        elif kind in ("connected", "conn"):
            n = int(kv.get("output", "1"))
            k = int(re.search(r"connected\s+(\d+)", rows[i]).group(1))
            blocks = [("bias", n), ("w", n * k)] + ([("scale", n), ("mean", n), ("var", n)] if bn else [])
        else:
            continue
        for what, count in blocks:
            lo_hi = {"bias": (-0.1, 0.1), "scale": (0.5, 1.5), "mean": (-0.2, 0.2), "var": (0.5, 2.0)}
            if what in lo_hi and bn:
                vals = [rng.uniform(*lo_hi[what]) for _ in range(count)]
                struct.pack_into("<%df" % count, data, at, *vals)
            at += 4 * count
    if at != len(data):
        sys.exit("darknet_bnstats: layout covers %d of %d bytes" % (at, len(data)))
    open(dst, "wb").write(data)


main()
