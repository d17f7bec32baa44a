"""gen_loss_optim.py - PyTorch goldens for the loss ops and the optimizers.

Writes tests/data/golden/loss_*.safetensors and optim_*.safetensors (float32), read by
tests/unit/test_ops_loss.c and tests/unit/test_optim.c. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_loss_optim.py

Loss files hold "x" (prediction, N x ...), "target", "dy" (the seed, shape (1)), "loss" (the batch
mean, shape (1)) and "dx" (d(dy * loss)/dx). Optimizer files hold "p0" (the parameters), "g"
(one gradient per step, steps x n) and "p" (the parameters after each step, steps x n); the
settings of each file are in OPTIM_CASES, mirrored by the table in test_optim.c.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")


def loss_case(name, x, target, seed, fn):
    x = x.float().clone().requires_grad_(True)
    loss = fn(x, target)
    (seed * loss).backward()
    stio.save(os.path.join(OUT, name + ".safetensors"), {
        "x": x.detach(),
        "target": target.float(),
        "dy": torch.tensor([seed], dtype=torch.float32),
        "loss": loss.detach().reshape(1),
        "dx": x.grad,
    })


def ce(x, t):
    return F.cross_entropy(x, t.long(), reduction="mean")


def mse(x, t):
    return F.mse_loss(x, t, reduction="mean")


def gen_losses(g):
    loss_case("loss_softmax_ce", 3 * torch.randn(8, 10, generator=g),
              torch.randint(0, 10, (8,), generator=g).float(), 1.0, ce)
    # logits far beyond exp's float range: only a log-sum-exp formulation stays finite
    big = torch.randn(5, 7, generator=g) * 40 + torch.tensor([60., -80., 100., 0., 55., -50., 99.])
    loss_case("loss_softmax_ce_large", big, torch.tensor([2., 1., 6., 0., 2.]), 0.5, ce)
    loss_case("loss_mse", torch.randn(4, 3, 2, 2, generator=g),
              torch.randn(4, 3, 2, 2, generator=g), 1.0, mse)
    loss_case("loss_mse_vec", 2 * torch.randn(6, 5, generator=g),
              torch.randn(6, 5, generator=g), 0.25, mse)


# name -> (optimizer class, keyword arguments); test_optim.c has the same table.
OPTIM_CASES = {
    "optim_sgd": (torch.optim.SGD, dict(lr=0.01)),
    "optim_sgd_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    "optim_sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "optim_sgd_wd": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-2)),
    "optim_adam": (torch.optim.Adam, dict(lr=1e-3)),
    "optim_adam_wd": (torch.optim.Adam, dict(lr=0.01, betas=(0.85, 0.995), eps=1e-6,
                                             weight_decay=1e-2)),
    "optim_adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    "optim_adamax": (torch.optim.Adamax, dict(lr=0.01, weight_decay=1e-2)),
    "optim_nadam": (torch.optim.NAdam, dict(lr=0.01, weight_decay=1e-2)),
    "optim_adagrad": (torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=1e-2)),
    "optim_rmsprop": (torch.optim.RMSprop, dict(lr=0.01)),
    "optim_rmsprop_centered": (torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.8,
                                                         centered=True, weight_decay=1e-2)),
    "optim_adadelta": (torch.optim.Adadelta, dict(lr=1.0, rho=0.95, weight_decay=1e-2)),
}
STEPS, NPARAM = 5, 23


def gen_optims(g):
    p0 = torch.randn(NPARAM, generator=g)
    grads = torch.randn(STEPS, NPARAM, generator=g) * torch.logspace(-3, 1, NPARAM)
    grads[:, 0] = 0  # a parameter whose gradient is always zero (Adam: 0 / (0 + eps))
    grads[2, 1] = 0  # and one whose gradient vanishes for one step
    for name, (cls, kw) in OPTIM_CASES.items():
        p = p0.clone().requires_grad_(True)
        opt = cls([p], **kw)
        after = []
        for k in range(STEPS):
            p.grad = grads[k].clone()
            opt.step()
            after.append(p.detach().clone())
        stio.save(os.path.join(OUT, name + ".safetensors"),
                  {"p0": p0, "g": grads, "p": torch.stack(after)}, metadata=kw)


def main():
    stio.generate(1234, gen_losses, gen_optims)


if __name__ == "__main__":
    main()
