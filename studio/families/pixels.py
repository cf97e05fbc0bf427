"""Network output tensors -> displayable uint8 pictures."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def to_uint8(
    batch: npt.NDArray[np.floating], value_range: tuple[float, float]
) -> npt.NDArray[np.uint8]:
    """(N, C, H, W) float in value_range -> (N, H, W, 3) uint8; grey is repeated to RGB.
    Values outside the range are clipped; NaN shows as the range's low end."""
    low, high = value_range
    # an unstable inverse (a flow far outside its data) can overflow: show it, don't crash
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (np.asarray(batch, np.float32) - low) * (255.0 / (high - low))
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    images: npt.NDArray[np.uint8] = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    images = images.transpose(0, 2, 3, 1)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def tile(images: npt.NDArray[np.uint8], rows: int, cols: int) -> npt.NDArray[np.uint8]:
    """(rows*cols, H, W, C) -> (rows*H, cols*W, C), row-major."""
    n, h, w, c = images.shape
    if n != rows * cols:
        raise ValueError(f"{n} images do not fill a {rows}x{cols} grid")
    return (
        images.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)
    )
