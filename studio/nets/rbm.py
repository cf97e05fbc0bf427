"""Bernoulli restricted Boltzmann machine (Smolensky, 1986; Hinton, 2002).

    E(v, h) = -a·v - b·h - vᵀ W h
    p(h_j = 1 | v) = σ(b_j + vᵀ W_j),   p(v_i = 1 | h) = σ(a_i + W_i h)

The two conditionals are exported as separate graphs; Gibbs sampling draws the Bernoulli
samples outside them, from a seeded generator. The free energy F(v) = -a·v - Σ softplus(b + vᵀW)
is the hidden network's second output, used to score pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class RBMConfig:
    visible: int = 784  # 28 x 28 binary pixels
    hidden: int = 256


class RBM(nn.Module):
    def __init__(self, config: RBMConfig = RBMConfig()) -> None:
        super().__init__()
        self.config = config
        self.weight = nn.Parameter(0.01 * torch.randn(config.visible, config.hidden))
        self.visible_bias = nn.Parameter(torch.zeros(config.visible))
        self.hidden_bias = nn.Parameter(torch.zeros(config.hidden))

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(v @ self.weight + self.hidden_bias)  # (B, hidden)

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h @ self.weight.T + self.visible_bias)  # (B, visible)

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        return -(v @ self.visible_bias) - F.softplus(v @ self.weight + self.hidden_bias).sum(1)


class RBMHidden(nn.Module):
    """Export graph: v (B, visible) -> (p(h | v) (B, hidden), free energy (B,))."""

    def __init__(self, config: RBMConfig = RBMConfig()) -> None:
        super().__init__()
        self.rbm = RBM(config)

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.rbm.hidden_probs(v), self.rbm.free_energy(v)


class RBMVisible(nn.Module):
    """Export graph: h (B, hidden) -> p(v | h) (B, visible)."""

    def __init__(self, config: RBMConfig = RBMConfig()) -> None:
        super().__init__()
        self.rbm = RBM(config)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.rbm.visible_probs(h)
