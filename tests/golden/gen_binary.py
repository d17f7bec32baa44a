"""gen_binary.py - PyTorch goldens for the broadcasting arithmetic (fovea's FV_OP_BINARY).

Writes tests/data/golden/binary_*.safetensors (float32), read by tests/unit/test_ops_binary.c.
Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_binary.py

Two nodes: "a" (N, ...), "b" (N, ...), "y", "dy", "da", "db". A node and a constant: "x" (N, ...),
"bin.constant" (the constant, the layer's parameter), "y", "dy", "dx" (tests/optest.h's layout).
Forward and backward run in float64 from the float32 inputs and are rounded once. The shapes are
one sample's; N = 2. CASES mirrors test_ops_binary.c.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
N = 2

OPS = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "pow": torch.pow,
    "max": torch.maximum,
    "min": torch.minimum,
}

# (name, op, a's sample shape, b's sample shape): two nodes
TWO = [("binary_%s_same" % op, op, (3, 4, 5), (3, 4, 5)) for op in OPS] + [
    ("binary_mul_scalar", "mul", (3, 4, 5), (1,)),
    ("binary_div_scalar", "div", (3, 4, 5), (1,)),
    ("binary_add_channel", "add", (3, 4, 5), (3, 1, 1)),
    ("binary_pow_channel", "pow", (3, 4, 5), (3, 1, 1)),
    ("binary_sub_row", "sub", (3, 4, 5), (5,)),
    ("binary_max_row", "max", (3, 4, 5), (5,)),
    ("binary_mul_both", "mul", (3, 1, 5), (4, 1)),
    ("binary_div_both", "div", (3, 1, 5), (4, 1)),
    ("binary_min_both", "min", (3, 1, 5), (4, 1)),
    ("binary_sub_first", "sub", (5,), (3, 4, 5)),
    ("binary_pow_first", "pow", (4, 1), (3, 1, 5)),
]

# (name, op, x's sample shape, the constant's shape, const_first): a node and a constant
CONST = [("binary_const_%s" % op, op, (3, 4, 5), (3, 1, 1), False) for op in OPS] + [
    ("binary_const_sub_first", "sub", (3, 4, 5), (1,), True),
    ("binary_const_div_first", "div", (3, 4, 5), (4, 5), True),
    ("binary_const_pow_first", "pow", (3, 4, 5), (3, 1, 1), True),
    ("binary_const_mul_wide", "mul", (5,), (3, 1), False),
]


def operand(g, shape, op, second):
    """Values for an operand: bases of pow in [0.5, 2], divisors away from 0, else [-2, 2]."""
    u = torch.rand(*shape, generator=g)
    if op == "pow" and not second:
        return 0.5 + 1.5 * u
    if op == "div" and second:
        return (0.5 + 1.5 * u) * torch.where(torch.rand(*shape, generator=g) < 0.5, -1.0, 1.0)
    return (u * 2 - 1) * 2


def ties(a, b):
    """a with every third value set to b's at the same place, where b broadcasts to a's shape
    (max and min split the gradient at ties); else a as it is."""
    ya, yb = torch.broadcast_tensors(a, b)
    if ya.shape != a.shape:
        return a
    ya = ya.clone()
    ya.reshape(-1)[::3] = yb.reshape(-1)[::3]
    return ya


def batched(t, rank):
    """A (N, ...) tensor as fovea broadcasts it: the sample's axes aligned at the last ones of a
    sample of `rank` axes, the batch axis kept first."""
    return t.reshape((t.shape[0],) + (1,) * (rank + 1 - t.dim()) + tuple(t.shape[1:]))


def backward(g, fn, ins):
    """y = fn(*ins) in float64 and the gradients of every input from a random dy."""
    leaves = [t.double().requires_grad_(True) for t in ins]
    y = fn(*leaves)
    dy = torch.rand(*y.shape, generator=g) * 2 - 1
    y.backward(dy.double())
    return y.detach().float(), dy, [t.grad.float() for t in leaves]


def main():
    g = torch.Generator().manual_seed(19)
    for name, op, sa, sb in TWO:
        a = operand(g, (N,) + sa, op, False)
        b = operand(g, (N,) + sb, op, True)
        r = max(len(sa), len(sb))
        if op in ("max", "min"):
            a = ties(batched(a, r), batched(b, r)).reshape(a.shape)
        y, dy, (da, db) = backward(g, lambda u, v, o=op, k=r: OPS[o](batched(u, k), batched(v, k)),
                                   [a, b])
        stio.save(os.path.join(OUT, name + ".safetensors"),
                  {"a": a, "b": b, "y": y, "dy": dy, "da": da, "db": db})
    for name, op, sx, sc, first in CONST:
        x = operand(g, (N,) + sx, op, first)
        c = operand(g, sc, op, not first)
        r = max(len(sx), len(sc))
        if op in ("max", "min"):
            x = ties(batched(x, r), c).reshape(x.shape)
        fn = (lambda t, o=op, k=c: OPS[o](k.double(), batched(t, r))) if first else \
            (lambda t, o=op, k=c: OPS[o](batched(t, r), k.double()))
        y, dy, (dx,) = backward(g, fn, [x])
        stio.save(os.path.join(OUT, name + ".safetensors"),
                  {"x": x, "bin.constant": c, "y": y, "dy": dy, "dx": dx})


if __name__ == "__main__":
    main()
