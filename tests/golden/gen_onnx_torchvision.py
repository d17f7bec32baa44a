"""gen_onnx_torchvision.py - torchvision's networks exported to ONNX by PyTorch, for the importer's
whole-model check (issue: models in and out).

Run by hand (the files are 0.05 to 0.5 GB, so they are not committed and CI does not run this):

    /usr/bin/python3 tests/golden/gen_onnx_torchvision.py DIR [ARCH...]
    build/fv_onnx_torchvision DIR

For each network (ResNet-18, ResNet-50, VGG-11, GoogLeNet, MobileNet v2, AlexNet) with
torchvision's own random initialisation (seed 0) at 3x224x224 and 1000 classes, in evaluation
mode, torch.onnx.export writes DIR/<arch>_opset<K>.onnx for opsets 11, 13 and 14 (batch axis
dynamic, PyTorch's default constant folding, which folds batch norm into the convolutions), and
DIR/<arch>_io.safetensors holds a seeded input batch of 2 ("x") and PyTorch's float64 logits
("y"; the network run in double precision on the same weights). GoogLeNet's own initialisation
(truncated normal, std 0.01) makes its logits almost independent of the input (the two samples'
differ by 1e-13), so its convolutions are drawn again with He's initialisation: a check that the
input reaches the logits.
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

NETS = {
    "resnet18": lambda: tvm.resnet18(),
    "resnet50": lambda: tvm.resnet50(),
    "vgg11": lambda: tvm.vgg11(),
    "googlenet": lambda: he_convs(tvm.googlenet(aux_logits=False, init_weights=True)),
    "mobilenet_v2": lambda: tvm.mobilenet_v2(),
    "alexnet": lambda: tvm.alexnet(),
}
OPSETS = (11, 13, 14)


def he_convs(net):
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return net


def main(out, only):
    os.makedirs(out, exist_ok=True)
    for arch, make in NETS.items():
        if only and arch not in only:
            continue
        torch.manual_seed(0)
        net = make().eval()
        x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        for opset in OPSETS:
            torch.onnx.export(net, x[:1], os.path.join(out, f"{arch}_opset{opset}.onnx"),
                              opset_version=opset, input_names=["input"],
                              output_names=["logits"],
                              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
        with torch.no_grad():
            y = net.double()(x.double())
        stio.save(os.path.join(out, f"{arch}_io.safetensors"), {"x": x, "y": y})
        print(arch, "written")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: gen_onnx_torchvision.py DIR [ARCH...]")
    main(sys.argv[1], sys.argv[2:])
