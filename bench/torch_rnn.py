"""torch_rnn.py - PyTorch's side of the row-LSTM benchmark: the recipe of
models/row_lstm_mnist.fv trained on MNIST with PyTorch, for time and accuracy side by side with
`fovea train models/row_lstm_mnist.fv --data mnist --epochs 5 --batch 32 --val-split 0
--threads 1`.

    /usr/bin/python3 bench/torch_rnn.py MNIST_DIR [EPOCHS] [BATCH] [THREADS] [LIMIT]

MNIST_DIR holds the four IDX files (scripts/get-mnist.sh: data/mnist). The same recipe as
fovea's: pixels p / 255 normalized as (v - 0.5) / 0.5, each 28x28 image read as 28 steps of 28
pixels by nn.LSTM(28, 128, batch_first=True), its last state into nn.Linear(128, 10); softmax
cross-entropy; Adam (lr 1e-3, PyTorch's defaults); batch 32, shuffled each epoch; PyTorch's
default initialisation (fovea's LSTM starts the same way). Prints one line per epoch ("epoch E
loss L train_s S") and at the end "test_accuracy A train_s S" (S: seconds of training alone,
data loading and testing left out). LIMIT (optional): train on the first LIMIT images only.
"""
import gzip
import os
import sys
import time

import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    t = torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


def load(folder, split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(folder, prefix + "-images-idx3-ubyte")).float() / 255
    y = read_idx(os.path.join(folder, prefix + "-labels-idx1-ubyte")).long()
    return (x - 0.5) / 0.5, y


class RowLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[0])


def main():
    folder = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    xtr, ytr = load(folder, "train")
    xte, yte = load(folder, "test")
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
    net = RowLSTM()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    total = 0.0
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(xtr))
        t0, sum_loss = time.perf_counter(), 0.0
        net.train()
        for s in range(0, len(xtr), batch):
            idx = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            sum_loss += loss.item() * len(idx)
        dt = time.perf_counter() - t0
        total += dt
        print("epoch %d loss %.4f train_s %.1f" % (epoch, sum_loss / len(xtr), dt), flush=True)
    net.eval()
    with torch.no_grad():
        right = sum((net(xte[s:s + 1000]).argmax(1) == yte[s:s + 1000]).sum().item()
                    for s in range(0, len(xte), 1000))
    print("test_accuracy %.4f train_s %.1f" % (right / len(xte), total), flush=True)


if __name__ == "__main__":
    main()
