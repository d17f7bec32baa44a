"""gen_vecdata.py - goldens for the vector data: the regression metrics (src/nn/
metrics_regression.c) as scikit-learn 1.2 defines them, computed with numpy only, and .npy files
written by numpy itself for the NPY reader (src/data/npy.c). Read by tests/unit/test_vecdata.c.
Run with /usr/bin/python3 (Debian's python3-numpy):

    /usr/bin/python3 tests/golden/gen_vecdata.py

Writes tests/data/golden/regression_metrics.txt: per case a line "case NAME N K", then N*K
predictions and N*K targets (float32, row-major, %.9g: exact), then "mae mse rmse r2" (%.17g).
Cases: "single" (k 1), "multi" (k 3, one output with constant targets: its R^2 counts 0),
"exact" (constant targets predicted exactly: R^2 1), "worse" (worse than the mean: R^2 < 0).

And tests/data/npy/: f4_v1.npy (6, 2, 2) <f4 format 1.0, f8_v2.npy (6, 3) <f8 format 2.0,
u1.npy (6, 4) |u1, i4.npy (6, 2) <i4, labels_i8.npy (6,) <i8, targets_f4.npy (6, 2) <f4,
fortran.npy (a Fortran-order (3, 2) <f4), big_endian.npy (>f4).
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "data", "golden")
NPY = os.path.join(HERE, "..", "data", "npy")


def sk_metrics(y, p):
    """mean_absolute_error, mean_squared_error, root_mean_squared_error and r2_score with
    multioutput='uniform_average' (scikit-learn 1.2's definitions, force_finite=True)."""
    y, p = y.astype(np.float64), p.astype(np.float64)
    err = y - p
    mae = np.mean(np.abs(err), axis=0).mean()
    mse_j = np.mean(err ** 2, axis=0)
    num = (err ** 2).sum(axis=0)
    den = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.ones(y.shape[1])
    ok = (den != 0) & (num != 0)
    r2[ok] = 1 - num[ok] / den[ok]
    r2[(num != 0) & (den == 0)] = 0.0
    return mae, mse_j.mean(), np.sqrt(mse_j).mean(), r2.mean()


def cases(rng):
    y = rng.normal(3, 2, (50, 1)).astype(np.float32)
    yield "single", y, (y + rng.normal(0, 0.5, y.shape)).astype(np.float32)
    y = np.stack([rng.normal(0, 1, 40), rng.uniform(-100, 100, 40), np.full(40, 2.5)], 1)
    y = y.astype(np.float32)
    yield "multi", y, (y + rng.normal(0, 0.3, y.shape)).astype(np.float32)
    y = np.full((5, 1), 7.25, np.float32)
    yield "exact", y, y.copy()
    y = np.arange(8, dtype=np.float32).reshape(8, 1)
    yield "worse", y, y[::-1].copy() + 1


def write_metrics(rng):
    with open(os.path.join(GOLDEN, "regression_metrics.txt"), "w") as f:
        for name, y, p in cases(rng):
            n, k = y.shape
            f.write("case %s %d %d\n" % (name, n, k))
            f.write(" ".join("%.9g" % v for v in p.ravel()) + "\n")
            f.write(" ".join("%.9g" % v for v in y.ravel()) + "\n")
            f.write(" ".join("%.17g" % v for v in sk_metrics(y, p)) + "\n")


def write_npy(rng):
    os.makedirs(NPY, exist_ok=True)

    def save(name, a, version=None):
        with open(os.path.join(NPY, name), "wb") as f:
            np.lib.format.write_array(f, a, version=version)

    save("f4_v1.npy", rng.normal(0, 1, (6, 2, 2)).astype("<f4"), (1, 0))
    save("f8_v2.npy", rng.normal(0, 1, (6, 3)).astype("<f8"), (2, 0))
    save("u1.npy", rng.integers(0, 256, (6, 4)).astype("|u1"))
    save("i4.npy", rng.integers(-1000, 1000, (6, 2)).astype("<i4"))
    save("labels_i8.npy", np.array([0, 2, 1, 2, 0, 1], "<i8"))
    save("targets_f4.npy", rng.normal(0, 1, (6, 2)).astype("<f4"))
    save("fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(3, 2)))
    save("big_endian.npy", np.arange(4, dtype=">f4"))


def main():
    rng = np.random.default_rng(20240601)
    write_metrics(rng)
    write_npy(rng)


if __name__ == "__main__":
    main()
