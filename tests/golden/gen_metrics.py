"""gen_metrics.py - scikit-learn goldens for the classification metrics (src/nn/metrics*.c).

Writes tests/data/golden/metrics_<case>.safetensors (float64) holding the inputs "scores" (n, k)
and "labels" (n), "bins", and every metric as scikit-learn computes it (the calibration figures,
which scikit-learn lacks, with numpy below): accuracy, top_k (k), confusion (k, k), precision,
recall, f1, support (k), prf_macro / prf_micro / prf_weighted (precision, recall, f1), auc (k),
auc_macro, auc_micro, ap (k), ap_macro, ap_micro, log_loss, ece, bin_count, bin_confidence,
bin_accuracy (bins), and per class c (and "micro": all n x k pairs) roc_<c>_{fpr,tpr,thr} and
pr_<c>_{precision,recall,thr}. Read by tests/unit/test_metrics.c. Needs python3-sklearn (1.2)
besides python3-torch; run with /usr/bin/python3:

    /usr/bin/python3 tests/golden/gen_metrics.py

Cases: "multi" (n 200, k 4, scores on a 1/20 grid: ties within and across rows, class 3 never
predicted, zero probabilities), "binary" (k 2, p1 on a 1/10 grid with 0, 0.5 and 1; 10 bins),
"absent" (k 4, continuous scores, class 3 never a label: its AUC is NaN, as is the macro AUC,
where scikit-learn refuses).
"""
import os
import sys
import warnings

import numpy as np
import sklearn
import torch
from sklearn import metrics as skm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")


def calibration(p, y, bins):
    """Equal-width bins over the max probability: (lo, hi], the first [0, hi]; edges b / bins
    computed as b * (1 / bins), the last exactly 1. Returns ece, count, mean confidence, accuracy
    (0 for an empty bin)."""
    conf, correct = p.max(1), (p.argmax(1) == y).astype(np.float64)
    edges = np.arange(bins + 1) * (1.0 / bins)
    edges[-1] = 1.0
    count, mconf, acc = np.zeros(bins), np.zeros(bins), np.zeros(bins)
    for b in range(bins):
        lo, hi = edges[b], edges[b + 1]
        m = ((conf >= lo) if b == 0 else (conf > lo)) & (conf <= hi)
        count[b] = m.sum()
        if count[b]:
            mconf[b], acc[b] = conf[m].mean(), correct[m].mean()
    ece = np.sum(count / len(y) * np.abs(acc - mconf))
    return ece, count, mconf, acc


def curves(out, key, truth, score):
    fpr, tpr, thr = skm.roc_curve(truth, score, drop_intermediate=True)
    out[f"roc_{key}_fpr"], out[f"roc_{key}_tpr"], out[f"roc_{key}_thr"] = fpr, tpr, thr
    prec, rec, pthr = skm.precision_recall_curve(truth, score)
    out[f"pr_{key}_precision"], out[f"pr_{key}_recall"], out[f"pr_{key}_thr"] = prec, rec, pthr
    return skm.auc(fpr, tpr)


def ranking(out, p, y, k):
    onehot = np.eye(k)[y]  # label_binarize(y, classes=range(k)) for k > 2, and 2 columns for k 2
    auc = np.array([curves(out, c, (y == c).astype(int), p[:, c]) for c in range(k)])
    curves(out, "micro", onehot.ravel(), p.ravel())
    out["auc"], out["auc_macro"] = auc, auc.mean()
    out["auc_micro"] = skm.roc_auc_score(onehot, p, average="micro")
    if len(np.unique(y)) == k:  # roc_auc_score's own macro (it refuses absent classes)
        ref = (skm.roc_auc_score(y, p[:, 1]) if k == 2 else
               skm.roc_auc_score(y, p, multi_class="ovr", average="macro"))
        assert abs(ref - auc.mean()) < 1e-12, (ref, auc.mean())
    out["ap"] = skm.average_precision_score(onehot, p, average=None)
    out["ap_macro"] = skm.average_precision_score(onehot, p, average="macro")
    out["ap_micro"] = skm.average_precision_score(onehot, p, average="micro")


def classification(out, p, y, k):
    labels, pred = list(range(k)), p.argmax(1)  # numpy's argmax: the first maximum
    out["accuracy"] = skm.accuracy_score(y, pred)
    score = p[:, 1] if k == 2 else p  # binary y_true takes the positive class's scores
    out["top_k"] = np.array([skm.top_k_accuracy_score(y, score, k=j, labels=labels)
                             for j in range(1, k + 1)])
    out["confusion"] = skm.confusion_matrix(y, pred, labels=labels)
    prfs = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    for name, v in zip(("precision", "recall", "f1", "support"), prfs):
        out[name] = v
    for avg in ("macro", "micro", "weighted"):
        out["prf_" + avg] = np.array(skm.precision_recall_fscore_support(
            y, pred, labels=labels, average=avg, zero_division=0)[:3])
    out["log_loss"] = skm.log_loss(y, p, labels=labels)  # eps "auto": float64's epsilon


def case(name, p, y, bins):
    n, k = p.shape
    out = {"scores": p, "labels": y, "bins": bins}
    classification(out, p, y, k)
    ranking(out, p, y, k)
    out["ece"], out["bin_count"], out["bin_confidence"], out["bin_accuracy"] = \
        calibration(p, y, bins)
    tensors = {key: torch.from_numpy(np.atleast_1d(np.asarray(v, dtype=np.float64)).copy())
               for key, v in out.items()}
    stio.save(os.path.join(OUT, f"metrics_{name}.safetensors"), tensors,
              metadata={"sklearn": sklearn.__version__})


def multi(rng):
    """n 200, k 4 on a 1/20 grid; class 3 gets at most 4/20, never the maximum."""
    n, rows = 200, []
    for _ in range(n):
        c3 = rng.integers(0, 5)
        rest = rng.multinomial(20 - c3, rng.dirichlet([1.0, 1.0, 1.0]))
        rows.append(list(rest) + [c3])
    rows[:4] = [[8, 8, 2, 2], [6, 6, 6, 2], [0, 10, 10, 0], [10, 10, 0, 0]]  # ties at the top
    counts = np.array(rows)
    first = counts.argmax(1)
    y = np.where(rng.random(n) < 0.55, first, rng.integers(0, 4, n))
    y[:4] = [1, 2, 1, 3]
    return counts / 20.0, y


def binary(rng):
    n = 60
    p1 = rng.integers(0, 11, n) / 10.0
    p1[:3] = [0.0, 0.5, 1.0]
    y = (rng.random(n) < p1 * 0.8 + 0.1).astype(np.int64)
    y[:3] = [1, 1, 0]  # p[label] = 0 both ways: log-loss clipping
    return np.stack([1.0 - p1, p1], axis=1), y


def absent(rng):
    n = 40
    z = rng.normal(size=(n, 4)) * 1.5
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.where(rng.random(n) < 0.5, p[:, :3].argmax(1), rng.integers(0, 3, n))
    return p, y


def main():
    warnings.simplefilter("ignore")  # undefined-metric warnings are the cases under test
    rng = np.random.default_rng(2024)
    case("multi", *multi(rng), 15)
    case("binary", *binary(rng), 10)
    case("absent", *absent(rng), 15)


if __name__ == "__main__":
    main()
