"""gen_prelu.py - PyTorch goldens for PReLU (per channel and shared) and Maxout.

Writes tests/data/golden/prelu_*.safetensors ("x", "y", "dy", "dx", and for PReLU "p.weight" and
"grad.p.weight"; float32, computed in float64), read by tests/unit/test_ops_prelu.c. Maxout is not
a PyTorch module: its golden is the paper's definition, max over groups of k channels. Run with
/usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_prelu.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")


def prelu(g, name, x, w):
    xd, wd = x.double().requires_grad_(True), w.double().requires_grad_(True)
    y = F.prelu(xd, wd)
    dy = torch.rand(*y.shape, generator=g) * 2 - 1
    y.backward(dy.double())
    stio.save(os.path.join(OUT, name + ".safetensors"),
              {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float(), "p.weight": w,
               "grad.p.weight": wd.grad.float()})


def main():
    g = torch.Generator().manual_seed(21)
    x = torch.rand(2, 4, 3, 3, generator=g) * 2 - 1
    prelu(g, "prelu_channels", x, torch.rand(4, generator=g) * 0.5)
    prelu(g, "prelu_shared", x, torch.tensor([0.3]))
    x = torch.randperm(2 * 6 * 2 * 2, generator=g).float().reshape(2, 6, 2, 2) / 48 - 0.5
    stio.run_case(g, os.path.join(OUT, "prelu_maxout.safetensors"), x,
                  lambda t: t.reshape(2, 2, 3, 2, 2).amax(dim=2))


if __name__ == "__main__":
    main()
