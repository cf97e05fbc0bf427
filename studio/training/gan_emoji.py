"""Recipe for the bundled model `gan-emoji-32`: data, training, export, manifest."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from studio.latent.directions import principal_directions
from studio.nets.dcgan import DCGANConfig, Generator
from studio.training.emoji_data import DATA_LICENCE, EMOJI_MODEL_LICENCE, load_or_build
from studio.training.export import export_network, export_safetensors, origin, write_manifest
from studio.training.gan import GANTrainConfig, train_gan

MODEL_ID = "gan-emoji-32"
NUM_DIRECTIONS = 20
log = logging.getLogger(__name__)


def sample_grid(generator: Generator, rows: int = 8, seed: int = 0) -> Image.Image:
    z = torch.randn(
        rows * rows, generator.config.latent_dim, generator=torch.Generator().manual_seed(seed)
    )
    with torch.no_grad():
        images = generator(z).clamp(-1, 1).add(1).mul(127.5).round().byte()  # (B, 3, S, S)
    s = generator.config.image_size
    grid = images.reshape(rows, rows, 3, s, s).permute(0, 3, 1, 4, 2).reshape(rows * s, rows * s, 3)
    return Image.fromarray(grid.numpy())


def export_model(
    generator: Generator,
    folder: Path,
    steps: int,
    minutes: float,
    model_id: str = MODEL_ID,
    name: str = "Emoji GAN",
    num_directions: int = NUM_DIRECTIONS,
) -> float:
    """Write the model folder; returns the ONNX vs torch max abs difference."""
    folder.mkdir(parents=True, exist_ok=True)
    config = generator.config
    generator.eval()
    example = torch.randn(4, config.latent_dim, generator=torch.Generator().manual_seed(7))
    max_diff = export_network(generator, {"z": example}, folder, "generator", "image")

    rng = np.random.default_rng(0)
    latents = rng.standard_normal((20_000, config.latent_dim)).astype(np.float32)
    with torch.no_grad():
        features = generator.early_features(torch.from_numpy(latents)).numpy()
    principal_directions(latents, features, num_directions).save(folder / "directions.npz")

    s, d = config.image_size, config.latent_dim
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": name,
            "family": "gan",
            "modality": "image",
            "description": (
                "DCGAN trained on ~2,000 Noto Color Emoji glyphs at 32x32 on a white ground; "
                f"{steps} steps in {minutes:.0f} min on 2 CPU cores."
            ),
            "networks": {
                "generator": {
                    "architecture": "dcgan",
                    "config": asdict(config),
                    "onnx": {"path": "generator.onnx"},
                    "safetensors": {"path": "generator.safetensors"},
                    "inputs": {"z": {"shape": ["batch", d]}},
                    "outputs": {"image": {"shape": ["batch", 3, s, s]}},
                }
            },
            "io": {
                "latent": {"shape": [d], "prior": "normal"},
                "output": {"shape": [3, s, s], "range": [-1.0, 1.0]},
            },
            "directions": {"file": "directions.npz"},
            "origin": origin(model_id, DATA_LICENCE, max_diff, EMOJI_MODEL_LICENCE),
        },
    )
    return max_diff


def build(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    images: np.ndarray | None = None,
    config: DCGANConfig | None = None,
) -> Path:
    """Train and export `gan-emoji-32` into out/; checkpoints and previews go to work/."""
    config = config or DCGANConfig()
    work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(work / f"emoji-{config.image_size}.npy", config.image_size)
    train_config = GANTrainConfig(net=config, max_minutes=minutes)
    if max_steps is not None:
        train_config = replace(train_config, max_steps=max_steps)
    log.info("training on %d images for up to %.1f min", len(images), minutes)
    start = time.monotonic()

    def on_progress(step: int, d_loss: float, g_loss: float, ema: Generator) -> None:
        log.info("step %d  d_loss %.3f  g_loss %.3f", step, d_loss, g_loss)
        sample_grid(ema).save(work / "samples.png")
        export_safetensors(ema, work / "checkpoint.safetensors")

    torch.set_num_threads(2)
    generator, steps = train_gan(images, train_config, on_progress, progress_every=500)
    elapsed = (time.monotonic() - start) / 60
    max_diff = export_model(generator, out, steps, elapsed)
    sample_grid(generator).save(work / "final-samples.png")
    log.info("exported %s (onnx vs torch max abs diff %.2e)", out, max_diff)
    return out
