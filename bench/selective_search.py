#!/usr/bin/python3
"""selective_search.py - fovea's selective search beside OpenCV's (ximgproc) on the same photos.

Both read the same images (each scaled so its longer side is at most --side px and saved as PNG)
in Fast and Quality modes with the same parameters (base_k 150, inc_k 150, sigma 0.8), runs
alternating (OpenCV, then fovea, image by image, --reps times). Prints per mode: box counts,
recall at IoU 0.5 of the annotated boxes (labelme-examples' VOC XML and labelme polygons, where
annotations exist), their average best overlap (ABO) and recall at IoU 0.7, and median
seconds of the search alone (no image decoding), side by side.

Usage: bench/selective_search.py FOVEA_BINARY [--reps N] [--quality-reps N] [--side PX]
Needs python3-opencv (contrib ximgproc); photos from Debian darknet, python3-skimage and
labelme-examples where installed."""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import cv2
import numpy as np

DARKNET = "/usr/share/darknet/data"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
LABELME = "/usr/share/doc/labelme-examples/examples"


def photos():
    """(name, path, ground-truth boxes [x1, y1, x2, y2] continuous, or None)."""
    out = []
    for n in ["dog", "eagle", "giraffe", "horses", "person", "kite"]:
        p = f"{DARKNET}/{n}.jpg"
        if os.path.exists(p):
            out.append((n, p, None))
    for n in ["astronaut", "chelsea", "coffee"]:
        p = f"{SKIMAGE}/{n}.png"
        if os.path.exists(p):
            out.append((n, p, None))
    voc = f"{LABELME}/bbox_detection/data_dataset_voc"
    for x in sorted(glob.glob(f"{voc}/Annotations/*.xml")):
        root = ET.parse(x).getroot()
        gt = []
        for o in root.iter("object"):
            b = o.find("bndbox")
            v = [float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
            gt.append([v[0] - 1, v[1] - 1, v[2], v[3]])  # VOC: 1-based inclusive pixels
        name = os.path.basename(x)[:-4]
        out.append((name, f"{voc}/JPEGImages/{name}.jpg", gt))
    for j in [f"{LABELME}/tutorial/apc2016_obj3.json"] + sorted(
            glob.glob(f"{LABELME}/video_annotation/data_annotated/*.json"))[::2]:
        if not os.path.exists(j):
            continue
        d = json.load(open(j))
        gt = []
        for s in d["shapes"]:
            p = np.array(s["points"], dtype=float)
            gt.append([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])
        img = os.path.join(os.path.dirname(j), os.path.basename(j)[:-5] + ".jpg")
        out.append((os.path.basename(j)[:-5], img, gt))
    return out


def iou(a, b):
    """IoU of one box against many (continuous corners)."""
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
    return inter / (area(np.asarray(a)) + area(b) - inter)


def best_overlaps(gt, boxes):
    """Each ground-truth box's best IoU with a proposal."""
    return [iou(g, boxes).max() if len(boxes) else 0.0 for g in gt]


def run_opencv(path, mode):
    im = cv2.imread(path)
    ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    ss.setBaseImage(im)
    if mode == "fast":
        ss.switchToSelectiveSearchFast(150, 150, 0.8)
    else:
        ss.switchToSelectiveSearchQuality(150, 150, 0.8)
    t = time.perf_counter()
    r = ss.process()
    dt = time.perf_counter() - t
    b = r.astype(float)
    b[:, 2] += b[:, 0]
    b[:, 3] += b[:, 1]
    return b, dt


def run_fovea(fovea, path, mode, out):
    p = subprocess.run([fovea, "proposals", path, "--mode", mode, "--out", out, "--quiet"],
                       capture_output=True, text=True, check=True)
    dt = float(re.search(r" in ([0-9.]+) s", p.stdout).group(1))
    b = np.loadtxt(f"{out}/boxes.csv", delimiter=",", skiprows=1, ndmin=2)[:, 1:5]
    return b, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fovea")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quality-reps", type=int, default=1)
    ap.add_argument("--side", type=int, default=500)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    imgs = []
    for name, path, gt in photos():
        im = cv2.imread(path)
        s = min(1.0, a.side / max(im.shape[:2]))
        if s < 1:
            im = cv2.resize(im, (round(im.shape[1] * s), round(im.shape[0] * s)),
                            interpolation=cv2.INTER_AREA)
        p = f"{tmp}/{name}.png"
        cv2.imwrite(p, im)
        if gt is not None:
            gt = [[v * s for v in g] for g in gt]
        imgs.append((name, p, gt, im.shape))
    print(f"{len(imgs)} photos, longer side <= {a.side} px; "
          f"{sum(len(g) for _, _, g, _ in imgs if g)} annotated boxes in "
          f"{sum(1 for _, _, g, _ in imgs if g)} of them")
    for mode, reps in (("fast", a.reps), ("quality", a.quality_reps)):
        if reps < 1:
            continue
        res = {n: {"cv": [], "fv": []} for n, _, _, _ in imgs}
        for _ in range(reps):
            for name, p, gt, _ in imgs:
                res[name]["cv"].append(run_opencv(p, mode))
                res[name]["fv"].append(run_fovea(a.fovea, p, mode, f"{tmp}/out"))
        print(f"\n{mode} mode (median of {reps} alternating runs)")
        print(f"{'image':<16}{'size':>10}{'boxes OpenCV':>14}{'fovea':>7}"
              f"{'recall@0.5 OpenCV':>19}{'fovea':>7}{'ABO OpenCV':>12}{'fovea':>7}"
              f"{'s OpenCV':>10}{'fovea':>7}")
        tot = {k: {"n": 0, "t": 0.0, "ov": []} for k in ("cv", "fv")}
        for name, p, gt, sh in imgs:
            row = {}
            for k in ("cv", "fv"):
                b = res[name][k][0][0]
                t = statistics.median(dt for _, dt in res[name][k])
                ov = best_overlaps(gt, b) if gt else []
                row[k] = (len(b), ov, t)
                tot[k]["n"] += len(b)
                tot[k]["t"] += t
                tot[k]["ov"] += ov
            rec = lambda ov: f"{sum(o >= 0.5 for o in ov)}/{len(ov)}" if gt else "-"
            abo = lambda ov: f"{np.mean(ov):.3f}" if gt else "-"
            print(f"{name:<16}{sh[1]:>5}x{sh[0]:<4}{row['cv'][0]:>14}{row['fv'][0]:>7}"
                  f"{rec(row['cv'][1]):>19}{rec(row['fv'][1]):>7}"
                  f"{abo(row['cv'][1]):>12}{abo(row['fv'][1]):>7}"
                  f"{row['cv'][2]:>10.2f}{row['fv'][2]:>7.2f}")
        n = len(imgs)
        r = {k: np.mean([o >= 0.5 for o in tot[k]["ov"]]) for k in tot}
        m = {k: np.mean(tot[k]["ov"]) for k in tot}
        r7 = {k: np.mean([o >= 0.7 for o in tot[k]["ov"]]) for k in tot}
        print(f"{'mean / total':<16}{'':>10}{tot['cv']['n'] / n:>14.0f}{tot['fv']['n'] / n:>7.0f}"
              f"{r['cv']:>19.3f}{r['fv']:>7.3f}{m['cv']:>12.3f}{m['fv']:>7.3f}"
              f"{tot['cv']['t']:>10.2f}{tot['fv']['t']:>7.2f}")
        print(f"recall at IoU 0.7: OpenCV {r7['cv']:.3f}, fovea {r7['fv']:.3f}; ABO: the mean "
              "best IoU of the annotated boxes; s: the search alone, total of the medians")

if __name__ == "__main__":
    main()
