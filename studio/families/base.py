"""What every family implements, and how a loaded model is handed to it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from studio.backends.base import Session
from studio.core.descriptor import FamilyDescriptor
from studio.core.errors import ManifestError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.provenance import Provenance, Request, app_version
from studio.core.requests import ImageRequest
from studio.core.results import EncodeResult, ImageResult, Progress

# A job: each yield reports progress and is a cancellation point; `return` gives the result.
ImageJob = Generator[Progress, None, ImageResult]
EncodeJob = Generator[Progress, None, EncodeResult]
Job = Generator[Any, None, Any]


@dataclass(frozen=True)
class JobContext:
    """What the engine prepared for a job besides the request: the pictures the request names
    (read, checked against their sha256 and sized; role -> one array (H, W, 3) uint8 each, in
    the request's order) and the loaded companion models the family asked for by role."""

    pictures: Mapping[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    companions: Mapping[str, Family] = field(default_factory=dict)

    def picture(self, role: str) -> np.ndarray:
        if not self.pictures.get(role):
            raise RequestError(f"this job needs a {role} picture")
        return self.pictures[role][0]

    def companion(self, role: str) -> Family:
        if role not in self.companions:
            raise RequestError(f"this job needs its {role} model loaded")
        return self.companions[role]


NO_CONTEXT = JobContext()


class Family(ABC):
    """Maths of one family of models over Sessions (numpy in, numpy out). Subclasses declare
    `descriptor`; nothing outside families/ tests a family's class or name."""

    descriptor: ClassVar[FamilyDescriptor]

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        self.manifest = manifest
        self.sessions = sessions

    @property
    def name(self) -> str:
        return self.descriptor.name

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        """Raise ManifestError when the manifest lacks what this family needs."""
        d = cls.descriptor
        for network in d.networks:
            if network not in manifest.networks:
                raise ManifestError(
                    manifest.folder / MANIFEST_NAME,
                    f"networks.{network}",
                    f"family {d.name!r} needs a {network!r} network",
                )
        if manifest.modality != d.modality:
            raise ManifestError(
                manifest.folder / MANIFEST_NAME,
                "modality",
                f"family {d.name!r} makes {d.modality}, not {manifest.modality}",
            )

    @classmethod
    def direction_size(cls, manifest: Manifest) -> int | None:
        """Length of the vectors in the manifest's directions file: the latent's size, unless
        the family steers another space (StyleGAN: w)."""
        shape = manifest.latent_shape
        return None if shape is None else int(np.prod(shape))

    @classmethod
    def companions(cls, manifest: Manifest) -> Mapping[str, str]:
        """Other models a job of this model needs, role -> model id (an AdaIN decoder's
        feature network). The engine loads them and passes them in the JobContext."""
        return {}

    @abstractmethod
    def generate(self, request: Any, context: JobContext = NO_CONTEXT) -> Job:
        """The job that makes `request`'s result: each yield is progress and a cancellation
        point. `request` is of the descriptor's modality's request type."""

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
    def generate(self, request: ImageRequest, context: JobContext = NO_CONTEXT) -> ImageJob: ...

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
