"""gen_permute.py - PyTorch goldens for the axis permutation of each sample (Keras' Permute).

Writes tests/data/golden/permute_*.safetensors ("x", "y", "dy", "dx"; float32, computed in
float64), read by tests/unit/test_ops_permute.c. dims are Keras' (from 1, the batch axis
excluded): the layer is PyTorch's x.permute(0, *dims). Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_permute.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

CASES = [  # name, sample shape, dims
    ("permute_chw_hwc", (3, 4, 5), (2, 3, 1)),
    ("permute_4d", (2, 3, 4, 5), (4, 1, 3, 2)),
    ("permute_2d", (4, 5), (2, 1)),
]


def main():
    g = torch.Generator().manual_seed(31)
    for name, shape, dims in CASES:
        x = torch.rand(2, *shape, generator=g) * 2 - 1
        stio.run_case(g, os.path.join(OUT, name + ".safetensors"), x,
                      lambda t, d=dims: t.permute(0, *d))


if __name__ == "__main__":
    main()
