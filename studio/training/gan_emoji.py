"""Recipe for the bundled model `gan-emoji-32`: a DCGAN on ~2,000 emoji.

Hinge loss with a spectral-normalised discriminator (Miyato et al., 2018), DiffAugment on both
real and fake images (augment.py), Adam at 2e-4 with betas (0.5, 0.999), and an exponential
moving average of the generator's weights (decay 0.999, kept by the loop), which is what gets
exported: it gives visibly cleaner samples than the raw generator.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from PIL import Image

from studio.latent.directions import principal_directions
from studio.nets.dcgan import DCGANConfig, Discriminator, Generator
from studio.training.augment import diff_augment
from studio.training.emoji_data import DATA_LICENCE, EMOJI_MODEL_LICENCE, load_or_build
from studio.training.export import export_network
from studio.training.gan import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    recalibrate_batchnorm,
)
from studio.training.images import to_unit_range
from studio.training.loop import EMA, LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, Tensor, write_manifest
from studio.training.trainable import Trainable

MODEL_ID = "gan-emoji-32"
NUM_DIRECTIONS = 20
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GANSettings:
    batch_size: int = 64
    learning_rate: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    ema_decay: float = 0.999
    max_steps: int = 200_000  # a cap; the time budget ends a bundled run first


class GANTraining(Trainable):
    """One discriminator and one generator update per step on uint8 images (N, H, W, 3)."""

    def __init__(
        self,
        images: np.ndarray,
        net: DCGANConfig,
        settings: GANSettings,
        rngs: Rngs,
        work: Path | None = None,
    ) -> None:
        self.data = to_unit_range(images)
        self.generator, self.discriminator = Generator(net), Discriminator(net)
        rate, betas = settings.learning_rate, settings.betas
        super().__init__(
            settings.batch_size,
            {"generator": self.generator, "discriminator": self.discriminator},
            {
                "generator": torch.optim.Adam(self.generator.parameters(), rate, betas),
                "discriminator": torch.optim.Adam(self.discriminator.parameters(), rate, betas),
            },
        )
        self.rng, self.work = rngs.torch, work

    def step(self, tick: Tick) -> Mapping[str, float]:
        b, rng = self.batch_size, self.rng
        real = self.data[torch.randint(len(self.data), (b,), generator=rng)]
        z = torch.randn(b, self.generator.config.latent_dim, generator=rng)
        fake = self.generator(z)

        d_real = self.discriminator(diff_augment(real, rng))
        d_fake = self.discriminator(diff_augment(fake.detach(), rng))
        d_loss = hinge_discriminator_loss(d_real, d_fake)
        self.optimisers["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimisers["discriminator"].step()

        g_loss = hinge_generator_loss(self.discriminator(diff_augment(fake, rng)))
        self.optimisers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimisers["generator"].step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        if self.work is None:
            return
        snapshot = cast(Generator, copy.deepcopy(averages["generator"]))
        recalibrate_batchnorm(snapshot, self.generator.config.latent_dim, batches=8)
        sample_grid(snapshot).save(self.work / "samples.png")


def sample_grid(generator: Generator, rows: int = 8, seed: int = 0) -> Image.Image:
    """rows x rows samples of fixed latents as one picture."""
    z = torch.randn(
        rows * rows, generator.config.latent_dim, generator=torch.Generator().manual_seed(seed)
    )
    with torch.no_grad():
        images = generator(z).clamp(-1, 1).add(1).mul(127.5).round().byte()  # (B, 3, S, S)
    s = generator.config.image_size
    grid = images.reshape(rows, rows, 3, s, s).permute(0, 3, 1, 4, 2).reshape(rows * s, rows * s, 3)
    return Image.fromarray(grid.numpy())


def export_gan(
    generator: Generator,
    folder: Path,
    steps: int,
    minutes: float,
    model_id: str = MODEL_ID,
    name: str = "Emoji GAN",
    num_directions: int = NUM_DIRECTIONS,
) -> float:
    """generator.onnx + .safetensors, directions.npz and manifest.toml in `folder`; returns
    the ONNX vs torch max abs difference."""
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
    card = ModelCard(
        id=model_id,
        name=name,
        family="gan",
        modality="image",
        description=(
            "DCGAN trained on ~2,000 Noto Color Emoji glyphs at 32x32 on a white ground; "
            f"{steps} steps in {minutes:.0f} min on 2 CPU cores."
        ),
        networks={
            "generator": Network(
                architecture="dcgan",
                config=config,
                onnx="generator.onnx",
                safetensors="generator.safetensors",
                inputs={"z": ("batch", d)},
                outputs={"image": ("batch", 3, s, s)},
            )
        },
        io={
            "latent": Tensor((d,), prior="normal"),
            "output": Tensor((3, s, s), range=(-1.0, 1.0)),
        },
        directions="directions.npz",
        origin=Origin(DATA_LICENCE, max_diff, EMOJI_MODEL_LICENCE),
    )
    write_manifest(folder, card)
    return max_diff


def build(
    out: Path,
    run: Run,
    images: np.ndarray | None = None,
    net: DCGANConfig | None = None,
    settings: GANSettings | None = None,
) -> Path:
    """Train and export `gan-emoji-32` into out/; checkpoints and previews go to run.work."""
    net, settings = net or DCGANConfig(), settings or GANSettings()
    run.work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(run.work / f"emoji-{net.image_size}.npy", net.image_size)
    log.info("training on %d images for up to %.1f min", len(images), run.minutes)
    torch.set_num_threads(2)
    loop = LoopSettings(
        MODEL_ID,
        log_every=500,
        checkpoint_every=500,
        preview_every=500,
        ema=EMA(("generator",), settings.ema_decay),
        max_steps=settings.max_steps,
    )
    outcome = train(lambda rngs: GANTraining(images, net, settings, rngs, run.work), run, loop)
    generator = cast(Generator, outcome.averages["generator"])  # the loop's copy of ours
    recalibrate_batchnorm(generator, net.latent_dim)
    max_diff = export_gan(generator, out, outcome.steps, outcome.minutes)
    sample_grid(generator).save(run.work / "final-samples.png")
    log.info("exported %s (onnx vs torch max abs diff %.2e)", out, max_diff)
    return out
