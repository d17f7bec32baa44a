"""gen_conv_transpose.py - PyTorch goldens for the transposed convolution (ConvTranspose2d).

Writes tests/data/golden/convt_*.safetensors: "x", "y", "dy", "dx", "up.weight", "up.bias" and
their gradients "grad.up.*" (float32, computed in float64), read by tests/unit/test_ops_convt.c
through tests/optest.h. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_conv_transpose.py

CASES mirrors test_ops_convt.c: x shape, filters, kernel, stride, padding, output padding,
dilation, groups, bias (stride and output padding: one value or a (height, width) pair).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

CASES = {
    "convt_basic": ((2, 3, 4, 4), 2, (3, 3), 1, 0, 0, 1, 1, True),
    "convt_stride2": ((2, 3, 5, 5), 4, (3, 3), 2, 1, 1, 1, 1, True),
    "convt_groups_dilation": ((1, 4, 4, 3), 6, (3, 3), 2, 2, 0, 2, 2, True),
    "convt_rect_nobias": ((2, 2, 3, 4), 3, (2, 3), 3, 0, 2, 1, 1, False),
    "convt_strides_hw": ((2, 2, 3, 4), 3, (3, 2), (3, 2), 1, (2, 1), 1, 1, True),
}


def main():
    g = torch.Generator().manual_seed(11)
    for name, (shape, f, k, s, p, op, d, groups, bias) in CASES.items():
        x = torch.rand(*shape, generator=g) * 2 - 1
        w = (torch.rand(shape[1], f // groups, *k, generator=g) * 2 - 1) * 0.5
        b = torch.rand(f, generator=g) * 2 - 1
        xd, wd = x.double().requires_grad_(True), w.double().requires_grad_(True)
        bd = b.double().requires_grad_(True) if bias else None
        y = F.conv_transpose2d(xd, wd, bd, stride=s, padding=p, output_padding=op,
                               groups=groups, dilation=d)
        dy = torch.rand(*y.shape, generator=g) * 2 - 1
        y.backward(dy.double())
        out = {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float(),
               "up.weight": w, "grad.up.weight": wd.grad.float()}
        if bias:
            out["up.bias"], out["grad.up.bias"] = b, bd.grad.float()
        stio.save(os.path.join(OUT, name + ".safetensors"), out)


if __name__ == "__main__":
    main()
