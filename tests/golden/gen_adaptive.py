"""gen_adaptive.py - PyTorch goldens for adaptive average pooling (AdaptiveAvgPool2d): a grid
that divides the input, one whose windows overlap (7 -> 3, 14 -> 4 as GoogLeNet's auxiliary
heads), and one larger than the input (1 -> 6 and 2 -> 7, as AlexNet's and VGG's heads on small
images).

Writes tests/data/golden/adaptive_*.safetensors ("x", "y", "dy", "dx"), read by
tests/unit/test_adaptive.c. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_adaptive.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
CASES = [  # name, (C, H, W), (oh, ow)
    ("adaptive_divides", (3, 8, 6), (4, 3)),
    ("adaptive_overlap", (2, 7, 14), (3, 4)),
    ("adaptive_grow", (2, 1, 2), (6, 7)),
]


def main():
    g = torch.Generator().manual_seed(41)
    for name, shape, out in CASES:
        x = torch.rand((2,) + shape, generator=g) * 2 - 1
        stio.run_case(g, os.path.join(OUT, name + ".safetensors"), x,
                      lambda t, o=out: F.adaptive_avg_pool2d(t, o))


if __name__ == "__main__":
    main()
