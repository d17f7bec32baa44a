"""gen_nasnet.py - a PyTorch golden for the zoo's NASNet-A Mobile (src/models/zoo_nasnet.c), read
by tests/unit/test_zoo_inception_nasnet.c.

Keras is not a dependency here, so this is a second transcription of Keras' NASNetMobile
(keras/src/applications/nasnet.py: NASNet(penultimate_filters=1056, num_blocks=4,
stem_block_filters=32, skip_reduction=False, filter_multiplier=2)) into torch.nn.functional on
NCHW tensors, written from Keras' code and independent of the C builder, with Keras' semantics
spelled out: SeparableConv2D = depthwise (groups = channels) then 1x1, no bias; padding="same"
at stride 1 = k // 2 on every side; a strided separable convolution or pooling first pads with
imagenet_utils.correct_pad (k // 2 on each side, one less on top / left when that side is even)
and then runs "valid", so the reduction cells' max and average pooling see those zeros; TF's
AveragePooling2D(3, strides=1, padding="same") divides by the cells inside the map
(count_include_pad=False); BatchNormalization(epsilon=1e-3) in inference; the adjust block's
AveragePooling2D(1, strides=2) is a subsampling and its second path is shifted by one pixel
(ZeroPadding2D(((0, 1), (0, 1))) then Cropping2D(((1, 0), (1, 0)))). The logits are before
Keras' softmax.

Parameters carry fovea's names (Keras' layer names; a separable convolution's halves are
"<name>_dw" and "<name>_pw"; batch norm's gamma, beta, moving mean and variance are weight,
bias, running_mean, running_var) and are set by gen_zoo.py's formula() of the name, which the
C test evaluates too, so only the logits are committed. Two images of 3x224x224
(formula_input), 10 classes, float64, to tests/data/golden/zoo_nasnet_mobile.safetensors; also
prints the parameter count at 1000 classes under Keras' convention (5,326,716 in Keras' summary):

    /usr/bin/python3 tests/golden/gen_nasnet.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402
from gen_zoo import OUT, formula, formula_input  # noqa: E402

SIDE = 224


class Net:
    def __init__(self, classes):
        self.classes = classes
        self.params = {}

    def p(self, name, shape):
        if name not in self.params:
            self.params[name] = formula(name, tuple(shape))
        return self.params[name]

    # ------------------------------------------------------------------ layers

    def conv1x1(self, x, f, name):
        return F.conv2d(x, self.p(name + ".weight", (f, x.shape[1], 1, 1)))

    def bn(self, x, name):
        c = x.shape[1]
        return F.batch_norm(x, self.p(name + ".running_mean", (c,)),
                            self.p(name + ".running_var", (c,)), self.p(name + ".weight", (c,)),
                            self.p(name + ".bias", (c,)), False, 0.0, 1e-3)

    def separable(self, x, f, k, stride, name):
        c = x.shape[1]
        pad = k // 2 if stride == 1 else 0  # "same" at stride 1; strided: padded beforehand
        x = F.conv2d(x, self.p(name + "_dw.weight", (c, 1, k, k)), stride=stride, padding=pad,
                     groups=c)
        return F.conv2d(x, self.p(name + "_pw.weight", (f, c, 1, 1)))

    @staticmethod
    def correct_pad(x, k):
        h, w = x.shape[2], x.shape[3]
        c = k // 2
        return F.pad(x, (c - (1 - w % 2), c, c - (1 - h % 2), c))

    @staticmethod
    def avg_same(x):
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)

    # ------------------------------------------------------------------ Keras' blocks

    def sep_block(self, ip, f, k, stride, bid):
        x = F.relu(ip)
        if stride == 2:
            x = self.correct_pad(x, k)
        x = self.separable(x, f, k, stride, "separable_conv_1_" + bid)
        x = F.relu(self.bn(x, "separable_conv_1_bn_" + bid))
        x = self.separable(x, f, k, 1, "separable_conv_2_" + bid)
        return self.bn(x, "separable_conv_2_bn_" + bid)

    def adjust(self, p, ip, f, bid):
        if p is None:
            return ip
        if p.shape[3] != ip.shape[3]:
            p = F.relu(p)
            p1 = self.conv1x1(p[:, :, ::2, ::2], f // 2, "adjust_conv_1_" + bid)
            p2 = F.pad(p, (0, 1, 0, 1))[:, :, 1:, 1:]
            p2 = self.conv1x1(p2[:, :, ::2, ::2], f // 2, "adjust_conv_2_" + bid)
            return self.bn(torch.cat([p1, p2], 1), "adjust_bn_" + bid)
        if p.shape[1] != f:
            p = self.conv1x1(F.relu(p), f, "adjust_conv_projection_" + bid)
            return self.bn(p, "adjust_bn_" + bid)
        return p

    def normal_cell(self, ip, p, f, bid):
        p = self.adjust(p, ip, f, bid)
        h = self.bn(self.conv1x1(F.relu(ip), f, "normal_conv_1_" + bid), "normal_bn_1_" + bid)
        x1 = (self.sep_block(h, f, 5, 1, "normal_left1_" + bid)
              + self.sep_block(p, f, 3, 1, "normal_right1_" + bid))
        x2 = (self.sep_block(p, f, 5, 1, "normal_left2_" + bid)
              + self.sep_block(p, f, 3, 1, "normal_right2_" + bid))
        x3 = self.avg_same(h) + p
        x4 = self.avg_same(p) + self.avg_same(p)
        x5 = self.sep_block(h, f, 3, 1, "normal_left5_" + bid) + h
        return torch.cat([p, x1, x2, x3, x4, x5], 1), ip

    def reduction_cell(self, ip, p, f, bid):
        p = self.adjust(p, ip, f, bid)
        h = self.bn(self.conv1x1(F.relu(ip), f, "reduction_conv_1_" + bid),
                    "reduction_bn_1_" + bid)
        h3 = self.correct_pad(h, 3)
        x1 = (self.sep_block(h, f, 5, 2, "reduction_left1_" + bid)
              + self.sep_block(p, f, 7, 2, "reduction_right1_" + bid))
        x2 = F.max_pool2d(h3, 3, 2) + self.sep_block(p, f, 7, 2, "reduction_right2_" + bid)
        x3 = F.avg_pool2d(h3, 3, 2) + self.sep_block(p, f, 5, 2, "reduction_right3_" + bid)
        x4 = self.avg_same(x1) + x2
        x5 = self.sep_block(x1, f, 3, 1, "reduction_left4_" + bid) + F.max_pool2d(h3, 3, 2)
        return torch.cat([x2, x3, x4, x5], 1), ip

    def forward(self, x, penultimate=1056, blocks=4, stem=32, mult=2):
        filters = penultimate // 24
        x = F.conv2d(x, self.p("stem_conv1.weight", (stem, x.shape[1], 3, 3)), stride=2)
        x = self.bn(x, "stem_bn1")
        x, p = self.reduction_cell(x, None, filters // mult**2, "stem_1")
        x, p = self.reduction_cell(x, p, filters // mult, "stem_2")
        for i in range(blocks):
            x, p = self.normal_cell(x, p, filters, "%d" % i)
        x, p = self.reduction_cell(x, p, filters * mult, "reduce_%d" % blocks)  # no skip
        for i in range(blocks):
            x, p = self.normal_cell(x, p, filters * mult, "%d" % (blocks + i + 1))
        x, p = self.reduction_cell(x, p, filters * mult**2, "reduce_%d" % (2 * blocks))
        for i in range(blocks):
            x, p = self.normal_cell(x, p, filters * mult**2, "%d" % (2 * blocks + i + 1))
        x = F.relu(x).mean((2, 3))
        w = self.p("predictions.weight", (self.classes, x.shape[1]))
        return F.linear(x, w, self.p("predictions.bias", (self.classes,)))


def main():
    with torch.no_grad():
        big = Net(1000)
        big.forward(torch.zeros(1, 3, SIDE, SIDE, dtype=torch.float64))
        print("NASNet-A Mobile at 1000 classes:", sum(t.numel() for t in big.params.values()),
              "parameters (Keras convention),", len(big.params), "tensors")
        net = Net(10)
        y = net.forward(formula_input(3, SIDE, SIDE))
    count = torch.tensor([len(net.params)], dtype=torch.float64)
    stio.save(os.path.join(OUT, "zoo_nasnet_mobile.safetensors"), {"y": y, "tensors": count},
              {"side": SIDE, "classes": 10})
    print("nasnet_mobile", SIDE, tuple(y.shape), float(y.abs().max()))


if __name__ == "__main__":
    main()
