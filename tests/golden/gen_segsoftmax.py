"""gen_segsoftmax.py - PyTorch goldens for the segment softmax (a softmax over each run of
consecutive values of a sample; Darknet's word-tree softmax).

Writes tests/data/golden/segsoftmax_*.safetensors ("x", "y", "dy", "dx"; float32, computed in
float64), read by tests/unit/test_ops_segsoftmax.c: each sample flattened, split into the
segments with torch.split, a softmax over each, concatenated and reshaped back. Run with
/usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_segsoftmax.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

CASES = [  # name, sample shape, segment lengths
    ("segsoftmax_vec", (10,), (3, 1, 4, 2)),
    ("segsoftmax_map", (2, 3, 4), (5, 7, 12)),
    ("segsoftmax_one", (6,), (6,)),
]


def segsoftmax(t, segs):
    flat = t.reshape(t.shape[0], -1)
    parts = [torch.softmax(p, dim=1) for p in torch.split(flat, list(segs), dim=1)]
    return torch.cat(parts, dim=1).reshape(t.shape)


def main():
    g = torch.Generator().manual_seed(41)
    for name, shape, segs in CASES:
        x = torch.rand(2, *shape, generator=g) * 6 - 3
        stio.run_case(g, os.path.join(OUT, name + ".safetensors"), x,
                      lambda t, s=segs: segsoftmax(t, s))


if __name__ == "__main__":
    main()
