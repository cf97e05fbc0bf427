"""WaveNet family: one note at a time, a block of samples per network call.

The `block` network is Fast WaveNet (Paine et al. 2016) compiled into one call: it takes each
dilated layer's queue of past activations (`history`), the last sample, the conditioning
(pitch, timbre vector, phase of f0) and one uniform number per sample, and returns the block's
samples with the queues moved on. This loop only feeds the state back, so Python's per-call
overhead is paid once per block (64 samples), not once per sample and layer.

The timbre is a vector: a weighted mix of the instruments' rows of the model's timbre table,
moved along the table's principal directions (the sliders).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import replace

import numpy as np

from studio.backends.base import Session
from studio.core.audio_request import AudioRequest
from studio.core.errors import ManifestError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.pitch import phase_features
from studio.core.results import AudioProgress, AudioResult
from studio.families.base import Family

AudioJob = Generator[AudioProgress, None, AudioResult]
PREVIEW_EVERY = 16  # blocks between waveform previews (~64 ms of audio)


def timbre_directions(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal directions of the instruments' timbre vectors: (K, E) unit rows and the
    standard deviation along each, largest first."""
    centred = table - table.mean(0)
    _, singular, rows = np.linalg.svd(centred, full_matrices=False)
    return rows, singular / np.sqrt(max(1, len(table) - 1))


class WaveNetFamily(Family):
    name = "wavenet"
    modality = "audio"
    networks = ("block",)

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
        history = self.session.spec.inputs[0].shape  # (batch, layers, queue, channels)
        self.history_shape = tuple(int(d) for d in history[1:])  # type: ignore[arg-type]

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        super().check_manifest(manifest)
        path = manifest.folder / MANIFEST_NAME
        parameters = manifest.parameters
        for key in ("sample_rate", "block", "silence_class", "instruments", "timbre_table"):
            if key not in parameters:
                raise ManifestError(path, f"parameters.{key}", "a WaveNet model needs it")
        table = parameters["timbre_table"]
        if not isinstance(table, list) or len(table) != len(parameters["instruments"]):
            raise ManifestError(path, "parameters.timbre_table", "needs one row per instrument")

    def direction_names(self) -> tuple[str, ...]:
        return tuple(f"PC{k + 1}" for k in range(len(self.directions)))

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

    def generate(self, request: AudioRequest) -> AudioJob:
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
        audio = np.zeros(blocks * self.block, np.float32)
        for b in range(blocks):
            start = b * self.block
            feeds["phase"] = phase_features(pitch, np.array([start]), self.block, self.sample_rate)
            feeds["uniform"] = rng.random((1, self.block)).astype(np.float32)
            out = self.session.run(feeds)
            audio[start : start + self.block] = out["audio"][0]
            feeds["history"], feeds["previous"] = out["history_out"], out["previous_out"]
            done = b + 1
            if done < blocks and done % PREVIEW_EVERY == 0:
                so_far = done * self.block / self.sample_rate
                partial = AudioResult(
                    audio[: done * self.block].copy(),
                    self.sample_rate,
                    replace(provenance, request=replace(request, seconds=max(0.05, so_far))),
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
