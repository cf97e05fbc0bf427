"""Frozen requests: everything that determines a result, compared by value.

Two equal requests give identical pixels on the same model file, backend and provider, so the
engine drops a request equal to the last one and a request plus a model sha256 is provenance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import RequestError
from studio.core.fields import Fields, as_integer, as_items, finite_numbers, shown, summed
from studio.core.priors import check_seed

BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "gpu")
MAX_GRID_CELLS = 256
MAX_PSI = 2.0  # beyond 1 extrapolates away from the average style
MAX_LAYERS = 64  # style layers a request may name (a 1024 px StyleGAN has 18)
MAX_NOISE = 4.0


def check_compute(backend: str, device: str) -> None:
    """Raise RequestError unless backend and device are ones the app knows."""
    if backend not in BACKENDS:
        raise RequestError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if device not in DEVICES:
        raise RequestError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")


def offsets_of(values: object) -> tuple[tuple[str, float], ...]:
    """Direction offsets, given as (name, value) pairs or a {name: value} mapping, as sorted
    pairs with one entry per name: a direction given twice moves by the sum of its values
    (what the families would do with both), so a request and its JSON hold the same moves.
    Zero moves are dropped."""
    cleaned = []
    for name, value in summed(values, "direction").items():
        if not math.isfinite(value):
            raise RequestError(f"direction {name!r} has a non-finite value {value}")
        if value != 0.0:
            cleaned.append((name, value))
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
    # conditional and style-space models (StyleGAN):
    category: str | None = None  # the class to draw; None = the model's first
    psi: float = 1.0  # truncation toward the average style: 1 untouched, 0 the average
    truncation_cutoff: int | None = None  # psi applies to style layers below this; None = all
    mix_seed: int | None = None  # another sample whose styles replace those of `mix_layers`
    mix_layers: tuple[int, ...] = ()
    noise: float = 1.0  # strength of the per-layer noise inputs
    fixed_noise: bool = True  # the same noise for every seed (else drawn from each seed)
    backend: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        check_seed(self.seed)
        object.__setattr__(self, "offsets", offsets_of(self.offsets))
        self._check_style_space()
        rows, cols = self.grid_of(self.grid)
        object.__setattr__(self, "grid", (rows, cols))
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
            object.__setattr__(self, "latent", finite_numbers(self.latent, "latent"))
        check_compute(self.backend, self.device)

    def _check_style_space(self) -> None:
        if not (math.isfinite(self.psi) and 0.0 <= self.psi <= MAX_PSI):
            raise RequestError(f"psi must be in [0, {MAX_PSI:g}], got {self.psi}")
        if self.truncation_cutoff is not None and not 0 <= self.truncation_cutoff <= MAX_LAYERS:
            raise RequestError(
                f"truncation_cutoff must be 0 to {MAX_LAYERS}, got {self.truncation_cutoff}"
            )
        if self.mix_seed is not None:
            check_seed(self.mix_seed)
        layers = tuple(sorted({int(k) for k in self.mix_layers}))
        if any(not 0 <= k < MAX_LAYERS for k in layers):
            raise RequestError(f"mix_layers must be layer numbers 0 to {MAX_LAYERS - 1}")
        object.__setattr__(self, "mix_layers", layers)
        if not (math.isfinite(self.noise) and 0.0 <= self.noise <= MAX_NOISE):
            raise RequestError(f"noise must be in [0, {MAX_NOISE:g}], got {self.noise}")
        if self.category is not None and not (0 < len(self.category) <= 64):
            raise RequestError("category must be a name of 1 to 64 characters")

    @staticmethod
    def grid_of(value: object) -> tuple[int, int]:
        """(rows, columns) from any pair of integers (a list from JSON, a tuple)."""
        cells = as_items(value, "grid")
        if len(cells) != 2:
            raise RequestError(f"grid must be [rows, columns], got {shown(value)}")
        return as_integer(cells[0], "grid rows"), as_integer(cells[1], "grid columns")

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
            "category": self.category,
            "psi": self.psi,
            "truncation_cutoff": self.truncation_cutoff,
            "mix_seed": self.mix_seed,
            "mix_layers": list(self.mix_layers),
            "noise": self.noise,
            "fixed_noise": self.fixed_noise,
            "backend": self.backend,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: object) -> ImageRequest:
        """Inverse of to_dict; raises RequestError naming the bad key."""
        fields = Fields(data)
        return cls(
            model_id=fields.required_text("model_id"),
            seed=fields.integer("seed", 0),
            offsets=offsets_of(fields.named_numbers("offsets")),
            truncation=fields.optional_number("truncation"),
            temperature=fields.number("temperature", 1.0),
            latent=fields.optional_numbers("latent"),
            sampler=fields.optional_text("sampler"),
            steps=fields.optional_integer("steps"),
            eta=fields.number("eta", 0.0),
            grid=cls.grid_of(fields.value("grid", (1, 1))),
            category=fields.optional_text("category"),
            psi=fields.number("psi", 1.0),
            truncation_cutoff=fields.optional_integer("truncation_cutoff"),
            mix_seed=fields.optional_integer("mix_seed"),
            mix_layers=fields.integers("mix_layers", ()),
            noise=fields.number("noise", 1.0),
            fixed_noise=fields.flag("fixed_noise", True),
            backend=fields.text("backend", "auto"),
            device=fields.text("device", "auto"),
        )
