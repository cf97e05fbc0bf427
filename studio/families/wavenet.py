"""WaveNet family: one note at a time, a block of samples per network call.

The `block` network is Fast WaveNet (Paine et al. 2016) compiled into one call: it takes each
dilated layer's queue of past activations (`history`), the last sample, the conditioning
(pitch, timbre vector, and a source signal: loudness x (sin, cos) of the phase of f0) and one
uniform number per sample, and returns the block's samples with the queues moved on. This
loop only feeds the state back, so Python's per-call overhead is paid once per block (64
samples), not once per sample and layer.

The timbre is a vector: a weighted mix of the instruments' rows of the model's timbre table,
moved along the table's principal directions (the sliders). The loudness curve is the same mix
of the instruments' mean curves (`loudness_table`), shaped to the note's length by
`note_loudness`; a model without a table gets a constant 1 (a plain f0 sinusoid).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from studio.backends.base import Session
from studio.core.audio_request import AudioRequest
from studio.core.descriptor import Control, FamilyDescriptor
from studio.core.errors import ManifestError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.pitch import phase_features
from studio.core.results import AudioProgress, AudioResult
from studio.families.base import NO_CONTEXT, Family, JobContext

AudioJob = Generator[AudioProgress, None, AudioResult]
PREVIEW_EVERY = 16  # blocks between waveform previews (~64 ms of audio)


def release_seconds(curve: np.ndarray, hold_seconds: float, sample_rate: int, block: int) -> float:
    """How long the release part of a loudness curve (one value per block) lasts."""
    return max(0.0, len(curve) * block / sample_rate - hold_seconds)


def note_loudness(
    curve: np.ndarray,
    seconds: float,
    hold_until: float,
    hold_seconds: float,
    sample_rate: int,
    block: int,
) -> np.ndarray:
    """A loudness curve measured over notes held `hold_seconds` and then released (one value
    per block, `curve` (F,)) -> one value per sample of a note `seconds` long whose key is let
    go at `hold_until`: the attack and sustain, held at its last level when the key is held
    longer, then the release scaled to start from that level; zero past the curve's end."""
    per_second = sample_rate / block
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    frames = np.arange(len(curve)) / per_second
    held = np.interp(np.minimum(t, hold_seconds), frames, curve)
    top = float(np.interp(hold_seconds, frames, curve))
    level = float(np.interp(min(hold_until, hold_seconds), frames, curve))
    after = t >= hold_until
    tail = np.interp(hold_seconds + t[after] - hold_until, frames, curve, right=0.0)
    held[after] = level * tail / max(top, 1e-6)
    per_sample: npt.NDArray[np.float32] = held.astype(np.float32)
    return per_sample


def timbre_directions(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal directions of the instruments' timbre vectors: (K, E) unit rows and the
    standard deviation along each, largest first."""
    centred = table - table.mean(0)
    _, singular, rows = np.linalg.svd(centred, full_matrices=False)
    return rows, singular / np.sqrt(max(1, len(table) - 1))


class WaveNetFamily(Family):
    descriptor = FamilyDescriptor(
        "wavenet",
        "audio",
        ("block",),
        conditions=("pitch", "instrument", "timbre"),
        controls=(
            Control("temperature", "Temperature", 0.05, 2.0, 1.0, 0.05,
                    default_key="default_temperature"),
        ),
        summary="an autoregressive network that draws audio one sample at a time",
    )  # fmt: skip

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        self.session = sessions["block"]
        parameters = manifest.parameters
        self.sample_rate = int(parameters["sample_rate"])
        self.block = int(parameters["block"])
        self.silence = float(parameters["silence_class"])
        self.instruments = tuple(str(n) for n in parameters["instruments"])
        self.table = np.asarray(parameters["timbre_table"], np.float32)
        self.directions, self.spread = timbre_directions(self.table)
        self.loudness_table = np.asarray(parameters.get("loudness_table", []), np.float32)
        self.hold_seconds = float(parameters.get("hold_seconds", 0.0))
        history = self.session.spec.inputs[0]  # (batch, layers, queue, channels)
        self.history_shape = tuple(history.size(k) for k in range(1, len(history.shape)))

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        super().check_manifest(manifest)
        path = manifest.folder / MANIFEST_NAME
        parameters = manifest.parameters
        for key in ("sample_rate", "block", "silence_class", "instruments", "timbre_table"):
            if key not in parameters:
                raise ManifestError(path, f"parameters.{key}", "a WaveNet model needs it")
        instruments = len(parameters["instruments"])
        for key in ("timbre_table", "loudness_table"):
            table = parameters.get(key, [[]] * instruments)
            if not isinstance(table, list) or len(table) != instruments:
                raise ManifestError(path, f"parameters.{key}", "needs one row per instrument")
        if "loudness_table" in parameters and "hold_seconds" not in parameters:
            raise ManifestError(path, "parameters.hold_seconds", "a loudness_table needs it")

    def direction_names(self) -> tuple[str, ...]:
        return tuple(f"PC{k + 1}" for k in range(len(self.directions)))

    def mix_weights(self, request: AudioRequest) -> npt.NDArray[np.float64]:
        """(instruments,) weights summing to 1: the request's mix; every instrument alike for
        an explicit timbre vector (it has no mix)."""
        if request.timbre is not None:
            return np.full(len(self.instruments), 1 / len(self.instruments))
        weights = np.zeros(len(self.instruments))
        for name, weight in request.mix or ((self.instruments[0], 1.0),):
            if name in self.instruments:
                weights[self.instruments.index(name)] += weight
        normalised: npt.NDArray[np.float64] = weights / max(weights.sum(), 1e-12)
        return normalised

    def release_at(self, request: AudioRequest) -> float | None:
        """When the note's key is let go: the request's time, or so that the release ends
        with the note; None for a model without loudness curves."""
        if not self.loudness_table.size:
            return None
        if request.release_at is not None:
            return request.release_at
        release = release_seconds(
            self.loudness_table[0], self.hold_seconds, self.sample_rate, self.block
        )
        return max(0.0, request.seconds - release)

    def loudness(self, request: AudioRequest) -> np.ndarray:
        """(samples,) float32: the source amplitude for each sample of the note."""
        total = round(request.seconds * self.sample_rate)
        release_at = self.release_at(request)
        if release_at is None:
            return np.ones(total, np.float32)
        curve = self.mix_weights(request) @ self.loudness_table
        return note_loudness(
            curve, request.seconds, release_at, self.hold_seconds, self.sample_rate, self.block
        )[:total]

    def timbre(self, request: AudioRequest) -> np.ndarray:
        """(E,) float32: the explicit vector, or the mix of instrument rows; plus the direction
        offsets (in standard deviations of the instruments along each direction)."""
        mix = request.mix or ((self.instruments[0], 1.0),)
        vector = np.zeros(self.table.shape[1], np.float64)
        if request.timbre is not None:
            if len(request.timbre) != len(vector):
                raise RequestError(
                    f"{self.manifest.id!r} takes timbre vectors of {len(vector)} values, "
                    f"not {len(request.timbre)}"
                )
            mix = ()
            vector += request.timbre
        for name, weight in mix:
            if name not in self.instruments:
                raise RequestError(
                    f"{self.manifest.id!r} has no instrument {name!r}; it has "
                    + ", ".join(self.instruments)
                )
            vector += weight * self.table[self.instruments.index(name)]
        if mix:
            vector /= sum(weight for _, weight in mix)
        names = self.direction_names()
        for name, value in request.offsets:
            if name not in names:
                raise RequestError(f"{self.manifest.id!r} has no timbre direction {name!r}")
            k = names.index(name)
            vector += value * self.spread[k] * self.directions[k]
        return vector.astype(np.float32)

    def generate(self, request: AudioRequest, context: JobContext = NO_CONTEXT) -> AudioJob:
        started = time.perf_counter()
        total = round(request.seconds * self.sample_rate)
        blocks = -(-total // self.block)
        rng = np.random.default_rng(request.seed)
        pitch = np.array([request.pitch], np.float32)
        feeds = {
            "history": np.zeros((1, *self.history_shape), np.float32),
            "previous": np.array([self.silence], np.float32),
            "pitch": pitch,
            "timbre": self.timbre(request)[None],
            "temperature": np.array([request.temperature], np.float32),
        }
        timbre = tuple(float(v) for v in feeds["timbre"][0])
        provenance = self.provenance(request, self.session, latent=timbre)
        # what was rendered when stopped: shorter, but with the key let go at the same time
        partial_request = replace(request, release_at=self.release_at(request))
        audio = np.zeros(blocks * self.block, np.float32)
        loudness = np.zeros(blocks * self.block, np.float32)
        loudness[:total] = self.loudness(request)
        for b in range(blocks):
            start = b * self.block
            phase = phase_features(pitch, np.array([start]), self.block, self.sample_rate)
            feeds["phase"] = phase * loudness[start : start + self.block, None]
            feeds["uniform"] = rng.random((1, self.block)).astype(np.float32)
            out = self.session.run(feeds)
            audio[start : start + self.block] = out["audio"][0]
            feeds["history"], feeds["previous"] = out["history_out"], out["previous_out"]
            done = b + 1
            if done < blocks and done % PREVIEW_EVERY == 0:
                so_far = done * self.block / self.sample_rate
                partial_request = replace(partial_request, seconds=max(0.05, so_far))
                partial = AudioResult(
                    audio[: done * self.block].copy(),
                    self.sample_rate,
                    replace(provenance, request=partial_request),
                    time.perf_counter() - started,
                )
                yield AudioProgress(
                    done / blocks, f"{so_far:.2f} / {request.seconds:.2f} s", partial
                )
        return AudioResult(
            audio[:total],
            self.sample_rate,
            provenance,
            time.perf_counter() - started,
            self.session.choice.fallback,
        )
