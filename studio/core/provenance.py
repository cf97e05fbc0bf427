"""Provenance: the request plus what actually ran it, as a JSON-able dict in and out."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from studio.core.errors import MediaError
from studio.core.fields import Fields
from studio.core.modalities import MODALITIES, Request, modality_of

PROVENANCE_KEY = "latent-studio"  # PNG iTXt keyword, and the name in other containers
__all__ = ["PROVENANCE_KEY", "Provenance", "Request", "app_version"]


@functools.cache
def app_version() -> str:
    try:
        return metadata.version("latent-studio")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class Provenance:
    request: Request
    model_sha256: str  # of the weights file that ran
    family: str
    backend: str  # "onnx" or "torch"
    provider: str  # e.g. "CPUExecutionProvider", "cuda:0"
    app_version: str
    latent: tuple[float, ...] = ()  # the first cell's latent vector, for inspection
    upscale: int = 1  # export setting: each model pixel became upscale x upscale pixels
    preview_step: int | None = None  # an intermediate preview of an iterative sampler

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["request"] = self.request.to_dict()
        data["latent"] = [round(v, 6) for v in self.latent]
        data["kind"] = modality_of(self.request).name
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: object) -> Provenance:
        """Inverse of to_dict. A malformed provenance raises MediaError naming the key; the
        request in it raises RequestError naming its bad field."""
        fields = Fields(data, "provenance", MediaError)
        kind = fields.text("kind", "image")
        if kind not in MODALITIES:
            raise MediaError(f"provenance is of an unknown kind {kind!r}")
        request: Request = MODALITIES[kind].request_type.from_dict(fields.mapping("request"))
        return cls(
            request=request,
            model_sha256=fields.required_text("model_sha256"),
            family=fields.required_text("family"),
            backend=fields.required_text("backend"),
            provider=fields.required_text("provider"),
            app_version=fields.text("app_version", ""),
            latent=fields.numbers("latent"),
            upscale=fields.integer("upscale", 1),
            preview_step=fields.optional_integer("preview_step"),
        )

    @classmethod
    def from_json(cls, text: str) -> Provenance:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MediaError(f"provenance is not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise MediaError("provenance is not a JSON object")
        return cls.from_dict(data)
