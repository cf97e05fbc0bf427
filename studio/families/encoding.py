"""Shared maths of families that encode pictures: pixels <-> network ranges, PSNR, bits/dim."""

from __future__ import annotations

import math

import numpy as np

from studio.core.errors import RequestError
from studio.core.manifest import Manifest


def model_input(pixels: np.ndarray, manifest: Manifest) -> np.ndarray:
    """(S, S, 3) uint8 -> (1, 3, S, S) float32 in the encoder's input range, at bin centres."""
    shape = manifest.input_shape
    if shape is None or manifest.input_range is None:
        raise RequestError(f"model {manifest.id!r} declares no io.input")
    if pixels.shape != (shape[1], shape[2], 3):
        raise RequestError(
            f"model {manifest.id!r} encodes {shape[2]}x{shape[1]} pictures, "
            f"got {pixels.shape[1]}x{pixels.shape[0]}"
        )
    low, high = manifest.input_range
    unit = (pixels.astype(np.float32) + 0.5) / 256.0  # bin centres in (0, 1)
    return (low + unit * (high - low)).transpose(2, 0, 1)[None]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 pictures, dB (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def bits_per_dim(neg_log_density: float, dims: int, value_range: tuple[float, float]) -> float:
    """Discrete bits/dim of an 8-bit picture from a continuous density over value_range:
    each of the 256 bins has width (high - low) / 256."""
    bin_width = (value_range[1] - value_range[0]) / 256.0
    return (neg_log_density / dims - math.log(bin_width)) / math.log(2.0)


def typicality(bpd: float, typical: list[float] | None) -> str | None:
    """Against the held-out [5th, 50th, 95th] percentiles of bits/dim, when the model has them."""
    if not typical or len(typical) != 3:
        return None
    low, median, high = typical
    if bpd > high:
        return f"atypical: {bpd:.2f} bits/dim is above 95% of held-out pictures ({high:.2f})"
    if bpd < low:
        return f"unusually simple: {bpd:.2f} bits/dim is below 95% of held-out pictures ({low:.2f})"
    return f"typical: {bpd:.2f} bits/dim (held-out median {median:.2f})"
