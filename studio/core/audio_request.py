"""The frozen request of an audio model: one note, its timbre, its seed; compared by value."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import RequestError
from studio.core.priors import check_seed
from studio.core.requests import PictureRef, check_compute, offsets_of

MAX_SECONDS = 8.0


def _mix(
    values: Mapping[str, float] | tuple[tuple[str, float], ...],
) -> tuple[tuple[str, float], ...]:
    items = values.items() if isinstance(values, Mapping) else values
    cleaned = tuple(sorted((str(name), float(weight)) for name, weight in items if weight != 0))
    if any(not math.isfinite(w) or w < 0 for _, w in cleaned):
        raise RequestError("instrument weights must be finite and not negative")
    return cleaned


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
    def from_dict(cls, data: Mapping[str, Any]) -> AudioRequest:
        """Inverse of to_dict; raises RequestError naming the bad key."""
        try:
            return cls(
                model_id=str(data["model_id"]),
                pitch=int(data.get("pitch", 60)),
                mix=_mix(dict(data.get("mix", {}))),
                offsets=offsets_of(dict(data.get("offsets", {}))),
                timbre=None if data.get("timbre") is None else tuple(data["timbre"]),
                seconds=float(data.get("seconds", 1.0)),
                release_at=None if data.get("release_at") is None else float(data["release_at"]),
                temperature=float(data.get("temperature", 1.0)),
                seed=int(data.get("seed", 0)),
                backend=str(data.get("backend", "auto")),
                device=str(data.get("device", "auto")),
            )
        except KeyError as exc:
            raise RequestError(f"request is missing {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise RequestError(f"request has an invalid value ({exc})") from exc
