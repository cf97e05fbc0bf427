"""Provenance: the request plus what actually ran it, as a JSON-able dict in and out."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from studio.core.errors import MediaError
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
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        try:
            kind = data.get("kind", "image")
            if kind not in MODALITIES:
                raise MediaError(f"provenance is of an unknown kind {kind!r}")
            return cls(
                request=MODALITIES[kind].request_type.from_dict(data["request"]),
                model_sha256=str(data["model_sha256"]),
                family=str(data["family"]),
                backend=str(data["backend"]),
                provider=str(data["provider"]),
                app_version=str(data.get("app_version", "")),
                latent=tuple(float(v) for v in data.get("latent", ())),
                upscale=int(data.get("upscale", 1)),
                preview_step=None
                if data.get("preview_step") is None
                else int(data["preview_step"]),
            )
        except KeyError as exc:
            raise MediaError(f"provenance is missing {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise MediaError(f"provenance has an invalid value ({exc})") from exc

    @classmethod
    def from_json(cls, text: str) -> Provenance:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MediaError(f"provenance is not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise MediaError("provenance is not a JSON object")
        return cls.from_dict(data)
