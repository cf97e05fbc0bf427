"""Families that decode a latent vector into a picture: seed (or an encoded picture) ->
latent (+ offsets along directions) -> decoder network -> picture. GANs, VAEs and flows
share this; they differ in their decoder's name and in whether they can encode."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from studio.backends.base import Session
from studio.core.descriptor import Capability, FamilyDescriptor
from studio.core.errors import ManifestError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.priors import MAX_SEED, sample_prior
from studio.core.requests import ImageRequest
from studio.core.results import ImageResult, Progress
from studio.families.base import NO_CONTEXT, ImageFamily, ImageJob, JobContext
from studio.families.controls import TEMPERATURE
from studio.families.pixels import tile, to_uint8
from studio.latent.directions import Directions
from studio.latent.prior import MixturePrior

CHUNK = 64  # latents per session.run: a cancellation point at least every chunk


class LatentImageFamily(ImageFamily):
    decoder_network: ClassVar[str]

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        self.generator = sessions[self.decoder_network]
        self.latent_shape: tuple[int, ...] = manifest.latent_shape  # type: ignore[assignment]
        self.output_range = manifest.output_range or (-1.0, 1.0)
        size = int(np.prod(self.latent_shape))
        self.directions = (
            Directions.load(manifest.directions_file, size) if manifest.directions_file else None
        )
        prior_file = manifest.parameters.get("expost_prior")
        self.expost = (
            MixturePrior.load(manifest.folder / str(prior_file), size) if prior_file else None
        )

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        super().check_manifest(manifest)
        if manifest.latent_shape is None or manifest.prior == "none":
            raise ManifestError(
                manifest.folder / MANIFEST_NAME,
                "io.latent",
                f"family {cls.descriptor.name!r} needs a latent shape and a prior "
                "('normal' or 'uniform')",
            )

    def latents(self, request: ImageRequest) -> npt.NDArray[np.float32]:
        """(cells, *latent_shape) float32: one prior draw per cell, seeds seed, seed+1, ...
        (wrapping past MAX_SEED) scaled by the temperature, or the request's explicit latent;
        all moved by the same direction offsets."""
        offset = self.offset_vector(request.offset_map).reshape(self.latent_shape)
        if request.latent is not None:
            size = int(np.prod(self.latent_shape))
            if len(request.latent) != size:
                raise RequestError(
                    f"the latent has {len(request.latent)} values; model "
                    f"{self.manifest.id!r} takes {size}"
                )
            base = np.asarray(request.latent, np.float32).reshape(1, *self.latent_shape)
            return base + offset  # (1, *latent_shape)
        seeds = self.cell_seeds(request)
        z = np.stack(
            [
                self.place(
                    request.temperature
                    * sample_prior(s, self.latent_shape, self.manifest.prior, request.truncation),
                    s,
                )
                for s in seeds
            ]
        )
        moved: npt.NDArray[np.float32] = (z + offset).astype(np.float32)
        return moved

    @staticmethod
    def cell_seeds(request: ImageRequest) -> list[int]:
        """The seed of each grid cell: seed, seed + 1, ... row by row, wrapping past MAX_SEED."""
        rows, cols = request.grid
        return [(request.seed + k) % (MAX_SEED + 1) for k in range(rows * cols)]

    def place(self, z: npt.NDArray[np.float32], seed: int) -> npt.NDArray[np.float32]:
        """A prior draw where the model's codes live: through the ex-post mixture if any."""
        return self.expost.place(z, seed) if self.expost is not None else z

    def offset_vector(self, offsets: dict[str, float]) -> npt.NDArray[np.float32]:
        size = int(np.prod(self.latent_shape))
        total = np.zeros(size, np.float32)
        if not offsets:
            return total
        if self.directions is None:
            raise RequestError(f"model {self.manifest.id!r} has no latent directions")
        index = {name: k for k, name in enumerate(self.directions.names)}
        for name, value in offsets.items():
            if name not in index:
                raise RequestError(
                    f"model {self.manifest.id!r} has no direction {name!r}; "
                    f"it has {', '.join(self.directions.names)}"
                )
            k = index[name]
            total += value * self.directions.scales[k] * self.directions.vectors[k]
        return total

    def decode(self, latents: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        """(N, *latent_shape) -> (N, H, W, 3) uint8, in one session run."""
        input_name = self.generator.spec.inputs[0].name
        output_name = self.generator.spec.outputs[0].name
        raw = self.generator.run({input_name: latents})[output_name]
        return to_uint8(raw, self.output_range)

    def generate(self, request: ImageRequest, context: JobContext = NO_CONTEXT) -> ImageJob:
        z = self.latents(request)
        started = time.perf_counter()
        pictures = []
        for first in range(0, len(z), CHUNK):
            yield Progress(first / len(z), f"rendering {first}/{len(z)}")
            pictures.append(self.decode(z[first : first + CHUNK]))
        return self.result(request, z, np.concatenate(pictures), time.perf_counter() - started)

    def result(
        self, request: ImageRequest, z: np.ndarray, pictures: np.ndarray, seconds: float
    ) -> ImageResult:
        """Tile the cells' pictures (N, H, W, 3) and attach provenance."""
        rows, cols = self.grid_shape(request)
        choice = self.generator.choice
        # an explicit latent is already in the request
        latent = () if request.latent is not None else tuple(float(v) for v in z[0].ravel())
        provenance = self.provenance(request, self.generator, latent)
        return ImageResult(tile(pictures, rows, cols), z, provenance, seconds, choice.fallback)

    def grid_shape(self, request: ImageRequest) -> tuple[int, int]:
        return request.grid if request.latent is None else (1, 1)


class GanFamily(LatentImageFamily):
    descriptor = FamilyDescriptor(
        "gan",
        "image",
        ("generator",),
        frozenset({Capability.LATENT, Capability.TRUNCATION}),
        controls=(TEMPERATURE,),
        summary="a generator from a latent vector, trained against a critic",
    )
    decoder_network = "generator"
