"""gen_darknet_pool.py - PyTorch goldens for max pooling with Darknet's padding (pad_end: one
more cell of padding after the end of each axis than before it), which PyTorch expresses as
F.pad(x, (p, p + 1, p, p + 1), value=-inf) followed by max_pool2d without padding.

Writes tests/data/golden/dnpool_*.safetensors ("x", "y", "dy", "dx"; float32, computed in
float64), read by tests/unit/test_darknet.c. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_darknet_pool.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

# name -> (x shape, kernel, stride, padding before); test_darknet.c has the same table.
CASES = {
    "dnpool_2s1": ((2, 3, 5, 6), 2, 1, 0),   # yolov3-tiny's size=2 stride=1: padding 1 = 0 + 1
    "dnpool_2s2_odd": ((1, 2, 7, 5), 2, 2, 0),  # size=2 stride=2 on odd sides
    "dnpool_4s2": ((1, 2, 9, 8), 4, 2, 1),   # size=4: padding 3 = 1 + 2
}


def main():
    g = torch.Generator().manual_seed(23)
    for name, (shape, k, s, p) in CASES.items():
        n = int(torch.tensor(shape).prod())
        x = torch.randperm(n, generator=g).float().reshape(shape) / n - 0.5
        fn = lambda t: F.max_pool2d(F.pad(t, (p, p + 1, p, p + 1), value=-float("inf")), k, s)  # noqa
        stio.run_case(g, os.path.join(OUT, name + ".safetensors"), x, fn)


if __name__ == "__main__":
    main()
