"""gen_pool_modes.py - PyTorch goldens for pooling with ceil_mode and count_include_pad=False.

Writes tests/data/golden/poolm_*.safetensors ("x", "y", "dy", "dx"; float32, computed in float64),
read by tests/unit/test_pool_modes.c. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_pool_modes.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

# name -> (x shape, max?, kernel, stride, padding, ceil_mode, count_include_pad);
# test_pool_modes.c has the same table.
CASES = {
    "poolm_max_ceil": ((2, 2, 7, 7), True, 2, 2, 0, True, True),
    "poolm_max_ceil_pad": ((1, 2, 6, 5), True, 3, 2, 1, True, True),
    "poolm_avg_ceil": ((2, 2, 7, 6), False, 3, 2, 1, True, True),
    "poolm_avg_exclude": ((2, 2, 6, 7), False, 3, 2, 1, False, False),
    "poolm_avg_ceil_exclude": ((1, 3, 5, 7), False, 2, 2, 1, True, False),
}


def main():
    g = torch.Generator().manual_seed(17)
    for name, (shape, is_max, k, s, p, ceil, inc) in CASES.items():
        n = int(torch.tensor(shape).prod())
        x = torch.randperm(n, generator=g).float().reshape(shape) / n - 0.5
        if is_max:
            fn = lambda t: F.max_pool2d(t, k, s, p, ceil_mode=ceil)  # noqa: E731
        else:
            fn = lambda t: F.avg_pool2d(t, k, s, p, ceil_mode=ceil, count_include_pad=inc)  # noqa
        stio.run_case(g, os.path.join(OUT, name + ".safetensors"), x, fn)


if __name__ == "__main__":
    main()
