"""What every family implements, and how a loaded model is handed to it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping
from typing import ClassVar

from studio.backends.base import Session
from studio.core.errors import ManifestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.requests import ImageRequest
from studio.core.results import ImageResult, Progress

# A job: each yield reports progress and is a cancellation point; `return` gives the result.
ImageJob = Generator[Progress, None, ImageResult]


class ImageFamily(ABC):
    """Maths of one family of image models over Sessions (numpy in, numpy out)."""

    name: ClassVar[str]
    networks: ClassVar[tuple[str, ...]]  # networks the manifest must declare

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

    @abstractmethod
    def generate(self, request: ImageRequest) -> ImageJob: ...
