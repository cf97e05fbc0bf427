"""What jobs yield and return: progress reports and finished results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.audio_request import AudioRequest
from studio.core.provenance import Provenance
from studio.core.text_request import TextRequest


@dataclass(frozen=True, eq=False)
class ImageResult:
    pixels: np.ndarray  # (H, W, 3) uint8; a grid is tiled row-major
    latents: np.ndarray  # (cells, *latent_shape) float32
    provenance: Provenance
    seconds: float  # wall time of the model runs
    fallback: str | None = None  # why it did not run where asked or expected (e.g. no GPU)

    @property
    def request(self) -> Any:
        """The ImageRequest, or the StyleRequest of a style transfer: the caller knows which
        it asked for (typed as Any until the two results are split: the panels read both)."""
        return self.provenance.request


@dataclass(frozen=True)
class Progress:
    """One step of a long job: also a cancellation point for the engine."""

    fraction: float  # 0..1
    message: str = ""
    preview: np.ndarray | None = None  # (H, W, 3) uint8, when the family has one
    step: int | None = None  # which sampler step the preview shows
    partial: ImageResult | None = None  # the preview as a result, exportable with provenance


@dataclass(frozen=True, eq=False)
class EncodeResult:
    """A picture mapped into a model's latent space, and how well the model explains it."""

    model_id: str
    latent: np.ndarray  # (*latent_shape,) float32
    model_input: np.ndarray  # (H, W, 3) uint8: the picture as the model sees it
    reconstruction: np.ndarray  # (H, W, 3) uint8: the latent decoded again
    psnr: float  # of the reconstruction against the model input, dB
    bits_per_dim: float | None  # None where the family has no normalised likelihood
    likelihood: str  # "exact" (flow), "ELBO bound" (VAE), or what the score is instead
    typicality: str | None = None  # against the model's held-out range, where known
    seconds: float = 0.0


@dataclass(frozen=True, eq=False)
class TextResult:
    """A finished (or stopped) continuation of a prompt."""

    prompt: str
    completion: str  # the new text only
    tokens: int  # new tokens drawn
    provenance: Provenance
    seconds: float  # wall time of generation, priming included
    fallback: str | None = None

    @property
    def text(self) -> str:
        return self.prompt + self.completion

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def request(self) -> TextRequest:
        request = self.provenance.request
        if not isinstance(request, TextRequest):  # made by a text family, or a bug
            raise TypeError(f"a text result holds a {type(request).__name__}")
        return request


@dataclass(frozen=True)
class TextProgress:
    """One token of a text job: also a cancellation point. `partial` is the text so far as
    a result whose request reproduces exactly it (max_tokens = tokens drawn)."""

    fraction: float  # 0..1
    message: str
    partial: TextResult


@dataclass(frozen=True, eq=False)
class AudioResult:
    """A rendered note (or the part of it rendered so far)."""

    audio: np.ndarray  # (samples,) float32 in [-1, 1]
    sample_rate: int
    provenance: Provenance
    seconds: float  # wall time of generation
    fallback: str | None = None

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio made per second of wall time."""
        return self.duration / self.seconds if self.seconds > 0 else 0.0

    @property
    def request(self) -> AudioRequest:
        request = self.provenance.request
        if not isinstance(request, AudioRequest):  # made by an audio family, or a bug
            raise TypeError(f"an audio result holds a {type(request).__name__}")
        return request


@dataclass(frozen=True)
class AudioProgress:
    """One block of samples: also a cancellation point. `partial` holds the audio so far."""

    fraction: float
    message: str
    partial: AudioResult
