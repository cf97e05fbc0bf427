"""The frozen request of a text model: prompt, sampling settings and seed, compared by value."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from studio.core.errors import RequestError
from studio.core.fields import Fields
from studio.core.priors import check_seed
from studio.core.requests import PictureRef, check_compute

MAX_PROMPT_CHARS = 100_000
MAX_NEW_TOKENS = 8192


@dataclass(frozen=True)
class TextRequest:
    """A continuation of `prompt`. Equal requests give identical text on the same weights,
    backend and provider: the seed drives the only random draws."""

    model_id: str
    prompt: str = ""
    seed: int = 0
    max_tokens: int = 200  # new tokens (bytes, for a byte-level model)
    temperature: float = 0.8  # 0 = greedy
    top_k: int = 0  # keep the k likeliest tokens; 0 = all
    top_p: float = 1.0  # nucleus: the smallest set holding this much probability; 1 = all
    repetition_penalty: float = 1.0  # > 1 discourages tokens already in the context (CTRL)
    use_cache: bool = True  # KV cache; off recomputes the whole context for every token
    backend: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        check_seed(self.seed)
        if not isinstance(self.prompt, str) or len(self.prompt) > MAX_PROMPT_CHARS:
            raise RequestError(f"the prompt must be text of at most {MAX_PROMPT_CHARS} characters")
        if not 1 <= self.max_tokens <= MAX_NEW_TOKENS:
            raise RequestError(f"max tokens must be 1 to {MAX_NEW_TOKENS}, got {self.max_tokens}")
        for name, value, low, high in (
            ("temperature", self.temperature, 0.0, 5.0),
            ("top p", self.top_p, 0.0, 1.0),
            ("repetition penalty", self.repetition_penalty, 1.0, 5.0),
        ):
            if not (math.isfinite(value) and low <= value <= high):
                raise RequestError(f"{name} must be in [{low}, {high}], got {value}")
        if self.top_p == 0.0:
            raise RequestError("top p must be above 0 (1 keeps every token)")
        if self.top_k < 0:
            raise RequestError(f"top k must be 0 (off) or positive, got {self.top_k}")
        check_compute(self.backend, self.device)

    def pictures(self) -> tuple[PictureRef, ...]:
        return ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> TextRequest:
        """Inverse of to_dict; raises RequestError naming the bad key."""
        fields = Fields(data)
        return cls(
            model_id=fields.required_text("model_id"),
            prompt=fields.text("prompt", ""),
            seed=fields.integer("seed", 0),
            max_tokens=fields.integer("max_tokens", 200),
            temperature=fields.number("temperature", 0.8),
            top_k=fields.integer("top_k", 0),
            top_p=fields.number("top_p", 1.0),
            repetition_penalty=fields.number("repetition_penalty", 1.0),
            use_cache=fields.flag("use_cache", True),
            backend=fields.text("backend", "auto"),
            device=fields.text("device", "auto"),
        )
