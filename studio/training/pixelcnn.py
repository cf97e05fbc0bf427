"""Recipe for `pixelcnn-emoji-32`: a palette by k-means, then a gated PixelCNN over palette
indices trained by maximum likelihood (cross-entropy per pixel); Adam at 1e-3, batches of 32,
random mirroring; held-out bits per pixel on a tenth of the pictures."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from studio.nets.pixelcnn import PixelCNN, PixelCNNConfig
from studio.training.datasets import random_batch, split
from studio.training.emoji_data import (
    DATA_LICENCE,
    EMOJI_MODEL_LICENCE,
    load_or_build,
    render_faces,
)
from studio.training.export import export_network
from studio.training.loop import LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, Tensor, write_manifest
from studio.training.trainable import Trainable

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


class PixelCNNTraining(Trainable):
    """Cross-entropy of every pixel's palette index given the pixels above and to its left."""

    def __init__(
        self, train: np.ndarray, net: PixelCNNConfig, rngs: Rngs, learning_rate: float = 1e-3
    ) -> None:
        self.model = PixelCNN(net)
        optimiser = torch.optim.Adam(self.model.parameters(), learning_rate)
        super().__init__(32, {"pixelcnn": self.model}, {"adam": optimiser})
        self.train, self.rngs = train, rngs

    def step(self, tick: Tick) -> Mapping[str, float]:
        target = torch.from_numpy(random_batch(self.train, self.batch_size, self.rngs.numpy))
        if torch.rand(()) < 0.5:  # torch's global generator, checkpointed by the loop
            target = target.flip(2)  # mirrored emoji are emoji too
        palette_size = self.model.config.palette_size
        loss = F.cross_entropy(self.model(onehot(target, palette_size)), target)
        self.optimisers["adam"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimisers["adam"].step()
        return {"bits_per_pixel": loss.item() / math.log(2)}

    def held_out_bits(self, held_out: np.ndarray) -> float:
        """Mean bits per pixel on `held_out` indices (N, H, W); leaves the model in eval."""
        self.model.eval()
        with torch.no_grad():
            target = torch.from_numpy(held_out)
            logits = self.model(onehot(target, self.model.config.palette_size))
            return F.cross_entropy(logits, target).item() / math.log(2)


def export_pixelcnn(
    model: PixelCNN,
    folder: Path,
    palette: np.ndarray,
    steps: int,
    minutes: float,
    bits: float,
    model_id: str = MODEL_ID,
    name: str = "Emoji faces PixelCNN",
) -> None:
    """pixelcnn.onnx + .safetensors and manifest.toml (with the palette) in `folder`;
    `bits` is the held-out bits per pixel."""
    folder.mkdir(parents=True, exist_ok=True)
    model.eval()
    c = model.config
    example = onehot(
        torch.randint(0, c.palette_size, (2, c.image_size, c.image_size)), c.palette_size
    )
    diff = export_network(model, {"onehot": example}, folder, "pixelcnn", "logits")
    grid = ("batch", c.palette_size, c.image_size, c.image_size)
    card = ModelCard(
        id=model_id,
        name=name,
        family="pixelcnn",
        modality="image",
        description=(
            f"Gated PixelCNN ({c.layers} layers) over a {c.palette_size}-colour palette, "
            f"trained on the face emoji of Noto Color Emoji at {c.image_size}x"
            f"{c.image_size} on white; {steps} steps in {minutes:.0f} min on 2 CPU cores. "
            "Draws pixel by pixel; completes the lower part of a picture."
        ),
        networks={
            "pixelcnn": Network(
                "pixelcnn",
                {"onehot": grid},
                {"logits": grid},
                c,
                "pixelcnn.onnx",
                "pixelcnn.safetensors",
            )
        },
        io={"output": Tensor((3, c.image_size, c.image_size), range=(0.0, 255.0))},
        parameters={"palette": palette.astype(int).tolist(), "default_temperature": 1.0},
        metrics={"held_out_bits_per_pixel": bits},
        origin=Origin(DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
    )
    write_manifest(folder, card)


def build(
    out: Path,
    run: Run,
    images: np.ndarray | None = None,
    net: PixelCNNConfig | None = None,
) -> Path:
    """A k-means palette of the face emoji (or `images`, uint8 (N, S, S, 3)), then the
    PixelCNN over palette indices; exports into `out`."""
    # 12 layers: each sees one more row, so the stack reaches 12 rows up: most of a face
    net = net or PixelCNNConfig(layers=12)
    run.work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(run.work / "faces-32.npy", net.image_size, render_faces)
    palette = kmeans_palette(images, net.palette_size)
    training, held_out = split(to_indices(images, palette), run.seed)
    loop = LoopSettings(MODEL_ID, log_every=250, max_steps=1_000_000)
    outcome = train(lambda rngs: PixelCNNTraining(training, net, rngs), run, loop)
    bits = outcome.recipe.held_out_bits(held_out)
    export_pixelcnn(outcome.recipe.model, out, palette, outcome.steps, outcome.minutes, bits)
    log.info("exported %s: held-out %.3f bits/pixel", out, bits)
    return out
