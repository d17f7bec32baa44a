"""gen_frcnn.py - torchvision goldens for Faster R-CNN's pieces that torchvision has as
functions: the RPN's proposals (RegionProposalNetwork.filter_proposals after BoxCoder.decode,
one feature level), the anchor labels (Matcher(0.7, 0.3, allow_low_quality_matches=True) as the
RPN uses it), the RPN's loss for given sampled labels (compute_loss's arithmetic) and Fast
R-CNN's loss (roi_heads.fastrcnn_loss), with the losses' gradients from autograd.

Writes tests/data/golden/frcnn_*.safetensors, read by tests/unit/test_frcnn_rpn.c. Integer
results are stored as float32. Run with /usr/bin/python3 (torch 1.13, torchvision 0.14):

    /usr/bin/python3 tests/golden/gen_frcnn.py
"""
import os
import sys

import torch
import torch.nn.functional as F
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import fastrcnn_loss
from torchvision.ops import box_iou
from torchvision.models.detection.rpn import (RegionProposalNetwork, RPNHead,
                                              concat_box_prediction_layers)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
SIZES, RATIOS = (8.0, 16.0, 32.0, 56.0), (1.0, 2.0, 3.0)


def save(name, tensors):
    stio.save(os.path.join(OUT, "frcnn_" + name + ".safetensors"),
              {k: v.detach().float().contiguous() for k, v in tensors.items()})


def anchors_for(img, grid):
    gen = AnchorGenerator(sizes=(SIZES,), aspect_ratios=(RATIOS,))
    images = ImageList(torch.zeros(1, 1, img, img), [(img, img)])
    return gen(images, [torch.zeros(1, 1, grid, grid)])[0]


def proposals_case(g):
    """64x64 image, 8x8 map, 12 anchors a cell; pre 300, post 100, NMS 0.7."""
    a = len(SIZES) * len(RATIOS)
    anchors = anchors_for(64, 8)
    obj = torch.randn(1, a, 8, 8, generator=g) * 2
    dl = torch.randn(1, 4 * a, 8, 8, generator=g) * 0.5
    rpn = RegionProposalNetwork(AnchorGenerator((SIZES,), (RATIOS,)), RPNHead(1, a),
                                0.7, 0.3, 256, 0.5, dict(training=300, testing=300),
                                dict(training=100, testing=100), 0.7)
    rpn.eval()
    objectness, deltas = concat_box_prediction_layers([obj], [dl])
    props = rpn.box_coder.decode(deltas, [anchors]).view(1, -1, 4)
    boxes, scores = rpn.filter_proposals(props, objectness, [(64, 64)], [a * 64])
    save("proposals", {"anchors": anchors, "obj": objectness.view(-1), "deltas": deltas,
                       "boxes": boxes[0], "scores": scores[0]})


def matcher_case(g):
    """Anchor labels of a 64x64 image's anchors against 5 truths."""
    anchors = anchors_for(64, 8)
    xy = torch.rand(5, 2, generator=g) * 48
    wh = 4 + torch.rand(5, 2, generator=g) * 28
    truth = torch.cat([xy, xy + wh], 1)
    m = det_utils.Matcher(0.7, 0.3, allow_low_quality_matches=True)
    idx = m(box_iou(truth, anchors))
    labels = (idx >= 0).float()
    labels[idx == m.BELOW_LOW_THRESHOLD] = 0.0
    labels[idx == m.BETWEEN_THRESHOLDS] = -1.0
    save("matcher", {"anchors": anchors, "truth": truth, "labels": labels,
                     "matched": idx.clamp(min=-1).float()})


def rpn_loss_case(g):
    """compute_loss's arithmetic for 300 anchors, 40 of them sampled positive, 60 negative."""
    n = 300
    obj = (torch.randn(n, generator=g) * 2).requires_grad_()
    dl = (torch.randn(n, 4, generator=g) * 0.3).requires_grad_()
    tg = torch.randn(n, 4, generator=g) * 0.3
    labels = torch.full((n,), -1.0)
    perm = torch.randperm(n, generator=g)
    labels[perm[:40]] = 1.0
    labels[perm[40:100]] = 0.0
    pos = torch.where(labels == 1)[0]
    sampled = torch.where(labels >= 0)[0]
    box = F.smooth_l1_loss(dl[pos], tg[pos], beta=1 / 9, reduction="sum") / sampled.numel()
    cls = F.binary_cross_entropy_with_logits(obj[sampled], labels[sampled])
    (cls + box).backward()
    save("rpn_loss", {"obj": obj, "deltas": dl, "targets": tg, "labels": labels,
                      "loss": torch.stack([cls, box]), "dobj": obj.grad, "ddeltas": dl.grad})


def head_loss_case(g):
    """fastrcnn_loss for 64 RoIs of 10 classes + background, 16 foreground."""
    k, k1 = 64, 11
    lg = (torch.randn(k, k1, generator=g) * 2).requires_grad_()
    dl = (torch.randn(k, 4 * k1, generator=g) * 0.5).requires_grad_()
    labels = torch.zeros(k, dtype=torch.int64)
    labels[:16] = torch.randint(1, k1, (16,), generator=g)
    tg = torch.randn(k, 4, generator=g) * 0.5
    cls, box = fastrcnn_loss(lg, dl, [labels], [tg])
    (cls + box).backward()
    save("head_loss", {"logits": lg, "deltas": dl, "labels": labels, "targets": tg,
                       "loss": torch.stack([cls, box]), "dlogits": lg.grad, "ddeltas": dl.grad})


def main():
    stio.generate(20, proposals_case, matcher_case, rpn_loss_case, head_loss_case)


if __name__ == "__main__":
    main()
