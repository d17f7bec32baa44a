"""gen_init.py - PyTorch's definitions of the weight initializers for the layers fovea has.

Writes tests/data/golden/init_defs.txt, read by tests/unit/test_init.c: for each layer case the
weight shape PyTorch's module has (nn.Linear, nn.Conv2d, grouped, nn.ConvTranspose2d), and for
each initializer (with its gain and fan mode) the distribution and the number torch.nn.init
computes for that shape: the bound a of uniform_(-a, a) or the std of normal_(0, std), recorded
by intercepting the Tensor.uniform_ / normal_ call the init function makes. So the fans, gains
and constants are PyTorch's own, and a wrong fan or gain in fovea fails the test.

Keras' truncated normals (glorot_normal, he_normal, lecun_normal) have no PyTorch function: their
std is that of PyTorch's plain normal of the same variance (xavier_normal_, kaiming_normal_ with
its gain, or nonlinearity='linear' for LeCun) divided by 0.87962566103423978, Keras' factor (the
std of a standard normal truncated to [-2, 2]), with draws outside 2 std redrawn.

orthogonal: the gain, and an assertion that PyTorch's own result has W W^T = gain^2 I (W^T W
when the flattened weight (out, numel / out) is taller than wide), the property the C test checks.

Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_init.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.init as init

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden",
                   "init_defs.txt")
KERAS_TRUNC = 0.87962566103423978

# the layer cases of test_init.c: name -> the PyTorch module whose weight fovea's layer matches
CASES = [
    ("dense", lambda: nn.Linear(512, 256)),
    ("dense_tall", lambda: nn.Linear(64, 256)),
    ("conv", lambda: nn.Conv2d(32, 64, 3)),
    ("conv_groups", lambda: nn.Conv2d(32, 64, 3, groups=4)),
    ("conv_transpose", lambda: nn.ConvTranspose2d(32, 64, 3)),
]


def recorded(fn, w):
    """The (distribution, scale) of the one uniform_ / normal_ call fn(w) makes."""
    calls = []
    orig_u, orig_n = torch.Tensor.uniform_, torch.Tensor.normal_

    def uniform_(self, a=0.0, b=1.0, *args, **kw):
        assert a == -b
        calls.append(("uniform", b))
        return self

    def normal_(self, mean=0.0, std=1.0, *args, **kw):
        assert mean == 0
        calls.append(("normal", std))
        return self

    torch.Tensor.uniform_, torch.Tensor.normal_ = uniform_, normal_
    try:
        fn(w)
    finally:
        torch.Tensor.uniform_, torch.Tensor.normal_ = orig_u, orig_n
    assert len(calls) == 1
    return calls[0]


def truncated(fn, w):
    dist, std = recorded(fn, w)
    assert dist == "normal"
    return "truncated", std / KERAS_TRUNC


def orthogonal(w, gain):
    torch.manual_seed(0)
    init.orthogonal_(w, gain=gain)
    m = w.detach().double().reshape(w.shape[0], -1)
    g = m @ m.t() if m.shape[0] <= m.shape[1] else m.t() @ m
    assert torch.allclose(g, gain * gain * torch.eye(g.shape[0], dtype=torch.float64),
                          atol=1e-5 * gain * gain)
    return "orthogonal", gain


def rows(w):
    """(fovea name, gain, mode, distribution, scale) for every initializer case."""
    out = []
    for gain in (1.0, 2.0):
        out.append(("glorot_uniform", gain, "fan_in",
                    *recorded(lambda t: init.xavier_uniform_(t, gain=gain), w)))
    for gain in (1.0, 1.5):
        out.append(("xavier_normal", gain, "fan_in",
                    *recorded(lambda t: init.xavier_normal_(t, gain=gain), w)))
    for gain in (1.0, 0.5):
        out.append(("glorot_normal", gain, "fan_in",
                    *truncated(lambda t: init.xavier_normal_(t, gain=gain), w)))
    for mode in ("fan_in", "fan_out"):
        out.append(("he_uniform", 1.0, mode,
                    *recorded(lambda t: init.kaiming_uniform_(t, mode=mode), w)))
        out.append(("kaiming_normal", 1.0, mode,
                    *recorded(lambda t: init.kaiming_normal_(t, mode=mode), w)))
        out.append(("he_normal", 1.0, mode,
                    *truncated(lambda t: init.kaiming_normal_(t, mode=mode), w)))
        out.append(("lecun_uniform", 1.0, mode,
                    *recorded(lambda t: init.kaiming_uniform_(t, mode=mode,
                                                               nonlinearity="linear"), w)))
        out.append(("lecun_normal", 1.0, mode,
                    *truncated(lambda t: init.kaiming_normal_(t, mode=mode,
                                                              nonlinearity="linear"), w)))
    for gain in (1.0, 1.7):
        out.append(("orthogonal", gain, "fan_in", *orthogonal(w, gain)))
    return out


def main():
    lines = ["# gen_init.py: PyTorch's initializer definitions (torch %s)" % torch.__version__,
             "# shape CASE DIMS...: the weight shape of PyTorch's module for the case",
             "# CASE INIT GAIN MODE DIST SCALE: uniform -> bound, normal / truncated -> std "
             "(before truncation), orthogonal -> gain"]
    for case, make in CASES:
        with torch.no_grad():
            w = make().weight
            lines.append("shape %s %s" % (case, " ".join(str(d) for d in w.shape)))
            for name, gain, mode, dist, scale in rows(w):
                lines.append("%s %s %r %s %s %r" % (case, name, gain, mode, dist, float(scale)))
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d lines)" % (OUT, len(lines)))


if __name__ == "__main__":
    main()
