"""gen_schedule.py - PyTorch goldens for the learning-rate schedules.

Writes tests/data/golden/sched_*.safetensors: "lr" (float64), the learning rate PyTorch 1.13's
torch.optim.lr_scheduler gives at t = 0, 1, ... (epochs, or steps for one-cycle), base lr 0.1;
sched_plateau also holds "metric", the losses fed to ReduceLROnPlateau. Run with /usr/bin/python3:

    /usr/bin/python3 tests/golden/gen_schedule.py

CASES mirrors tests/unit/test_schedule.c.
"""
import os
import sys

import torch
from torch.optim import lr_scheduler as S

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
T = 12

CASES = {
    "sched_step": lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    "sched_multistep": lambda o: S.MultiStepLR(o, milestones=[2, 5, 7], gamma=0.3),
    "sched_exponential": lambda o: S.ExponentialLR(o, gamma=0.8),
    "sched_polynomial": lambda o: S.PolynomialLR(o, total_iters=6, power=2.0),
    "sched_cosine": lambda o: S.CosineAnnealingLR(o, T_max=8, eta_min=1e-4),
    "sched_one_cycle": lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=T, cycle_momentum=False),
}


def opt():
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def main():
    for name, make in CASES.items():
        o = opt()
        s = make(o)
        lrs = []
        for _ in range(T if name != "sched_cosine" else 9):  # cosine: up to T_max
            lrs.append(o.param_groups[0]["lr"])
            o.step()
            s.step()
        stio.save(os.path.join(OUT, name + ".safetensors"),
                  {"lr": torch.tensor(lrs, dtype=torch.float64)})
    o = opt()
    s = S.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=1e-4, cooldown=1, min_lr=0.02)
    metric = [1.0, 0.9, 0.95, 0.92, 0.91, 0.9, 0.89995, 0.8, 0.85, 0.86, 0.87, 0.88, 0.9, 0.9]
    lrs = []
    for v in metric:
        s.step(v)
        lrs.append(o.param_groups[0]["lr"])
    stio.save(os.path.join(OUT, "sched_plateau.safetensors"),
              {"lr": torch.tensor(lrs, dtype=torch.float64),
               "metric": torch.tensor(metric, dtype=torch.float64)})


if __name__ == "__main__":
    main()
