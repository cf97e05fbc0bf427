"""PixelCNN family: draws a picture pixel by pixel in raster order, each pixel a categorical
draw over the model's palette (with temperature). A request's `latent` may hold the palette
indices of known pixels (-1 for pixels to draw): the model then completes the picture."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from studio.backends.base import Session
from studio.core.descriptor import Capability, FamilyDescriptor
from studio.core.errors import ManifestError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.priors import MAX_SEED
from studio.core.requests import ImageRequest
from studio.core.results import EncodeResult, ImageResult, Progress
from studio.families.base import NO_CONTEXT, EncodeJob, ImageFamily, ImageJob, JobContext
from studio.families.controls import SAMPLING_TEMPERATURE
from studio.families.encoding import psnr
from studio.families.pixels import tile


class PixelCnnFamily(ImageFamily):
    descriptor = FamilyDescriptor(
        "pixelcnn",
        "image",
        ("pixelcnn",),
        frozenset({Capability.COMPLETE, Capability.LIKELIHOOD, Capability.STEP_PREVIEWS}),
        controls=(SAMPLING_TEMPERATURE,),
        encode_label="Complete picture…",
        summary="draws a picture pixel by pixel, each conditioned on those above and left",
    )

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        self.session = sessions["pixelcnn"]
        self.palette = np.asarray(manifest.parameters["palette"], np.uint8)  # (K, 3)
        self.size = self.session.spec.inputs[0].size(-1)

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        super().check_manifest(manifest)
        palette = manifest.parameters.get("palette")
        if not isinstance(palette, list) or not all(
            isinstance(c, list) and len(c) == 3 for c in palette
        ):
            raise ManifestError(
                manifest.folder / MANIFEST_NAME,
                "parameters.palette",
                "a PixelCNN needs its palette as a list of [r, g, b]",
            )

    def onehot(self, indices: npt.NDArray[np.integer]) -> npt.NDArray[np.float32]:
        """(B, S, S) int -> (B, K, S, S) float32; unknown (-1) pixels are all-zero."""
        k = len(self.palette)
        onehot: npt.NDArray[np.float32] = (
            indices[:, None] == np.arange(k)[None, :, None, None]
        ).astype(np.float32)
        return onehot

    def known_pixels(self, request: ImageRequest) -> np.ndarray:
        """(S, S) int: palette indices to keep, -1 where the model draws."""
        if request.latent is None:
            return np.full((self.size, self.size), -1, np.int64)
        if len(request.latent) != self.size * self.size:
            raise RequestError(
                f"a completion for {self.manifest.id!r} needs "
                f"{self.size * self.size} pixel indices, got {len(request.latent)}"
            )
        known = np.asarray(request.latent, np.float64).round().astype(np.int64)
        if known.max() >= len(self.palette) or known.min() < -1:
            raise RequestError("completion pixels must be palette indices or -1")
        return known.reshape(self.size, self.size)

    def generate(self, request: ImageRequest, context: JobContext = NO_CONTEXT) -> ImageJob:
        rows, cols = request.grid if request.latent is None else (1, 1)
        cells = rows * cols
        known = self.known_pixels(request)
        canvas = np.repeat(known[None], cells, axis=0)  # (B, S, S)
        rngs = [np.random.default_rng((request.seed + k) % (MAX_SEED + 1)) for k in range(cells)]
        started = time.perf_counter()
        todo = int((known < 0).sum())
        drawn = 0
        for i in range(self.size):
            for j in range(self.size):
                if known[i, j] >= 0:
                    continue
                logits = self.row_logits(canvas, i)[:, :, j]
                probs = softmax(logits / request.temperature)  # (B, K)
                for k in range(cells):
                    canvas[k, i, j] = rngs[k].choice(len(self.palette), p=probs[k])
                drawn += 1
                row_done = j == self.size - 1
                preview = self.pixels(canvas, rows, cols) if row_done else None
                yield Progress(
                    drawn / max(todo, 1),
                    f"pixel {drawn}/{todo}",
                    preview,
                    i + 1 if row_done else None,
                )
        return self.result(request, canvas, rows, cols, time.perf_counter() - started)

    def row_logits(self, canvas: np.ndarray, row: int) -> np.ndarray:
        """Logits (B, K, S) of one row. The whole picture goes through the network for each
        pixel (the exported graph has a fixed height); causality makes later pixels moot."""
        name_in, name_out = self.session.spec.inputs[0].name, self.session.spec.outputs[0].name
        return self.session.run({name_in: self.onehot(canvas)})[name_out][:, :, row]

    def pixels(self, canvas: np.ndarray, rows: int, cols: int) -> np.ndarray:
        """(B, S, S) indices (-1 undrawn, shown white) -> tiled (H, W, 3) uint8."""
        colours = self.palette[np.where(canvas < 0, 0, canvas)]  # palette[0] is white
        return tile(colours, rows, cols)

    def result(
        self, request: ImageRequest, canvas: np.ndarray, rows: int, cols: int, seconds: float
    ) -> ImageResult:
        provenance = self.provenance(request, self.session)
        latents = canvas.reshape(len(canvas), -1).astype(np.float32)
        return ImageResult(
            self.pixels(canvas, rows, cols),
            latents,
            provenance,
            seconds,
            self.session.choice.fallback,
        )

    def indices(self, pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
        """(S, S, 3) uint8 -> (S, S) nearest palette indices."""
        flat = pixels.reshape(-1, 1, 3).astype(np.int32)
        distance = ((flat - self.palette[None].astype(np.int32)) ** 2).sum(-1)  # (S*S, K)
        nearest: npt.NDArray[np.intp] = distance.argmin(1)
        return nearest.reshape(pixels.shape[:2])

    def encode(self, pixels: np.ndarray) -> EncodeJob:
        """Keep the upper half of a picture (in the palette), erase the rest for completion;
        also the exact likelihood of the whole quantised picture in bits per pixel."""
        started = time.perf_counter()
        yield Progress(0.0, "quantising")
        indices = self.indices(pixels)
        logits = self.session.run({self.session.spec.inputs[0].name: self.onehot(indices[None])})
        log_probs = log_softmax(logits[self.session.spec.outputs[0].name][0], axis=0)  # (K,S,S)
        picked = np.take_along_axis(log_probs, indices[None], axis=0)
        bits_per_pixel = float(-picked.mean() / math.log(2))
        kept = indices.copy()
        kept[self.size // 2 :] = -1
        quantised = self.pixels(indices[None], 1, 1)
        return EncodeResult(
            model_id=self.manifest.id,
            latent=kept.ravel().astype(np.float32),
            model_input=pixels,
            reconstruction=quantised,  # the picture in the model's palette
            psnr=psnr(pixels, quantised),
            bits_per_dim=bits_per_pixel / 3,  # three colour channels per pixel
            likelihood="exact, of the palette-quantised picture; lower half erased to complete",
            typicality=None,
            seconds=time.perf_counter() - started,
        )


def softmax(x: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    probabilities: npt.NDArray[np.floating] = e / e.sum(axis=-1, keepdims=True)
    return probabilities


def log_softmax(x: npt.NDArray[np.floating], axis: int) -> npt.NDArray[np.floating]:
    shifted = x - x.max(axis=axis, keepdims=True)
    log_probabilities: npt.NDArray[np.floating] = shifted - np.log(
        np.exp(shifted).sum(axis=axis, keepdims=True)
    )
    return log_probabilities
