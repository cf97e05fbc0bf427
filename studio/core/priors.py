"""Seeded latent priors and interpolation. Randomness always comes from a seed argument."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from studio.core.errors import RequestError

MAX_SEED = 2**32 - 1
Latent = npt.NDArray[np.float32]


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise RequestError(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    return seed


def sample_prior(
    seed: int, shape: tuple[int, ...], prior: str = "normal", truncation: float | None = None
) -> Latent:
    """float32 array of `shape` drawn from the prior; the same seed gives the same array.

    `truncation` (normal prior only) redraws every value whose magnitude exceeds it, the
    truncation trick of BigGAN (Brock et al., 2019): smaller values give more typical samples.
    """
    rng = np.random.default_rng(check_seed(seed))
    if prior == "uniform":
        return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    if prior != "normal":
        raise RequestError(f"cannot sample from prior {prior!r}")
    values = rng.standard_normal(shape)
    if truncation is not None:
        if truncation <= 0:
            raise RequestError(f"truncation must be positive, got {truncation}")
        outside = np.abs(values) > truncation
        while outside.any():
            values[outside] = rng.standard_normal(int(outside.sum()))
            outside = np.abs(values) > truncation
    return values.astype(np.float32)


def lerp(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating], t: float) -> Latent:
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating], t: float) -> Latent:
    """Spherical interpolation (Shoemake, 1985): keeps Gaussian latents at a typical norm,
    where lerp would pass through the low-norm middle that a generator rarely saw."""
    a_unit = a / np.linalg.norm(a)
    b_unit = b / np.linalg.norm(b)
    omega = np.arccos(np.clip(np.dot(a_unit.ravel(), b_unit.ravel()), -1.0, 1.0))
    if omega < 1e-6:
        return lerp(a, b, t)
    so = np.sin(omega)
    mixed: Latent = (np.sin((1.0 - t) * omega) / so * a + np.sin(t * omega) / so * b).astype(
        np.float32
    )
    return mixed
