"""Multi-scale normalizing flow: RealNVP (Dinh et al., 2017) with Glow's steps (Kingma &
Dhariwal, 2018): actnorm, a fixed channel permutation, and an affine coupling.

Data x lives in [-0.5, 0.5] (pixels / 256 - 0.5 after dequantisation). `forward` maps an image
to its latent z (flattened, all scales concatenated) and log|det dz/dx|; `inverse` maps z back.
Both directions are exact; they are exported as two ONNX graphs by wrappers below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class FlowConfig:
    image_size: int = 32
    channels: int = 3
    levels: int = 3  # each level: squeeze, `steps` flow steps, then split off half (not last)
    steps: int = 6
    hidden: int = 64  # width of each coupling's network

    @property
    def dims(self) -> int:
        return self.channels * self.image_size**2


def squeeze(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)  # (B, C, 2, 2, H/2, W/2)
    return x.reshape(b, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)  # (B, C/4, H, 2, W, 2)
    return x.reshape(b, c // 4, h * 2, w * 2)


class ActNorm(nn.Module):
    """Per-channel affine, initialised from the first batch to zero mean and unit variance."""

    initialised: torch.Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialised", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not bool(self.initialised):
            with torch.no_grad():
                self.bias.copy_(-x.mean(dim=(0, 2, 3), keepdim=True))
                std = x.std(dim=(0, 2, 3), keepdim=True)
                self.log_scale.copy_(-torch.log(std + 1e-6))
                self.initialised.fill_(True)
        y = (x + self.bias) * torch.exp(self.log_scale)
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.bias


class Coupling(nn.Module):
    """Affine coupling: the second half of the channels is scaled and shifted by a function of
    the first half. Glow's sigmoid scale keeps the step near identity and stable."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        half = channels // 2
        last = nn.Conv2d(hidden, 2 * (channels - half), 3, padding=1)
        nn.init.zeros_(last.weight)  # start as the identity
        nn.init.zeros_(last.bias)  # type: ignore[arg-type]
        self.net = nn.Sequential(
            nn.Conv2d(half, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(),
            last,
        )

    def _log_scale_shift(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_scale, shift = self.net(x_a).chunk(2, dim=1)
        # log σ(a) = -softplus(-a), a = raw + 2 floored at -30. Not log(sigmoid(a)): ONNX
        # Runtime's sigmoid returns 0 below about -17 (log -> -inf) where torch keeps tiny
        # values; the floor only touches pictures the model rates as impossible anyway
        a = (raw_scale + 2.0).clamp(min=-30.0)
        return -torch.nn.functional.softplus(-a), shift

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_a, x_b = x.chunk(2, dim=1)
        log_scale, shift = self._log_scale_shift(x_a)
        y_b = (x_b + shift) * torch.exp(log_scale)
        return torch.cat([x_a, y_b], dim=1), log_scale.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y_a, y_b = y.chunk(2, dim=1)
        log_scale, shift = self._log_scale_shift(y_a)
        return torch.cat([y_a, y_b * torch.exp(-log_scale) - shift], dim=1)


class FlowStep(nn.Module):
    permutation: torch.Tensor
    inverse_permutation: torch.Tensor

    def __init__(self, channels: int, hidden: int, seed: int) -> None:
        super().__init__()
        self.actnorm = ActNorm(channels)
        generator = torch.Generator().manual_seed(seed)
        permutation = torch.randperm(channels, generator=generator)
        self.register_buffer("permutation", permutation)
        self.register_buffer("inverse_permutation", torch.argsort(permutation))
        self.coupling = Coupling(channels, hidden)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, logdet_norm = self.actnorm(x)
        x = x[:, self.permutation]  # a permutation has |det| = 1
        x, logdet_coupling = self.coupling(x)
        return x, logdet_coupling + logdet_norm

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y = self.coupling.inverse(y)
        y = y[:, self.inverse_permutation]
        return self.actnorm.inverse(y)


class Flow(nn.Module):
    def __init__(self, config: FlowConfig = FlowConfig()) -> None:
        super().__init__()
        self.config = config
        self.levels: list[nn.ModuleList] = nn.ModuleList()  # type: ignore[assignment]
        channels = config.channels
        self.shapes: list[tuple[int, int, int]] = []  # shape of each z part, in order
        size = config.image_size
        for level in range(config.levels):
            channels, size = channels * 4, size // 2
            self.levels.append(
                nn.ModuleList(
                    FlowStep(channels, config.hidden, seed=level * 100 + k)
                    for k in range(config.steps)
                )
            )
            if level < config.levels - 1:
                self.shapes.append((channels // 2, size, size))
                channels //= 2
            else:
                self.shapes.append((channels, size, size))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 3, S, S) in [-0.5, 0.5] -> z (B, dims), log|det| (B,)."""
        logdet = torch.zeros(x.shape[0], device=x.device)
        parts = []
        for k, steps in enumerate(self.levels):
            x = squeeze(x)
            for step in steps:
                x, step_logdet = step(x)
                logdet = logdet + step_logdet
            if k < len(self.levels) - 1:
                z_part, x = x.chunk(2, dim=1)
                parts.append(z_part.flatten(1))
        parts.append(x.flatten(1))
        return torch.cat(parts, dim=1), logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, dims) -> x (B, 3, S, S)."""
        sizes = [c * h * w for c, h, w in self.shapes]
        parts = list(z.split(sizes, dim=1))
        c, h, w = self.shapes[-1]
        x = parts[-1].reshape(-1, c, h, w)
        for k in reversed(range(len(self.levels))):
            if k < len(self.levels) - 1:
                c, h, w = self.shapes[k]
                x = torch.cat([parts[k].reshape(-1, c, h, w), x], dim=1)
            for step in reversed(self.levels[k]):
                x = step.inverse(x)  # type: ignore[operator]
            x = unsqueeze(x)
        return x


def log_prior(z: torch.Tensor) -> torch.Tensor:
    """Standard normal log density of each row of z, (B,)."""
    return -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


class FlowEncoder(nn.Module):
    """Export wrapper: image (B, 3, S, S) in [-0.5, 0.5] -> (z, log-density in nats)."""

    def __init__(self, config: FlowConfig = FlowConfig(), flow: Flow | None = None) -> None:
        super().__init__()
        self.flow = flow or Flow(config)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, logdet = self.flow(image)
        return z, log_prior(z) + logdet


class FlowDecoder(nn.Module):
    """Export wrapper: z (B, dims) -> image (B, 3, S, S) in about [-0.5, 0.5]."""

    def __init__(self, config: FlowConfig = FlowConfig(), flow: Flow | None = None) -> None:
        super().__init__()
        self.flow = flow or Flow(config)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.flow.inverse(z)
