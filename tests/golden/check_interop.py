"""check_interop.py - weights saved by fovea load in PyTorch and give the same logits.

Usage: /usr/bin/python3 tests/golden/check_interop.py WEIGHTS.safetensors IO.safetensors
WEIGHTS holds LeNet-5 (models/lenet5.fv) parameters written by fovea; IO holds "x" (N, 1, 28, 28)
and fovea's logits "logits" (N, 10). Exits 0 when PyTorch's logits agree within 1e-4 relative.
"""
import sys

import torch
import torch.nn as nn

import stio


class LeNet5(nn.Module):
    """The layout of models/lenet5.fv, in PyTorch."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


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
