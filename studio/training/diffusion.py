"""Recipe for `ddpm-emoji-32`: a DDPM noise predictor (Ho et al., 2020, Algorithm 1).

    loss = || ε - ε_θ(sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε, t) ||²,   t ~ U{0..T-1}, ε ~ N(0, I)

Adam at 2e-4, batches of 64, gradients clipped at norm 1, random mirroring. An exponential
moving average of the weights is exported (Ho et al. use 0.9999; fewer steps here, so 0.999).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import numpy as np
import torch

from studio.families.samplers.ddim import ddim_sample
from studio.families.samplers.schedule import alphas_cumprod, linear_betas
from studio.latent.directions import low_frequency_directions
from studio.nets.unet import UNet, UNetConfig
from studio.training.datasets import random_batch
from studio.training.emoji_data import (
    DATA_LICENCE,
    EMOJI_MODEL_LICENCE,
    load_or_build,
    render_faces,
)
from studio.training.export import export_network, parameter_count
from studio.training.images import grid_image, to_unit_range
from studio.training.loop import EMA, LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, Tensor, write_manifest
from studio.training.trainable import Trainable

MODEL_ID = "ddpm-emoji-32"
TRAIN_STEPS = 1000
log = logging.getLogger(__name__)


class DDPMTraining(Trainable):
    """The simple ε-prediction loss at uniformly drawn timesteps."""

    def __init__(
        self,
        images: np.ndarray,
        net: UNetConfig,
        rngs: Rngs,
        work: Path | None = None,
        learning_rate: float = 2e-4,
    ) -> None:
        self.model = UNet(net)
        optimiser = torch.optim.Adam(self.model.parameters(), learning_rate)
        super().__init__(64, {"unet": self.model}, {"adam": optimiser})
        self.images, self.rngs, self.work = images, rngs, work
        self.abar = torch.from_numpy(alphas_cumprod(linear_betas(TRAIN_STEPS))).float()

    def step(self, tick: Tick) -> Mapping[str, float]:
        rng = self.rngs.torch
        x0 = to_unit_range(random_batch(self.images, self.batch_size, self.rngs.numpy))
        if torch.rand((), generator=rng) < 0.5:
            x0 = x0.flip(3)  # mirror: most emoji read the same either way round
        t = torch.randint(0, TRAIN_STEPS, (len(x0),), generator=rng)
        noise = torch.randn(x0.shape, generator=rng)
        a = self.abar[t][:, None, None, None]
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        loss = ((self.model(x_t, t.float()) - noise) ** 2).mean()
        self.optimisers["adam"].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimisers["adam"].step()
        return {"loss": loss.item()}

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        if self.work is not None:
            ema = cast(UNet, averages["unet"])
            grid_image(sample_grid(ema, rows=6, steps=20), -1, 1, rows=6).save(
                self.work / "samples.png"
            )


def sample_grid(model: UNet, rows: int = 8, steps: int = 25) -> torch.Tensor:
    """rows x rows deterministic DDIM samples (B, 3, S, S) in about [-1, 1]."""

    def eps_fn(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x), torch.from_numpy(t)).numpy()

    rng = np.random.default_rng(0)
    s = model.config.image_size
    x_T = rng.standard_normal((rows * rows, 3, s, s)).astype(np.float32)
    job = ddim_sample(eps_fn, x_T, linear_betas(TRAIN_STEPS), steps, 0.0, rng)
    while True:
        try:
            next(job)
        except StopIteration as done:
            return torch.from_numpy(done.value)


def export_ddpm(
    model: UNet,
    folder: Path,
    steps: int,
    minutes: float,
    loss: float,
    model_id: str = MODEL_ID,
    name: str = "Emoji faces diffusion",
) -> None:
    """unet.onnx + .safetensors, low-frequency directions and manifest.toml in `folder`;
    `loss` is the final training loss."""
    folder.mkdir(parents=True, exist_ok=True)
    model.eval()
    s = model.config.image_size
    x = torch.randn(2, 3, s, s)
    t = torch.tensor([10.0, 500.0])
    diff = export_network(model, {"x": x, "t": t}, folder, "unet", "eps")
    low_frequency_directions(s).save(folder / "directions.npz")
    image = ("batch", 3, s, s)
    card = ModelCard(
        id=model_id,
        name=name,
        family="diffusion",
        modality="image",
        description=(
            f"DDPM noise predictor (small UNet, {parameter_count(model):,} parameters) trained "
            f"on the face emoji of Noto Color Emoji at {s}x{s} on white; {steps} steps in "
            f"{minutes:.0f} min on 2 CPU cores. Sample with DDIM (fast) or DDPM."
        ),
        networks={
            "unet": Network(
                "unet",
                {"x": image, "t": ("batch",)},
                {"eps": image},
                model.config,
                "unet.onnx",
                "unet.safetensors",
            )
        },
        io={
            "latent": Tensor((3, s, s), prior="normal"),
            "output": Tensor((3, s, s), range=(-1.0, 1.0)),
        },
        parameters={
            "train_steps": TRAIN_STEPS,
            "beta_start": 1e-4,
            "beta_end": 0.02,
            "default_sampler": "ddim",
            # stochastic DDIM gives cleaner pictures from a briefly trained model
            "default_steps": 50,
            "default_eta": 1.0,
        },
        directions="directions.npz",
        metrics={"final_training_loss": loss},
        origin=Origin(DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
    )
    write_manifest(folder, card)


def build(
    out: Path,
    run: Run,
    images: np.ndarray | None = None,
    net: UNetConfig | None = None,
) -> Path:
    """Train on the face emoji (or `images`, uint8 (N, S, S, 3)) and export the EMA."""
    net = net or UNetConfig(base_channels=48)
    run.work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(run.work / "faces-32.npy", 32, render_faces)
    loop = LoopSettings(
        MODEL_ID,
        log_every=250,
        checkpoint_every=1000,
        preview_every=1000,
        ema=EMA(("unet",), 0.999),
        max_steps=1_000_000,
    )
    outcome = train(lambda rngs: DDPMTraining(images, net, rngs, run.work), run, loop)
    model = cast(UNet, outcome.averages["unet"])
    loss = outcome.losses.get("loss", float("nan"))
    export_ddpm(model, out, outcome.steps, outcome.minutes, loss)
    grid_image(sample_grid(model), -1, 1).save(run.work / "final-samples.png")
    log.info("exported %s", out)
    return out
