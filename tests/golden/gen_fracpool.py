"""gen_fracpool.py - PyTorch goldens for fractional max pooling with explicit samples.

Writes tests/data/golden/fracpool_*.safetensors ("x", "samples" (N, C, 2: width, height), "y",
"dy", "dx"; float32 and computed in float32, as PyTorch draws its windows in the input's type),
read by tests/unit/test_fracpool.c, which sets the same samples. Run with /usr/bin/python3
(torch 1.13):

    /usr/bin/python3 tests/golden/gen_fracpool.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

# name: (input shape, kernel_size, output_size, output_ratio); test_fracpool.c repeats these
CASES = {
    "fracpool_k2_size": ((2, 3, 9, 7), 2, (4, 3), None),
    "fracpool_k3_ratio": ((2, 2, 11, 10), 3, None, 0.5),
    "fracpool_k23_size": ((1, 3, 8, 9), (2, 3), (5, 4), None),
    "fracpool_k2_ratio": ((2, 2, 10, 10), 2, None, (0.7, 0.6)),
    "fracpool_ties": ((2, 2, 8, 8), 3, (4, 4), None),
}


def case(g, name, shape, k, size, ratio):
    n = 1
    for d in shape:
        n *= d
    if name == "fracpool_ties":  # few distinct values: ties go to the first cell
        x = torch.randint(0, 3, shape, generator=g).float()
    else:
        x = torch.randperm(n, generator=g).float().reshape(shape) / n - 0.5
    u = torch.rand(shape[0], shape[1], 2, generator=g)
    u[0, 0] = 0.0  # the edges of [0, 1)
    u[-1, -1, 1] = 0.9999
    xg = x.clone().requires_grad_(True)
    y = F.fractional_max_pool2d(xg, k, output_size=size, output_ratio=ratio, _random_samples=u)
    dy = torch.rand(*y.shape, generator=g) * 2 - 1
    y.backward(dy)
    stio.save(os.path.join(OUT, name + ".safetensors"),
              {"x": x, "samples": u, "y": y.detach(), "dy": dy, "dx": xg.grad})


def main():
    g = torch.Generator().manual_seed(1412)
    for name, (shape, k, size, ratio) in CASES.items():
        case(g, name, shape, k, size, ratio)


if __name__ == "__main__":
    main()
