"""gen_inception_v3.py - torchvision goldens for the zoo's Inception v3 (zoo_inception.c):
torchvision 0.14's inception_v3(aux_logits=True, init_weights=False, transform_input=False) in
evaluation mode, whose logits fovea's builder must reproduce with the same weights, loaded by
torchvision's parameter names.

Committed (read by tests/unit/test_zoo_inception_nasnet.c in CI): the network at its own
3x299x299 input with 10 classes and the auxiliary head; every parameter and buffer set by
gen_zoo.py's formula() of its torchvision name and element index (a counter-based integer hash to
[-1, 1), scaled by the fan-in; the C test evaluates the same formula, so no 109 MB weight file is
needed and a wrong name gives wrong logits); two images from formula_input(); the main logits "y"
and the auxiliary classifier's "aux" (torchvision evaluates AuxLogits only in training: here it
is applied to Mixed_6e's output), in float64, and "tensors", the number of floating-point tensors
in the state_dict (fovea's parameter count must equal it). 0.5 KB:

    /usr/bin/python3 tests/golden/gen_inception_v3.py

Full (run and reported, not committed: 109 MB): torchvision's own random initialisation (seed 0),
1000 classes, batch-norm statistics from one batch of randn images (see calibrate()), its
state_dict exported to DIR/inception_v3.safetensors exactly as torchvision names it
(num_batches_tracked included), two randn images and the float64 main and auxiliary logits to
DIR/inception_v3_io.safetensors; then `build/test_zoo_inception_nasnet --full DIR` loads the
weights with fv_model_load_weights and compares:

    /usr/bin/python3 tests/golden/gen_inception_v3.py --full DIR
"""
import os
import sys

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402
from gen_zoo import OUT, formula, formula_input  # noqa: E402

SIDE = 299


def make(classes):
    return tvm.inception_v3(weights=None, num_classes=classes, aux_logits=True,
                            transform_input=False, init_weights=False)


def logits(model, x):
    """(main, auxiliary) logits in evaluation mode."""
    seen = {}
    hook = model.Mixed_6e.register_forward_hook(lambda mod, i, o: seen.update(x=o))
    with torch.no_grad():
        y = model(x)
        aux = model.AuxLogits(seen["x"])
    hook.remove()
    return y, aux


def reduced():
    model = make(10).double().eval()
    n = 0
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(formula(name, tuple(t.shape)))
                n += 1
    y, aux = logits(model, formula_input(3, SIDE, SIDE))
    path = os.path.join(OUT, "zoo_inception_v3.safetensors")
    count = torch.tensor([n], dtype=torch.float64)  # float tensors of the state_dict
    stio.save(path, {"y": y, "aux": aux, "tensors": count}, {"side": SIDE, "classes": 10})
    print("inception_v3", SIDE, tuple(y.shape), float(y.abs().max()), float(aux.abs().max()),
          n, "float tensors")


def calibrate(model):
    """Batch-norm running statistics from one batch of four randn images (cumulative averages, in
    training mode): with PyTorch's default initialisation and the fresh statistics (mean 0,
    variance 1) the signal shrinks about sixfold per layer, and the logits would be fc.bias to
    float precision, which says nothing about the layers; normalised, they depend on all of them."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(2)))
    model.eval()


def full(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = make(1000)
    calibrate(model)
    sd = dict(model.state_dict())
    stio.save(os.path.join(out, "inception_v3.safetensors"), sd)
    x = torch.randn(2, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(1))
    y, aux = logits(model.double(), x.double())
    stio.save(os.path.join(out, "inception_v3_io.safetensors"), {"x": x, "y": y, "aux": aux})
    print("inception_v3 exported", len(sd), "tensors,",
          sum(v.numel() for k, v in model.named_parameters()), "parameters")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--full":
        full(sys.argv[2])
    else:
        reduced()
