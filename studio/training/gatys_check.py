"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2016) over `vgg16-features`.

A check that the converted VGG-16 carries style before anything is built on it, and the
reference maths of the app's optimisation mode: the image itself is optimised (L-BFGS) so
its relu4_1 matches the content photo's and its Gram matrices of relu1_1 .. relu4_1 match the
style image's. Run `python -m studio.training.gatys_check [OUT.png]`: a scikit-image photo
toward a procedural mosaic texture at 256 px, 1 thread, about two minutes.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from studio.backends.torch_style import gram
from studio.nets.vgg import VGGFeatures

log = logging.getLogger(__name__)


def gatys(
    vgg: VGGFeatures,
    content: torch.Tensor,
    style: torch.Tensor,
    style_weight: float = 10.0,
    seconds: float = 120.0,
    max_evaluations: int = 300,
    on_progress: Callable[[int, float, float], None] | None = None,
) -> torch.Tensor:
    """content (1, 3, H, W), style (1, 3, H', W') RGB in [0, 1] -> stylised (1, 3, H, W) in
    [0, 1]. `vgg` outputs relu1_1 .. relu4_1 (the last is the content layer). Starts from the
    content photo; stops after `seconds` or `max_evaluations` loss evaluations."""
    with torch.no_grad():
        content_target = vgg(content)[-1]
        style_targets = [gram(f) for f in vgg(style)]
    # relative squared errors: each layer weighs the same whatever its activations' scale
    # (relu1_1's Gram entries are ~100x relu4_1's)
    content_scale = 1.0 / content_target.pow(2).mean().item()
    style_scales = [
        style_weight / g.pow(2).mean().item() / len(style_targets) for g in style_targets
    ]
    image = content.contiguous().clone().requires_grad_(True)  # L-BFGS views grads flat
    optimiser = torch.optim.LBFGS([image], lr=1.0, max_iter=20, history_size=20)
    start, evaluations = time.monotonic(), 0

    def closure() -> torch.Tensor:
        nonlocal evaluations
        optimiser.zero_grad()
        features = vgg(image.clamp(0, 1))
        content_loss = F.mse_loss(features[-1], content_target) * content_scale
        style_loss = content_loss.new_zeros(())
        for f, target, weight in zip(features, style_targets, style_scales, strict=True):
            style_loss = style_loss + F.mse_loss(gram(f), target) * weight
        loss = content_loss + style_loss
        loss.backward()
        evaluations += 1
        if on_progress is not None and evaluations % 10 == 0:
            on_progress(evaluations, content_loss.item(), style_loss.item())
        return loss

    while evaluations < max_evaluations and time.monotonic() - start < seconds:
        optimiser.step(closure)  # type: ignore[no-untyped-call]
    return image.detach().clamp(0, 1)


def to_tensor(rgb: np.ndarray, size: int) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> centre square resized to (1, 3, size, size) in [0, 1]."""
    side = min(rgb.shape[:2])
    top, left = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
    square = Image.fromarray(rgb[top : top + side, left : left + side])
    pixels = np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), np.float32)
    return torch.from_numpy(pixels / 255.0).permute(2, 0, 1)[None]


def main(out: Path, size: int = 256, seconds: float = 120.0) -> Path:
    """Content chelsea (scikit-image, CC0), style a seeded procedural mosaic; writes a strip
    content | style | result to `out`."""
    from studio.training.style_data import load_photo, texture
    from studio.training.vgg_weights import frozen_vgg

    torch.set_num_threads(1)
    vgg = frozen_vgg()
    content = to_tensor(load_photo("chelsea"), size)
    rng = np.random.default_rng(7)
    style_image = texture(rng)
    while style_image.std() < 40:  # a busy, colourful style reads best
        style_image = texture(rng)
    style = to_tensor(style_image, size)

    def on_progress(evaluation: int, content_loss: float, style_loss: float) -> None:
        log.info("gatys %d  content %.4f  style %.4f", evaluation, content_loss, style_loss)

    result = gatys(vgg, content, style, seconds=seconds, on_progress=on_progress)
    strip = torch.cat([content, style, result], dim=3)[0]  # (3, size, 3 * size)
    pixels = (strip.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(out)
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/gatys_check.png"))
