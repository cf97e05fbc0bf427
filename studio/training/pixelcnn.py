"""Recipe for `pixelcnn-emoji-32`: a palette by k-means, then a gated PixelCNN over palette
indices trained by maximum likelihood (cross-entropy per pixel)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from studio.nets.pixelcnn import PixelCNN, PixelCNNConfig
from studio.training.emoji_data import (
    DATA_LICENCE,
    EMOJI_MODEL_LICENCE,
    load_or_build,
    render_faces,
)
from studio.training.export import export_network, origin, write_manifest
from studio.training.likelihood import LoopConfig, loop_config, run_loop, split

MODEL_ID = "pixelcnn-emoji-32"
log = logging.getLogger(__name__)


def kmeans_palette(images: np.ndarray, size: int, seed: int = 0, rounds: int = 20) -> np.ndarray:
    """(size, 3) uint8 colours: k-means over a sample of pixels, white always included."""
    rng = np.random.default_rng(seed)
    pixels = images.reshape(-1, 3).astype(np.float32)
    sample = pixels[rng.choice(len(pixels), min(len(pixels), 200_000), replace=False)]
    centres = sample[rng.choice(len(sample), size, replace=False)]
    centres[0] = 255.0
    for _ in range(rounds):
        nearest = ((sample[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        for k in range(1, size):  # centre 0 stays white: the ground of every emoji
            members = sample[nearest == k]
            if len(members):
                centres[k] = members.mean(0)
    return centres.round().clip(0, 255).astype(np.uint8)


def to_indices(images: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) -> int64 (N, H, W) nearest palette entry."""
    flat = images.reshape(-1, 1, 3).astype(np.int32)
    distances = ((flat - palette[None].astype(np.int32)) ** 2).sum(-1)
    return distances.argmin(1).reshape(images.shape[:3]).astype(np.int64)


def onehot(indices: torch.Tensor, size: int) -> torch.Tensor:
    return F.one_hot(indices, size).permute(0, 3, 1, 2).float()  # (B, K, H, W)


def train_pixelcnn(
    indices: np.ndarray,
    net: PixelCNNConfig,
    loop: LoopConfig,
    on_progress=None,
    progress_every: int = 250,
) -> tuple[PixelCNN, int, float]:
    torch.manual_seed(loop.seed)
    train, held_out = split(indices, loop.seed)
    model = PixelCNN(net)
    optimiser = torch.optim.Adam(model.parameters(), loop.learning_rate)

    def step(batch: np.ndarray) -> float:
        target = torch.from_numpy(batch)
        if torch.rand(()) < 0.5:
            target = target.flip(2)  # mirrored emoji are emoji too
        loss = F.cross_entropy(model(onehot(target, net.palette_size)), target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return loss.item() / math.log(2)  # bits per pixel

    progress = None if on_progress is None else (lambda s, loss: on_progress(s, loss, model))
    steps = run_loop(step, train, loop, progress, progress_every)
    model.eval()
    with torch.no_grad():
        target = torch.from_numpy(held_out)
        held_bits = F.cross_entropy(model(onehot(target, net.palette_size)), target).item()
    return model, steps, held_bits / math.log(2)


def export_pixelcnn(
    model: PixelCNN,
    folder: Path,
    palette: np.ndarray,
    meta: dict,
    model_id: str = MODEL_ID,
    name: str = "Emoji faces PixelCNN",
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.eval()
    c = model.config
    example = onehot(
        torch.randint(0, c.palette_size, (2, c.image_size, c.image_size)), c.palette_size
    )
    diff = export_network(model, {"onehot": example}, folder, "pixelcnn", "logits")
    grid = ["batch", c.palette_size, c.image_size, c.image_size]
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": name,
            "family": "pixelcnn",
            "modality": "image",
            "description": (
                f"Gated PixelCNN ({c.layers} layers) over a {c.palette_size}-colour palette, "
                f"trained on the face emoji of Noto Color Emoji at {c.image_size}x"
                f"{c.image_size} on white; {meta['steps']} steps in {meta['minutes']:.0f} min on "
                "2 CPU cores. Draws pixel by pixel; completes the lower part of a picture."
            ),
            "networks": {
                "pixelcnn": {
                    "architecture": "pixelcnn",
                    "config": asdict(c),
                    "onnx": {"path": "pixelcnn.onnx"},
                    "safetensors": {"path": "pixelcnn.safetensors"},
                    "inputs": {"onehot": {"shape": grid}},
                    "outputs": {"logits": {"shape": grid}},
                }
            },
            "io": {"output": {"shape": [3, c.image_size, c.image_size], "range": [0.0, 255.0]}},
            "parameters": {"palette": palette.astype(int).tolist(), "default_temperature": 1.0},
            "metrics": {"held_out_bits_per_pixel": meta["bits"]},
            "origin": origin(model_id, DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
        },
    )


def build(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    images: np.ndarray | None = None,
    net: PixelCNNConfig | None = None,
) -> Path:
    # 12 layers: each sees one more row, so the stack reaches 12 rows up: most of a face
    net = net or PixelCNNConfig(layers=12)
    work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(work / "faces-32.npy", net.image_size, render_faces)
    palette = kmeans_palette(images, net.palette_size)
    indices = to_indices(images, palette)
    loop = loop_config(minutes, max_steps, learning_rate=1e-3, batch_size=32)
    start = time.monotonic()

    def on_progress(step: int, bits: float, _model: PixelCNN) -> None:
        log.info("pixelcnn step %d  %.3f bits/pixel", step, bits)

    model, steps, bits = train_pixelcnn(indices, net, loop, on_progress)
    meta = {"steps": steps, "minutes": (time.monotonic() - start) / 60, "bits": bits}
    export_pixelcnn(model, out, palette, meta)
    log.info("exported %s: held-out %.3f bits/pixel", out, bits)
    return out
