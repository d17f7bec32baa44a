"""torch_caption.py - PyTorch's side of the captioning benchmark: the captioner of
fv_captioner_new (src/nn/captioner.c) built and trained the same way in PyTorch, on the same
scenes that fovea generates, for exact-caption accuracy side by side with
`fovea caption train --train N --test M --epochs E --batch 32 --units U --threads 1`.

    fovea caption write -o SETS --train N --test M        (SETS/train, SETS/test)
    /usr/bin/python3 bench/torch_caption.py SETS [EPOCHS] [UNITS] [THREADS]

The model: three conv 3x3 (padding 1) + ReLU + max-pool 2 stages of 16, 32, 64 filters over the
1x64x64 scene, flattened; h0 = tanh(Linear(4096, U)), c0 = Linear(4096, U); the caption so far
(<start> first) through Embedding(V, 64) and LSTM(64, U, batch_first) from (h0, c0), each step
into Linear(U, V). Teacher forcing, cross-entropy over the steps with padding (index 0)
ignored, Adam lr 1e-3 with the gradient norm clipped to 1, batch 32, shuffled each epoch,
PyTorch's default initialisation. Greedy decoding of the held-out scenes; prints one line per
epoch and at the end "greedy_exact A train_s S" (S: seconds of training alone).
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image


def read_set(d, vocab):
    images, tokens = [], []
    index = {w: i for i, w in enumerate(vocab)}
    with open(os.path.join(d, "captions.txt")) as f:
        for line in f:
            name, *words = line.split()
            img = np.asarray(Image.open(os.path.join(d, name)).convert("L"), np.float32) / 255
            images.append(img[None])
            tokens.append([index[w] for w in words] + [2])
    return torch.tensor(np.stack(images)), tokens


class Captioner(nn.Module):
    def __init__(self, vocab, units, embed=64):
        super().__init__()
        layers, c = [], 1
        for f in (16, 32, 64):
            layers += [nn.Conv2d(c, f, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c = f
        self.cnn = nn.Sequential(*layers, nn.Flatten())
        self.h0, self.c0 = nn.Linear(4096, units), nn.Linear(4096, units)
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, units, batch_first=True)
        self.out = nn.Linear(units, vocab)

    def forward(self, x, tokens):
        f = self.cnn(x)
        h0, c0 = torch.tanh(self.h0(f))[None], self.c0(f)[None]
        y, _ = self.lstm(self.embed(tokens), (h0, c0))
        return self.out(y)


def pack(tokens, steps):
    """Inputs (<start>, words) and targets (words, <end>), padded with 0."""
    x = torch.zeros(len(tokens), steps, dtype=torch.long)
    y = torch.zeros(len(tokens), steps, dtype=torch.long)
    for i, t in enumerate(tokens):
        x[i, 0] = 1
        x[i, 1:len(t)] = torch.tensor(t[:-1])
        y[i, :len(t)] = torch.tensor(t)
    return x, y


def greedy(model, images, steps):
    with torch.no_grad():
        x = torch.zeros(len(images), steps, dtype=torch.long)
        x[:, 0] = 1
        out = torch.zeros(len(images), steps, dtype=torch.long)
        for t in range(steps):
            out[:, t] = model(images, x)[:, t].argmax(1)
            if t + 1 < steps:
                x[:, t + 1] = out[:, t]
    return out


def main():
    sets = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    units = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    torch.manual_seed(1)
    vocab = open(os.path.join(sets, "train", "vocab.txt")).read().split()
    steps = 14
    xtr, ttr = read_set(os.path.join(sets, "train"), vocab)
    xte, tte = read_set(os.path.join(sets, "test"), vocab)
    tin, tout = pack(ttr, steps)
    model = Captioner(len(vocab), units)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)
    train_s = 0.0
    for e in range(epochs):
        t0, total, n = time.time(), 0.0, 0
        for idx in torch.randperm(len(xtr)).split(32):
            logits = model(xtr[idx], tin[idx])
            loss = loss_fn(logits.reshape(-1, len(vocab)), tout[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total, n = total + loss.item() * len(idx), n + len(idx)
        train_s += time.time() - t0
        print(f"epoch {e + 1} loss {total / n:.4f} train_s {train_s:.1f}", flush=True)
    pred = greedy(model, xte, steps)
    exact = 0
    for i, t in enumerate(tte):
        exact += pred[i, :len(t)].tolist() == t
    print(f"greedy_exact {exact / len(tte):.4f} train_s {train_s:.1f}")


if __name__ == "__main__":
    main()
