"""export_onnx.py - torchvision's networks as ONNX files for the ONNX Runtime benchmark
(run_ort.sh): random weights from a fixed seed, evaluation mode, a dynamic batch axis, opset 13,
exported by PyTorch's exporter with constant folding (which folds batch norm into the
convolutions, as an engineer's export would).

    /usr/bin/python3 bench/export_onnx.py OUTDIR NETWORK...

Writes OUTDIR/NETWORK.onnx for each of resnet18, resnet50, vgg16, googlenet, mobilenet_v2.
"""
import os
import sys

import torch
import torchvision.models as tvm


def build(name):
    torch.manual_seed(0)
    if name == "googlenet":  # no auxiliary classifiers at inference (eval mode drops them too)
        return tvm.googlenet(weights=None, aux_logits=False, init_weights=True)
    return getattr(tvm, name)(weights=None)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: export_onnx.py OUTDIR NETWORK...")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[2:]:
        net = build(name).eval()
        x = torch.randn(1, 3, 224, 224)
        path = os.path.join(out, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(net, x, path + ".tmp", opset_version=13, do_constant_folding=True,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        os.replace(path + ".tmp", path)
        print(path)


if __name__ == "__main__":
    main()
