"""Train the likelihood-based image models: the VAE (an ELBO) and the flow (exact).

Both see uniformly dequantised pixels, so their continuous densities bound the discrete
likelihood of 8-bit images (Theis et al., 2016); both report bits per dimension on a held-out
tenth of the data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from studio.nets.flow import Flow, FlowConfig, log_prior
from studio.nets.vae import VAEConfig, VAEDecoder, VAEEncoder

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class LoopConfig:
    batch_size: int = 64
    learning_rate: float = 1e-3
    max_steps: int = 1_000_000
    max_minutes: float = 40.0
    seed: int = 0


def loop_config(minutes: float, max_steps: int | None, **settings: float) -> LoopConfig:
    """A recipe's budget: `minutes`, and `max_steps` when given (tests and smoke runs)."""
    config = LoopConfig(max_minutes=minutes, **settings)  # type: ignore[arg-type]
    return config if max_steps is None else replace(config, max_steps=max_steps)


def split(images: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out tenth), shuffled with a fixed seed."""
    order = np.random.default_rng(seed).permutation(len(images))
    cut = max(1, len(images) // 10)
    return images[order[cut:]], images[order[:cut]]


def dequantise(batch: np.ndarray, rng: torch.Generator | None) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1): (pixel + u) / 256, u ~ U[0, 1).
    With rng None, u = 0.5 (bin centres), for deterministic evaluation."""
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    noise = torch.rand(x.shape, generator=rng) if rng is not None else torch.full_like(x, 0.5)
    return (x + noise) / 256.0


def run_loop(
    step: Callable[[np.ndarray], float],
    train: np.ndarray,
    config: LoopConfig,
    on_progress: Callable[[int, float], None] | None,
    progress_every: int,
) -> int:
    """Call `step(batch)` on random batches until the step or time budget is spent."""
    rng = np.random.default_rng(config.seed)
    deadline = time.monotonic() + config.max_minutes * 60
    steps, losses = 0, []
    while steps < config.max_steps and time.monotonic() < deadline:
        losses.append(step(train[rng.integers(len(train), size=config.batch_size)]))
        steps += 1
        if on_progress is not None and steps % progress_every == 0:
            on_progress(steps, float(np.mean(losses[-progress_every:])))
    return steps


# -- VAE ---------------------------------------------------------------------------------------
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


def vae_bits_per_dim(neg_elbo: torch.Tensor, dims: int) -> float:
    # data in [-1, 1] has 256 bins of width 1/128: add D*ln(128) for the discrete bound
    return float((neg_elbo.mean() + dims * math.log(128.0)) / (dims * LOG2))


def train_vae(
    images: np.ndarray,
    net: VAEConfig,
    loop: LoopConfig,
    on_progress: Callable[[int, float, VAE], None] | None = None,
    progress_every: int = 500,
) -> tuple[VAE, int, float]:
    """Returns (model in eval mode, steps, held-out bits/dim of the ELBO bound)."""
    torch.manual_seed(loop.seed)
    rng = torch.Generator().manual_seed(loop.seed)
    train, held_out = split(images, loop.seed)
    model = VAE(net)
    optimiser = torch.optim.Adam(model.parameters(), loop.learning_rate)

    def step(batch: np.ndarray) -> float:
        x = dequantise(batch, rng) * 2 - 1
        loss = model.negative_elbo(x).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return loss.item()

    progress = None if on_progress is None else (lambda s, loss: on_progress(s, loss, model))
    steps = run_loop(step, train, loop, progress, progress_every)
    model.eval()
    with torch.no_grad():
        x = dequantise(held_out, rng) * 2 - 1
        bpd = vae_bits_per_dim(model.negative_elbo(x), x[0].numel())
    return model, steps, bpd


# -- flow --------------------------------------------------------------------------------------
def flow_nll(flow: Flow, x: torch.Tensor) -> torch.Tensor:
    """Per-image negative log density in nats; x (B, 3, S, S) in [-0.5, 0.5]."""
    z, logdet = flow(x)
    return -(log_prior(z) + logdet)


def flow_bits_per_dim(nll: torch.Tensor, dims: int) -> float:
    # data in [-0.5, 0.5] has 256 bins of width 1/256
    return float((nll.mean() + dims * math.log(256.0)) / (dims * LOG2))


def train_flow(
    images: np.ndarray,
    net: FlowConfig,
    loop: LoopConfig,
    on_progress: Callable[[int, float, Flow], None] | None = None,
    progress_every: int = 200,
) -> tuple[Flow, int, float]:
    """Returns (flow in eval mode, steps, held-out bits/dim)."""
    torch.manual_seed(loop.seed)
    rng = torch.Generator().manual_seed(loop.seed)
    train, held_out = split(images, loop.seed)
    flow = Flow(net)
    with torch.no_grad():  # actnorm's data-dependent initialisation
        flow(dequantise(train[:256], rng) - 0.5)
    optimiser = torch.optim.Adam(flow.parameters(), loop.learning_rate)
    dims = net.dims

    def step(batch: np.ndarray) -> float:
        nll = flow_nll(flow, dequantise(batch, rng) - 0.5)
        loss = nll.mean() / (dims * LOG2)  # bits/dim (up to a constant): well scaled for Adam
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 50.0)
        optimiser.step()
        return flow_bits_per_dim(nll.detach(), dims)

    progress = None if on_progress is None else (lambda s, loss: on_progress(s, loss, flow))
    steps = run_loop(step, train, loop, progress, progress_every)
    flow.eval()
    with torch.no_grad():
        bpd = flow_bits_per_dim(flow_nll(flow, dequantise(held_out, rng) - 0.5), dims)
    return flow, steps, bpd
