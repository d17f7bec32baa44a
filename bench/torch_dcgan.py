#!/usr/bin/python3
"""torch_dcgan.py - the PyTorch reference for `fovea gan`: the same DCGAN (src/nn/gan.c's
fv_dcgan_generator / fv_dcgan_discriminator, layer for layer), the same recipe (Adam 2e-4,
beta1 0.5 for G and D, batches of 64, latent 100 N(0, 1), weights N(0, 0.02^2), biases 0,
batch norm gamma 1 beta 0, the non-saturating loss as BCE with logits, pixels in [-1, 1], whole
batches of a shuffled epoch) and the same step order (G's forward once; D steps on the real
batch and the detached fake batch, each through its own forward; G steps through the updated D
on the same fake batch). Optionally class-conditional as fovea's --conditional (one-hot labels
concatenated to z and as 10 constant planes to D's input; the fake batch takes the real batch's
labels).

Writes OUT/samples.npy (10,000 generated images, uint8 (N, 1, 28, 28), G in eval mode, as
`fovea gan` writes its own) and OUT/labels.npy (their labels: the class asked for when
conditional, else 0), and prints one line per epoch with the seconds of the training steps (wall clock, and the
process's CPU time, which a loaded machine distorts less).
Score the samples with `fovea gan-score --samples OUT/samples.npy ...`.

Usage: bench/torch_dcgan.py --data DIR --out OUT [--epochs 5] [--threads 1] [--seed 1]
       [--limit N] [--conditional]
DIR holds MNIST-format files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]).
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    """An MNIST-format idx file (gzip or not) as a NumPy array."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            op = gzip.open if p.endswith(".gz") else open
            with op(p, "rb") as f:
                raw = f.read()
            nd = raw[3]
            dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)
    raise FileNotFoundError(path)


class G(nn.Module):
    def __init__(self, latent, classes):
        super().__init__()
        self.fc = nn.Linear(latent + classes, 128 * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm2d(128)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z):
        x = F.relu(self.bn0(self.fc(z).view(-1, 128, 7, 7)))
        x = F.relu(self.bn1(self.up1(x)))
        return torch.tanh(self.up2(x))


class D(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1 + classes, 64, 4, 2, 1)
        self.conv2 = nn.Conv2d(64, 128, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(128)
        self.score = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x):
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = F.leaky_relu(self.bn2(self.conv2(x)), 0.2)
        return self.score(x.flatten(1)).view(-1)


def init(m):
    for mod in m.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(mod.weight, 0.0, 0.02)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)


def with_labels(z, y, classes):
    return torch.cat([z, F.one_hot(y, classes).float()], 1) if classes else z


def planes(x, y, classes):
    if not classes:
        return x
    p = F.one_hot(y, classes).float()[:, :, None, None].expand(-1, -1, 28, 28)
    return torch.cat([x, p], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--latent", type=int, default=100)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--conditional", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    x = idx(os.path.join(a.data, "train-images-idx3-ubyte"))
    y = idx(os.path.join(a.data, "train-labels-idx1-ubyte")).astype(np.int64)
    if a.limit:
        x, y = x[:a.limit], y[:a.limit]
    x = torch.from_numpy(x.astype(np.float32) / 255.0 * 2 - 1).view(-1, 1, 28, 28)
    y = torch.from_numpy(y)
    k = 10 if a.conditional else 0
    g, d = G(a.latent, k), D(k)
    init(g), init(d)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    n, b = x.shape[0], a.batch
    for e in range(a.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        order = torch.randperm(n)
        sums = np.zeros(4)
        steps = n // b
        for s in range(steps):
            i = order[s * b:(s + 1) * b]
            real, lab = x[i], y[i]
            z = torch.randn(b, a.latent)
            fake = g(with_labels(z, lab, k))
            od.zero_grad()
            sr = d(planes(real, lab, k))
            sf = d(planes(fake.detach(), lab, k))
            ld = bce(sr, torch.ones(b)) + bce(sf, torch.zeros(b))
            ld.backward()
            od.step()
            og.zero_grad()
            sg = d(planes(fake, lab, k))
            lg = bce(sg, torch.ones(b))
            lg.backward()
            og.step()
            sums += [ld.item(), lg.item(), torch.sigmoid(sr).mean().item(),
                     torch.sigmoid(sf).mean().item()]
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        m = sums / steps
        print(f"epoch {e + 1}/{a.epochs}: D loss {m[0]:.4f}, G loss {m[1]:.4f}, D(x) {m[2]:.4f}, "
              f"D(G(z)) {m[3]:.4f}, {sec:.1f} s ({cpu:.1f} s CPU)", flush=True)
    g.eval()
    with torch.no_grad():
        lab = torch.arange(a.samples) % 10 if k else torch.zeros(a.samples, dtype=torch.int64)
        out = []
        for s in range(0, a.samples, 500):
            z = torch.randn(min(500, a.samples - s), a.latent)
            out.append(g(with_labels(z, lab[s:s + z.shape[0]], k)))
        img = torch.cat(out).numpy()
    u8 = np.clip(np.round((img + 1) / 2 * 255), 0, 255).astype(np.uint8)
    np.save(os.path.join(a.out, "samples.npy"), u8)
    np.save(os.path.join(a.out, "labels.npy"), lab.numpy().astype(np.int64))
    print(f"wrote {a.out}/samples.npy, labels.npy")


if __name__ == "__main__":
    main()
