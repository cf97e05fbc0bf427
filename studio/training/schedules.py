"""Learning-rate schedules, as functions of the step and of the spent share of the budget."""

from __future__ import annotations

import math

import torch


def learning_rate(progress: float, step: int, peak: float, warmup: int = 200) -> float:
    """Linear warm-up over `warmup` steps, then cosine from `peak` to peak/10 as `progress`
    (the spent fraction of the budget) goes 0 -> 1."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * min(progress, 1.0))))


def set_learning_rate(optimiser: torch.optim.Optimizer, rate: float) -> None:
    for group in optimiser.param_groups:
        group["lr"] = rate
