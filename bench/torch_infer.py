"""torch_infer.py - PyTorch's side of the inference benchmark: images/s of the PyTorch network
matching a fovea zoo network (random weights, eval mode, torch.inference_mode) at the zoo's input
size and class count, after warm-up.

    /usr/bin/python3 bench/torch_infer.py NETWORK BATCH THREADS PASSES [channels_last]
    /usr/bin/python3 bench/torch_infer.py --params NETWORK

Prints "images_per_s <median of the timed passes>"; --params prints "parameters <trainable count>
input <C>x<H>x<W>", which must equal `fovea zoo`'s columns. Networks torchvision has (alexnet,
vggNN[_bn], googlenet, inception_v3, resnetNN, mobilenet_v2; vgg_a/b/d/e are vgg11/13/16/19) are
torchvision's; the others are defined here layer for layer as in src/models/zoo.c and
zoo_modern.c, and nasnet_mobile is tests/golden/gen_nasnet.py's transcription of Keras' code. PyTorch gets
its best settings: an explicit thread count, inference mode, contiguous NCHW input (run_infer.sh
also pins OpenBLAS's threads).
"""
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.models.resnet import BasicBlock
from torchvision.models.vgg import VGG


def relu():
    return nn.ReLU(inplace=True)


def lrn():
    """Krizhevsky's LRN (n 5, alpha 1e-4, beta 0.75, k 2); fovea's fv_lrn is PyTorch's formula."""
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


def conv_bn(cin, cout, k, s=1, groups=1, eps=1e-5):
    """Convolution without bias ("same" padding k // 2), batch norm, ReLU (fv_zoo_conv_bn)."""
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=eps), relu()]


def fc678(classes=1000):
    """The 2012-2013 papers' head on 256x6x6: dropout, fc6 4096, dropout, fc7 4096, fc8."""
    return [nn.Flatten(), nn.Dropout(0.5), nn.Linear(9216, 4096), relu(), nn.Dropout(0.5),
            nn.Linear(4096, 4096), relu(), nn.Linear(4096, classes)]


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), relu(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), relu(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), relu(), nn.Linear(120, 84), relu(),
        nn.Linear(84, 10))


def alexnet_original():
    """Krizhevsky et al. 2012 on two GPUs: conv2, conv4, conv5 in two groups, LRN then 3/2 max
    pooling after conv1 and conv2."""
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), relu(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, 1, 2, groups=2), relu(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, 1, 1), relu(), nn.Conv2d(384, 384, 3, 1, 1, groups=2), relu(),
        nn.Conv2d(384, 256, 3, 1, 1, groups=2), relu(), nn.MaxPool2d(3, 2), *fc678())


def alexnet_bn():
    """The course's variant: conv, ReLU, then batch norm (eps 1e-3); 1x1 conv4 and conv5;
    head fc 4096, dropout, fc 4096, dropout, fc."""
    layers, cin = [], 3
    for i, (f, k, p, pool) in enumerate(
            [(96, 11, 0, 1), (256, 5, 2, 1), (384, 3, 1, 0), (384, 1, 0, 0), (256, 1, 0, 1)]):
        layers += [nn.Conv2d(cin, f, k, 4 if i == 0 else 1, p), relu(), nn.BatchNorm2d(f, eps=1e-3)]
        layers += [nn.MaxPool2d(3, 2)] if pool else []
        cin = f
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(9216, 4096), relu(), nn.Dropout(0.5),
                         nn.Linear(4096, 4096), relu(), nn.Dropout(0.5), nn.Linear(4096, 1000))


def zfnet():
    """Zeiler & Fergus 2013: pooling (ceil mode: 110 -> 55, 26 -> 13) before LRN."""
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)
    return nn.Sequential(
        nn.Conv2d(3, 96, 7, 2, 1), relu(), pool(), lrn(), nn.Conv2d(96, 256, 5, 2), relu(), pool(),
        lrn(), nn.Conv2d(256, 384, 3, 1, 1), relu(), nn.Conv2d(384, 384, 3, 1, 1), relu(),
        nn.Conv2d(384, 256, 3, 1, 1), relu(), pool(), *fc678())


def vgg(cfg):
    """VGG's paper configurations as zoo.c's vgg_cfg spells them (3 / 1: 3x3 / 1x1 conv + ReLU,
    L: LRN, M: 2x2 max pool; channels double after each pool up to 512), torchvision's head."""
    layers, cin, ch = [], 3, 64
    for c in cfg:
        if c == "M":
            layers.append(nn.MaxPool2d(2))
            ch = min(ch * 2, 512)
        elif c == "L":
            layers.append(lrn())
        else:
            layers += [nn.Conv2d(cin, ch, int(c), padding=int(c) // 2), relu()]
            cin = ch
    return VGG(nn.Sequential(*layers), init_weights=False)


def resnet20():
    """He et al. section 4.2, n = 3: 16-32-64 basic blocks, projection (1x1 + BN) shortcuts."""
    layers, cin = conv_bn(3, 16, 3), 16
    for i, ch in enumerate((16, 32, 64)):
        for b in range(3):
            s = 2 if i > 0 and b == 0 else 1
            down = None if s == 1 and cin == ch else nn.Sequential(
                nn.Conv2d(cin, ch, 1, s, bias=False), nn.BatchNorm2d(ch))
            layers.append(BasicBlock(cin, ch, s, down))
            cin = ch
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def resnet18_cifar():
    """torchvision's resnet18 with the CIFAR stem: 3x3/1 conv1, no max pooling, 10 classes."""
    m = tvm.resnet18(num_classes=10)
    m.conv1, m.maxpool = nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.Identity()
    return m


def mobilenet_v1():
    """Howard et al. 2017: 3x3/2 stem, 13 depthwise separable blocks (BN eps 1e-3), global
    average pooling, dropout 0.001, fc."""
    layers, cin = conv_bn(3, 32, 3, 2, eps=1e-3), 32
    for cout, s in zip((64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024),
                       (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)):
        layers += conv_bn(cin, cin, 3, s, cin, 1e-3) + conv_bn(cin, cout, 1, eps=1e-3)
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.001),
                         nn.Linear(1024, 1000))


# fovea's networks torchvision lacks: builder, input (C, H, W)
OWN = {
    "lenet5": (lenet5, (1, 28, 28)),
    "alexnet_original": (alexnet_original, (3, 227, 227)),
    "alexnet_bn": (alexnet_bn, (3, 227, 227)),
    "zfnet": (zfnet, (3, 224, 224)),
    "vgg_a_lrn": (lambda: vgg("3LM3M33M33M33M"), (3, 224, 224)),
    "vgg_c": (lambda: vgg("33M33M331M331M331M"), (3, 224, 224)),
    "resnet20": (resnet20, (3, 32, 32)),
    "resnet18_cifar": (resnet18_cifar, (3, 32, 32)),
    "mobilenet_v1": (mobilenet_v1, (3, 224, 224)),
}
ALIAS = {"vgg_a": "vgg11", "vgg_b": "vgg13", "vgg_d": "vgg16", "vgg_e": "vgg19"}


class NASNetMobile(nn.Module):
    """tests/golden/gen_nasnet.py's functional transcription of Keras' NASNetMobile (the golden
    fovea's nasnet_mobile is held to), its weights as float32 parameters and buffers."""

    def __init__(self):
        super().__init__()
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "tests", "golden"))
        import gen_nasnet  # noqa: E402

        self.net = gen_nasnet.Net(1000)
        with torch.no_grad():
            self.net.forward(torch.zeros(1, 3, 224, 224, dtype=torch.float64))
        for i, (k, v) in enumerate(sorted(self.net.params.items())):
            v = v.float()
            if k.endswith("running_mean") or k.endswith("running_var"):
                self.register_buffer("b%d" % i, v)
            else:
                self.register_parameter("p%d" % i, nn.Parameter(v))
            self.net.params[k] = v

    def forward(self, x):
        return self.net.forward(x)


def build(name):
    """The network (eval mode) and its input (C, H, W)."""
    if name in OWN:
        fn, shape = OWN[name]
        return fn().eval(), shape
    if name == "nasnet_mobile":
        return NASNetMobile().eval(), (3, 224, 224)
    if name == "inception_v3":
        return tvm.inception_v3(aux_logits=False, init_weights=False).eval(), (3, 299, 299)
    name = ALIAS.get(name, name)
    kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    return getattr(tvm, name)(**kw).eval(), (3, 224, 224)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--params":
        model, shape = build(sys.argv[2])
        n = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print("parameters %d input %s" % (n, "x".join(map(str, shape))))
        return
    name, batch, threads, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    model, shape = build(name)
    x = torch.rand(batch, *shape) - 0.5
    if len(sys.argv) > 5 and sys.argv[5] == "channels_last":
        model, x = model.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    # BENCH_CLOCK=cpu: the process's CPU time (one thread, a loaded machine), as bench_infer.c
    clock = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter
    warm = int(os.environ.get("BENCH_WARMUP", "2"))
    times = []
    with torch.inference_mode():
        for p in range(passes + warm):
            t0 = clock()
            model(x)
            if p >= warm:
                times.append(clock() - t0)
    print("images_per_s %.2f" % (batch / statistics.median(times)))


if __name__ == "__main__":
    main()
