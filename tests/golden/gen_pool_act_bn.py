"""gen_pool_act_bn.py - PyTorch goldens for pooling, activations, shape ops and batch norm.

Writes tests/data/golden/{pool,act,shape,bn}_*.safetensors (float32), read by
tests/unit/test_ops_pool.c, test_ops_act.c and test_ops_bn.c through tests/optest.h. Run with
/usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_pool_act_bn.py

Each file holds "x", "y", "dy" (the output gradient fed to backward), "dx", the parameters
("bn.weight", ...) and their gradients ("grad.bn.weight", ...); batch-norm training cases also
hold "after.bn.running_mean" and "after.bn.running_var" (the statistics after the step).
Forward and backward run in float64 from the float32 inputs and are rounded once.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

# name -> (x shape, max?, kernel, stride, padding); test_ops_pool.c has the same table.
POOL_CASES = {
    "pool_max_2x2": ((2, 3, 6, 6), True, 2, 2, 0),
    "pool_max_3x3s2p1": ((2, 2, 7, 5), True, 3, 2, 1),
    "pool_max_3x3s1": ((1, 2, 5, 6), True, 3, 1, 0),
    "pool_avg_2x2": ((2, 3, 6, 6), False, 2, 2, 0),
    "pool_avg_3x3s2p1": ((2, 2, 7, 5), False, 3, 2, 1),
    "pool_avg_odd": ((3, 1, 7, 5), False, 2, 2, 0),
}


def rand(g, *shape, scale=1.0):
    return (torch.rand(*shape, generator=g) * 2 - 1) * scale


def save(name, x, y, dy, xd, params=None):
    out = {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float()}
    for k, (v, vd) in (params or {}).items():
        out[k] = v
        if vd is not None and vd.grad is not None:
            out["grad." + k] = vd.grad.float()
    stio.save(os.path.join(OUT, name + ".safetensors"), out)


def run(g, name, x, fn, extra=None):
    xd = x.double().requires_grad_(True)
    y = fn(xd)
    dy = rand(g, *y.shape)
    y.backward(dy.double())
    save(name, x, y, dy, xd, extra)


def gen_pool(g):
    for name, (shape, is_max, k, s, p) in POOL_CASES.items():
        # distinct values: no max-pool ties, so the gradient is unambiguous
        x = torch.randperm(int(torch.tensor(shape).prod()), generator=g).float().reshape(shape)
        x = x / x.numel() - 0.5
        if is_max:
            run(g, name, x, lambda t: F.max_pool2d(t, k, s, p))
        else:
            run(g, name, x, lambda t: F.avg_pool2d(t, k, s, p, count_include_pad=True))
    # ties: every value equal; PyTorch routes each window's gradient to its first element
    x = torch.ones(1, 1, 4, 4)
    run(g, "pool_max_ties", x, lambda t: F.max_pool2d(t, 2, 2, 0))


def gen_act(g):
    x = rand(g, 3, 4, 5, scale=3.0)
    run(g, "act_relu", x, F.relu)
    run(g, "act_sigmoid", x, torch.sigmoid)
    run(g, "act_tanh", x, torch.tanh)
    run(g, "act_softmax", rand(g, 4, 7, scale=3.0), lambda t: F.softmax(t, dim=-1))
    run(g, "act_softmax_3d", rand(g, 2, 3, 4, scale=2.0), lambda t: F.softmax(t, dim=-1))


def gen_shape(g):
    x = rand(g, 2, 3, 2, 2)
    run(g, "shape_flatten", x, lambda t: t.flatten(1))
    run(g, "shape_reshape", x, lambda t: t.reshape(2, 6, 2))
    # a small DAG: concat(add(x, relu(x)), sigmoid(x)) on channels, then on width
    x = rand(g, 2, 3, 4, 4, scale=2.0)
    run(g, "shape_add_concat", x,
        lambda t: torch.cat([t + F.relu(t), torch.sigmoid(t)], dim=1))
    run(g, "shape_concat_w", x, lambda t: torch.cat([t, torch.tanh(t)[..., :3]], dim=3))


def gen_bn(g):
    for name, shape in (("bn_train_conv", (4, 3, 3, 3)), ("bn_train_vec", (6, 5))):
        c = shape[1]
        x = rand(g, *shape, scale=2.0) + 0.5
        w, b = rand(g, c) + 1.0, rand(g, c)
        rm, rv = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
        wd, bd = w.double().requires_grad_(True), b.double().requires_grad_(True)
        xd = x.double().requires_grad_(True)
        y = F.batch_norm(xd, rm, rv, wd, bd, training=True, momentum=0.1, eps=1e-5)
        dy = rand(g, *y.shape)
        y.backward(dy.double())
        params = {"bn.weight": (w, wd), "bn.bias": (b, bd),
                  "bn.running_mean": (torch.zeros(c), None), "bn.running_var": (torch.ones(c), None)}
        save(name, x, y, dy, xd, params)
        f = stio.load(os.path.join(OUT, name + ".safetensors"))
        f["after.bn.running_mean"], f["after.bn.running_var"] = rm.float(), rv.float()
        stio.save(os.path.join(OUT, name + ".safetensors"), f)
    x = rand(g, 4, 3, 3, 3, scale=2.0)
    w, b, rm, rv = rand(g, 3) + 1.0, rand(g, 3), rand(g, 3), torch.rand(3, generator=g) + 0.5
    wd, bd = w.double().requires_grad_(True), b.double().requires_grad_(True)
    run(g, "bn_eval", x,
        lambda t: F.batch_norm(t, rm.double(), rv.double(), wd, bd, training=False, eps=1e-5),
        {"bn.weight": (w, wd), "bn.bias": (b, bd), "bn.running_mean": (rm, None),
         "bn.running_var": (rv, None)})


def main():
    stio.generate(20261124, gen_pool, gen_act, gen_shape, gen_bn)


if __name__ == "__main__":
    main()
