"""`Trainable`: the base of every recipe's training object.

A subclass builds its networks and optimisers in `__init__`, hands them to this base by
name, and writes `step`; the loop gets `modules`, `state_dict` and `load_state_dict` from
here. State that is neither a network nor an optimiser (persistent Gibbs chains, the step a
phase began) goes through `extra_state` / `load_extra_state`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch

from studio.training.loop import Tick


class Trainable(ABC):
    """Named networks and optimisers, checkpointed together; `batch_size` examples a step."""

    def __init__(
        self,
        batch_size: int,
        networks: Mapping[str, torch.nn.Module],
        optimisers: Mapping[str, torch.optim.Optimizer],
    ) -> None:
        self.batch_size = batch_size
        self.networks = dict(networks)
        self.optimisers = dict(optimisers)

    @abstractmethod
    def step(self, tick: Tick) -> Mapping[str, float]:
        """One optimisation step -> its losses by name."""

    def modules(self) -> Mapping[str, torch.nn.Module]:
        return self.networks

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        """Every `LoopSettings.preview_every` steps; nothing unless a recipe says so."""
        del step, averages

    def extra_state(self) -> dict[str, Any]:
        """State beyond networks and optimisers: tensors and JSON values."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        del state

    def state_dict(self) -> dict[str, Any]:
        return {
            "networks": {k: v.state_dict() for k, v in self.networks.items()},
            "optimisers": {k: v.state_dict() for k, v in self.optimisers.items()},
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, network in self.networks.items():
            network.load_state_dict(state["networks"][name])
        for name, optimiser in self.optimisers.items():
            optimiser.load_state_dict(state["optimisers"][name])
        self.load_extra_state(state["extra"])
