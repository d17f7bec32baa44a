"""gen_grid.py - PyTorch goldens for grid sampling and the spatial transformer.

Writes tests/data/golden/grid_*.safetensors, read by tests/unit/test_ops_grid.c (all float32,
computed in float64 from float32 inputs):
  grid_sample_<mode>_<padding>_<ac|hp>: "x" (2, 2, 5, 6), "grid" (2, 4, 7, 2) with points up to
      1.3 outside, "y", "dy", "dx", "dgrid" of F.grid_sample (ac: align_corners=True);
  grid_affine_<ac|hp>: "theta" (2, 2, 3), "grid" (2, 4, 5, 2) of F.affine_grid, "dgrid",
      "dtheta";
  grid_tps: "d" (2, 18) displacements of 3x3 control points, "grid" (2, 5, 6, 2) of the
      thin-plate spline U(r) = r^2 log r^2 solved with torch.linalg.solve (align_corners false);
  grid_stn: the spatial transformer layer on "x" (2, 2, 6, 5), features = x flattened, theta =
      f W^T + b, affine grid to 4x7, bilinear, zeros: "x", "y", "dy", "dx", "stn.weight",
      "stn.bias", "grad.stn.weight", "grad.stn.bias" (tests/optest.h's layout).
Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_grid.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")


def rand(g, *shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, generator=g) * (hi - lo) + lo


def grid_sample_cases(g):
    for mode in ("bilinear", "nearest"):
        for padding in ("zeros", "border", "reflection"):
            for ac in (False, True):
                x = rand(g, 2, 2, 5, 6)
                grid = rand(g, 2, 4, 7, 2, lo=-1.3, hi=1.3)
                xd = x.double().requires_grad_(True)
                gd = grid.double().requires_grad_(True)
                y = F.grid_sample(xd, gd, mode=mode, padding_mode=padding, align_corners=ac)
                dy = rand(g, *y.shape)
                y.backward(dy.double())
                name = "grid_sample_%s_%s_%s" % (mode, padding, "ac" if ac else "hp")
                stio.save(os.path.join(OUT, name + ".safetensors"),
                          {"x": x, "grid": grid, "y": y.detach().float(), "dy": dy,
                           "dx": xd.grad.float(), "dgrid": gd.grad.float()})


def affine_cases(g):
    for ac in (False, True):
        theta = rand(g, 2, 2, 3)
        td = theta.double().requires_grad_(True)
        grid = F.affine_grid(td, (2, 1, 4, 5), align_corners=ac)
        dgrid = rand(g, *grid.shape)
        grid.backward(dgrid.double())
        stio.save(os.path.join(OUT, "grid_affine_%s.safetensors" % ("ac" if ac else "hp")),
                  {"theta": theta, "grid": grid.detach().float(), "dgrid": dgrid,
                   "dtheta": td.grad.float()})


def tps_basis(n, oh, ow):
    """The control points (k, 2), the TPS system (k + 3)^2 and the base grid's basis rows."""
    lin = torch.linspace(-1, 1, n, dtype=torch.float64)
    cy, cx = torch.meshgrid(lin, lin, indexing="ij")
    ctrl = torch.stack([cx.reshape(-1), cy.reshape(-1)], 1)  # (k, 2), x fastest

    def u(d2):
        return torch.where(d2 > 0, d2 * torch.log(d2.clamp_min(1e-300)), torch.zeros_like(d2))

    k = n * n
    big = torch.zeros(k + 3, k + 3, dtype=torch.float64)
    big[:k, :k] = u(((ctrl[:, None, :] - ctrl[None, :, :]) ** 2).sum(-1))
    p = torch.cat([torch.ones(k, 1, dtype=torch.float64), ctrl], 1)
    big[:k, k:] = p
    big[k:, :k] = p.t()
    xs = (torch.arange(ow, dtype=torch.float64) * 2 + 1) / ow - 1
    ys = (torch.arange(oh, dtype=torch.float64) * 2 + 1) / oh - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    basis = torch.cat([u(((pts[:, None, :] - ctrl[None, :, :]) ** 2).sum(-1)),
                       torch.ones(oh * ow, 1, dtype=torch.float64), pts], 1)
    return ctrl, big, basis


def tps_grid(ctrl, big, basis, d, oh, ow):
    """The grids (N, oh, ow, 2) of displacements d (N, 2k), differentiable in d."""
    k = ctrl.shape[0]
    out = []
    for s in range(d.shape[0]):
        rhs = torch.cat([ctrl + d[s].reshape(k, 2), torch.zeros(3, 2, dtype=d.dtype)], 0)
        out.append((basis @ torch.linalg.solve(big, rhs)).reshape(oh, ow, 2))
    return torch.stack(out)


def tps_case(g):
    n, oh, ow = 3, 5, 6
    d = rand(g, 2, 2 * n * n, lo=-0.2, hi=0.2)
    ctrl, big, basis = tps_basis(n, oh, ow)
    grids = tps_grid(ctrl, big, basis, d.double(), oh, ow)
    stio.save(os.path.join(OUT, "grid_tps.safetensors"),
              {"d": d, "grid": grids.float()})


def stn_case(g):
    x = rand(g, 2, 2, 6, 5)
    w = rand(g, 6, 60, lo=-0.05, hi=0.05)
    b = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]) + rand(g, 6, lo=-0.2, hi=0.2)
    xd = x.double().requires_grad_(True)
    wd = w.double().requires_grad_(True)
    bd = b.double().requires_grad_(True)
    theta = (xd.flatten(1) @ wd.t() + bd).view(-1, 2, 3)
    grid = F.affine_grid(theta, (2, 2, 4, 7), align_corners=False)
    y = F.grid_sample(xd, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    dy = rand(g, *y.shape)
    y.backward(dy.double())
    stio.save(os.path.join(OUT, "grid_stn.safetensors"),
              {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float(),
               "stn.weight": w, "stn.bias": b, "grad.stn.weight": wd.grad.float(),
               "grad.stn.bias": bd.grad.float()})


def stn_tps_case(g):
    """The layer with points=2 (8 displacements, bias zero plus a perturbation), to 4x7,
    border padding: "grid_stn_tps" in grid_stn's layout."""
    x = rand(g, 2, 2, 6, 5)
    w = rand(g, 8, 60, lo=-0.05, hi=0.05)
    b = rand(g, 8, lo=-0.2, hi=0.2)
    xd = x.double().requires_grad_(True)
    wd = w.double().requires_grad_(True)
    bd = b.double().requires_grad_(True)
    ctrl, big, basis = tps_basis(2, 4, 7)
    grid = tps_grid(ctrl, big, basis, xd.flatten(1) @ wd.t() + bd, 4, 7)
    y = F.grid_sample(xd, grid, mode="bilinear", padding_mode="border", align_corners=False)
    dy = rand(g, *y.shape)
    y.backward(dy.double())
    stio.save(os.path.join(OUT, "grid_stn_tps.safetensors"),
              {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float(),
               "stn.weight": w, "stn.bias": b, "grad.stn.weight": wd.grad.float(),
               "grad.stn.bias": bd.grad.float()})


def main():
    g = torch.Generator().manual_seed(2015)
    grid_sample_cases(g)
    affine_cases(g)
    tps_case(g)
    stn_case(g)
    stn_tps_case(g)


if __name__ == "__main__":
    main()
