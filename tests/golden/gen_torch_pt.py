"""gen_torch_pt.py - PyTorch checkpoints (torch.save's zip format) for the .pt reader's tests
(tests/unit/test_torch_pt.c), and their reference outputs.

Committed (small), written to tests/data/torch_pt/ and tests/data/golden/torch_pt.safetensors:

    /usr/bin/python3 tests/golden/gen_torch_pt.py

- tiny_{f32,f16,bf16,f64}.pt: the state dict of a tiny CNN (conv, batch norm, relu, max pool,
  linear; the TINY text of the C test) in each dtype; the goldens are PyTorch's outputs with the
  parameters as stored (float16/bfloat16 values computed in float64);
- tiny_nested.pt: {'model': state dict, 'optimizer': Adam's state dict, 'epoch', 'best_acc', ...};
  tiny_dp.pt: {'state_dict': state dict with DataParallel's 'module.' prefix};
- tiny_views.pt: tensors that are views: a transposed (non-contiguous) weight, two tensors sharing
  one storage at offsets, a stride-0 (expanded) one;
- lenet5.pt: models/lenet5.fv's parameters by name (conv1, conv2, fc1..fc3), and its outputs;
- plain_p{2,4}.pkl: plain values (floats, big ints, strings, tuples, OrderedDict) as Python's
  pickler writes them in protocols 2 and 4, for the interpreter alone;
- hostile files, each a one-line error in fovea: a GLOBAL os.system + REDUCE, a storage shorter
  than its persistent id says, a tensor view past its storage, a huge string length, a storage
  class fovea does not read, an integer tensor where a parameter is, a truncated archive, the
  legacy (pre-1.6) format, a big-endian byteorder.

Acceptance (not committed, ~45 MB): torchvision's ResNet-18 (random init, seed 0) saved with
torch.save into DIR/resnet18.pt, with an input and its float64 logits in DIR/resnet18_io.safetensors;
tests/cli/test_cli_torch_pt.sh runs it when torch is present:

    /usr/bin/python3 tests/golden/gen_torch_pt.py --resnet DIR
"""
import collections
import io
import os
import pickle
import struct
import sys
import zipfile

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402
from lenet5 import LeNet5  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "torch_pt")
GOLDEN = os.path.join(HERE, "..", "data", "golden", "torch_pt.safetensors")


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        return self.fc(torch.flatten(x, 1))


def tiny():
    torch.manual_seed(0)
    m = Tiny().eval()
    with torch.no_grad():
        m.bn1.running_mean.uniform_(-0.2, 0.2)
        m.bn1.running_var.uniform_(0.5, 1.5)
        m.bn1.weight.uniform_(0.8, 1.2)
        m.bn1.bias.uniform_(-0.1, 0.1)
        m.bn1.num_batches_tracked.fill_(7)
    return m


def output(model_cls, sd, x):
    """The model's output in float64 with the state dict's values as stored."""
    m = model_cls().double().eval()
    m.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in sd.items()})
    with torch.no_grad():
        return m(x.double())


def save(obj, name):
    torch.save(obj, os.path.join(DATA, name))


def cast(sd, dtype):
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}


def views_sd(sd):
    """The same values as views: fc.weight transposed, conv1's two tensors in one storage at
    offsets, bn1.weight expanded from one value (so all its elements are equal)."""
    v = dict(sd)
    v["fc.weight"] = sd["fc.weight"].t().contiguous().t()  # strides (1, 5)
    w, b = sd["conv1.weight"], sd["conv1.bias"]
    big = torch.cat([torch.zeros(3), w.flatten(), torch.zeros(2), b, torch.zeros(1)])
    v["conv1.weight"] = big[3:3 + w.numel()].view(w.shape)
    v["conv1.bias"] = big[5 + w.numel():5 + w.numel() + b.numel()]
    v["bn1.weight"] = torch.tensor([1.25]).expand(4)  # stride 0
    assert not v["fc.weight"].is_contiguous() and v["bn1.weight"].stride() == (0,)
    return v


def committed():
    os.makedirs(DATA, exist_ok=True)
    gold = {}
    m = tiny()
    sd = {k: v.clone() for k, v in m.state_dict().items()}  # not changed by the step below
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    gold["tiny_x"] = x
    for tag, dt in (("f32", torch.float32), ("f16", torch.float16), ("bf16", torch.bfloat16),
                    ("f64", torch.float64)):
        s = cast(sd, dt)
        save(s, "tiny_%s.pt" % tag)
        gold["tiny_%s" % tag] = output(Tiny, s, x)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    m.train()
    m(x).sum().backward()
    opt.step()  # Adam's state: step counts, moment tensors, param_groups of floats and tuples
    m.eval()
    save({"model": sd, "optimizer": opt.state_dict(), "epoch": 3, "best_acc": 0.875,
          "args": {"lr": 1e-3, "name": "tiny", "flags": [True, False, None], "big": 2**40,
                   "neg": -70000}}, "tiny_nested.pt")
    save({"state_dict": {"module." + k: v for k, v in sd.items()}}, "tiny_dp.pt")
    v = views_sd(sd)
    save(v, "tiny_views.pt")
    gold["tiny_views"] = output(Tiny, {k: t.contiguous() for k, t in v.items()}, x)
    torch.manual_seed(2)
    lenet = LeNet5().eval()
    save(lenet.state_dict(), "lenet5.pt")
    xl = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    gold["lenet5_x"] = xl
    gold["lenet5_y"] = output(LeNet5, lenet.state_dict(), xl)
    stio.save(GOLDEN, gold)
    hostile(sd)
    plain = {"a": [1.5, True, None, 2**40, -5, (1, 2, 3), 300, 70000, -(2**40)], "b": "x\u00e9",
             "c": collections.OrderedDict([("k", (1,)), ("l", (1, 2))]), "d": [], "e": {}}
    for proto in (2, 4):  # plain values as Python's pickler writes them (4: frames, memoize)
        with open(os.path.join(DATA, "plain_p%d.pkl" % proto), "wb") as f:
            pickle.dump(plain, f, protocol=proto)


# ---------------------------------------------------------------- hostile files

def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def small_int(v):
    return b"K" + bytes([v]) if v < 256 else b"J" + struct.pack("<i", v)


def tensor_pickle(name, cls, key, numel, offset, sizes, strides):
    """A state dict {name: tensor} as torch.save's pickler writes it (without the memo)."""
    tup = lambda xs: b"(" + b"".join(small_int(v) for v in xs) + b"t"  # noqa: E731
    return (b"\x80\x02ccollections\nOrderedDict\n)R(" + binunicode(name) +
            b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + binunicode("storage") + b"ctorch\n" + cls.encode() + b"\n" + binunicode(key) +
            binunicode("cpu") + small_int(numel) + b"tQ" + small_int(offset) + tup(sizes) +
            tup(strides) + b"\x89ccollections\nOrderedDict\n)Rt" + b"Ru.")


def write_zip(name, pkl, storages, extra=()):
    entries = [("archive/data.pkl", pkl)] + [("archive/data/" + k, raw)
                                              for k, raw in storages.items()]
    entries += [("archive/version", "3\n")] + list(extra)
    with zipfile.ZipFile(os.path.join(DATA, name), "w", zipfile.ZIP_STORED) as z:
        for n, raw in entries:  # dated 1980, so that the files do not change from run to run
            z.writestr(zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0)), raw)


def hostile(sd):
    f4 = struct.pack("<4f", 1, 2, 3, 4)
    write_zip("bad_global.pt", b"\x80\x02cos\nsystem\n" + binunicode("echo owned") + b"\x85R.", {})
    write_zip("short_storage.pt", tensor_pickle("fc.bias", "FloatStorage", "0", 10, 0, [4], [1]),
              {"0": f4})
    write_zip("view_oob.pt", tensor_pickle("fc.bias", "FloatStorage", "0", 4, 2, [4], [1]),
              {"0": f4})
    write_zip("huge_len.pt", b"\x80\x02X\xf0\xff\xff\xff" + b"abc", {})
    write_zip("bad_dtype.pt", tensor_pickle("fc.bias", "ComplexFloatStorage", "0", 2, 0, [2],
                                            [1]), {"0": f4})
    write_zip("int_param.pt", tensor_pickle("fc.bias", "LongStorage", "0", 5, 0, [5], [1]),
              {"0": struct.pack("<5q", 1, 2, 3, 4, 5)})
    write_zip("big_endian.pt", tensor_pickle("fc.bias", "FloatStorage", "0", 4, 0, [4], [1]),
              {"0": f4}, [("archive/byteorder", "big")])
    buf = io.BytesIO()
    torch.save(sd, buf)
    raw = buf.getvalue()
    with open(os.path.join(DATA, "truncated.pt"), "wb") as f:
        f.write(raw[:len(raw) // 2])
    torch.save({"fc.bias": sd["fc.bias"]}, os.path.join(DATA, "legacy.pt"),
               _use_new_zipfile_serialization=False)


# ---------------------------------------------------------------- the acceptance test

def resnet(out):
    import torchvision.models as tvm
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = tvm.resnet18().eval()
    torch.save(model.state_dict(), os.path.join(out, "resnet18.pt"))
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model.double()(x.double())
    stio.save(os.path.join(out, "resnet18_io.safetensors"), {"x": x, "y": y})
    print("resnet18.pt written:", len(model.state_dict()), "entries")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--resnet":
        resnet(sys.argv[2])
    else:
        committed()
