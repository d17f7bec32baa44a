"""gen_segloss.py - PyTorch goldens for the per-pixel losses (fovea's FV_OP_PIXEL_LOSS).

Writes tests/data/golden/segloss_*.safetensors holding "x" (logits, 2 x 4 x 3 x 5), "t" (targets:
2 x 3 x 5 class indices with ignored pixels labelled 255, or 2 x 4 x 3 x 5 values for BCE),
"loss" and "dx" (the gradient of the loss), float32, computed in float64. Run with
/usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_segloss.py

Cases (mirrored by tests/unit/test_segloss.c):
- segloss_ce_weights_ignore: F.cross_entropy(x, t, weight=W, ignore_index=255)
- segloss_ce_plain: F.cross_entropy(x, t) (no pixel ignored)
- segloss_dice: 1 - mean_c (2 sum p_c t_c + 1) / (sum p_c + sum t_c + 1), p = softmax over
  channels, t one-hot, sums over the batch's pixels not labelled 255 (fovea's definition, written
  out in torch; autograd gives the gradient)
- segloss_bce_ignore: binary_cross_entropy_with_logits over the values whose target is not 255,
  mean over them
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

W = torch.tensor([0.5, 2.0, 1.0, 1.5], dtype=torch.float64)
IGNORE = 255


def dice(x, t):
    keep = t != IGNORE
    p = torch.softmax(x, dim=1)
    onehot = F.one_hot(torch.where(keep, t, torch.zeros_like(t)), x.shape[1]).permute(0, 3, 1, 2)
    k = keep.unsqueeze(1).double()
    p, onehot = p * k, onehot.double() * k
    inter = (p * onehot).sum(dim=(0, 2, 3))
    total = p.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1 - ((2 * inter + 1) / (total + 1)).mean()


def bce(x, t):
    keep = (t != IGNORE).double()
    y = torch.where(t != IGNORE, t, torch.zeros_like(t))
    per = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    return (per * keep).sum() / keep.sum()


def main():
    g = torch.Generator().manual_seed(21)
    x = (torch.rand(2, 4, 3, 5, generator=g) * 2 - 1) * 3
    t = torch.randint(0, 4, (2, 3, 5), generator=g)
    ti = t.clone()
    ti[0, 1, 2] = ti[1, 0, 0] = ti[1, 2, 4] = IGNORE
    tb = (torch.rand(2, 4, 3, 5, generator=g) > 0.5).double() * 0.9 + 0.05
    tb[0, 0, 0, 0] = tb[1, 3, 2, 1] = IGNORE
    cases = {
        "segloss_ce_weights_ignore": (ti, lambda a, b: F.cross_entropy(a, b, weight=W,
                                                                       ignore_index=IGNORE)),
        "segloss_ce_plain": (t, F.cross_entropy),
        "segloss_dice": (ti, dice),
        "segloss_bce_ignore": (tb, bce),
    }
    for name, (tt, fn) in cases.items():
        print(name, float(stio.loss_golden(name, x, tt, fn)))


if __name__ == "__main__":
    main()
