"""Frozen requests: everything that determines a result, compared by value.

Two equal requests give identical pixels on the same model file, backend and provider, so the
engine drops a request equal to the last one and a request plus a model sha256 is provenance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import RequestError
from studio.core.priors import check_seed

BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "gpu")
MAX_GRID_CELLS = 256


def check_compute(backend: str, device: str) -> None:
    """Raise RequestError unless backend and device are ones the app knows."""
    if backend not in BACKENDS:
        raise RequestError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if device not in DEVICES:
        raise RequestError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")


def offsets_of(
    values: Mapping[str, float] | tuple[tuple[str, float], ...],
) -> tuple[tuple[str, float], ...]:
    items = values.items() if isinstance(values, Mapping) else values
    cleaned = []
    for name, value in items:
        value = float(value)
        if not math.isfinite(value):
            raise RequestError(f"direction {name!r} has a non-finite value {value}")
        if value != 0.0:
            cleaned.append((str(name), value))
    return tuple(sorted(cleaned))


@dataclass(frozen=True)
class PictureRef:
    """A picture a request names by path, pinned by its sha256 (empty: not pinned). The engine
    reads it, checks the hash and fits its longer side to `long_side` before the job starts."""

    role: str  # what the family uses it as: "content", "style", "init", "mask"...
    path: str
    sha256: str
    long_side: int


@dataclass(frozen=True)
class ImageRequest:
    """One latent point (or a grid of seeds around it) of an image model."""

    model_id: str
    seed: int = 0
    offsets: tuple[tuple[str, float], ...] = field(default=())  # (direction, slider value)
    truncation: float | None = None  # prior truncation; None = the plain prior
    temperature: float = 1.0  # scales the prior draw (flows and VAEs sample best below 1)
    latent: tuple[float, ...] | None = None  # an encoded picture: replaces the seed's draw
    sampler: str | None = None  # iterative families: "ddim" | "ddpm" | ...; None = default
    steps: int | None = None  # sampler steps; None = the model's default
    eta: float = 0.0  # DDIM stochasticity: 0 deterministic, 1 as DDPM
    grid: tuple[int, int] = (1, 1)  # rows, columns; cell k uses seed + k
    backend: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        check_seed(self.seed)
        object.__setattr__(self, "offsets", offsets_of(self.offsets))
        rows, cols = self.grid
        if rows < 1 or cols < 1 or rows * cols > MAX_GRID_CELLS:
            raise RequestError(f"grid {rows}x{cols} must have 1 to {MAX_GRID_CELLS} cells")
        if self.truncation is not None and not (0 < self.truncation <= 10):
            raise RequestError(f"truncation must be in (0, 10], got {self.truncation}")
        if self.steps is not None and not (1 <= self.steps <= 10_000):
            raise RequestError(f"steps must be 1 to 10000, got {self.steps}")
        if not (0.0 <= self.eta <= 1.0):
            raise RequestError(f"eta must be in [0, 1], got {self.eta}")
        if not (0 < self.temperature <= 10):
            raise RequestError(f"temperature must be in (0, 10], got {self.temperature}")
        if self.latent is not None:
            latent = tuple(float(v) for v in self.latent)
            if not latent or not all(math.isfinite(v) for v in latent):
                raise RequestError("an explicit latent must be a non-empty list of finite numbers")
            object.__setattr__(self, "latent", latent)
        check_compute(self.backend, self.device)

    def pictures(self) -> tuple[PictureRef, ...]:
        return ()

    @property
    def offset_map(self) -> dict[str, float]:
        return dict(self.offsets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "seed": self.seed,
            "offsets": self.offset_map,
            "truncation": self.truncation,
            "temperature": self.temperature,
            "latent": None if self.latent is None else list(self.latent),
            "sampler": self.sampler,
            "steps": self.steps,
            "eta": self.eta,
            "grid": list(self.grid),
            "backend": self.backend,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageRequest:
        """Inverse of to_dict; raises RequestError naming the bad key."""
        try:
            grid = tuple(int(v) for v in data.get("grid", (1, 1)))
            if len(grid) != 2:
                raise ValueError("grid needs two numbers")
            truncation = data.get("truncation")
            return cls(
                model_id=str(data["model_id"]),
                seed=int(data.get("seed", 0)),
                offsets=offsets_of(dict(data.get("offsets", {}))),
                truncation=None if truncation is None else float(truncation),
                temperature=float(data.get("temperature", 1.0)),
                latent=None if data.get("latent") is None else tuple(data["latent"]),
                sampler=None if data.get("sampler") is None else str(data["sampler"]),
                steps=None if data.get("steps") is None else int(data["steps"]),
                eta=float(data.get("eta", 0.0)),
                grid=(grid[0], grid[1]),
                backend=str(data.get("backend", "auto")),
                device=str(data.get("device", "auto")),
            )
        except KeyError as exc:
            raise RequestError(f"request is missing {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise RequestError(f"request has an invalid value ({exc})") from exc
