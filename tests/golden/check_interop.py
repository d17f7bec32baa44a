"""check_interop.py - weights saved by fovea load in PyTorch and give the same logits.

Usage: /usr/bin/python3 tests/golden/check_interop.py WEIGHTS.safetensors IO.safetensors
WEIGHTS holds LeNet-5 (models/lenet5.fv) parameters written by fovea; IO holds "x" (N, 1, 28, 28)
and fovea's logits "logits" (N, 10). Exits 0 when PyTorch's logits agree within 1e-4 relative.
"""
import sys

import torch

import stio
from lenet5 import LeNet5


def main():
    weights, io = stio.load(sys.argv[1]), stio.load(sys.argv[2])
    net = LeNet5()
    net.load_state_dict(weights, strict=True)  # every name and shape must match
    with torch.no_grad():
        ours = net(io["x"])
    theirs = io["logits"]
    err = ((ours - theirs).abs() / (1e-5 + 1e-4 * theirs.abs())).max().item()
    print("PyTorch vs fovea logits: max |diff| %.3g, tolerance ratio %.3f"
          % ((ours - theirs).abs().max().item(), err))
    return 0 if err <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
