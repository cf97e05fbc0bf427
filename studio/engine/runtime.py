"""Loads models for the engine: manifest -> verified files -> sessions -> family instance."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from math import prod
from pathlib import Path

import numpy as np

from studio.backends.select import open_session, resolve_backend
from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest, file_sha256, verify_sha256
from studio.core.note_sets import note_set
from studio.core.requests import ImageRequest
from studio.core.results import AudioProgress
from studio.core.style_request import StyleRequest
from studio.core.text_request import TextRequest
from studio.engine.cache import ByteBoundedCache
from studio.families.adain import AdainFamily, fast_stylize
from studio.families.base import EncodeJob, Family, ImageFamily, ImageJob
from studio.families.gpt import GptFamily, TextJob
from studio.families.registry import family_for
from studio.families.style_features import StyleFeaturesFamily, stylize
from studio.families.wavenet import AudioJob, WaveNetFamily, timbre_directions
from studio.latent.directions import Directions
from studio.media.audio import write_audio
from studio.media.image import fit_long_side, fit_square, read_image

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    """What a panel needs to build its controls, read without loading any network."""

    manifest: Manifest
    direction_names: tuple[str, ...]
    explained_variance: tuple[float, ...]
    has_truncation: bool  # a normal prior can be truncated
    can_encode: bool  # the family maps pictures into its latent space (or completes them)
    encode_label: str  # the button's words for that
    input_size: int | None  # side of the square picture the encoder takes


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
                for name in family_cls.networks
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
        if manifest.directions_file is not None and manifest.latent_shape is not None:
            directions = Directions.load(manifest.directions_file, prod(manifest.latent_shape))
            names = directions.names
            variance = tuple(float(v) for v in directions.explained_variance)
        family = family_for(manifest)
        size = manifest.input_shape[-1] if manifest.input_shape else None
        return ModelInfo(
            manifest,
            names,
            variance,
            manifest.prior == "normal",
            family.can_encode,
            family.encode_label,
            size,
        )

    def default_request(self, model_id: str, **settings: object) -> ImageRequest:
        """A request at the model's own defaults (e.g. the temperature it samples best at)."""
        parameters = self.catalog.get(model_id).parameters
        defaults: dict[str, object] = {}
        if "default_temperature" in parameters:
            defaults["temperature"] = float(parameters["default_temperature"])
        if "default_eta" in parameters:
            defaults["eta"] = float(parameters["default_eta"])
        return ImageRequest(model_id, **{**defaults, **settings})  # type: ignore[arg-type]

    def image_family(
        self, model_id: str, backend: str = "auto", device: str = "auto"
    ) -> ImageFamily:
        family = self.family(model_id, backend, device)
        if not isinstance(family, ImageFamily):
            raise RequestError(f"model {model_id!r} makes {family.modality}, not pictures")
        return family

    def image_job(self, request: ImageRequest) -> ImageJob:
        """The engine job for `request`: loading happens on the worker thread too."""
        family = self.image_family(request.model_id, request.backend, request.device)
        return (yield from family.generate(request))

    def default_text_request(self, model_id: str, **settings: object) -> TextRequest:
        """A text request at the model's own defaults (temperature, top-p, prompt)."""
        parameters = self.catalog.get(model_id).parameters
        defaults: dict[str, object] = {}
        for key, cast in (("temperature", float), ("top_p", float), ("top_k", int)):
            if f"default_{key}" in parameters:
                defaults[key] = cast(parameters[f"default_{key}"])
        if "default_prompt" in parameters:
            defaults["prompt"] = str(parameters["default_prompt"])
        return TextRequest(model_id, **{**defaults, **settings})  # type: ignore[arg-type]

    def audio_job(self, request: AudioRequest) -> AudioJob:
        """The engine job that renders a note, a block of samples per step."""
        family = self.family(request.model_id, request.backend, request.device)
        if not isinstance(family, WaveNetFamily):
            raise RequestError(f"model {request.model_id!r} makes {family.modality}, not audio")
        return (yield from family.generate(request))

    def note_set_job(
        self, base: AudioRequest, kind: str, folder: Path, suffix: str = ".flac"
    ) -> Generator[AudioProgress, None, list[Path]]:
        """Render a scale, a chord's notes or every instrument into `folder`, one file per
        note with its settings (a chord also as one mixed file). Never overwrites."""
        family = self.family(base.model_id, base.backend, base.device)
        if not isinstance(family, WaveNetFamily):
            raise RequestError(f"model {base.model_id!r} makes {family.modality}, not audio")
        notes = note_set(base, kind, family.instruments)
        written, mixed = [], []
        for index, (stem, request) in enumerate(notes):
            job = family.generate(request)
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
        if kind == "chord":
            chord = np.sum(mixed, axis=0)
            chord *= min(1.0, 0.95 / max(1e-6, float(np.abs(chord).max())))  # no clipping
            path = folder / f"chord{suffix}"
            write_audio(path, chord, family.sample_rate)  # no single request made it
            written.append(path)
        return written

    def style_job(self, request: StyleRequest) -> ImageJob:
        """Load and check every picture, then run the style method: optimisation (torch, the
        feature network's gradients) or fast (AdaIN decoder over the features, any backend)."""
        pictures = []
        roles = [("content", request.content, request.content_sha256)]
        roles += [("style", path, sha) for path, sha, _ in request.styles()]
        for role, path, sha in roles:
            if not Path(path).is_file():
                raise MediaError(f"the {role} picture {path} is missing")
            if sha and file_sha256(Path(path)) != sha:
                raise MediaError(f"the {role} picture {path} changed since the settings were made")
            pixels, _ = read_image(Path(path))
            if min(pixels.shape[:2]) < 16:
                raise MediaError(f"the {role} picture {Path(path).name} is too small (under 16 px)")
            pictures.append(fit_long_side(pixels, request.size))
        content, styles = pictures[0], pictures[1:]
        if request.method == "fast":
            decoder = self.family(request.model_id, request.backend, request.device)
            if not isinstance(decoder, AdainFamily):
                raise RequestError(f"model {request.model_id!r} is not an AdaIN decoder")
            encoder = self.family(decoder.encoder_model, request.backend, request.device)
            if not isinstance(encoder, StyleFeaturesFamily):
                raise RequestError(f"model {decoder.encoder_model!r} is not a feature network")
            return (yield from fast_stylize(encoder, decoder, request, content, styles))
        family = self.family(request.model_id, "torch", request.device)
        if not isinstance(family, StyleFeaturesFamily):
            raise RequestError(f"model {request.model_id!r} is not a style feature network")
        if len(styles) > 1:
            raise RequestError("blending styles works with the fast method only, for now")
        return (yield from stylize(family, request, content, styles[0], self.settings.threads))

    def text_job(self, request: TextRequest) -> TextJob:
        """The engine job that streams a continuation of `request.prompt`."""
        family = self.family(request.model_id, request.backend, request.device)
        if not isinstance(family, GptFamily):
            raise RequestError(f"model {request.model_id!r} makes {family.modality}, not text")
        return (yield from family.generate(request))


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
    if not family.can_encode:
        raise RequestError(f"model {model_id!r} ({family.name}) cannot encode pictures")
    return (yield from family.encode(fit_square(pixels, family.input_size)))


def available_gpu_backends() -> list[str]:
    """GPU execution paths this installation offers, e.g. ['onnx: CUDAExecutionProvider']."""
    from studio.backends.select import gpu_devices

    return gpu_devices()
