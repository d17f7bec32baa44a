"""gen_unpool_lp.py - PyTorch goldens for max-unpooling (through the max pool's switches) and LP
pooling.

Writes tests/data/golden/unpool_*.safetensors ("x", "y", "dy", "dx"; float32, computed in float64),
read by tests/unit/test_unpool_lp.c. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_unpool_lp.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")


def unpool(t):
    y, idx = F.max_pool2d(t, 2, 2, return_indices=True)
    return F.max_unpool2d(y, idx, 2, 2, output_size=t.shape[-2:])


def main():
    g = torch.Generator().manual_seed(23)
    x = torch.randperm(2 * 3 * 6 * 5, generator=g).float().reshape(2, 3, 6, 5) / 180 - 0.5
    stio.run_case(g, os.path.join(OUT, "unpool_max.safetensors"), x, unpool)
    stio.run_case(g, os.path.join(OUT, "unpool_lp2.safetensors"), x,
                  lambda t: F.lp_pool2d(t, 2, 3, stride=2))
    xp = torch.rand(2, 3, 6, 5, generator=g) + 0.1
    stio.run_case(g, os.path.join(OUT, "unpool_lp3.safetensors"), xp,
                  lambda t: F.lp_pool2d(t, 3, 2, stride=2))


if __name__ == "__main__":
    main()
