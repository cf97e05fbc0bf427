"""Recipe for the bundled model `vae-emoji-32`: a convolutional VAE trained on the ELBO.

The model sees uniformly dequantised pixels, so its continuous density bounds the discrete
likelihood of 8-bit images (Theis et al., 2016); it reports bits per dimension on a held-out
tenth of the data. Adam at 1e-3, batches of 64.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from studio.latent.directions import principal_directions
from studio.latent.prior import fit_mixture
from studio.nets.vae import VAEConfig, VAEDecoder, VAEEncoder
from studio.training.datasets import random_batch, split
from studio.training.emoji_data import DATA_LICENCE, EMOJI_MODEL_LICENCE, load_or_build
from studio.training.export import export_network
from studio.training.images import dequantise, grid_image
from studio.training.loop import LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, Tensor, write_manifest
from studio.training.trainable import Trainable

MODEL_ID = "vae-emoji-32"
NUM_DIRECTIONS = 16
log = logging.getLogger(__name__)


class VAE(torch.nn.Module):
    """Encoder, decoder and the decoder's calibrated noise level (σ-VAE, Rybkin et al., 2021):
    a learned global σ makes the Gaussian likelihood an honest density, so the ELBO is a bound."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.encoder = VAEEncoder(config)
        self.decoder = VAEDecoder(config)
        self.log_sigma = torch.nn.Parameter(torch.tensor(-2.0))

    def negative_elbo(self, x: torch.Tensor, sample: bool = True) -> torch.Tensor:
        """Per-image -ELBO in nats; x (B, 3, S, S) in [-1, 1]."""
        mean, log_var = self.encoder(x)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean) if sample else mean
        recon = self.decoder(z)
        dims = x[0].numel()
        nll = ((x - recon) ** 2).flatten(1).sum(1) / (2 * torch.exp(2 * self.log_sigma))
        nll = nll + dims * (self.log_sigma + 0.5 * math.log(2 * math.pi))
        kl = 0.5 * (mean**2 + log_var.exp() - 1.0 - log_var).sum(1)
        return nll + kl


def bits_per_dim(neg_elbo: torch.Tensor, dims: int) -> float:
    # data in [-1, 1] has 256 bins of width 1/128: add D*ln(128) for the discrete bound
    return float((neg_elbo.mean() + dims * math.log(128.0)) / (dims * math.log(2.0)))


class VAETraining(Trainable):
    """-ELBO on dequantised training images; `held_out_bits` evaluates the bound."""

    def __init__(
        self,
        train: np.ndarray,
        net: VAEConfig,
        rngs: Rngs,
        work: Path | None = None,
        learning_rate: float = 1e-3,
    ) -> None:
        self.model = VAE(net)
        optimiser = torch.optim.Adam(self.model.parameters(), learning_rate)
        super().__init__(64, {"vae": self.model}, {"adam": optimiser})
        self.train, self.rngs, self.work = train, rngs, work

    def step(self, tick: Tick) -> Mapping[str, float]:
        batch = random_batch(self.train, self.batch_size, self.rngs.numpy)
        x = dequantise(batch, self.rngs.torch) * 2 - 1
        loss = self.model.negative_elbo(x).mean()
        self.optimisers["adam"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimisers["adam"].step()
        return {"neg_elbo_nats": loss.item()}

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        if self.work is not None:
            with torch.no_grad():
                latent_dim = self.model.encoder.config.latent_dim
                samples = self.model.decoder(torch.randn(64, latent_dim))
            grid_image(samples, -1, 1).save(self.work / "samples.png")

    def held_out_bits(self, held_out: np.ndarray) -> float:
        """Bits/dim of the ELBO bound on `held_out` (uint8 images); leaves the model in eval."""
        self.model.eval()
        with torch.no_grad():
            x = dequantise(held_out, self.rngs.torch) * 2 - 1
            return bits_per_dim(self.model.negative_elbo(x), x[0].numel())


def _networks(config: VAEConfig) -> dict[str, Network]:
    """encoder: image -> mean, log_var; decoder: z -> image."""
    s, d = config.image_size, config.latent_dim
    image = ("batch", 3, s, s)
    return {
        "encoder": Network(
            "vae-encoder",
            {"image": image},
            {"mean": ("batch", d), "log_var": ("batch", d)},
            config,
            "encoder.onnx",
            "encoder.safetensors",
        ),
        "decoder": Network(
            "vae-decoder",
            {"z": ("batch", d)},
            {"image": image},
            config,
            "decoder.onnx",
            "decoder.safetensors",
        ),
    }


def export_vae(
    model: VAE,
    folder: Path,
    images: np.ndarray,
    steps: int,
    minutes: float,
    bits: float,
    model_id: str = MODEL_ID,
    name: str = "Emoji VAE",
) -> None:
    """encoder/decoder .onnx + .safetensors, directions and the ex-post latent prior fitted
    to the codes of `images`, manifest.toml; `bits` is the held-out ELBO in bits/dim."""
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
    card = ModelCard(
        id=model_id,
        name=name,
        family="vae",
        modality="image",
        description=(
            f"Convolutional VAE with a {d}-d latent and a calibrated Gaussian decoder, trained "
            f"on Noto Color Emoji at {s}x{s} on white; {steps} steps in {minutes:.0f} min on "
            "2 CPU cores."
        ),
        networks=_networks(config),
        io={
            "latent": Tensor((d,), prior="normal"),
            "input": Tensor((3, s, s), range=(-1.0, 1.0)),
            "output": Tensor((3, s, s), range=(-1.0, 1.0)),
        },
        parameters={
            "decoder_sigma": model.log_sigma.exp().item(),
            "expost_prior": "latent_prior.npz",  # sample where the codes are (Ghosh et al.)
            "default_temperature": 0.7,
        },
        directions="directions.npz",
        metrics={"held_out_elbo_bits_per_dim": bits},
        origin=Origin(DATA_LICENCE, diff, EMOJI_MODEL_LICENCE),
    )
    write_manifest(folder, card)


def build(
    out: Path,
    run: Run,
    images: np.ndarray | None = None,
    net: VAEConfig | None = None,
) -> Path:
    """Train on the emoji (or `images`, uint8 (N, S, S, 3)) and export into `out`."""
    net = net or VAEConfig()
    run.work.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = load_or_build(run.work / f"emoji-{net.image_size}.npy", net.image_size)
    training, held_out = split(images, run.seed)
    loop = LoopSettings(MODEL_ID, log_every=500, preview_every=500, max_steps=1_000_000)
    outcome = train(lambda rngs: VAETraining(training, net, rngs, run.work), run, loop)
    vae = outcome.recipe
    bits = vae.held_out_bits(held_out)
    with torch.no_grad():
        x = dequantise(held_out[:32], None) * 2 - 1
        recon = vae.model.decoder(vae.model.encoder(x)[0])
    pairs = torch.stack([x, recon], 1).flatten(0, 1)
    grid_image(pairs, -1, 1).save(run.work / "reconstructions.png")
    export_vae(vae.model, out, images, outcome.steps, outcome.minutes, bits)
    log.info("exported %s: held-out ELBO %.3f bits/dim", out, bits)
    return out
