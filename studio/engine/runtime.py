"""Loads models for the engine: manifest -> verified files -> sessions -> family instance."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path

import numpy as np

from studio.backends.select import open_session, resolve_backend
from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.descriptor import Capability, FamilyDescriptor
from studio.core.errors import MediaError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest, file_sha256, verify_sha256
from studio.core.modalities import MODALITIES, Request, modality_of
from studio.core.note_sets import note_set
from studio.core.requests import ImageRequest, PictureRef
from studio.core.results import AudioProgress
from studio.core.style_request import StyleRequest
from studio.core.text_request import TextRequest
from studio.engine.cache import ByteBoundedCache
from studio.families.base import EncodeJob, Family, ImageFamily, ImageJob, Job, JobContext
from studio.families.gpt import TextJob
from studio.families.registry import family_for
from studio.families.wavenet import AudioJob, timbre_directions
from studio.latent.directions import Directions
from studio.media.audio import write_audio
from studio.media.image import fit_long_side, fit_square, read_image

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    """What a panel needs to build its controls, read without loading any network."""

    manifest: Manifest
    descriptor: FamilyDescriptor
    direction_names: tuple[str, ...]
    explained_variance: tuple[float, ...]
    input_size: int | None  # side of the square picture the encoder takes

    @property
    def has_truncation(self) -> bool:
        """A normal prior can be truncated toward its mode."""
        return self.descriptor.can(Capability.TRUNCATION) and self.manifest.prior == "normal"

    @property
    def can_encode(self) -> bool:
        """Maps a picture into the latent space, or completes one."""
        return self.descriptor.can(Capability.ENCODE) or self.descriptor.can(Capability.COMPLETE)

    @property
    def encode_label(self) -> str:
        return self.descriptor.encode_label

    def default(self, control: str) -> float | int | None:
        """This model's default for a control, or None when the family has no such control."""
        found = self.descriptor.control(control)
        return None if found is None else found.default_for(self.manifest.parameters)


@dataclass(frozen=True)
class DeviceSettings:
    """The user's compute override (Settings dialog / CLI flags)."""

    device: str = "auto"  # "auto" | "cpu" | "gpu"
    threads: int | None = None  # intra-op threads; None = backend default


class ModelRuntime:
    def __init__(self, catalog: Catalog, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.catalog = catalog
        self.settings = DeviceSettings()
        self._cache: ByteBoundedCache[Family] = ByteBoundedCache(cache_bytes)
        self._verified: set[tuple[str, str]] = set()

    def family(self, model_id: str, backend: str = "auto", device: str = "auto") -> Family:
        """The loaded family for a model; cached by everything that changes its output."""
        manifest = self.catalog.get(model_id)
        family_cls = family_for(manifest)
        backend = resolve_backend(manifest, backend)
        device = self.settings.device if device == "auto" else device
        hashes = tuple(
            sorted(
                (name, (spec.onnx if backend == "onnx" else spec.safetensors).sha256)  # type: ignore[union-attr]
                for name, spec in manifest.networks.items()
            )
        )
        key = (manifest.id, str(manifest.folder), hashes, backend, device, self.settings.threads)

        def load() -> Family:
            self._verify(manifest, backend)
            sessions = {
                name: open_session(manifest, name, backend, device, self.settings.threads)
                for name in family_cls.descriptor.networks
            }
            return family_cls(manifest, sessions)

        return self._cache.get_or_create(
            key, load, lambda fam: sum(s.nbytes for s in fam.sessions.values())
        )

    def _verify(self, manifest: Manifest, backend: str) -> None:
        fmt = "onnx" if backend == "onnx" else "safetensors"
        for name, spec in manifest.networks.items():
            weights = getattr(spec, fmt)
            if weights is not None and (str(weights.path), weights.sha256) not in self._verified:
                verify_sha256(weights, manifest.folder / MANIFEST_NAME, f"networks.{name}.{fmt}")
                self._verified.add((str(weights.path), weights.sha256))

    def describe(self, model_id: str) -> ModelInfo:
        """Controls for a model; raises StudioError for a model the app cannot run."""
        manifest = self.catalog.get(model_id)
        names: tuple[str, ...] = ()
        variance: tuple[float, ...] = ()
        family = family_for(manifest)
        size = family.direction_size(manifest)
        if manifest.directions_file is not None and size is not None:
            directions = Directions.load(manifest.directions_file, size)
            names = directions.names
            variance = tuple(float(v) for v in directions.explained_variance)
        descriptor = family.descriptor
        size = manifest.input_shape[-1] if manifest.input_shape else None
        return ModelInfo(manifest, descriptor, names, variance, size)

    def descriptor(self, model_id: str) -> FamilyDescriptor:
        return family_for(self.catalog.get(model_id)).descriptor

    def request_at_defaults(self, model_id: str, **settings: object) -> Request:
        """A request of the model's modality at the model's own defaults (e.g. the
        temperature it samples best at); `settings` override them."""
        manifest = self.catalog.get(model_id)
        descriptor = family_for(manifest).descriptor
        request_type = MODALITIES[descriptor.modality].request_type
        defaults: dict[str, object] = dict(descriptor.defaults(manifest.parameters))
        if "default_prompt" in manifest.parameters:
            defaults["prompt"] = str(manifest.parameters["default_prompt"])
        fields = {f.name for f in dataclass_fields(request_type)}
        defaults = {k: v for k, v in defaults.items() if k in fields}
        try:
            return request_type(model_id=model_id, **{**defaults, **settings})  # type: ignore[no-any-return]
        except TypeError as exc:  # a style request needs its pictures
            raise RequestError(
                f"a {descriptor.modality} request needs more than defaults ({exc})"
            ) from exc

    def job(self, request: Request) -> Job:
        """The engine job for any request: the model of the request's modality, its companion
        models and the pictures the request names are all loaded on the worker thread too."""
        manifest = self.catalog.get(request.model_id)
        descriptor = family_for(manifest).descriptor
        wanted = modality_of(request).name
        if descriptor.modality != wanted:
            raise RequestError(
                f"model {request.model_id!r} makes {descriptor.modality}, not {wanted}"
            )
        backend = request.backend
        if backend == "auto" and descriptor.requires_backend is not None:
            backend = descriptor.requires_backend
        family = self.family(request.model_id, backend, request.device)
        companions = {
            role: self.family(model_id, request.backend, request.device)
            for role, model_id in family.companions(manifest).items()
        }
        context = JobContext(read_pictures(request.pictures()), companions)
        return (yield from family.generate(request, context))

    def image_family(
        self, model_id: str, backend: str = "auto", device: str = "auto"
    ) -> ImageFamily:
        family = self.family(model_id, backend, device)
        if not isinstance(family, ImageFamily):  # a typed view for encode_job
            raise RequestError(
                f"model {model_id!r} makes {family.descriptor.modality}, not pictures"
            )
        return family

    # Typed views of `job` for callers that know their modality.
    def image_job(self, request: ImageRequest) -> ImageJob:
        return self.job(request)

    def text_job(self, request: TextRequest) -> TextJob:
        return self.job(request)

    def audio_job(self, request: AudioRequest) -> AudioJob:
        return self.job(request)

    def style_job(self, request: StyleRequest) -> ImageJob:
        return self.job(request)

    def default_request(self, model_id: str, **settings: object) -> ImageRequest:
        request = self.request_at_defaults(model_id, **settings)
        if not isinstance(request, ImageRequest):
            raise RequestError(f"model {model_id!r} does not make pictures")
        return request

    def default_text_request(self, model_id: str, **settings: object) -> TextRequest:
        request = self.request_at_defaults(model_id, **settings)
        if not isinstance(request, TextRequest):
            raise RequestError(f"model {model_id!r} does not make text")
        return request

    def note_set_job(
        self, base: AudioRequest, kind: str, folder: Path, suffix: str = ".flac"
    ) -> Generator[AudioProgress, None, list[Path]]:
        """Render a scale, a chord's notes or every instrument into `folder`, one file per
        note with its settings (a chord also as one mixed file). Never overwrites."""
        controls = audio_controls(self.catalog.get(base.model_id))
        notes = note_set(base, kind, controls.instruments)
        written, mixed, rate = [], [], 0
        for index, (stem, request) in enumerate(notes):
            job = self.audio_job(request)
            while True:
                try:
                    progress = next(job)
                except StopIteration as done:
                    result = done.value
                    break
                yield replace(progress, fraction=(index + progress.fraction) / len(notes))
            path = folder / f"{stem}{suffix}"
            write_audio(path, result.audio, result.sample_rate, result.provenance)
            written.append(path)
            mixed.append(result.audio)
            rate = result.sample_rate
        if kind == "chord":
            chord = np.sum(mixed, axis=0)
            chord *= min(1.0, 0.95 / max(1e-6, float(np.abs(chord).max())))  # no clipping
            path = folder / f"chord{suffix}"
            write_audio(path, chord, rate)  # no single request made it
            written.append(path)
        return written


def read_pictures(refs: Sequence[PictureRef]) -> dict[str, tuple[np.ndarray, ...]]:
    """Read every picture a request names: present, unchanged since its sha256 was taken, at
    least 16 px, fitted to its long side. role -> pictures (H, W, 3) uint8, in order."""
    pictures: dict[str, list[np.ndarray]] = {}
    for ref in refs:
        path = Path(ref.path)
        if not path.is_file():
            raise MediaError(f"the {ref.role} picture {path} is missing")
        if ref.sha256 and file_sha256(path) != ref.sha256:
            raise MediaError(f"the {ref.role} picture {path} changed since the settings were made")
        pixels, _ = read_image(path)
        if min(pixels.shape[:2]) < 16:
            raise MediaError(f"the {ref.role} picture {path.name} is too small (under 16 px)")
        pictures.setdefault(ref.role, []).append(fit_long_side(pixels, ref.long_side))
    return {role: tuple(arrays) for role, arrays in pictures.items()}


@dataclass(frozen=True)
class AudioControls:
    """What the Audio panel offers for a model, read from its manifest (nothing loaded)."""

    instruments: tuple[str, ...]
    direction_names: tuple[str, ...]  # principal directions of the timbre table
    pitch_range: tuple[int, int]
    default_temperature: float


def audio_controls(manifest: Manifest) -> AudioControls:
    family_for(manifest)  # raises ManifestError for a model the app cannot run
    parameters = manifest.parameters
    table = np.asarray(parameters["timbre_table"], np.float32)
    directions, _ = timbre_directions(table)
    low, high = parameters.get("pitch_range", [0, 127])
    return AudioControls(
        tuple(str(n) for n in parameters["instruments"]),
        tuple(f"PC{k + 1}" for k in range(len(directions))),
        (int(low), int(high)),
        float(parameters.get("default_temperature", 1.0)),
    )


def encode_job(
    runtime: ModelRuntime, model_id: str, pixels: np.ndarray, backend: str = "auto"
) -> EncodeJob:
    """Fit any picture (H, W, 3) uint8 to the model's input and encode it."""
    family = runtime.image_family(model_id, backend)
    d = family.descriptor
    if not (d.can(Capability.ENCODE) or d.can(Capability.COMPLETE)):
        raise RequestError(f"model {model_id!r} ({d.name}) cannot encode pictures")
    return (yield from family.encode(fit_square(pixels, family.input_size)))


def available_gpu_backends() -> list[str]:
    """GPU execution paths this installation offers, e.g. ['onnx: CUDAExecutionProvider']."""
    from studio.backends.select import gpu_devices

    return gpu_devices()
