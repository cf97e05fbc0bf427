"""What every family implements, and how a loaded model is handed to it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping
from typing import ClassVar

import numpy as np

from studio.backends.base import Session
from studio.core.errors import ManifestError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.provenance import Provenance, Request, app_version
from studio.core.requests import ImageRequest
from studio.core.results import EncodeResult, ImageResult, Progress

# A job: each yield reports progress and is a cancellation point; `return` gives the result.
ImageJob = Generator[Progress, None, ImageResult]
EncodeJob = Generator[Progress, None, EncodeResult]


class Family(ABC):
    """Maths of one family of models over Sessions (numpy in, numpy out)."""

    name: ClassVar[str]
    modality: ClassVar[str] = "image"  # the panel that shows its results
    networks: ClassVar[tuple[str, ...]]  # networks the manifest must declare
    can_encode: ClassVar[bool] = False  # maps a picture into the latent space
    encode_label: ClassVar[str] = "Encode picture…"  # what encoding means to the user

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        self.manifest = manifest
        self.sessions = sessions

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        """Raise ManifestError when the manifest lacks what this family needs."""
        for network in cls.networks:
            if network not in manifest.networks:
                raise ManifestError(
                    manifest.folder / MANIFEST_NAME,
                    f"networks.{network}",
                    f"family {cls.name!r} needs a {network!r} network",
                )
        if manifest.modality != cls.modality:
            raise ManifestError(
                manifest.folder / MANIFEST_NAME,
                "modality",
                f"family {cls.name!r} makes {cls.modality}, not {manifest.modality}",
            )

    def provenance(
        self,
        request: Request,
        session: Session,
        latent: tuple[float, ...] = (),
    ) -> Provenance:
        """What made a result: the request, the weights that ran, and where they ran."""
        return Provenance(
            request=request,
            model_sha256=session.weights_sha256,
            family=self.name,
            backend=session.choice.backend,
            provider=session.choice.device,
            app_version=app_version(),
            latent=latent,
        )


class ImageFamily(Family):
    """A family whose jobs make pictures."""

    @abstractmethod
    def generate(self, request: ImageRequest) -> ImageJob: ...

    @property
    def input_size(self) -> int:
        """Side of the square picture `encode` takes: the encoder's input, else the output."""
        shape = self.manifest.input_shape or self.manifest.output_shape
        if shape is None:
            raise RequestError(f"model {self.manifest.id!r} declares no picture size")
        return shape[-1]

    def encode(self, pixels: np.ndarray) -> EncodeJob:
        """pixels (S, S, 3) uint8 at the model's input size -> its latent and likelihood."""
        raise RequestError(f"family {self.name!r} cannot encode pictures")
        yield  # pragma: no cover - makes this a generator like the real ones
