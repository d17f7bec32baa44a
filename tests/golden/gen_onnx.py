#!/usr/bin/env python3
"""Writes the ONNX import fixtures (tests/golden/onnx/): small PyTorch models exported with
torch.onnx.export at opsets 11, 13 and 14, each with a fixed input and PyTorch's output as the
golden (NAME.onnx, NAME.txt: the input's shape and values, then the output's). Read by
tests/unit/test_onnx.c. Run with Debian's /usr/bin/python3 (python3-torch, python3-onnx)."""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")


class SmallCnn(nn.Module):
    """conv + bn + relu, max pool, grouped conv, sigmoid, max pool,
    x.view(x.size(0), -1) (the shape glue), dense, leaky relu, dense, log_softmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=1, padding=1, groups=2)
        self.fc1 = nn.Linear(8 * 2 * 2, 10)
        self.fc2 = nn.Linear(10, 5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 2)
        x = torch.sigmoid(self.conv2(x))
        x = F.max_pool2d(x, 2)  # avg_pool2d exports Pad at opset 11
        x = x.view(x.size(0), -1)
        x = F.leaky_relu(self.fc1(x), 0.1)
        return F.log_softmax(self.fc2(x), dim=1)


class Mlp(nn.Module):
    """torch.flatten, x @ W + b (MatMul + Add, fused into one dense layer), tanh, ELU,
    residual add, softmax."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(12, 6) * 0.3)
        self.b = nn.Parameter(torch.randn(6) * 0.1)
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        x = torch.flatten(x, 1)
        h = torch.tanh(x @ self.w + self.b)
        return torch.softmax(F.elu(self.fc(h)) + h, dim=1)


class Deconv(nn.Module):
    """transposed convolution, instance norm, PReLU per channel, global average pooling."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)
        self.norm = nn.InstanceNorm2d(3, affine=True)
        self.act = nn.PReLU(3)

    def forward(self, x):
        x = self.act(self.norm(self.up(x)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class Resample(nn.Module):
    """bilinear upsampling (Resize), reflection padding (Pad), transposed convolution with
    strides (2, 1), ReLU6 (Clip), max pooling with asymmetric SAME-like padding (Pad + MaxPool),
    nearest downsampling by sizes."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0))

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.pad(x, (1, 2, 0, 1), mode="reflect")
        x = F.relu6(self.up(x))
        x = F.max_pool2d(F.pad(x, (0, 1, 1, 0), value=-1e30), 2)
        return F.interpolate(x, size=(3, 4), mode="nearest")


class Seq1d(nn.Module):
    """1-D convolution, max pooling with padding, average pooling, as PyTorch's Conv1d / pools."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=1)

    def forward(self, x):
        x = F.max_pool1d(torch.relu(self.conv(x)), 3, stride=2, padding=1)
        return F.avg_pool1d(x, 2)


class Arith(nn.Module):
    """element-wise arithmetic on layer outputs and constants: Mul/Add/Sub/Div/Pow by scalars and
    by a per-position map, Max/Min and Div of two layer outputs, clamp (Clip), hard sigmoid and
    SELU."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.map = nn.Parameter(torch.rand(1, 4, 5) - 0.5)

    def forward(self, x):
        y = self.conv(x)
        z = torch.clamp(y * 2.0 + self.map, -1.0, 1.5)
        w = torch.maximum(y, z) - torch.minimum(y, z) / (z * z + 1.0)
        w = 1.0 - w / 3.0 + (w - 0.25) ** 2
        return F.hardsigmoid(w) + F.selu(y)


def save(name, model, x, opset):
    model.eval()
    with torch.no_grad():
        if hasattr(model, "bn1"):  # batch norm statistics that are not the identity
            model.bn1.running_mean.uniform_(-0.5, 0.5)
            model.bn1.running_var.uniform_(0.5, 1.5)
        y = model(x)
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        for t in (x, y):
            f.write(" ".join(str(d) for d in t.shape) + "\n")
            f.write(" ".join("%.9g" % v for v in t.flatten().tolist()) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    save("cnn_opset11", SmallCnn(), torch.randn(2, 3, 8, 8), 11)
    torch.manual_seed(1)
    save("mlp_opset13", Mlp(), torch.randn(3, 3, 2, 2), 13)
    torch.manual_seed(2)
    save("deconv_opset14", Deconv(), torch.randn(2, 2, 4, 4), 14)
    torch.manual_seed(3)
    save("resample_opset13", Resample(), torch.randn(2, 2, 3, 4), 13)
    torch.manual_seed(4)
    save("resample_opset11", Resample(), torch.randn(2, 2, 3, 4), 11)
    torch.manual_seed(5)
    save("seq1d_opset13", Seq1d(), torch.randn(2, 2, 9), 13)
    torch.manual_seed(6)
    save("arith_opset13", Arith(), torch.randn(2, 2, 4, 5), 13)
    torch.manual_seed(7)
    save("arith_opset11", Arith(), torch.randn(2, 2, 4, 5), 11)


if __name__ == "__main__":
    main()
