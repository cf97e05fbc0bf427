"""The frozen request of a style transfer: which pictures, which method, how strong."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from studio.core.errors import RequestError
from studio.core.priors import check_seed
from studio.core.requests import check_compute

METHODS = ("optimize", "fast")
MAX_SIDE = 2048


@dataclass(frozen=True)
class StyleRequest:
    """`content` and `style` are file paths, pinned by their sha256 so an export names the
    exact pictures it was made from. `strength` scales the style loss (optimise) or blends
    the features (fast); `size` is the result's longer side."""

    content: str
    content_sha256: str
    style: str
    style_sha256: str
    model_id: str = "vgg16-features"
    method: str = "optimize"
    strength: float = 1.0
    keep_colors: bool = False  # transfer luminance only: the photo keeps its colours
    size: int = 512
    iterations: int = 150
    seed: int = 0
    backend: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        check_seed(self.seed)
        check_compute(self.backend, self.device)
        if self.method not in METHODS:
            raise RequestError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not (math.isfinite(self.strength) and 0.0 <= self.strength <= 100.0):
            raise RequestError(f"strength must be 0 to 100, got {self.strength}")
        if not 32 <= self.size <= MAX_SIDE:
            raise RequestError(f"size must be 32 to {MAX_SIDE} pixels, got {self.size}")
        if not 1 <= self.iterations <= 5000:
            raise RequestError(f"iterations must be 1 to 5000, got {self.iterations}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StyleRequest:
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (TypeError, ValueError) as exc:
            raise RequestError(f"request has an invalid value ({exc})") from exc
