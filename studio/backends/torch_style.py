"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2016) on the torch backend.

The picture itself is optimised so that its relu4_1 matches the content photo's and its Gram
matrices of relu1_1 .. relu4_1 match the style image's. This needs gradients through the
feature network, so it runs in PyTorch; ONNX Runtime only runs networks forward. torch is
imported when a job starts, never at launch.

Large pictures go coarse-to-fine (Gatys et al. 2017, "Controlling perceptual factors", sec. 5):
most iterations run at half size, where one costs a quarter, and their result, upsampled, is
where the full size starts; the coarse stage also lays out the style's larger structures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image

from studio.backends.base import Session
from studio.core.errors import ModelError

if TYPE_CHECKING:  # torch is imported when a job starts, never at launch
    import torch

Rgb = npt.NDArray[np.float32]  # (H, W, 3) in [0, 1]
# (iteration, total loss, current picture)
StyleSteps = Generator[tuple[int, float, Rgb], None, Rgb]

COARSE_ABOVE = 512  # a longer side above this is first optimised at half size
COARSE_SHARE = 2 / 3  # of a stage's iterations, spent at the half size before it
MIN_SIDE = 16  # shortest side worth optimising (relu4_1 is 1/8 of it) and the runtime's minimum


def gram(features: torch.Tensor) -> torch.Tensor:
    """features (B, C, H, W) -> Gram matrices (B, C, C), normalised by C * H * W."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def optimize_style(
    session: Session,
    content: np.ndarray,
    style: np.ndarray,
    style_weight: float,
    iterations: int,
    seed: int,
    init: np.ndarray | None = None,
) -> StyleSteps:
    """content (H, W, 3), style (h, w, 3) float32 RGB in [0, 1] -> yields after every loss
    evaluation (L-BFGS, one evaluation per step, so each yield is a cancellation point) and
    returns the stylised (H, W, 3). The optimisation starts from `init` (H, W, 3) float32 in
    [0, 1] when given (a coarser result, upsampled), else from the content photo plus a small
    noise drawn from `seed`. Layers weigh the same whatever their scale."""
    import torch
    from torch.nn import functional as F

    from studio.backends.torch import TorchSession

    if not isinstance(session, TorchSession):
        raise ModelError(
            f"{session.spec.name}: optimisation needs gradients, which only the torch backend "
            f"gives; this session runs on {session.choice.backend}"
        )
    vgg = session.frozen_module()
    device = session.choice.device  # the device that really runs, for the provenance too

    def tensor(rgb: npt.NDArray[np.floating]) -> torch.Tensor:
        pixels = torch.from_numpy(np.ascontiguousarray(rgb, np.float32))
        return pixels.permute(2, 0, 1)[None].to(device)

    content_t, style_t = tensor(content), tensor(style)
    with torch.no_grad():
        content_target = vgg(content_t)[-1]
        style_targets = [gram(f) for f in vgg(style_t)]
    content_scale = 1.0 / content_target.pow(2).mean().item()
    style_scales = [
        style_weight / g.pow(2).mean().item() / len(style_targets) for g in style_targets
    ]
    if init is None:
        noise = torch.from_numpy(np.random.default_rng(seed).normal(0, 0.02, content_t.shape))
        start = content_t + noise.float().to(device)
    elif init.shape != content.shape:
        raise ValueError(f"init is {init.shape}, the content {content.shape}")
    else:
        start = tensor(init)
    image = start.clamp(0, 1).contiguous().requires_grad_(True)
    optimiser = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=20)
    last = [0.0]

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        features = vgg(image.clamp(0, 1))
        loss: torch.Tensor = F.mse_loss(features[-1], content_target) * content_scale
        for f, target, weight in zip(features, style_targets, style_scales, strict=True):
            loss = loss + F.mse_loss(gram(f), target) * weight
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        last[0] = loss.item()
        return loss

    def picture() -> Rgb:
        rgb: Rgb = image.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
        return rgb.copy()  # (H, W, 3): not a view of the tensor the next step changes

    for iteration in range(1, iterations + 1):
        optimiser.step(closure)  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        yield iteration, last[0], picture()
    return picture()


def resize(rgb: npt.NDArray[np.floating], height: int, width: int) -> Rgb:
    """(h, w, 3) float in [0, 1] -> (height, width, 3) float32 in [0, 1]: PIL bicubic (with
    its antialiasing when shrinking) on each channel in float, so nothing is rounded to 8 bits
    between stages."""
    if rgb.shape[:2] == (height, width):
        return np.asarray(rgb, np.float32)
    channels = [
        Image.fromarray(np.ascontiguousarray(rgb[..., c], np.float32)).resize(
            (width, height), Image.Resampling.BICUBIC
        )
        for c in range(3)
    ]
    resized: Rgb = np.stack([np.asarray(c, np.float32) for c in channels], -1)
    return np.clip(resized, 0.0, 1.0)


def stages(height: int, width: int, iterations: int) -> list[tuple[int, int, int]]:
    """The schedule, coarsest first: (height, width, iterations) per stage. A longer side above
    COARSE_ABOVE spends COARSE_SHARE of its iterations at half size first, recursively; every
    stage keeps at least one iteration and a shorter side of at least MIN_SIDE."""
    half = ((height + 1) // 2, (width + 1) // 2)
    if max(height, width) <= COARSE_ABOVE or iterations < 2 or min(half) < MIN_SIDE:
        return [(height, width, iterations)]
    coarse = min(iterations - 1, max(1, round(iterations * COARSE_SHARE)))
    return [*stages(*half, coarse), (height, width, iterations - coarse)]


def optimize_coarse_to_fine(
    session: Session,
    content: np.ndarray,
    style: np.ndarray,
    style_weight: float,
    iterations: int,
    seed: int,
) -> StyleSteps:
    """As `optimize_style`, over the `stages` schedule: the style picture shrinks with the
    content (its strokes keep their size relative to the picture), and each stage starts from
    the previous result upsampled. Yields (iteration out of `iterations` over all stages, loss
    at that stage's size, picture upsampled to the content's (H, W, 3)); returns (H, W, 3)."""
    height, width = content.shape[:2]
    picture: np.ndarray | None = None
    done = 0
    for stage_height, stage_width, stage_iterations in stages(height, width, iterations):
        scale = max(stage_height, stage_width) / max(height, width)
        style_shape = (round(style.shape[0] * scale), round(style.shape[1] * scale))
        stage_style = style if min(style_shape) < MIN_SIDE else resize(style, *style_shape)
        init = None if picture is None else resize(picture, stage_height, stage_width)
        steps = optimize_style(
            session,
            resize(content, stage_height, stage_width),
            stage_style,
            style_weight,
            stage_iterations,
            seed,
            init,
        )
        with contextlib.closing(steps):  # a cancel (close) here stops the stage too
            while True:
                try:
                    iteration, loss, current = next(steps)
                except StopIteration as finished:
                    picture = finished.value
                    break
                yield done + iteration, loss, resize(current, height, width)
        done += stage_iterations
    assert picture is not None  # stages() gives at least one stage
    return picture
