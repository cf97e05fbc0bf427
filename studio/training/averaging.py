"""Exponential moving averages of a recipe's networks, owned by the training loop.

After every step each averaged parameter moves toward the live one:
    ema <- decay * ema + (1 - decay) * live
(Polyak averaging as in DDPM, Ho et al. 2020, and the GAN literature); buffers such as
BatchNorm statistics are copied, since averaging them means nothing for the averaged weights.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class EMA:
    """Average the networks named `modules` (keys of `Recipe.modules()`) with `decay`."""

    modules: tuple[str, ...]
    decay: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {self.decay}")

    @classmethod
    def half_life(cls, modules: tuple[str, ...], steps: float) -> EMA:
        """The decay under which a step's weight halves after `steps` steps."""
        return cls(modules, 0.5 ** (1.0 / steps))

    @property
    def half_life_steps(self) -> float:
        return math.log(0.5) / math.log(self.decay) if self.decay > 0 else 0.0


class Averages:
    """Averaged copies (eval mode, no gradients) of the networks an `EMA` names."""

    def __init__(self, live: Mapping[str, torch.nn.Module], ema: EMA | None) -> None:
        names = ema.modules if ema is not None else ()
        missing = [name for name in names if name not in live]
        if missing:
            raise KeyError(f"EMA names {missing}, the recipe has {sorted(live)}")
        self.decay = ema.decay if ema is not None else 0.0
        self.live = {name: live[name] for name in names}
        self.modules: dict[str, torch.nn.Module] = {
            name: copy.deepcopy(module).eval().requires_grad_(False)
            for name, module in self.live.items()
        }

    @torch.no_grad()
    def update(self) -> None:
        for name, average in self.modules.items():
            live = self.live[name]
            for a, p in zip(average.parameters(), live.parameters(), strict=True):
                a.lerp_(p, 1.0 - self.decay)
            for mine, theirs in zip(average.buffers(), live.buffers(), strict=True):
                mine.copy_(theirs)

    def state_dict(self) -> dict[str, Any]:
        return {name: module.state_dict() for name, module in self.modules.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, module in self.modules.items():
            module.load_state_dict(state[name])
