"""gen_boxes.py - torchvision goldens for the box operations and RoI pooling: box_iou, nms (ties,
degenerate boxes), batched_nms, BoxCoder encode / decode (with decode's clamp), AnchorGenerator,
roi_pool and roi_align (aligned or not, fixed and adaptive sampling) forward and backward, the
gradients from torch autograd in float32 (torchvision's float kernels, whose rounding the C code
follows).

Writes tests/data/golden/boxes_*.safetensors, read by tests/unit/test_boxops.c and
tests/unit/test_roi.c; integer results (kept indices) are stored as float32. Run with
/usr/bin/python3 (torch 1.13, torchvision 0.14):

    /usr/bin/python3 tests/golden/gen_boxes.py
"""
import math
import os
import sys

import torch
from torchvision import ops
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")


def save(name, tensors):
    stio.save(os.path.join(OUT, "boxes_" + name + ".safetensors"),
              {k: (v.float() if v.dtype != torch.float32 else v) for k, v in tensors.items()})


def rand_boxes(g, n, size, lo=2.0, hi=30.0):
    xy = torch.rand(n, 2, generator=g) * size
    wh = lo + torch.rand(n, 2, generator=g) * (hi - lo)
    return torch.cat([xy, xy + wh], 1)


def iou_case(g):
    a = rand_boxes(g, 7, 40)
    a[5] = torch.tensor([10.0, 10.0, 10.0, 25.0])  # zero width
    a[6] = torch.tensor([3.0, 4.0, 20.0, 4.0])     # zero height
    b = rand_boxes(g, 5, 40)
    b[4] = a[0]                                     # identical: IoU 1
    save("iou", {"a": a, "b": b, "iou": ops.box_iou(a, b)})


def nms_cases(g):
    # clusters of overlapping boxes with random scores
    centres = torch.rand(4, 2, generator=g) * 60
    boxes = []
    for c in centres:
        for _ in range(8):
            d = torch.randn(2, generator=g) * 3
            wh = 12 + torch.rand(2, generator=g) * 8
            p = c + d
            boxes.append(torch.cat([p, p + wh]))
    boxes = torch.stack(boxes)
    scores = torch.rand(len(boxes), generator=g)
    for thr in (0.3, 0.5, 0.7):
        keep = ops.nms(boxes, scores, thr)
        save("nms_%d" % int(thr * 10), {"boxes": boxes, "scores": scores, "keep": keep,
                                       "thr": torch.tensor([thr])})
    # ties and degenerate boxes: equal scores keep the lower index (torchvision's stable sort)
    tb = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 11, 11], [5, 5, 5, 15],
                       [5, 5, 5, 15], [20, 20, 30, 30], [21, 20, 31, 30], [40, 40, 40, 40],
                       [40, 40, 40, 40], [50, 50, 60, 60]], dtype=torch.float32)
    ts = torch.tensor([0.9, 0.9, 0.9, 0.5, 0.5, 0.8, 0.8, 0.3, 0.3, 0.95])
    save("nms_ties", {"boxes": tb, "scores": ts, "keep": ops.nms(tb, ts, 0.5),
                      "thr": torch.tensor([0.5])})


def batched_case(g):
    boxes = rand_boxes(g, 40, 50, 8, 25)
    scores = torch.rand(40, generator=g)
    classes = torch.randint(0, 3, (40,), generator=g)
    keep = ops.batched_nms(boxes, scores, classes, 0.4)
    save("batched_nms", {"boxes": boxes, "scores": scores, "classes": classes, "keep": keep,
                         "thr": torch.tensor([0.4])})


def coder_case(g):
    refs = rand_boxes(g, 12, 60, 4, 40)
    targets = rand_boxes(g, 12, 60, 4, 40)
    for name, w in (("coder_rpn", (1.0, 1.0, 1.0, 1.0)), ("coder_head", (10.0, 10.0, 5.0, 5.0))):
        coder = BoxCoder(w)
        deltas = coder.encode_single(targets, refs)
        codes = torch.randn(12, 4, generator=g) * 0.5
        codes[3, 2] = 30.0  # beyond log(1000 / 16) after the weight: clamped
        codes[7, 3] = 45.0
        decoded = coder.decode_single(codes, refs)
        save(name, {"refs": refs, "targets": targets, "deltas": deltas, "codes": codes,
                    "decoded": decoded, "weights": torch.tensor(w)})


def anchor_case():
    sizes, ratios = (32.0, 45.0, 128.0), (0.5, 1.0, 2.0)
    gen = AnchorGenerator(sizes=(sizes,), aspect_ratios=(ratios,))
    img = torch.zeros(1, 3, 100, 130)
    feat = torch.zeros(1, 8, 7, 9)
    anchors = gen(ImageList(img, [(100, 130)]), [feat])[0]
    save("anchors", {"anchors": anchors, "sizes": torch.tensor(sizes),
                     "ratios": torch.tensor(ratios),
                     "geometry": torch.tensor([7.0, 9.0, 100 // 7, 130 // 9])})


ROIS = torch.tensor([[0, 1.3, 2.2, 15.7, 12.1], [1, 0.0, 0.0, 23.0, 19.0],
                     [0, 6.4, 3.1, 7.2, 4.0],       # smaller than a cell
                     [1, -6.0, -4.5, 9.9, 8.6],     # partly outside
                     [0, 18.0, 14.0, 40.0, 33.0],   # partly outside the other way
                     [1, 10.5, 2.5, 16.5, 17.5],    # half-cell corners
                     [0, 30.0, 25.0, 36.0, 31.0]])  # entirely outside


def roi_cases(g):
    x = torch.randn(2, 3, 10, 12, generator=g)
    cases = [("roi_pool", lambda t: ops.roi_pool(t, ROIS, (3, 4), 0.5)),
             ("roi_pool_s1", lambda t: ops.roi_pool(t, ROIS, (2, 2), 1.0 / 3))]
    for aligned in (False, True):
        for sr in (2, -1):
            for scale in (0.5, 0.25):
                cases.append(("roi_align_%s_%s_%g" % ("a" if aligned else "u",
                                                      "ad" if sr < 0 else sr, scale),
                              lambda t, a=aligned, s=sr, sc=scale:
                              ops.roi_align(t, ROIS, (3, 4), sc, s, a)))
    for name, fn in cases:
        xg = x.clone().requires_grad_(True)
        y = fn(xg)
        dy = torch.rand(*y.shape, generator=g) * 2 - 1
        y.backward(dy)
        save(name, {"x": x, "rois": ROIS, "y": y.detach(), "dy": dy, "dx": xg.grad})


def main():
    g = torch.Generator().manual_seed(2020)
    iou_case(g)
    nms_cases(g)
    batched_case(g)
    coder_case(g)
    anchor_case()
    roi_cases(g)
    assert math.isclose(BoxCoder((1, 1, 1, 1)).bbox_xform_clip, math.log(1000 / 16))


if __name__ == "__main__":
    main()
