"""stio.py - write and read safetensors files with only the standard library and torch.

Debian's python3-torch has no safetensors package, so the golden generators write the format by
hand: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
then the raw little-endian tensor bytes.
"""
import json
import os
import struct

import torch

# tests/data/golden, where the generators write and the C tests read
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
_TORCH = {v: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (saved contiguous, on CPU)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hdr = json.dumps(header, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)  # pad so tensor data is 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns dict name -> torch tensor."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + a:base + b]), dtype=_TORCH[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def run_case(g, path, x, fn):
    """One op's golden: y = fn(x) and its backward from a random dy, in float64 from float32
    inputs, saved as "x", "y", "dy", "dx" (float32). g: the torch.Generator drawing dy."""
    xd = x.double().requires_grad_(True)
    y = fn(xd)
    dy = torch.rand(*y.shape, generator=g) * 2 - 1
    y.backward(dy.double())
    save(path, {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float()})


def run_golden(g, name, x, fn):
    """run_case into tests/data/golden/<name>.safetensors."""
    run_case(g, os.path.join(GOLDEN, name + ".safetensors"), x, fn)


def loss_golden(name, x, t, fn):
    """A loss golden: fn(x, t) and its gradient in float64 from float32 x (class indices t stay
    int64), saved as "x", "t", "loss", "dx" (float32) in tests/data/golden/<name>.safetensors.
    Returns the loss."""
    xd = x.double().requires_grad_(True)
    td = t if t.dtype == torch.int64 else t.double()
    loss = fn(xd, td)
    loss.backward()
    save(os.path.join(GOLDEN, name + ".safetensors"),
         {"x": x.float(), "t": t.float(), "loss": loss.detach().float().reshape(1),
          "dx": xd.grad.float()})
    return loss


def generate(seed, *gens):
    """The generators' main: makes tests/data/golden and runs each gen(g) in order on one
    torch.Generator seeded with seed."""
    os.makedirs(GOLDEN, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    for gen in gens:
        gen(g)
