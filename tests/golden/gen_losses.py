"""gen_losses.py - PyTorch goldens for the loss catalogue (fovea's FV_OP_LOSS).

Writes tests/data/golden/losses_*.safetensors holding "x" (prediction, 5 x 4), "t" (targets: 5
class indices, or 5 x 4), "loss" and "dx" (the gradient of the loss), float32, computed in float64.
Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_losses.py

CASES mirrors tests/unit/test_losses.c (kind, label smoothing, class weights, Huber delta).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

W = torch.tensor([0.5, 2.0, 1.0, 1.5], dtype=torch.float64)
EPS = 1e-7


def clip(p):
    return p.clamp(EPS, 1 - EPS)


def main():
    g = torch.Generator().manual_seed(99)
    logits = (torch.rand(5, 4, generator=g) * 2 - 1) * 3
    probs = torch.softmax(logits * 1.3, dim=1)
    idx = torch.tensor([0, 3, 1, 1, 2])
    soft = torch.softmax(torch.rand(5, 4, generator=g) * 4, dim=1)
    soft[0] = torch.tensor([0.0, 1.0, 0.0, 0.0])  # a one-hot row, zeros for KL
    binary = (torch.rand(5, 4, generator=g) > 0.5).float() * 0.9 + 0.05
    target = (torch.rand(5, 4, generator=g) * 2 - 1) * 2
    cases = {
        "losses_ce_smooth_weights": (logits, idx,
                                     lambda x, t: F.cross_entropy(x, t, weight=W,
                                                                  label_smoothing=0.1)),
        "losses_sparse_ce_probs": (probs, idx,
                                   lambda x, t: F.nll_loss(torch.log(clip(x)), t, weight=W)),
        "losses_categorical_ce": (logits, soft,
                                  lambda x, t: F.cross_entropy(x, t, label_smoothing=0.05)),
        "losses_categorical_ce_probs": (probs, soft,
                                        lambda x, t: -(t * torch.log(clip(x))).sum(1).mean()),
        "losses_bce": (probs, binary, F.binary_cross_entropy),
        "losses_bce_logits": (logits, binary, F.binary_cross_entropy_with_logits),
        "losses_mae": (logits, target, F.l1_loss),
        "losses_huber": (logits, target, lambda x, t: F.huber_loss(x, t, delta=0.7)),
        "losses_hinge": (logits, idx, F.multi_margin_loss),
        "losses_kl_div": (probs, soft,
                          lambda x, t: F.kl_div(torch.log(x.clamp(min=EPS)), t,
                                                reduction="batchmean")),
    }
    for name, (x, t, fn) in cases.items():
        stio.loss_golden(name, x, t, fn)


if __name__ == "__main__":
    main()
