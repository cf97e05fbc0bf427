"""Recipes for the bundled models with an encoder: `vae-emoji-32` and `flow-emoji-32`."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from studio.latent.directions import principal_directions
from studio.latent.prior import fit_mixture
from studio.nets.flow import Flow, FlowConfig, FlowDecoder, FlowEncoder
from studio.nets.vae import VAEConfig
from studio.training.emoji_data import DATA_LICENCE, EMOJI_MODEL_LICENCE, load_or_build
from studio.training.export import export_network, export_safetensors, origin, write_manifest
from studio.training.likelihood import (
    VAE,
    dequantise,
    loop_config,
    split,
    train_flow,
    train_vae,
)

VAE_ID = "vae-emoji-32"
FLOW_ID = "flow-emoji-32"
NUM_DIRECTIONS = 16
log = logging.getLogger(__name__)


def grid_image(images: torch.Tensor, low: float, high: float, rows: int = 8) -> Image.Image:
    """(rows*rows, 3, S, S) in [low, high] -> one tiled PIL image."""
    x = ((images.clamp(low, high) - low) / (high - low) * 255).round().byte()
    s = x.shape[-1]
    grid = x[: rows * rows].reshape(rows, rows, 3, s, s).permute(0, 3, 1, 4, 2)
    return Image.fromarray(grid.reshape(rows * s, rows * s, 3).numpy())


def _load(work: Path, size: int, images: np.ndarray | None) -> np.ndarray:
    work.mkdir(parents=True, exist_ok=True)
    return images if images is not None else load_or_build(work / f"emoji-{size}.npy", size)


# -- VAE -----------------------------------------------------------------------------------------
def export_vae(
    model: VAE,
    folder: Path,
    images: np.ndarray,
    meta: dict[str, Any],
    model_id: str = VAE_ID,
    name: str = "Emoji VAE",
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = model.encoder.config
    s, d = config.image_size, config.latent_dim
    example_x = torch.rand(4, 3, s, s) * 2 - 1
    example_z = torch.randn(4, d)
    diff = max(
        export_network(model.encoder, {"image": example_x}, folder, "encoder", ["mean", "log_var"]),
        export_network(model.decoder, {"z": example_z}, folder, "decoder", "image"),
    )
    with torch.no_grad():
        means = model.encoder(dequantise(images, None) * 2 - 1)[0].numpy()
    principal_directions(means, means, min(NUM_DIRECTIONS, d)).save(folder / "directions.npz")
    fit_mixture(means, components=min(16, len(means) // 8)).save(folder / "latent_prior.npz")
    image_shape = ["batch", 3, s, s]
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": name,
            "family": "vae",
            "modality": "image",
            "description": (
                f"Convolutional VAE with a {d}-d latent and a calibrated Gaussian decoder, trained "
                f"on Noto Color Emoji at {s}x{s} on white; {meta['steps']} steps in "
                f"{meta['minutes']:.0f} min on 2 CPU cores."
            ),
            "networks": {
                "encoder": {
                    "architecture": "vae-encoder",
                    "config": asdict(config),
                    "onnx": {"path": "encoder.onnx"},
                    "safetensors": {"path": "encoder.safetensors"},
                    "inputs": {"image": {"shape": image_shape}},
                    "outputs": {
                        "mean": {"shape": ["batch", d]},
                        "log_var": {"shape": ["batch", d]},
                    },
                },
                "decoder": {
                    "architecture": "vae-decoder",
                    "config": asdict(config),
                    "onnx": {"path": "decoder.onnx"},
                    "safetensors": {"path": "decoder.safetensors"},
                    "inputs": {"z": {"shape": ["batch", d]}},
                    "outputs": {"image": {"shape": image_shape}},
                },
            },
            "io": {
                "latent": {"shape": [d], "prior": "normal"},
                "input": {"shape": [3, s, s], "range": [-1.0, 1.0]},
                "output": {"shape": [3, s, s], "range": [-1.0, 1.0]},
            },
            "parameters": {
                "decoder_sigma": model.log_sigma.exp().item(),
                "expost_prior": "latent_prior.npz",  # sample where the codes are (Ghosh et al.)
                "default_temperature": 0.7,
            },
            "directions": {"file": "directions.npz"},
            "metrics": {"held_out_elbo_bits_per_dim": meta["bpd"]},
            "origin": origin(model_id, DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
        },
    )


def build_vae(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    images: np.ndarray | None = None,
    net: VAEConfig | None = None,
) -> Path:
    net = net or VAEConfig()
    images = _load(work, net.image_size, images)
    loop = loop_config(minutes, max_steps, learning_rate=1e-3)
    start = time.monotonic()

    def on_progress(step: int, loss: float, model: VAE) -> None:
        log.info("vae step %d  -elbo %.1f nats", step, loss)
        with torch.no_grad():
            samples = model.decoder(torch.randn(64, net.latent_dim))
        grid_image(samples, -1, 1).save(work / "samples.png")

    model, steps, bpd = train_vae(images, net, loop, on_progress)
    held_out = split(images)[1][:32]
    with torch.no_grad():
        x = dequantise(held_out, None) * 2 - 1
        recon = model.decoder(model.encoder(x)[0])
    grid_image(torch.stack([x, recon], 1).flatten(0, 1), -1, 1).save(work / "reconstructions.png")
    meta = {"steps": steps, "minutes": (time.monotonic() - start) / 60, "bpd": bpd}
    export_vae(model, out, images, meta)
    log.info("exported %s: held-out ELBO %.3f bits/dim", out, bpd)
    return out


# -- flow ----------------------------------------------------------------------------------------
def export_flow(
    encoder: FlowEncoder,
    folder: Path,
    images: np.ndarray,
    meta: dict[str, Any],
    model_id: str = FLOW_ID,
    name: str = "Emoji flow",
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    decoder = FlowDecoder(flow=encoder.flow)
    config = encoder.flow.config
    s, dims = config.image_size, config.dims
    example_x = torch.rand(4, 3, s, s) - 0.5
    example_z = 0.7 * torch.randn(4, dims)  # typical latents: noise images invert unstably
    export_safetensors(encoder, folder / "flow.safetensors")  # both directions share weights
    diff = max(
        export_network(
            encoder,
            {"image": example_x},
            folder,
            "encoder",
            ["z", "log_density"],
            safetensors=False,
        ),
        export_network(decoder, {"z": example_z}, folder, "decoder", "image", safetensors=False),
    )
    with torch.no_grad():
        z = encoder(dequantise(images, None) - 0.5)[0].numpy()
    principal_directions(z, z, NUM_DIRECTIONS).save(folder / "directions.npz")
    image_shape = ["batch", 3, s, s]
    network = {"config": asdict(config), "safetensors": {"path": "flow.safetensors"}}
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": name,
            "family": "flow",
            "modality": "image",
            "description": (
                f"Multi-scale RealNVP/Glow flow ({config.levels} levels x {config.steps} affine "
                f"couplings), exact likelihood, trained on Noto Color Emoji at {s}x{s} on white; "
                f"{meta['steps']} steps in {meta['minutes']:.0f} min on 2 CPU cores."
            ),
            "networks": {
                "encoder": {
                    **network,
                    "architecture": "flow-encoder",
                    "onnx": {"path": "encoder.onnx"},
                    "inputs": {"image": {"shape": image_shape}},
                    "outputs": {
                        "z": {"shape": ["batch", dims]},
                        "log_density": {"shape": ["batch"]},
                    },
                },
                "decoder": {
                    **network,
                    "architecture": "flow-decoder",
                    "onnx": {"path": "decoder.onnx"},
                    "inputs": {"z": {"shape": ["batch", dims]}},
                    "outputs": {"image": {"shape": image_shape}},
                },
            },
            "io": {
                "latent": {"shape": [dims], "prior": "normal"},
                "input": {"shape": [3, s, s], "range": [-0.5, 0.5]},
                "output": {"shape": [3, s, s], "range": [-0.5, 0.5]},
            },
            "parameters": {"default_temperature": 0.7},
            "directions": {"file": "directions.npz"},
            "metrics": {
                "held_out_bits_per_dim": meta["bpd"],
                "typical_bits_per_dim": meta["typical"],
            },
            "origin": origin(model_id, DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
        },
    )


def build_flow(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    images: np.ndarray | None = None,
    net: FlowConfig | None = None,
) -> Path:
    net = net or FlowConfig()
    images = _load(work, net.image_size, images)
    loop = loop_config(minutes, max_steps, learning_rate=1e-3)
    start = time.monotonic()

    def on_progress(step: int, bpd: float, flow: Flow) -> None:
        log.info("flow step %d  %.3f bits/dim", step, bpd)
        flow.eval()
        with torch.no_grad():
            samples = FlowDecoder(flow=flow)(0.7 * torch.randn(64, net.dims))
        flow.train()
        grid_image(samples, -0.5, 0.5).save(work / "samples.png")

    flow, steps, bpd = train_flow(images, net, loop, on_progress)
    encoder = FlowEncoder(flow=flow).eval()
    _, held_out = split(images)
    with torch.no_grad():
        log_density = encoder(dequantise(held_out, None) - 0.5)[1]
    per_image_bpd = (-log_density / net.dims + np.log(256.0)) / np.log(2.0)
    typical = [float(np.percentile(per_image_bpd.numpy(), q)) for q in (5, 50, 95)]
    meta = {
        "steps": steps,
        "minutes": (time.monotonic() - start) / 60,
        "bpd": bpd,
        "typical": typical,
    }
    export_flow(encoder, out, images, meta)
    log.info("exported %s: held-out %.3f bits/dim", out, bpd)
    return out
