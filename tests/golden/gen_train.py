"""gen_train.py - golden for a 10-step training run of a small CNN (fovea must match PyTorch's losses
from the same initial weights within 1e-4 relative).

Net (input 1x12x12): conv(1->4, 3x3, pad 1) - batchnorm - relu - maxpool 2 - conv(4->8, 3x3) - tanh
- avgpool 2 - flatten - dense(32->16) - sigmoid - dense(16->5); softmax cross-entropy. Two runs:
SGD (lr 0.05, momentum 0.9, nesterov, weight decay 1e-3) and Adam (lr 0.01, weight decay 1e-4).
Batch i of each step is samples [8*(i%3), 8*(i%3)+8) of 24 fixed samples.

Run: /usr/bin/python3 tests/golden/gen_train.py  (writes tests/data/golden/train_*.safetensors)
"""
import os

import torch
import torch.nn as nn

import stio

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "golden")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc1 = nn.Linear(32, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = nn.functional.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        x = torch.sigmoid(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def run(name, make_opt):
    torch.manual_seed(1234)
    net = Net()
    x = torch.randn(24, 1, 12, 12)
    y = torch.randint(0, 5, (24,))
    init = {k: v.clone() for k, v in net.state_dict().items() if "num_batches" not in k}
    opt = make_opt(net.parameters())
    losses = []
    net.train()
    for step in range(10):
        s = 8 * (step % 3)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x[s:s + 8]), y[s:s + 8])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        logits = net(x)
    tensors = {"x": x, "y": y.to(torch.float32), "losses": torch.tensor(losses),
               "eval_logits": logits}
    tensors.update({"init." + k: v for k, v in init.items()})
    tensors.update({"final." + k: v.clone() for k, v in net.state_dict().items()
                    if "num_batches" not in k})
    stio.save(os.path.join(OUT, "train_%s.safetensors" % name), tensors)
    print(name, ["%.6f" % v for v in losses])


if __name__ == "__main__":
    torch.set_num_threads(1)
    run("sgd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                         weight_decay=1e-3))
    run("adam", lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-4))
