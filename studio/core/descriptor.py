"""What a family can do and which controls it offers, declared once (STYLE.md rule 12).

Each family module declares one frozen `FamilyDescriptor`; the engine, the CLI and the panels
read it and never test a family's class or name. A descriptor is plain data (no numpy, no
Qt) so the GUI can build widgets from it without loading a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Capability(StrEnum):
    """What a family's models can do beyond making their modality's output."""

    LATENT = "latent"  # a continuous latent: seeds, directions, temperature, interpolation
    TRUNCATION = "truncation"  # the latent prior can be truncated toward its mode
    ENCODE = "encode"  # maps a picture into the latent space
    COMPLETE = "complete"  # keeps part of a picture and draws the rest
    LIKELIHOOD = "likelihood"  # scores a picture (bits per dimension)
    STEP_PREVIEWS = "step_previews"  # draws step by step: previews and Stop keep the last
    STYLE_MIXING = "style_mixing"  # one style per layer: layers can come from another seed


@dataclass(frozen=True)
class Control:
    """A numeric knob: the request field it sets, its range, and its default.

    `default_key` names the manifest parameter that overrides `default` for one model (e.g. a
    flow samples best at temperature 0.7). `samplers` limits it to some samplers (empty: all).
    """

    field: str
    label: str
    minimum: float
    maximum: float
    default: float
    step: float = 1.0
    integer: bool = False
    tooltip: str = ""
    default_key: str | None = None
    samplers: tuple[str, ...] = ()

    def default_for(self, parameters: Mapping[str, Any]) -> float | int:
        """The model's default: its manifest parameter when it has one, else ours."""
        raw = parameters.get(self.default_key, self.default) if self.default_key else self.default
        value = min(self.maximum, max(self.minimum, float(raw)))
        return round(value) if self.integer else value

    def applies_to(self, sampler: str | None) -> bool:
        return not self.samplers or sampler in self.samplers


@dataclass(frozen=True)
class Sampler:
    """One sampling algorithm a family offers (diffusion: DDIM, DDPM)."""

    name: str  # the request's `sampler` value
    label: str  # what the picker shows


@dataclass(frozen=True)
class FamilyDescriptor:
    """Everything the house needs to know about a family without loading a model."""

    name: str  # the manifest's `family` key
    modality: str  # a key of studio.core.modalities.MODALITIES: the panel that shows it
    networks: tuple[str, ...]  # networks the manifest must declare
    capabilities: frozenset[Capability] = frozenset()
    conditions: tuple[str, ...] = ()  # what a request can condition on: pitch, instrument...
    samplers: tuple[Sampler, ...] = ()  # the first is the default unless the manifest says
    controls: tuple[Control, ...] = ()
    encode_label: str = "Encode picture…"  # the button's words for ENCODE or COMPLETE
    # the backend its own jobs need when the request leaves it to "auto" (gradients: torch)
    requires_backend: str | None = None
    summary: str = ""  # one line for the model card
    extra: Mapping[str, Any] = field(default_factory=dict)  # family-specific constants

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def control(self, name: str) -> Control | None:
        return next((c for c in self.controls if c.field == name), None)

    @property
    def sampler_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.samplers)

    def default_sampler(self, parameters: Mapping[str, Any]) -> str | None:
        """The manifest's `default_sampler` when it names one of ours, else our first."""
        if not self.samplers:
            return None
        chosen = str(parameters.get("default_sampler", self.samplers[0].name))
        return chosen if chosen in self.sampler_names else self.samplers[0].name

    def defaults(self, parameters: Mapping[str, Any]) -> dict[str, float | int]:
        """Request fields whose model default differs from the request's own default."""
        return {
            c.field: c.default_for(parameters)
            for c in self.controls
            if c.default_key is not None and c.default_key in parameters
        }
