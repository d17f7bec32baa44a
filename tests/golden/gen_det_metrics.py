"""gen_det_metrics.py - reference values for the detection metrics (src/nn/metrics_det*.c).

Debian 12 has no pycocotools (python3-pycocotools does not exist), so the references are written
here in numpy, step by step as the originals compute them:

- VOC: the VOC devkit's VOCevaldet.m (detections sorted by decreasing confidence with a stable
  sort; each takes the ground truth of its image with the highest overlap, the first on ties,
  counting only overlapping ones; ovmax >= minoverlap: difficult -> ignored, already detected
  -> false positive, else true positive; otherwise false positive; npos the non-difficult
  ground truths), then voc_eval.py's voc_ap: the 11-point mean over np.arange(0., 1.1, 0.1) and
  the all-point area under the precision envelope. The "+1" pixel convention is a switch.
- COCO: pycocotools 2.0's COCOeval for iouType 'bbox': computeIoU (maskApi's bbIou, crowd
  regions dividing by the detection's area), evaluateImg (gt sorted by _ignore, dt by score,
  mergesort; greedy matching with the breaks and continues as written there), accumulate
  (concatenation in image order, mergesort by score, tp / (tp + fp + np.spacing(1)), the
  envelope, searchsorted at the 101 recall thresholds) and summarize (the mean of the entries
  > -1).

A seeded random set (40 images, 5 classes: class 3 never annotated but detected, class 4 never
seen at all; difficult and crowd boxes, boxes of every size range, given COCO areas, scores on
a 1/20 grid so that ties happen, duplicates, one image with 16 truths and 128 detections for maxDets) is
written with the expected figures to tests/data/golden/det_metrics.txt, read by
tests/unit/test_det_metrics.c. Coordinates are multiples of 1/4, exact in float32. Run with
/usr/bin/python3 (numpy only):

    /usr/bin/python3 tests/golden/gen_det_metrics.py
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden",
                   "det_metrics.txt")
K = 5


# ---------------------------------------------------------------- the random set

def make_set(rng, n=40):
    images = []
    for i in range(n):
        gts, dts = [], []
        for _ in range(rng.integers(0, 7)):
            w, h = (rng.integers(4, 160, size=2) / 4.0) * (4 if rng.random() < 0.4 else 1)
            x, y = rng.integers(0, 1200, size=2) / 4.0
            c = int(rng.integers(0, 3))  # classes 0..2 annotated
            area = 0.0 if rng.random() < 0.7 else float(rng.integers(100, 12000))
            gts.append(dict(box=[x, y, x + w, y + h], cls=c, difficult=int(rng.random() < 0.12),
                            crowd=int(rng.random() < 0.1), area=area))
        for g in gts:  # detections near the truths, some twice
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                b = np.array(g["box"])
                wh = b[2:] - b[:2]
                jit = np.round(rng.normal(0, 0.1, size=4) * np.r_[wh, wh] * 4) / 4
                nb = b + jit
                nb[2:] = np.maximum(nb[2:], nb[:2])
                c = g["cls"] if rng.random() < 0.9 else int(rng.integers(0, 4))
                dts.append(dict(box=list(nb), cls=c, score=rng.integers(1, 20) / 20.0))
        for _ in range(rng.integers(0, 4)):  # false positives, class 3 among them
            w, h = rng.integers(8, 400, size=2) / 4.0
            x, y = rng.integers(0, 1200, size=2) / 4.0
            dts.append(dict(box=[x, y, x + w, y + h], cls=int(rng.integers(0, 4)),
                            score=rng.integers(1, 20) / 20.0))
        if i == 7:  # maxDets: 16 truths of class 0 with 8 detections each (128)
            for j in range(16):
                x, y = 400.0 + 60 * (j % 4), 400.0 + 60 * (j // 4)
                gts.append(dict(box=[x, y, x + 50, y + 50], cls=0, difficult=0, crowd=0,
                                area=0.0))
                for s in range(8):
                    dx = float(rng.integers(0, 40)) / 4.0
                    dts.append(dict(box=[x + dx, y, x + 50 + dx, y + 50], cls=0,
                                    score=rng.integers(1, 20) / 20.0))
        images.append((gts, dts))
    return images


# ---------------------------------------------------------------- VOC (VOCevaldet + voc_ap)

def voc_ap(rec, prec, use_07):
    if use_07:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def voc_class(images, c, one, minoverlap=0.5):
    gt = []
    npos = 0
    for gts, _ in images:
        R = [g for g in gts if g["cls"] == c]
        gt.append(dict(BB=[g["box"] for g in R], diff=[g["difficult"] for g in R],
                       det=[False] * len(R)))
        npos += sum(1 for g in R if not g["difficult"])
    ids, conf, BB = [], [], []
    for i, (_, dts) in enumerate(images):
        for d in dts:
            if d["cls"] == c:
                ids.append(i), conf.append(d["score"]), BB.append(d["box"])
    si = np.argsort(-np.array(conf), kind="stable")
    nd = len(si)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        i, bb = ids[si[d]], BB[si[d]]
        ovmax, jmax = -np.inf, -1
        for j, bbgt in enumerate(gt[i]["BB"]):
            bi = [max(bb[0], bbgt[0]), max(bb[1], bbgt[1]), min(bb[2], bbgt[2]),
                  min(bb[3], bbgt[3])]
            iw, ih = bi[2] - bi[0] + one, bi[3] - bi[1] + one
            if iw > 0 and ih > 0:
                ua = ((bb[2] - bb[0] + one) * (bb[3] - bb[1] + one) +
                      (bbgt[2] - bbgt[0] + one) * (bbgt[3] - bbgt[1] + one) - iw * ih)
                ov = iw * ih / ua
                if ov > ovmax:
                    ovmax, jmax = ov, j
        if ovmax >= minoverlap:
            if not gt[i]["diff"][jmax]:
                if not gt[i]["det"][jmax]:
                    tp[d] = 1
                    gt[i]["det"][jmax] = True
                else:
                    fp[d] = 1
        else:
            fp[d] = 1
    if npos == 0:
        return np.nan, np.nan
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec, True), voc_ap(rec, prec, False)


# ---------------------------------------------------------------- COCO (COCOeval, bbox)

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]


def bb_iou(dt, gt, iscrowd):
    """maskApi.c bbIou on xywh boxes."""
    ious = np.zeros((len(dt), len(gt)))
    for g, (gx, gy, gw, gh) in enumerate(gt):
        ga = gw * gh
        for d, (dx, dy, dw, dh) in enumerate(dt):
            da = dw * dh
            w = min(dx + dw, gx + gw) - max(dx, gx)
            if w <= 0:
                continue
            h = min(dy + dh, gy + gh) - max(dy, gy)
            if h <= 0:
                continue
            i = w * h
            u = da if iscrowd[g] else da + ga - i
            ious[d, g] = i / u
    return ious


def xywh(b):
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


def coco_prepare(images):
    gts, dts, nid = {}, {}, 1
    for i, (g_list, d_list) in enumerate(images):
        for g in g_list:
            bb = xywh(g["box"])
            area = g["area"] if g["area"] > 0 else bb[2] * bb[3]
            gts.setdefault((i, g["cls"]), []).append(
                dict(id=nid, bbox=bb, area=area, iscrowd=g["crowd"], ignore=g["crowd"]))
            nid += 1
        for d in d_list:
            bb = xywh(d["box"])
            dts.setdefault((i, d["cls"]), []).append(
                dict(id=nid, bbox=bb, area=bb[2] * bb[3], score=d["score"]))
            nid += 1
    return gts, dts


def compute_iou(gts, dts, img, cat):
    gt, dt = gts.get((img, cat), []), dts.get((img, cat), [])
    if len(gt) == 0 and len(dt) == 0:
        return []
    inds = np.argsort([-d["score"] for d in dt], kind="mergesort")
    dt = [dt[i] for i in inds][:MAX_DETS[-1]]
    return bb_iou([d["bbox"] for d in dt], [g["bbox"] for g in gt],
                  [int(o["iscrowd"]) for o in gt])


def evaluate_img(gts, dts, ious_all, img, cat, a_rng, max_det):
    gt, dt = gts.get((img, cat), []), dts.get((img, cat), [])
    if len(gt) == 0 and len(dt) == 0:
        return None
    for g in gt:
        g["_ignore"] = 1 if (g["ignore"] or g["area"] < a_rng[0] or g["area"] > a_rng[1]) else 0
    gtind = np.argsort([g["_ignore"] for g in gt], kind="mergesort")
    gt = [gt[i] for i in gtind]
    dtind = np.argsort([-d["score"] for d in dt], kind="mergesort")
    dt = [dt[i] for i in dtind[0:max_det]]
    iscrowd = [int(o["iscrowd"]) for o in gt]
    ious = ious_all[img, cat]
    ious = ious[:, gtind] if len(ious) > 0 else ious
    T, G, D = len(IOU_THRS), len(gt), len(dt)
    gtm, dtm = np.zeros((T, G)), np.zeros((T, D))
    gt_ig = np.array([g["_ignore"] for g in gt])
    dt_ig = np.zeros((T, D))
    if not len(ious) == 0:
        for tind, t in enumerate(IOU_THRS):
            for dind, d in enumerate(dt):
                iou = min([t, 1 - 1e-10])
                m = -1
                for gind, g in enumerate(gt):
                    if gtm[tind, gind] > 0 and not iscrowd[gind]:
                        continue
                    if m > -1 and gt_ig[m] == 0 and gt_ig[gind] == 1:
                        break
                    if ious[dind, gind] < iou:
                        continue
                    iou = ious[dind, gind]
                    m = gind
                if m == -1:
                    continue
                dt_ig[tind, dind] = gt_ig[m]
                dtm[tind, dind] = gt[m]["id"]
                gtm[tind, m] = d["id"]
    a = np.array([d["area"] < a_rng[0] or d["area"] > a_rng[1] for d in dt]).reshape((1, len(dt)))
    dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(a, T, 0)))
    return dict(dtMatches=dtm, gtMatches=gtm, dtScores=[d["score"] for d in dt],
                gtIgnore=gt_ig, dtIgnore=dt_ig)


def accumulate(eval_imgs, n_img):
    T, R, A, M = len(IOU_THRS), len(REC_THRS), len(AREA_RNG), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k in range(K):
        for a in range(A):
            for m, max_det in enumerate(MAX_DETS):
                E = [eval_imgs[k][a][i] for i in range(n_img)]
                E = [e for e in E if e is not None]
                if len(E) == 0:
                    continue
                dt_scores = np.concatenate([e["dtScores"][0:max_det] for e in E])
                inds = np.argsort(-dt_scores, kind="mergesort")
                dtm = np.concatenate([e["dtMatches"][:, 0:max_det] for e in E], axis=1)[:, inds]
                dt_ig = np.concatenate([e["dtIgnore"][:, 0:max_det] for e in E], axis=1)[:, inds]
                gt_ig = np.concatenate([e["gtIgnore"] for e in E])
                npig = np.count_nonzero(gt_ig == 0)
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dt_ig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
                tp_sum = np.cumsum(tps, axis=1).astype(dtype=np.float64)
                fp_sum = np.cumsum(fps, axis=1).astype(dtype=np.float64)
                for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
                    nd = len(tp)
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    q = np.zeros((R,))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    pr, q = pr.tolist(), q.tolist()
                    for i in range(nd - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    inds2 = np.searchsorted(rc, REC_THRS, side="left")
                    try:
                        for ri, pi in enumerate(inds2):
                            q[ri] = pr[pi]
                    except IndexError:
                        pass
                    precision[t, :, k, a, m] = np.array(q)
    return precision, recall


def summarize(precision, recall):
    def one(ap, iou_thr=None, area=0, max_dets=100):
        mind = MAX_DETS.index(max_dets)
        if ap:
            s = precision
            if iou_thr is not None:
                s = s[np.where(iou_thr == IOU_THRS)[0]]
            s = s[:, :, :, area, mind]
        else:
            s = recall
            if iou_thr is not None:
                s = s[np.where(iou_thr == IOU_THRS)[0]]
            s = s[:, :, area, mind]
        return -1 if len(s[s > -1]) == 0 else np.mean(s[s > -1])
    return [one(1), one(1, 0.5), one(1, 0.75), one(1, area=1), one(1, area=2), one(1, area=3),
            one(0, max_dets=1), one(0, max_dets=10), one(0), one(0, area=1), one(0, area=2),
            one(0, area=3)]


def coco(images):
    gts, dts = coco_prepare(images)
    n = len(images)
    ious = {(i, k): compute_iou(gts, dts, i, k) for i in range(n) for k in range(K)}
    ev = [[[evaluate_img(gts, dts, ious, i, k, ar, MAX_DETS[-1]) for i in range(n)]
           for ar in AREA_RNG] for k in range(K)]
    precision, recall = accumulate(ev, n)
    per_class = []
    for k in range(K):
        p = precision[:, :, k, 0, 2]
        per_class.append(-1 if np.all(p == -1) else np.mean(p))
    return summarize(precision, recall), per_class, precision[0, :, :, 0, 2]


# ---------------------------------------------------------------- output

def main():
    rng = np.random.default_rng(20)
    images = make_set(rng)
    lines = [f"images {len(images)} classes {K}"]
    for i, (gts, dts) in enumerate(images):
        lines.append(f"image {i} {len(gts)} {len(dts)}")
        for g in gts:
            lines.append("t " + " ".join(repr(float(v)) for v in g["box"]) +
                         f" {g['cls']} {g['difficult']} {g['crowd']} {g['area']!r}")
        for d in dts:
            lines.append("d " + " ".join(repr(float(v)) for v in d["box"]) +
                         f" {d['cls']} {d['score']!r}")

    def row(name, vals):
        lines.append(name + " " + " ".join("nan" if np.isnan(v) else repr(float(v)) for v in vals))

    for one in (0, 1):
        aps = [voc_class(images, c, one) for c in range(K)]
        v07, vall = [a[0] for a in aps], [a[1] for a in aps]
        row(f"voc07_{one}", v07 + [np.nanmean(v07)])
        row(f"voc_{one}", vall + [np.nanmean(vall)])
    stats, per_class, pr50 = coco(images)
    row("coco_stats", stats)
    row("coco_ap", per_class)
    for k in range(K):
        row(f"coco_pr50_{k}", pr50[:, k])
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {OUT}: COCO AP {stats[0]:.4f} AP50 {stats[1]:.4f}, VOC mAP {np.nanmean(vall):.4f}")


if __name__ == "__main__":
    main()
