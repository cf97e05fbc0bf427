"""Train the DDPM noise predictor (Ho et al., 2020, Algorithm 1) and its recipe.

    loss = || ε - ε_θ(sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε, t) ||²,   t ~ U{0..T-1}, ε ~ N(0, I)

An exponential moving average of the weights is exported (Ho et al. use 0.9999; fewer
steps here, so 0.999).
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from studio.families.samplers.ddim import ddim_sample
from studio.families.samplers.schedule import alphas_cumprod, linear_betas
from studio.latent.directions import low_frequency_directions
from studio.nets.unet import UNet, UNetConfig
from studio.training.emoji_data import (
    DATA_LICENCE,
    EMOJI_MODEL_LICENCE,
    load_or_build,
    render_faces,
)
from studio.training.encoder_recipes import grid_image
from studio.training.export import export_network, export_safetensors, origin, write_manifest
from studio.training.likelihood import LoopConfig, loop_config, run_loop

MODEL_ID = "ddpm-emoji-32"
TRAIN_STEPS = 1000
log = logging.getLogger(__name__)


def to_unit_range(batch: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def train_ddpm(
    images: np.ndarray,
    net: UNetConfig,
    loop: LoopConfig,
    on_progress=None,
    progress_every: int = 250,
    start_from: Path | None = None,
) -> tuple[UNet, int]:
    """`start_from`: safetensors weights (a checkpoint) to continue from, for model and EMA."""
    torch.manual_seed(loop.seed)
    rng = torch.Generator().manual_seed(loop.seed)
    model = UNet(net)
    if start_from is not None:
        model.load_state_dict(load_file(str(start_from)))
    ema = copy.deepcopy(model).eval()
    optimiser = torch.optim.Adam(model.parameters(), loop.learning_rate)
    abar = torch.from_numpy(alphas_cumprod(linear_betas(TRAIN_STEPS))).float()

    def step(batch: np.ndarray) -> float:
        x0 = to_unit_range(batch)
        if torch.rand((), generator=rng) < 0.5:
            x0 = x0.flip(3)  # mirror: most emoji read the same either way round
        t = torch.randint(0, TRAIN_STEPS, (len(x0),), generator=rng)
        noise = torch.randn(x0.shape, generator=rng)
        a = abar[t][:, None, None, None]
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        loss = ((model(x_t, t.float()) - noise) ** 2).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), model.parameters(), strict=True):
                e.lerp_(p, 1e-3)
        return loss.item()

    progress = None if on_progress is None else (lambda s, loss: on_progress(s, loss, ema))
    steps = run_loop(step, images, loop, progress, progress_every)
    return ema, steps


def sample_grid(model: UNet, rows: int = 8, steps: int = 25) -> torch.Tensor:
    def eps_fn(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x), torch.from_numpy(t)).numpy()

    rng = np.random.default_rng(0)
    x_T = rng.standard_normal((rows * rows, 3, 32, 32)).astype(np.float32)
    job = ddim_sample(eps_fn, x_T, linear_betas(TRAIN_STEPS), steps, 0.0, rng)
    while True:
        try:
            next(job)
        except StopIteration as done:
            return torch.from_numpy(done.value)


def export_ddpm(
    model: UNet,
    folder: Path,
    meta: dict,
    model_id: str = MODEL_ID,
    name: str = "Emoji faces diffusion",
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.eval()
    s = model.config.image_size
    x = torch.randn(2, 3, s, s)
    t = torch.tensor([10.0, 500.0])
    diff = export_network(model, {"x": x, "t": t}, folder, "unet", "eps")
    low_frequency_directions(s).save(folder / "directions.npz")
    image = ["batch", 3, s, s]
    parameters = sum(p.numel() for p in model.parameters())
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": name,
            "family": "diffusion",
            "modality": "image",
            "description": (
                f"DDPM noise predictor (small UNet, {parameters:,} parameters) trained on the "
                f"face emoji of Noto Color Emoji at {s}x{s} on white; {meta['steps']} steps in "
                f"{meta['minutes']:.0f} min on 2 CPU cores. Sample with DDIM (fast) or DDPM."
            ),
            "networks": {
                "unet": {
                    "architecture": "unet",
                    "config": asdict(model.config),
                    "onnx": {"path": "unet.onnx"},
                    "safetensors": {"path": "unet.safetensors"},
                    "inputs": {"x": {"shape": image}, "t": {"shape": ["batch"]}},
                    "outputs": {"eps": {"shape": image}},
                }
            },
            "io": {
                "latent": {"shape": [3, s, s], "prior": "normal"},
                "output": {"shape": [3, s, s], "range": [-1.0, 1.0]},
            },
            "parameters": {
                "train_steps": TRAIN_STEPS,
                "beta_start": 1e-4,
                "beta_end": 0.02,
                "default_sampler": "ddim",
                # stochastic DDIM gives cleaner pictures from a briefly trained model
                "default_steps": 50,
                "default_eta": 1.0,
            },
            "directions": {"file": "directions.npz"},
            "metrics": {"final_training_loss": meta["loss"]},
            "origin": origin(model_id, DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
        },
    )


def build(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    images: np.ndarray | None = None,
    net: UNetConfig | None = None,
    resume: bool = False,
) -> Path:
    """Train (or, with `resume`, continue from work/checkpoint.safetensors) and export."""
    net = net or UNetConfig(base_channels=48)
    work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(work / "faces-32.npy", 32, render_faces)
    loop = loop_config(minutes, max_steps, learning_rate=2e-4)
    start = time.monotonic()
    last_loss = [float("nan")]

    def on_progress(step: int, loss: float, ema: UNet) -> None:
        last_loss[0] = loss
        log.info("ddpm step %d  loss %.4f", step, loss)
        if step % 1000 == 0:
            grid_image(sample_grid(ema, rows=6, steps=20), -1, 1, rows=6).save(work / "samples.png")
            export_safetensors(ema, work / "checkpoint.safetensors")

    checkpoint, totals = work / "checkpoint.safetensors", work / "progress.json"
    start_from = checkpoint if resume and checkpoint.exists() else None
    before = json.loads(totals.read_text()) if start_from and totals.exists() else {}
    model, steps = train_ddpm(images, net, loop, on_progress, start_from=start_from)
    export_safetensors(model, checkpoint)
    steps += int(before.get("steps", 0))
    minutes_before = float(before.get("minutes", 0.0))
    minutes = minutes_before + (time.monotonic() - start) / 60
    totals.write_text(json.dumps({"steps": steps, "minutes": minutes}))
    meta = {"steps": steps, "minutes": minutes, "loss": last_loss[0]}
    export_ddpm(model, out, meta)
    grid_image(sample_grid(model), -1, 1).save(work / "final-samples.png")
    log.info("exported %s", out)
    return out
