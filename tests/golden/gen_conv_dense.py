"""gen_conv_dense.py - PyTorch goldens for the conv2d and dense ops.

Writes tests/data/golden/conv_*.safetensors and dense_*.safetensors (float32), read by
tests/unit/test_ops_conv.c and tests/unit/test_ops_dense.c through tests/optest.h. Run with
/usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_conv_dense.py

Each file holds "x" (N, ...), "y", "dy" (the output gradient fed to backward), "dx", the layer's
parameters ("conv.weight", "conv.bias" / "fc.weight", "fc.bias") and their gradients
("grad.conv.weight", ...). Inputs and parameters are drawn in float32; y and the gradients are
computed in float64 from those exact values and rounded once. The C tests mirror CONV_CASES and
DENSE_CASES (layer arguments).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

# name -> (x shape (N, C, H, W), filters, kernel (kh, kw), stride, padding, dilation, groups,
#          bias); test_ops_conv.c has the same table.
CONV_CASES = {
    "conv_basic": ((2, 3, 6, 6), 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
    "conv_stride2_pad": ((3, 2, 7, 6), 3, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    "conv_dilation2": ((2, 2, 7, 7), 3, (3, 3), (1, 1), (2, 2), (2, 2), 1, True),
    "conv_groups2": ((2, 4, 5, 5), 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    "conv_rect_nobias": ((1, 2, 6, 7), 3, (2, 3), (2, 1), (1, 0), (1, 1), 1, False),
    "conv_pointwise": ((3, 4, 3, 4), 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    "conv_lenet": ((2, 1, 6, 6), 6, (5, 5), (1, 1), (2, 2), (1, 1), 1, True),
}

# name -> (x shape (N, ...), units, bias); test_ops_dense.c has the same table.
DENSE_CASES = {
    "dense_basic": ((4, 7), 5, True),
    "dense_image": ((3, 2, 3, 2), 4, True),
    "dense_nobias": ((1, 9), 3, False),
}


def rand(g, *shape, scale=1.0):
    return (torch.rand(*shape, generator=g) * 2 - 1) * scale


def run_case(g, name, layer, x, params, fn):
    """params: dict short name -> float32 tensor; fn(x, **params) in float64."""
    xd = x.double().requires_grad_(True)
    pd = {k: v.double().requires_grad_(True) for k, v in params.items()}
    y = fn(xd, **pd)
    dy = rand(g, *y.shape)
    y.backward(dy.double())
    out = {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float()}
    for k, v in params.items():
        out[f"{layer}.{k}"] = v
        out[f"grad.{layer}.{k}"] = pd[k].grad.float()
    stio.save(os.path.join(OUT, name + ".safetensors"), out)


def gen_conv(g):
    for name, (xs, f, k, s, p, d, groups, bias) in CONV_CASES.items():
        x = rand(g, *xs)
        params = {"weight": rand(g, f, xs[1] // groups, *k, scale=0.5)}
        if bias:
            params["bias"] = rand(g, f, scale=0.5)

        def fn(x, weight, bias=None):
            return F.conv2d(x, weight, bias, stride=s, padding=p, dilation=d, groups=groups)

        run_case(g, name, "conv", x, params, fn)


def gen_dense(g):
    for name, (xs, units, bias) in DENSE_CASES.items():
        x = rand(g, *xs)
        k = 1
        for v in xs[1:]:
            k *= v
        params = {"weight": rand(g, units, k, scale=0.5)}
        if bias:
            params["bias"] = rand(g, units, scale=0.5)

        def fn(x, weight, bias=None):
            return F.linear(x.reshape(x.shape[0], -1), weight, bias)

        run_case(g, name, "fc", x, params, fn)


def main():
    stio.generate(2024, gen_conv, gen_dense)


if __name__ == "__main__":
    main()
