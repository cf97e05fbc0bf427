"""Keeping the photo's colours in style transfer, the two ways of Gatys et al. 2017
("Controlling perceptual factors", section 5): transfer the luminance only (`keep_colours`,
after stylising), or recolour the style picture to the photo's mean and covariance first
(`match_colours`): the result keeps the photo's palette but the style's texture."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _sqrt_and_inverse_sqrt(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric square root and its inverse of a 3x3 covariance (eigenvalues floored)."""
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 1e-6)
    root = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    inverse = vectors @ np.diag(1 / np.sqrt(values)) @ vectors.T
    return root, inverse


def match_colours(
    style: npt.NDArray[np.uint8], content: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """style (h, w, 3), content (H, W, 3) uint8 -> style (h, w, 3) uint8 recoloured by the
    affine map x -> C_c^1/2 C_s^-1/2 (x - mu_s) + mu_c (the image-analogies variant)."""
    s = style.reshape(-1, 3).astype(np.float64)
    c = content.reshape(-1, 3).astype(np.float64)
    mean_s, mean_c = s.mean(0), c.mean(0)
    root_c, _ = _sqrt_and_inverse_sqrt(np.cov(c, rowvar=False))
    _, inverse_root_s = _sqrt_and_inverse_sqrt(np.cov(s, rowvar=False))
    mapped = (s - mean_s) @ (root_c @ inverse_root_s).T + mean_c
    matched: npt.NDArray[np.uint8] = np.clip(mapped, 0, 255).round().astype(np.uint8)
    return matched.reshape(style.shape)


def keep_colours(
    result: npt.NDArray[np.floating], content: npt.NDArray[np.floating]
) -> npt.NDArray[np.float32]:
    """Luminance-only transfer (Gatys et al. 2017): the result's Y, the content's Cb and Cr
    (BT.601). Both (H, W, 3) float in [0, 1] -> (H, W, 3) float32 in [0, 1]."""
    to_ycc = np.array(
        [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
    )
    mixed = content @ to_ycc.T
    mixed[..., 0] = (result @ to_ycc.T)[..., 0]
    kept: npt.NDArray[np.float32] = np.clip(mixed @ np.linalg.inv(to_ycc).T, 0.0, 1.0).astype(
        np.float32
    )
    return kept
