"""Recipe for the bundled model `flow-emoji-32`: a multi-scale RealNVP/Glow flow trained on
the exact likelihood of dequantised pixels (Theis et al., 2016), reported in bits per
dimension on a held-out tenth. Adam at 1e-3, batches of 64, gradients clipped at norm 50.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from studio.latent.directions import principal_directions
from studio.nets.flow import Flow, FlowConfig, FlowDecoder, FlowEncoder, log_prior
from studio.training.datasets import random_batch, split
from studio.training.emoji_data import DATA_LICENCE, EMOJI_MODEL_LICENCE, load_or_build
from studio.training.export import export_network, export_safetensors
from studio.training.images import dequantise, grid_image
from studio.training.loop import LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, Tensor, write_manifest
from studio.training.trainable import Trainable

MODEL_ID = "flow-emoji-32"
NUM_DIRECTIONS = 16
LOG2 = math.log(2.0)
log = logging.getLogger(__name__)


def flow_nll(flow: Flow, x: torch.Tensor) -> torch.Tensor:
    """Per-image negative log density in nats; x (B, 3, S, S) in [-0.5, 0.5]."""
    z, logdet = flow(x)
    return -(log_prior(z) + logdet)


def bits_per_dim(nll: torch.Tensor, dims: int) -> float:
    # data in [-0.5, 0.5] has 256 bins of width 1/256
    return float((nll.mean() + dims * math.log(256.0)) / (dims * LOG2))


class FlowTraining(Trainable):
    """Maximum likelihood; actnorm is initialised from the first 256 training images."""

    def __init__(
        self,
        train: np.ndarray,
        net: FlowConfig,
        rngs: Rngs,
        work: Path | None = None,
        learning_rate: float = 1e-3,
    ) -> None:
        self.flow = Flow(net)
        with torch.no_grad():  # actnorm's data-dependent initialisation
            self.flow(dequantise(train[:256], rngs.torch) - 0.5)
        optimiser = torch.optim.Adam(self.flow.parameters(), learning_rate)
        super().__init__(64, {"flow": self.flow}, {"adam": optimiser})
        self.train, self.rngs, self.work = train, rngs, work

    def step(self, tick: Tick) -> Mapping[str, float]:
        batch = random_batch(self.train, self.batch_size, self.rngs.numpy)
        dims = self.flow.config.dims
        nll = flow_nll(self.flow, dequantise(batch, self.rngs.torch) - 0.5)
        loss = nll.mean() / (dims * LOG2)  # bits/dim (up to a constant): well scaled for Adam
        self.optimisers["adam"].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.flow.parameters(), 50.0)
        self.optimisers["adam"].step()
        return {"bits_per_dim": bits_per_dim(nll.detach(), dims)}

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        if self.work is None:
            return
        self.flow.eval()
        with torch.no_grad():
            samples = FlowDecoder(flow=self.flow)(0.7 * torch.randn(64, self.flow.config.dims))
        self.flow.train()
        grid_image(samples, -0.5, 0.5).save(self.work / "samples.png")

    def held_out_bits(self, held_out: np.ndarray) -> float:
        """Bits/dim on `held_out` (uint8 images); leaves the flow in eval mode."""
        self.flow.eval()
        with torch.no_grad():
            nll = flow_nll(self.flow, dequantise(held_out, self.rngs.torch) - 0.5)
            return bits_per_dim(nll, self.flow.config.dims)


def typical_bits(encoder: FlowEncoder, images: np.ndarray) -> list[float]:
    """5th, 50th and 95th percentiles of per-image bits/dim (bin centres, no noise)."""
    with torch.no_grad():
        log_density = encoder(dequantise(images, None) - 0.5)[1]
    dims = encoder.flow.config.dims
    per_image = (-log_density / dims + np.log(256.0)) / np.log(2.0)
    return [float(np.percentile(per_image.numpy(), q)) for q in (5, 50, 95)]


def _networks(config: FlowConfig) -> dict[str, Network]:
    """Both directions of one flow, sharing flow.safetensors."""
    s, dims = config.image_size, config.dims
    image = ("batch", 3, s, s)
    return {
        "encoder": Network(
            "flow-encoder",
            {"image": image},
            {"z": ("batch", dims), "log_density": ("batch",)},
            config,
            "encoder.onnx",
            "flow.safetensors",
        ),
        "decoder": Network(
            "flow-decoder",
            {"z": ("batch", dims)},
            {"image": image},
            config,
            "decoder.onnx",
            "flow.safetensors",
        ),
    }


def export_flow(
    encoder: FlowEncoder,
    folder: Path,
    images: np.ndarray,
    steps: int,
    minutes: float,
    bits: float,
    typical: list[float],
    model_id: str = MODEL_ID,
    name: str = "Emoji flow",
) -> None:
    """flow.safetensors (both directions share it), encoder/decoder .onnx, directions of the
    codes of `images`, manifest.toml with held-out and typical bits/dim."""
    folder.mkdir(parents=True, exist_ok=True)
    decoder = FlowDecoder(flow=encoder.flow)
    config = encoder.flow.config
    s, dims = config.image_size, config.dims
    example_x = torch.rand(4, 3, s, s) - 0.5
    example_z = 0.7 * torch.randn(4, dims)  # typical latents: noise images invert unstably
    export_safetensors(encoder, folder / "flow.safetensors")
    diff = max(
        export_network(
            encoder, {"image": example_x}, folder, "encoder", ["z", "log_density"], False
        ),
        export_network(decoder, {"z": example_z}, folder, "decoder", "image", safetensors=False),
    )
    with torch.no_grad():
        z = encoder(dequantise(images, None) - 0.5)[0].numpy()
    principal_directions(z, z, NUM_DIRECTIONS).save(folder / "directions.npz")
    card = ModelCard(
        id=model_id,
        name=name,
        family="flow",
        modality="image",
        description=(
            f"Multi-scale RealNVP/Glow flow ({config.levels} levels x {config.steps} affine "
            f"couplings), exact likelihood, trained on Noto Color Emoji at {s}x{s} on white; "
            f"{steps} steps in {minutes:.0f} min on 2 CPU cores."
        ),
        networks=_networks(config),
        io={
            "latent": Tensor((dims,), prior="normal"),
            "input": Tensor((3, s, s), range=(-0.5, 0.5)),
            "output": Tensor((3, s, s), range=(-0.5, 0.5)),
        },
        parameters={"default_temperature": 0.7},
        directions="directions.npz",
        metrics={"held_out_bits_per_dim": bits, "typical_bits_per_dim": typical},
        origin=Origin(DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
    )
    write_manifest(folder, card)


def build(
    out: Path,
    run: Run,
    images: np.ndarray | None = None,
    net: FlowConfig | None = None,
) -> Path:
    """Train on the emoji (or `images`, uint8 (N, S, S, 3)) and export into `out`."""
    net = net or FlowConfig()
    run.work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(run.work / f"emoji-{net.image_size}.npy", net.image_size)
    training, held_out = split(images, run.seed)
    loop = LoopSettings(MODEL_ID, log_every=200, preview_every=200, max_steps=1_000_000)
    outcome = train(lambda rngs: FlowTraining(training, net, rngs, run.work), run, loop)
    bits = outcome.recipe.held_out_bits(held_out)
    encoder = FlowEncoder(flow=outcome.recipe.flow).eval()
    typical = typical_bits(encoder, held_out)
    export_flow(encoder, out, images, outcome.steps, outcome.minutes, bits, typical)
    log.info("exported %s: held-out %.3f bits/dim", out, bits)
    return out
