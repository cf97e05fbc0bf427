"""The frozen request of an audio model: one note, its timbre, its seed; compared by value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import RequestError
from studio.core.fields import Fields, finite_numbers, summed
from studio.core.priors import check_seed
from studio.core.requests import PictureRef, check_compute, offsets_of

MAX_SECONDS = 8.0


def _mix(values: object) -> tuple[tuple[str, float], ...]:
    """Instrument weights as sorted (name, weight) pairs, one per name: an instrument given
    twice weighs the sum of its weights (Flute 0.5 twice is Flute 1.0), so a request and its
    JSON hold the same mix. Zero weights are dropped."""
    totals = summed(values, "instrument weight", nonnegative=True)
    if not all(math.isfinite(w) for w in totals.values()):  # huge weights overflow a sum
        raise RequestError("instrument weights must be finite and not negative")
    return tuple(sorted((name, w) for name, w in totals.items() if w != 0))


@dataclass(frozen=True)
class AudioRequest:
    """A note: `pitch` (MIDI), a timbre made of instruments mixed by weight (normalised by
    their sum; empty = the model's first instrument) and moved along the timbre space's
    principal directions by `offsets`, `seconds` long. Equal requests give identical samples
    on the same weights, backend and provider."""

    model_id: str
    pitch: int = 60
    mix: tuple[tuple[str, float], ...] = field(default=())  # (instrument, weight)
    offsets: tuple[tuple[str, float], ...] = field(default=())  # (direction, slider value)
    timbre: tuple[float, ...] | None = None  # an explicit timbre vector: replaces the mix
    seconds: float = 1.0
    # when the key is let go; None: so that the release ends with the note
    release_at: float | None = None
    temperature: float = 1.0  # of each sample's softmax; lower is cleaner and plainer
    seed: int = 0
    backend: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        check_seed(self.seed)
        object.__setattr__(self, "mix", _mix(self.mix))
        object.__setattr__(self, "offsets", offsets_of(self.offsets))
        if (
            isinstance(self.pitch, bool)
            or not isinstance(self.pitch, int)
            or not 0 <= self.pitch <= 127
        ):
            raise RequestError(f"pitch must be a MIDI note 0 to 127, got {self.pitch!r}")
        if not (math.isfinite(self.seconds) and 0.05 <= self.seconds <= MAX_SECONDS):
            raise RequestError(f"seconds must be 0.05 to {MAX_SECONDS}, got {self.seconds}")
        if self.release_at is not None and not (
            math.isfinite(self.release_at) and 0 <= self.release_at <= MAX_SECONDS
        ):
            raise RequestError(f"release_at must be 0 to {MAX_SECONDS} s, got {self.release_at}")
        if not (math.isfinite(self.temperature) and 0.05 <= self.temperature <= 2.0):
            raise RequestError(f"temperature must be 0.05 to 2, got {self.temperature}")
        if self.timbre is not None:  # its length is the model's: the family checks it
            object.__setattr__(self, "timbre", finite_numbers(self.timbre, "timbre"))
        check_compute(self.backend, self.device)

    def pictures(self) -> tuple[PictureRef, ...]:
        return ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "pitch": self.pitch,
            "mix": dict(self.mix),
            "offsets": dict(self.offsets),
            "timbre": None if self.timbre is None else list(self.timbre),
            "seconds": self.seconds,
            "release_at": self.release_at,
            "temperature": self.temperature,
            "seed": self.seed,
            "backend": self.backend,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: object) -> AudioRequest:
        """Inverse of to_dict; raises RequestError naming the bad key."""
        fields = Fields(data)
        return cls(
            model_id=fields.required_text("model_id"),
            pitch=fields.integer("pitch", 60),
            mix=_mix(fields.named_numbers("mix")),
            offsets=offsets_of(fields.named_numbers("offsets")),
            timbre=fields.optional_numbers("timbre"),
            seconds=fields.number("seconds", 1.0),
            release_at=fields.optional_number("release_at"),
            temperature=fields.number("temperature", 1.0),
            seed=fields.integer("seed", 0),
            backend=fields.text("backend", "auto"),
            device=fields.text("device", "auto"),
        )
