"""gen_resize.py - PyTorch goldens for upsampling (nearest, bilinear) and zero padding/cropping.

Writes tests/data/golden/resize_*.safetensors ("x", "y", "dy", "dx"; float32, computed in float64),
read by tests/unit/test_ops_resize.c. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_resize.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

run = stio.run_golden


def main():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 2, 3, 4, generator=g) * 2 - 1
    run(g, "resize_nearest", x, lambda t: F.interpolate(t, scale_factor=(2, 3), mode="nearest"))
    run(g, "resize_bilinear", x, lambda t: F.interpolate(t, scale_factor=(3, 2), mode="bilinear",
                                                         align_corners=False))
    run(g, "resize_pad", x, lambda t: F.pad(t, (2, 1, 1, 0)))  # left, right, top, bottom
    run(g, "resize_crop", x, lambda t: t[:, :, 1:3, 1:2])  # crop top 1, bottom 0, left 1, right 2


if __name__ == "__main__":
    main()
