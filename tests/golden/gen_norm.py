"""gen_norm.py - PyTorch goldens for global pooling and local response normalization.

Writes tests/data/golden/norm_*.safetensors ("x", "y", "dy", "dx"; float32, computed in float64),
read by tests/unit/test_ops_norm.c. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_norm.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = stio.GOLDEN
run = stio.run_golden


def affine(g, name, x, fn, pshape):
    w = torch.rand(*pshape, generator=g) + 0.5
    b = torch.rand(*pshape, generator=g) - 0.5
    xd = x.double().requires_grad_(True)
    wd, bd = w.double().requires_grad_(True), b.double().requires_grad_(True)
    y = fn(xd, wd, bd)
    dy = torch.rand(*y.shape, generator=g) * 2 - 1
    y.backward(dy.double())
    stio.save(os.path.join(OUT, name + ".safetensors"),
              {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float(),
               "n.weight": w, "n.bias": b, "grad.n.weight": wd.grad.float(),
               "grad.n.bias": bd.grad.float()})


def main():
    g = torch.Generator().manual_seed(5)
    x = torch.randperm(2 * 3 * 4 * 5, generator=g).float().reshape(2, 3, 4, 5) / 60 - 1
    run(g, "norm_global_avg", x, lambda t: t.mean(dim=(2, 3)))
    run(g, "norm_global_max", x, lambda t: t.amax(dim=(2, 3)))
    x = (torch.rand(2, 7, 3, 3, generator=g) * 2 - 1) * 4
    # AlexNet's settings, and an even window with a large alpha so the normalization matters
    run(g, "norm_lrn_alexnet", x, lambda t: F.local_response_norm(t, 5, alpha=1e-4, beta=0.75, k=2))
    run(g, "norm_lrn_even", x, lambda t: F.local_response_norm(t, 4, alpha=0.5, beta=0.6, k=1.5))
    x = (torch.rand(3, 6, 2, 3, generator=g) * 2 - 1) * 3 + 0.5
    affine(g, "norm_group", x, lambda t, w, b: F.group_norm(t, 3, w, b, eps=1e-5), (6,))
    affine(g, "norm_instance", x, lambda t, w, b: F.group_norm(t, 6, w, b, eps=1e-5), (6,))
    affine(g, "norm_layer", x, lambda t, w, b: F.layer_norm(t, (6, 2, 3), w, b, eps=1e-5),
           (6, 2, 3))


if __name__ == "__main__":
    main()
