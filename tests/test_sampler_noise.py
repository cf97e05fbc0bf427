"""The samplers' own noise per batch row: with one generator per row, a row's result is the
one it would have alone, so a diffusion grid's cell k is the picture of seed + k at any eta."""

from __future__ import annotations

import numpy as np
import pytest

from studio.families.samplers.ddim import ddim_sample
from studio.families.samplers.ddpm import ddpm_sample
from studio.families.samplers.schedule import (
    NoiseSource,
    alphas_cumprod,
    linear_betas,
    standard_noise,
)

BETAS = linear_betas(50, 1e-3, 0.2)  # a short schedule keeps DDPM's every-step walk quick


def toy_eps(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The exact noise predictor for data ~ N(0.3, 0.2²) per pixel."""
    abar = alphas_cumprod(BETAS)[t.astype(int)].reshape(-1, *([1] * (x.ndim - 1)))
    return (x - np.sqrt(abar) * 0.3) * np.sqrt(1 - abar) / (abar * 0.04 + 1 - abar)


def drain(job) -> np.ndarray:
    while True:
        try:
            next(job)
        except StopIteration as done:
            return done.value


def sample(sampler: str, x_T: np.ndarray, noise: NoiseSource) -> np.ndarray:
    if sampler == "ddpm":
        return drain(ddpm_sample(toy_eps, x_T, BETAS, noise))
    return drain(ddim_sample(toy_eps, x_T, BETAS, 10, 1.0 if sampler == "ddim" else 0.4, noise))


def generators(seeds: list[int]) -> list[np.random.Generator]:
    return [np.random.default_rng([s, 1]) for s in seeds]


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "ddim-eta-0.4"])
def test_each_row_of_a_batch_is_its_own_sample(sampler: str) -> None:
    x_T = np.random.default_rng(0).standard_normal((3, 1, 2, 2)).astype(np.float32)
    batch = sample(sampler, x_T, generators([5, 6, 7]))
    for k, seed in enumerate([5, 6, 7]):
        alone = sample(sampler, x_T[k : k + 1], generators([seed]))
        np.testing.assert_array_equal(batch[k : k + 1], alone)
    assert not np.array_equal(batch[0], batch[1])


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_one_generator_per_row_keeps_a_single_picture_as_it_was(sampler: str) -> None:
    # a single picture drew from one generator for the whole (1, ...) batch: same numbers
    x_T = np.random.default_rng(1).standard_normal((1, 1, 2, 2)).astype(np.float32)
    one = sample(sampler, x_T, np.random.default_rng([3, 1]))
    np.testing.assert_array_equal(sample(sampler, x_T, generators([3])), one)


def test_standard_noise_needs_one_generator_per_row() -> None:
    assert standard_noise(generators([1, 2]), (2, 3)).shape == (2, 3)
    with pytest.raises(ValueError, match="2 noise generators for a batch of 3"):
        standard_noise(generators([1, 2]), (3, 3))
