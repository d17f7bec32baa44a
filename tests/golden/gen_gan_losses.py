"""gen_gan_losses.py - PyTorch goldens for the GAN losses (nn/gan.c's fv_gan_loss_d / _g).

Writes tests/data/golden/gan_losses_{ns,lsgan,hinge}.safetensors holding "real" and "fake" (8
discriminator logits each), "loss_d", "loss_g" and the gradients "dreal", "dfake" (of the D loss)
and "dg" (of the G loss with respect to the fake logits), float32, computed in float64:
  ns     D  BCE-with-logits(real, 1) + BCE-with-logits(fake, 0); G  BCE-with-logits(fake, 1)
  lsgan  D  mse(real, 1) / 2 + mse(fake, 0) / 2;                 G  mse(fake, 1) / 2
  hinge  D  mean relu(1 - real) + mean relu(1 + fake);            G  -mean fake
Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_gan_losses.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")


def losses(kind, r, f):
    one, zero = torch.ones_like(r), torch.zeros_like(r)
    if kind == "ns":
        return (F.binary_cross_entropy_with_logits(r, one)
                + F.binary_cross_entropy_with_logits(f, zero),
                F.binary_cross_entropy_with_logits(f, one))
    if kind == "lsgan":
        return F.mse_loss(r, one) / 2 + F.mse_loss(f, zero) / 2, F.mse_loss(f, one) / 2
    return F.relu(1 - r).mean() + F.relu(1 + f).mean(), -f.mean()


def main():
    g = torch.Generator().manual_seed(22)
    for kind in ("ns", "lsgan", "hinge"):
        # float32 values (what fovea reads), the arithmetic in float64
        real = (torch.randn(8, generator=g) * 2).float().double().requires_grad_()
        fake = (torch.randn(8, generator=g) * 2).float().double().requires_grad_()
        ld, lg = losses(kind, real, fake)
        dreal, dfake = torch.autograd.grad(ld, (real, fake))
        (dg,) = torch.autograd.grad(lg, fake)
        t = {"real": real, "fake": fake, "loss_d": ld.reshape(1), "loss_g": lg.reshape(1),
             "dreal": dreal, "dfake": dfake, "dg": dg}
        stio.save(os.path.join(OUT, "gan_losses_%s.safetensors" % kind),
                  {k: v.detach().float() for k, v in t.items()})


if __name__ == "__main__":
    main()
