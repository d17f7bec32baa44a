"""check_export.py - fovea's ONNX export of every zoo network, every models/*.fv and the op test
models of tests/onnx at opsets 13 and 17: each file must pass onnx.checker (full_check), and where
ONNX Runtime for Node is present (scripts/get-onnxruntime.sh) give fovea's outputs on a fixed
input batch within 1e-4 relative (max |ort - fovea| / max |fovea|; tests/onnx/ort_run.js).

Weights: every model is exported twice per opset's run, first with its initial weights (which
names its initializers), then with random weights of the same scale written as a safetensors
file (so that batch-norm statistics, norm scales and PReLU slopes are not their trivial initial
values). Zoo networks are built at 3x32x32 (the smallest input the zoo accepts where 32 is too
small, lenet5 at its own 1x28x28) with 10 classes.

usage: /usr/bin/python3 check_export.py FOVEA SRC_DIR WORK_DIR [NAME...]
Prints one line per model and opset and a summary; exits 1 on any failure.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

OPSETS = (13, 17)
TOL = 1e-4
WORK = None  # the scratch folder, where every command runs (no file there is named like a network)


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=WORK)


def zoo_names(fovea):
    out = run([fovea, "zoo"]).stdout.splitlines()
    return [l.split()[0] for l in out[1:] if len(l.split()) == 4 and l.split()[1][0].isdigit()]


def write_safetensors(path, tensors):
    """tensors: name -> float32 array (the safetensors layout: a JSON header, then the data)."""
    header, off, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def random_weights(onnx_path, st_path, seed):
    """Random values of each parameter's scale around its initial ones (parameters: the
    initializers named <layer>.<what>, not the export's own constants <layer>/<what>_k)."""
    rng = np.random.default_rng(seed)
    model = onnx.load(onnx_path)
    # per-channel vectors the export wrote broadcastable, (C, 1, 1): PReLU slopes and the scales
    # of the norms' decomposition; the weights file has them as (C)
    viewed = {i for n in model.graph.node if n.op_type in ("PRelu", "Mul", "Add")
              for i in n.input}
    out = {}
    for t in model.graph.initializer:
        if "/" in t.name or t.data_type != onnx.TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(t).astype(np.float32)
        while t.name in viewed and a.ndim > 1 and a.shape[-1] == 1:
            a = a.reshape(a.shape[:-1])
        s = float(a.std()) if a.size > 1 and a.std() > 0 else 0.1 * max(float(np.abs(a).mean()), 1)
        out[t.name] = a + (s * rng.uniform(-1, 1, a.shape)).astype(np.float32)
    write_safetensors(st_path, out)


def export(fovea, model, args, path, opset, sample=None, weights=None):
    cmd = [fovea, "export", model, "--onnx", path, "--opset", str(opset), "--quiet"] + args
    if sample:
        cmd += ["--sample", sample]
    if weights:
        cmd += ["--weights", weights]
    return run(cmd)


def zoo_args(fovea, name, path):
    """The zoo options that build `name` small, found by trying 3x32x32 first."""
    if name == "lenet5":
        return ["--classes", "10"]
    args = ["--input", "3,32,32", "--classes", "10"]
    r = export(fovea, name, args, path, 13)
    m = re.search(r"smallest input \S+ accepts is (\d+)x(\d+)x(\d+)", r.stderr)
    if r.returncode != 0 and m:
        args = ["--input", ",".join(m.groups()), "--classes", "10"]
    return args


def check_one(fovea, ort, model, args, work, opset):
    """One model at one opset: a short status string and whether it passed."""
    path = os.path.join(work, "model.onnx")
    r = export(fovea, model, args, path, opset)
    if r.returncode != 0:
        return "export failed: " + r.stderr.strip(), False
    st = os.path.join(work, "weights.safetensors")
    random_weights(path, st, opset)
    sample = os.path.join(work, "sample")
    r = export(fovea, model, args, path, opset, sample=sample, weights=st)
    if r.returncode != 0:
        return "export with weights failed: " + r.stderr.strip(), False
    m = onnx.load(path)
    try:
        onnx.checker.check_model(m, full_check=True)
    except Exception as e:  # the checker's message names the problem
        return "checker: " + str(e).splitlines()[0], False
    if m.opset_import[0].version != opset:
        return "opset %d written as %d" % (opset, m.opset_import[0].version), False
    status = "checker ok, %d nodes" % len(m.graph.node)
    if not ort:
        return status, True
    r = run(["node", os.path.join(os.path.dirname(__file__), "ort_run.js"), ort, path,
             os.path.join(sample, "input.npy"), os.path.join(sample, "expected.npy"), str(TOL)])
    line = (r.stdout.strip() or r.stderr.strip()).splitlines()
    return status + ", ORT " + (line[-1] if line else "no output"), r.returncode == 0


def main():
    global WORK
    os.makedirs(sys.argv[3], exist_ok=True)
    fovea, src, work = (os.path.abspath(a) for a in sys.argv[1:4])
    WORK = work
    only = set(sys.argv[4:])
    ort = os.environ.get("FV_ORT_MODULES") or os.path.join(src, "data", "onnxruntime",
                                                           "node_modules")
    if not (os.path.isdir(os.path.join(ort, "onnxruntime-node")) and shutil.which("node")):
        print("ONNX Runtime not found (scripts/get-onnxruntime.sh fetches it): checker only")
        ort = None
    models = []
    for name in zoo_names(fovea):
        models.append((name, name, None))
    for d in ("models", os.path.join("tests", "onnx")):
        for f in sorted(os.listdir(os.path.join(src, d))):
            if f.endswith(".fv"):
                models.append((f, os.path.join(src, d, f), []))
    failed = 0
    for label, model, args in models:
        if only and label not in only:
            continue
        if args is None:
            args = zoo_args(fovea, model, os.path.join(work, "model.onnx"))
        for opset in OPSETS:
            status, ok = check_one(fovea, ort, model, args, work, opset)
            failed += not ok
            print("%-4s %-22s opset %d: %s" % ("ok" if ok else "FAIL", label, opset, status),
                  flush=True)
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
