"""torch_train.py - PyTorch's side of the training benchmark: steady-state images/s of
forward + backward + Adam update for a network built from a fovea model file, on random data.

    /usr/bin/python3 bench/torch_train.py MODEL.fv BATCH THREADS STEPS

Prints one line "images_per_s <value> peak_rss_kb <value>". A sequential network is built by the
same text-format rules as fovea's (a small reader of the layers LeNet-5, the Keras CNN and the
row LSTM use);
models/zoo/resnet18_cifar.fv is torchvision's resnet18 with the same CIFAR stem (3x3/1 conv1, no
max pooling, 10 classes). PyTorch gets its best settings: explicit thread count, no autograd
anomaly checks, channels-first contiguous tensors (run_train.sh adds tcmalloc).
"""
import os
import resource
import sys
import time

import torch
import torch.nn as nn


class Reshape(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.reshape(x.shape[0], *self.dims)


class Recurrent(nn.Module):
    """fovea's lstm / gru layer: batch first; every step's state or h_n, directions joined."""

    def __init__(self, kind, features, kv):
        super().__init__()
        cls = nn.LSTM if kind == "lstm" else nn.GRU
        self.bi = kv.get("bidirectional", "false") == "true"
        self.seq = kv.get("return_sequences", "false") == "true"
        self.rnn = cls(features, int(kv["units"]), batch_first=True, bidirectional=self.bi)

    def forward(self, x):
        out, h = self.rnn(x)
        if self.seq:
            return out
        h = h[0] if isinstance(h, tuple) else h
        return h.transpose(0, 1).reshape(x.shape[0], -1)


def parse(path):
    layers, shape = [], None
    for line in open(path):
        line = line.split("#")[0].strip()
        if not line or line.startswith("model "):
            continue
        kind, *args = line.split()
        kv = dict(a.split("=", 1) for a in args)
        if kind == "input":
            shape = [int(v) for v in kv["shape"].split(",")]
        layers.append((kind, kv))
    return shape, layers


def build(shape, layers):
    mods, c, feat = [], shape[0], None
    x = torch.zeros(1, *shape)
    for kind, kv in layers:
        if kind == "input":
            continue
        if kind == "conv2d":
            k = int(kv.get("kernel_size", 3))
            pad = kv.get("padding", "0")
            pad = k // 2 if pad == "same" else int(pad)
            m = nn.Conv2d(c, int(kv["filters"]), k, stride=int(kv.get("strides", 1)), padding=pad)
            c = int(kv["filters"])
        elif kind == "dense":
            m = nn.Linear(x.numel(), int(kv["units"]))
        elif kind == "maxpool2d":
            m = nn.MaxPool2d(int(kv.get("pool_size", 2)))
        elif kind == "avgpool2d":
            m = nn.AvgPool2d(int(kv.get("pool_size", 2)))
        elif kind == "flatten":
            m = nn.Flatten()
        elif kind == "reshape":
            m = Reshape([int(v) for v in kv["target_shape"].split(",")])
        elif kind in ("lstm", "gru"):
            m = Recurrent(kind, x.shape[-1], kv)
        elif kind == "dropout":
            m = nn.Dropout(float(kv["rate"]))
        else:
            raise SystemExit("torch_train.py: layer %s is not supported" % kind)
        mods.append(m)
        x = m(x)
        act = kv.get("activation")
        if act == "relu":
            mods.append(nn.ReLU())
        elif act not in (None, "linear"):
            raise SystemExit("torch_train.py: activation %s is not supported" % act)
    return nn.Sequential(*mods), x.shape[1]


def resnet18_cifar():
    import torchvision.models as tvm
    net = tvm.resnet18(num_classes=10)
    net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net, [3, 32, 32], 10


def main():
    path, batch, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if os.path.basename(path) == "resnet18_cifar.fv":
        net, shape, classes = resnet18_cifar()
    else:
        shape, layers = parse(path)
        net, classes = build(shape, layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(max(3, steps // 10)):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("images_per_s %.1f peak_rss_kb %d" % (batch * steps / dt, rss))


if __name__ == "__main__":
    main()
