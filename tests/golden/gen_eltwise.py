"""gen_eltwise.py - PyTorch goldens for the wider activation catalogue (fovea's FV_OP_ELTWISE).

Writes tests/data/golden/eltwise_*.safetensors (float32), read by tests/unit/test_ops_eltwise.c
through tests/optest.h. Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_eltwise.py

Each file holds "x" (3, 4, 5) or (4, 7) for log-softmax, "y", "dy" and "dx"; forward and backward
run in float64 from the float32 inputs and are rounded once. CASES and PARAM_CASES mirror
test_ops_eltwise.c.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402


CASES = {
    "eltwise_leaky_relu": lambda t: F.leaky_relu(t, 0.2),
    "eltwise_elu": lambda t: F.elu(t, 0.7),
    "eltwise_selu": F.selu,
    "eltwise_gelu": F.gelu,
    "eltwise_silu": F.silu,
    "eltwise_softplus": F.softplus,
    "eltwise_hard_sigmoid": F.hardsigmoid,
    "eltwise_hard_swish": F.hardswish,
    "eltwise_relu6": F.relu6,
}


# the kinds' parameters (fovea's fv_clip and fv_layer_args alpha / beta), after the cases above
PARAM_CASES = {
    "eltwise_clip": lambda t: torch.clamp(t, -1.5, 2.0),
    "eltwise_clip_inverted": lambda t: torch.clamp(t, 1.0, -1.0),  # min > max: max everywhere
    "eltwise_hard_sigmoid_ab": lambda t: torch.clamp(0.2 * t + 0.4, 0, 1),  # ONNX HardSigmoid
    "eltwise_hard_sigmoid_neg": lambda t: torch.clamp(-0.3 * t + 0.65, 0, 1),
    "eltwise_selu_ag": lambda t: 0.9 * torch.where(t > 0, t, 1.2 * torch.expm1(t)),
}


run = stio.run_golden


def main():
    g = torch.Generator().manual_seed(7)
    x = (torch.rand(3, 4, 5, generator=g) * 2 - 1) * 8  # spans every kink region
    x[0, 0, :] = torch.tensor([25.0, -25.0, 2.5, -2.5, 5.5])  # softplus threshold, clamp edges
    for name, fn in CASES.items():
        run(g, name, x, fn)
    run(g, "eltwise_log_softmax", (torch.rand(4, 7, generator=g) * 2 - 1) * 6,
        lambda t: F.log_softmax(t, dim=-1))
    x = (torch.rand(3, 4, 5, generator=g) * 2 - 1) * 4
    x[0, 0, :] = torch.tensor([-1.5, 2.0, 1.0, -1.0, 0.0])  # clip's bounds: its gradient passes
    for name, fn in PARAM_CASES.items():
        run(g, name, x, fn)


if __name__ == "__main__":
    main()
