"""gen_pool.py - PyTorch goldens for pooling geometries beyond gen_pool_act_bn.py's square ones.

Non-square windows, unequal strides and paddings, and ties in overlapping windows. The layer
functions take one padding for both axes and one stride (or the window's own size per axis), so
tests/unit/test_ops_pool.c runs every case through the float kernels directly and, where the
layer API can express the geometry, also through a graph. The square graph-level pooling goldens
(pool_max_2x2, ...) come from gen_pool_act_bn.py. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_pool.py

Writes tests/data/golden/pool_k_*.safetensors, each holding "x", "y", "dy" and "dx" (float32;
forward and backward run in float64) and "geom" = (kh, kw, sh, sw, ph, pw), stored as float32
because the C reader loads float tensors only.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

# name -> (x shape, max?, (kh, kw), (sh, sw), (ph, pw), input kind); test_ops_pool.c has the
# same names. "perm": distinct values (no ties); "ties": few distinct values (many ties).
CASES = {
    "pool_k_max_rect": ((3, 2, 7, 5), True, (2, 3), (1, 2), (1, 1), "perm"),
    "pool_k_avg_rect": ((3, 2, 7, 5), False, (2, 3), (1, 2), (1, 1), "perm"),
    "pool_k_max_tall": ((1, 2, 9, 6), True, (4, 2), (3, 1), (2, 0), "perm"),
    "pool_k_avg_tall": ((1, 2, 9, 6), False, (4, 2), (3, 1), (2, 0), "perm"),
    "pool_k_max_ties": ((2, 1, 5, 5), True, (3, 3), (1, 1), (1, 1), "ties"),
    "pool_k_max_2x3": ((2, 2, 7, 8), True, (2, 3), (2, 3), (1, 1), "perm"),
    "pool_k_avg_3x2": ((3, 1, 7, 5), False, (3, 2), (3, 2), (1, 1), "perm"),
}


def make_x(g, shape, kind):
    n = int(torch.tensor(shape).prod())
    if kind == "perm":
        return (torch.randperm(n, generator=g).float() / n - 0.5).reshape(shape)
    return torch.randint(0, 3, shape, generator=g).float()


def main():
    g = torch.Generator().manual_seed(20261124)
    for name, (shape, is_max, k, s, p, kind) in CASES.items():
        x = make_x(g, shape, kind)
        xd = x.double().requires_grad_(True)
        if is_max:
            y = F.max_pool2d(xd, k, s, p)
        else:
            y = F.avg_pool2d(xd, k, s, p, count_include_pad=True)
        dy = torch.rand(*y.shape, generator=g) * 2 - 1
        y.backward(dy.double())
        geom = torch.tensor([k[0], k[1], s[0], s[1], p[0], p[1]], dtype=torch.float32)
        stio.save(os.path.join(OUT, name + ".safetensors"),
                  {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float(),
                   "geom": geom})


if __name__ == "__main__":
    main()
