"""gen_resize_onnx.py - goldens for the resize layer (ONNX Resize semantics) and the pad2d layer.

Two references:
  * ONNX's own: the reference interpolation of the Resize backend test cases (onnx 1.12,
    onnx.backend.test.case.node.resize), on the backend cases' inputs, scales and sizes from
    Debian's libonnx-testdata (checked against their stored outputs) and on random planes;
    the input gradient is the adjoint of that (linear) map, found by interpolating each unit
    input and taking its dot product with dy;
  * PyTorch: F.interpolate (nearest, nearest-exact, bilinear and bicubic with align_corners
    True / False) and F.pad (reflect, replicate, constant with a value, negative pads).
Each case writes tests/data/golden/<case>.safetensors with "x", "y", "dy", "dx" (float32; y and dx
computed in float64) and __metadata__ "layer": the fovea text-format line that builds the layer,
read by tests/unit/test_ops_interp.c. Run with /usr/bin/python3 (torch 1.13, onnx 1.12):

    /usr/bin/python3 tests/golden/gen_resize_onnx.py
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from onnx.backend.test.case.node.resize import (cubic_coeffs, interpolate_nd, linear_coeffs,
                                                 nearest_coeffs)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")

def coeffs_of(mode, a=-0.75, nearest="round_prefer_floor"):
    """The reference's coefficients as floats (its linear_coeffs(1) is an integer array, which
    exclude_outside's in-place renormalisation cannot divide)."""
    if mode == "cubic":
        return lambda r: np.asarray(cubic_coeffs(r, A=a), dtype=np.float64)
    if mode == "linear":
        return lambda r: np.asarray(linear_coeffs(r), dtype=np.float64)
    return lambda r: np.asarray(nearest_coeffs(r, mode=nearest), dtype=np.float64)


def onnx_plane(plane, kw):
    """ONNX's reference resize of one (H, W) plane; kw: mode, scales or sizes, and the rest."""
    kw = dict(kw)
    get = coeffs_of(kw.pop("mode"), kw.pop("a", -0.75), kw.pop("nearest", "round_prefer_floor"))
    scales = kw.pop("scales", None)
    sizes = kw.pop("sizes", None)
    return interpolate_nd(plane, get, output_size=sizes,
                          scale_factors=None if scales is None else np.array(scales), **kw)


def onnx_resize(x, kw):
    """y and the adjoint map's matrix (rows: input cells) of ONNX's resize over x's planes."""
    n, c, h, w = x.shape
    xd = x.double().numpy()
    y = np.stack([np.stack([onnx_plane(xd[i, j], kw) for j in range(c)]) for i in range(n)])
    oh, ow = y.shape[2:]
    basis = np.zeros((h * w, oh * ow))
    for k in range(h * w):
        e = np.zeros(h * w)
        e[k] = 1
        basis[k] = onnx_plane(e.reshape(h, w), kw).reshape(-1)
    return torch.from_numpy(y), basis


TESTDATA = "/usr/share/libonnx-testdata/data/node"


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def save_onnx(g, name, x, kw, layer, want=None):
    y, basis = onnx_resize(x, kw)
    assert want is None or (want.shape == tuple(y.shape) and
                            np.allclose(want, y.numpy(), atol=1e-5)), name
    dy = torch.rand(*y.shape, generator=g) * 2 - 1
    n, c, h, w = x.shape
    dx = torch.from_numpy(dy.double().reshape(n, c, -1).numpy() @ basis.T).reshape(n, c, h, w)
    stio.save(os.path.join(OUT, "rsz_onnx_" + name + ".safetensors"),
              {"x": x, "y": y.float(), "dy": dy, "dx": dx.float()}, {"layer": layer})


def save_backend(g, name, kw, attrs):
    """Backend case test_resize_<name>: its input, scales or sizes (of H and W) and output."""
    d = os.path.join(TESTDATA, "test_resize_" + name, "test_data_set_0")
    x = torch.from_numpy(read_pb(os.path.join(d, "input_0.pb")).copy())
    hw = read_pb(os.path.join(d, "input_1.pb"))[2:]
    if "sizes" in name:
        kw = dict(kw, sizes=[int(v) for v in hw])
        layer = "resize size=%d,%d %s" % (hw[0], hw[1], attrs)
    else:  # the float32 scales exactly, as an importer passes them
        kw = dict(kw, scales=[float(v) for v in hw])
        layer = "resize scale=%r,%r %s" % (float(hw[0]), float(hw[1]), attrs)
    save_onnx(g, name, x, kw, layer, read_pb(os.path.join(d, "output_0.pb")))


def save_torch(g, name, x, fn, layer):
    xd = x.double().requires_grad_(True)
    y = fn(xd)
    dy = torch.rand(*y.shape, generator=g) * 2 - 1
    y.backward(dy.double())
    stio.save(os.path.join(OUT, name + ".safetensors"),
              {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float()}, {"layer": layer})


# The backend cases (test_resize_<name>): the reference's arguments besides the scales or sizes
# (backend_attrs gives the fovea layer's from them); their data, scales or sizes and expected
# outputs come from Debian's libonnx-testdata.
ONNX_BACKEND = [
    ("upsample_scales_nearest", dict(mode="nearest")),
    ("downsample_scales_nearest", dict(mode="nearest")),
    ("upsample_sizes_nearest", dict(mode="nearest")),
    ("downsample_sizes_nearest", dict(mode="nearest")),
    ("upsample_scales_linear", dict(mode="linear")),
    ("upsample_scales_linear_align_corners",
     dict(mode="linear", coordinate_transformation_mode="align_corners")),
    ("downsample_scales_linear", dict(mode="linear")),
    ("downsample_scales_linear_align_corners",
     dict(mode="linear", coordinate_transformation_mode="align_corners")),
    ("upsample_scales_cubic", dict(mode="cubic")),
    ("upsample_scales_cubic_align_corners",
     dict(mode="cubic", coordinate_transformation_mode="align_corners")),
    ("downsample_scales_cubic", dict(mode="cubic")),
    ("downsample_scales_cubic_align_corners",
     dict(mode="cubic", coordinate_transformation_mode="align_corners")),
    ("upsample_sizes_cubic", dict(mode="cubic")),
    ("downsample_sizes_cubic", dict(mode="cubic")),
    ("upsample_scales_cubic_A_n0p5_exclude_outside",
     dict(mode="cubic", a=-0.5, exclude_outside=True)),
    ("downsample_scales_cubic_A_n0p5_exclude_outside",
     dict(mode="cubic", a=-0.5, exclude_outside=True)),
    ("upsample_scales_cubic_asymmetric",
     dict(mode="cubic", coordinate_transformation_mode="asymmetric")),
    ("downsample_sizes_linear_pytorch_half_pixel",
     dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")),
    ("upsample_sizes_nearest_floor_align_corners",
     dict(mode="nearest", nearest="floor", coordinate_transformation_mode="align_corners")),
    ("upsample_sizes_nearest_round_prefer_ceil_asymmetric",
     dict(mode="nearest", nearest="round_prefer_ceil",
          coordinate_transformation_mode="asymmetric")),
    ("upsample_sizes_nearest_ceil_half_pixel", dict(mode="nearest", nearest="ceil")),
]


def backend_attrs(kw):
    """The fovea resize layer's arguments for the reference's kw, besides its scale or size."""
    keys = [("mode", "mode"), ("nearest", "nearest_mode"), ("a", "cubic_a"),
            ("exclude_outside", "exclude_outside"), ("coordinate_transformation_mode", "coord")]
    return " ".join("%s=%s" % (fv, str(kw[k]).lower() if isinstance(kw[k], bool) else kw[k])
                    for k, fv in keys if k in kw)


# name, the reference's arguments, the fovea layer: on random (1, 2, 5, 6) inputs.
ONNX_RANDOM = [
    ("linear_scales_1p7_0p7", dict(mode="linear", scales=[1.7, 0.7]),
     "resize scale=1.7,0.7 mode=linear"),
    ("linear_exclude_outside_asymmetric",
     dict(mode="linear", scales=[1.5, 2.5], exclude_outside=True,
          coordinate_transformation_mode="asymmetric"),
     "resize scale=1.5,2.5 mode=linear exclude_outside=true coord=asymmetric"),
    ("cubic_sizes_pytorch_half_pixel",
     dict(mode="cubic", sizes=[7, 4], coordinate_transformation_mode="pytorch_half_pixel"),
     "resize size=7,4 mode=cubic coord=pytorch_half_pixel"),
    ("cubic_scales_1p3_exclude_outside",
     dict(mode="cubic", scales=[1.3, 0.5], exclude_outside=True, a=-0.6),
     "resize scale=1.3,0.5 mode=cubic exclude_outside=true cubic_a=-0.6"),
    ("nearest_floor_asymmetric_down",
     dict(mode="nearest", nearest="floor", scales=[0.5, 0.75],
          coordinate_transformation_mode="asymmetric"),
     "resize scale=0.5,0.75 mode=nearest nearest_mode=floor coord=asymmetric"),
    ("nearest_round_prefer_floor_half_pixel_up", dict(mode="nearest", sizes=[10, 9]),
     "resize size=10,9"),
    ("nearest_ceil_align_corners_down",
     dict(mode="nearest", nearest="ceil", sizes=[3, 4],
          coordinate_transformation_mode="align_corners"),
     "resize size=3,4 nearest_mode=ceil coord=align_corners"),
    ("linear_align_corners_to_one",
     dict(mode="linear", sizes=[1, 4], coordinate_transformation_mode="align_corners"),
     "resize size=1,4 mode=linear coord=align_corners"),
]


def torch_cases():
    """name, F.interpolate / F.pad call, the fovea layer."""
    up = F.interpolate
    return [
        ("nearest_sizes", lambda t: up(t, size=(7, 9), mode="nearest"),
         "resize size=7,9 coord=asymmetric nearest_mode=floor"),
        ("nearest_scale2", lambda t: up(t, scale_factor=2, mode="nearest"),
         "resize scale=2 coord=asymmetric nearest_mode=floor"),
        ("nearest_exact_scale1p5", lambda t: up(t, scale_factor=1.5, mode="nearest-exact"),
         "resize scale=1.5 nearest_mode=round_prefer_ceil"),
        ("bilinear_scale", lambda t: up(t, scale_factor=(1.5, 2.5), mode="bilinear",
                                        align_corners=False),
         "resize scale=1.5,2.5 mode=linear"),
        ("bilinear_down", lambda t: up(t, size=(3, 4), mode="bilinear", align_corners=False),
         "resize size=3,4 mode=linear"),
        ("bilinear_align_corners", lambda t: up(t, size=(8, 3), mode="bilinear",
                                                align_corners=True),
         "resize size=8,3 mode=linear coord=align_corners"),
        ("bicubic_scale", lambda t: up(t, scale_factor=1.6, mode="bicubic", align_corners=False),
         "resize scale=1.6 mode=cubic"),
        ("bicubic_down", lambda t: up(t, size=(3, 4), mode="bicubic", align_corners=False),
         "resize size=3,4 mode=cubic"),
        ("bicubic_align_corners", lambda t: up(t, size=(9, 5), mode="bicubic",
                                               align_corners=True),
         "resize size=9,5 mode=cubic coord=align_corners"),
    ]


def pad_cases():
    """F.pad's pad is (left, right, top, bottom); fovea's T,B,L,R."""
    return [
        ("reflect", lambda t: F.pad(t, (2, 1, 3, 0), mode="reflect"),
         "pad2d padding=3,0,2,1 mode=reflect"),
        ("replicate", lambda t: F.pad(t, (1, 4, 0, 2), mode="replicate"),
         "pad2d padding=0,2,1,4 mode=edge"),
        ("constant", lambda t: F.pad(t, (2, 0, 1, 1), mode="constant", value=0.5),
         "pad2d padding=1,1,2,0 value=0.5"),
        ("constant_negative", lambda t: F.pad(t, (-1, 2, 1, -2), mode="constant", value=-1.5),
         "pad2d padding=1,-2,-1,2 value=-1.5"),
        ("reflect_crop_first", lambda t: F.pad(t[:, :, :, 1:], (0, 3, 1, 1), mode="reflect"),
         "pad2d padding=1,1,-1,3 mode=reflect"),
        ("edge_crop_first", lambda t: F.pad(t[:, :, 2:, :-1], (2, 0, 0, 1), mode="replicate"),
         "pad2d padding=-2,1,2,-1 mode=edge"),
    ]


def main():
    g = torch.Generator().manual_seed(19)
    for name, kw in ONNX_BACKEND:
        save_backend(g, name, kw, backend_attrs(kw))
    for name, kw, layer in ONNX_RANDOM:
        x = torch.rand(1, 2, 5, 6, generator=g) * 2 - 1
        save_onnx(g, name, x, kw, layer)
    x = torch.rand(2, 2, 5, 6, generator=g) * 2 - 1
    for name, fn, layer in torch_cases():
        save_torch(g, "rsz_torch_" + name, x, fn, layer)
    for name, fn, layer in pad_cases():
        save_torch(g, "pad_torch_" + name, x, fn, layer)


if __name__ == "__main__":
    main()
