"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2016) on the torch backend.

The picture itself is optimised so that its relu4_1 matches the content photo's and its Gram
matrices of relu1_1 .. relu4_1 match the style image's. This needs gradients through the
feature network, so it runs in PyTorch; ONNX Runtime only runs networks forward. torch is
imported when a job starts, never at launch.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from studio.core.errors import ModelError
from studio.core.manifest import NetworkSpec

# (iteration, total loss, current picture (H, W, 3) float32 in [0, 1])
StyleSteps = Generator[tuple[int, float, np.ndarray], None, np.ndarray]


def gram(features):  # torch.Tensor -> torch.Tensor; untyped so torch stays a lazy import
    """features (B, C, H, W) -> Gram matrices (B, C, C), normalised by C * H * W."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def optimize_style(
    spec: NetworkSpec,
    content: np.ndarray,
    style: np.ndarray,
    style_weight: float,
    iterations: int,
    seed: int,
    threads: int | None = None,
) -> StyleSteps:
    """content (H, W, 3), style (h, w, 3) float32 RGB in [0, 1] -> yields after every loss
    evaluation (L-BFGS, one evaluation per step, so each yield is a cancellation point) and
    returns the stylised (H, W, 3). `seed` draws the small noise added to the content photo
    that the optimisation starts from. Layers weigh the same whatever their scale."""
    import torch
    from safetensors.torch import load_file
    from torch.nn import functional as F

    from studio.nets.registry import build

    if spec.safetensors is None or spec.architecture is None:
        raise ModelError(f"{spec.name}: optimisation needs the safetensors weights")
    if threads:
        torch.set_num_threads(threads)
    vgg = build(spec.architecture, spec.config).eval()
    vgg.load_state_dict(load_file(str(spec.safetensors.path)))  # float16 on disk -> float32
    for parameter in vgg.parameters():
        parameter.requires_grad_(False)

    def tensor(rgb: np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]

    content_t, style_t = tensor(content), tensor(style)
    with torch.no_grad():
        content_target = vgg(content_t)[-1]
        style_targets = [gram(f) for f in vgg(style_t)]
    content_scale = 1.0 / content_target.pow(2).mean().item()
    style_scales = [
        style_weight / g.pow(2).mean().item() / len(style_targets) for g in style_targets
    ]
    noise = torch.from_numpy(np.random.default_rng(seed).normal(0, 0.02, content_t.shape))
    image = (content_t + noise.float()).clamp(0, 1).contiguous().requires_grad_(True)
    optimiser = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=20)
    last = [0.0]

    def closure():
        optimiser.zero_grad()
        features = vgg(image.clamp(0, 1))
        loss = F.mse_loss(features[-1], content_target) * content_scale
        for f, target, weight in zip(features, style_targets, style_scales, strict=True):
            loss = loss + F.mse_loss(gram(f), target) * weight
        loss.backward()
        last[0] = loss.item()
        return loss

    def picture() -> np.ndarray:
        return image.detach().clamp(0, 1)[0].permute(1, 2, 0).numpy().copy()

    for iteration in range(1, iterations + 1):
        optimiser.step(closure)  # type: ignore[no-untyped-call]
        yield iteration, last[0], picture()
    return picture()
