"""The frozen request of a style transfer: which pictures, which method, how strong."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from studio.core.errors import RequestError
from studio.core.fields import Fields, as_number, as_text, shown
from studio.core.priors import check_seed
from studio.core.requests import PictureRef, check_compute

METHODS = ("optimize", "fast")
COLOR_METHODS = ("luminance", "match")  # how keep_colors keeps the photo's colours
MAX_SIDE = 2048
MODEL_OF_METHOD = {"optimize": "vgg16-features", "fast": "adain-style"}


@dataclass(frozen=True)
class StyleRequest:
    """`content` and `style` are file paths, pinned by their sha256 so an export names the
    exact pictures it was made from; `blend` adds more styles as (path, sha256, weight), and
    the first style weighs 1 - their sum. `strength` scales the style loss (optimise, 0 to
    100) or blends content and stylised features (fast, 0 to 1); `size` is the result's longer
    side. `keep_colors` keeps the photo's colours by `color_method`: "luminance" (transfer
    the luminance only) or "match" (recolour the style to the photo's colour statistics
    first)."""

    content: str
    content_sha256: str
    style: str
    style_sha256: str
    model_id: str = "vgg16-features"
    method: str = "optimize"
    strength: float = 1.0
    keep_colors: bool = False
    color_method: str = "luminance"
    blend: tuple[tuple[str, str, float], ...] = ()
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
        top = 1.0 if self.method == "fast" else 100.0
        if not (math.isfinite(self.strength) and 0.0 <= self.strength <= top):
            raise RequestError(
                f"strength must be 0 to {top:g} for the {self.method} method, got {self.strength}"
            )
        if self.color_method not in COLOR_METHODS:
            raise RequestError(
                f"color_method must be one of {', '.join(COLOR_METHODS)}, got {self.color_method!r}"
            )
        blend = tuple(_blended(entry, k) for k, entry in enumerate(self.blend))
        object.__setattr__(self, "blend", blend)
        weights = [w for _, _, w in blend]
        if any(not (math.isfinite(w) and 0.0 < w <= 1.0) for w in weights) or sum(weights) > 1:
            raise RequestError(
                f"blended style weights must be above 0 and sum to at most 1, got {weights}"
            )
        if not 32 <= self.size <= MAX_SIDE:
            raise RequestError(f"size must be 32 to {MAX_SIDE} pixels, got {self.size}")
        if not 1 <= self.iterations <= 5000:
            raise RequestError(f"iterations must be 1 to 5000, got {self.iterations}")

    def styles(self) -> tuple[tuple[str, str, float], ...]:
        """Every style as (path, sha256, weight); the weights sum to 1."""
        rest = sum(w for _, _, w in self.blend)
        return ((self.style, self.style_sha256, 1.0 - rest), *self.blend)

    def pictures(self) -> tuple[PictureRef, ...]:
        """The content, then every style in `styles()` order, at the result's size."""
        content = PictureRef("content", self.content, self.content_sha256, self.size)
        styles = (PictureRef("style", path, sha, self.size) for path, sha, _ in self.styles())
        return (content, *styles)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["blend"] = [list(entry) for entry in self.blend]
        return values

    @classmethod
    def from_dict(cls, data: object) -> StyleRequest:
        """Inverse of to_dict; raises RequestError naming the bad key."""
        fields = Fields(data)
        return cls(
            content=fields.required_text("content"),
            content_sha256=fields.required_text("content_sha256"),
            style=fields.required_text("style"),
            style_sha256=fields.required_text("style_sha256"),
            model_id=fields.text("model_id", "vgg16-features"),
            method=fields.text("method", "optimize"),
            strength=fields.number("strength", 1.0),
            keep_colors=fields.flag("keep_colors", False),
            color_method=fields.text("color_method", "luminance"),
            blend=tuple(_blended(entry, k) for k, entry in enumerate(fields.items("blend"))),
            size=fields.integer("size", 512),
            iterations=fields.integer("iterations", 150),
            seed=fields.integer("seed", 0),
            backend=fields.text("backend", "auto"),
            device=fields.text("device", "auto"),
        )


def _blended(entry: object, k: int) -> tuple[str, str, float]:
    """One [path, sha256, weight] entry of a blend, from JSON."""
    where = f"blend[{k}]"
    if not isinstance(entry, list | tuple) or len(entry) != 3:
        raise RequestError(f"{where} must be a [path, sha256, weight] list, got {shown(entry)}")
    path, sha256, weight = entry
    return (
        as_text(path, f"{where} path"),
        as_text(sha256, f"{where} sha256"),
        as_number(weight, f"{where} weight"),
    )
