"""lenet5.py - models/lenet5.fv's layout as a PyTorch module, with the same parameter names
(conv1, conv2, fc1..fc3), for the scripts that trade its weights with fovea (check_interop.py,
gen_torch_pt.py).
"""
import torch
import torch.nn as nn


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
