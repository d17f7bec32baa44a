"""gen_zoo.py - torchvision goldens for the model zoo: logits of torchvision's networks, which
fovea's builders must reproduce with the same weights (loaded by torchvision's parameter names).

Reduced size (committed, read by tests/unit/test_zoo_torchvision.c in CI): each network at a small
input with 10 classes, every parameter and buffer set by a formula of its name and index that the
C test evaluates too (so no weight file is needed), evaluated in float64:

    /usr/bin/python3 tests/golden/gen_zoo.py

Full size (run and reported, not committed: the weights are 0.2 to 0.5 GB): each network at
3x224x224 with 1000 classes and torchvision's own random initialisation (seed 0), its state_dict
exported to DIR/<arch>.safetensors exactly as torchvision names it (num_batches_tracked
included), the input and float64 logits to DIR/<arch>_io.safetensors; then
`build/test_zoo_torchvision --full DIR` loads and compares:

    /usr/bin/python3 tests/golden/gen_zoo.py --full DIR
"""
import math
import os
import sys

import numpy as np
import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

MASK = np.uint64(0xFFFFFFFF)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
# arch, input side (reduced), constructor
NETS = [
    ("resnet18", 64, lambda k: tvm.resnet18(num_classes=k)),
    ("resnet50", 64, lambda k: tvm.resnet50(num_classes=k)),
    ("vgg11", 32, lambda k: tvm.vgg11(num_classes=k)),
    ("googlenet", 64, lambda k: tvm.googlenet(num_classes=k, aux_logits=True,
                                              init_weights=False)),
    ("mobilenet_v2", 64, lambda k: tvm.mobilenet_v2(num_classes=k)),
    ("alexnet", 67, lambda k: tvm.alexnet(num_classes=k)),
]


def fnv1a(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def uniform(n, seed):
    """n values in [-1, 1): an integer hash of (index, seed), exact in C and here."""
    x = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(seed)) & MASK
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(2246822519)) & MASK
    x ^= x >> np.uint64(13)
    return torch.from_numpy(x.astype(np.float64) / 2.0**31 - 1)


def formula(name, shape):
    """The value of every element (float64), as test_zoo_torchvision.c computes it."""
    n = math.prod(shape)
    v = uniform(n, fnv1a(name))
    if name.endswith("running_var"):
        v = 1 + 0.25 * (v + 1)
    elif name.endswith("running_mean") or name.endswith("bias"):
        v = 0.1 * v
    elif len(shape) >= 2:
        v = v * math.sqrt(3.0 * shape[0] / n)  # variance 1 / fan_in: moderate logits
    else:
        v = 1 + 0.1 * v  # batch-norm scales
    return v.reshape(shape)


def formula_input(c, h, w):
    return uniform(2 * c * h * w, 12345).reshape(2, c, h, w)


def reduced():
    for arch, side, make in NETS:
        model = make(10).double().eval()
        with torch.no_grad():
            for name, t in model.state_dict().items():
                if t.is_floating_point():
                    t.copy_(formula(name, tuple(t.shape)))
            y = model(formula_input(3, side, side))
        stio.save(os.path.join(OUT, "zoo_%s.safetensors" % arch), {"y": y},
                  {"side": side, "classes": 10})
        print(arch, side, tuple(y.shape), float(y.abs().max()))


def full(out):
    os.makedirs(out, exist_ok=True)
    for arch, _, make in NETS:
        torch.manual_seed(0)
        model = make(1000).eval()
        sd = {k: v for k, v in model.state_dict().items()}
        stio.save(os.path.join(out, arch + ".safetensors"), sd)
        x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            y = model.double()(x.double())
        stio.save(os.path.join(out, arch + "_io.safetensors"), {"x": x, "y": y})
        print(arch, "exported", len(sd), "tensors")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--full":
        full(sys.argv[2])
    else:
        reduced()
