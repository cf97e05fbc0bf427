"""Diffusion: samplers against their equations on an analytic toy model, and the family on a
tiny real UNet (determinism, previews, cancel at the next step)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.engine.scheduler import Engine, Ticket
from studio.families.samplers.ddim import ddim_sample, ddim_timesteps
from studio.families.samplers.ddpm import ddpm_sample
from studio.families.samplers.schedule import alphas_cumprod, linear_betas

BETAS = linear_betas()
MU, S = 0.3, 0.2  # toy data: every pixel ~ N(MU, S²)


def optimal_eps(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The exact noise predictor for Gaussian data: E[ε | x_t] in closed form."""
    abar = alphas_cumprod(BETAS)[t.astype(int)].reshape(-1, *([1] * (x.ndim - 1)))
    return (x - np.sqrt(abar) * MU) * np.sqrt(1 - abar) / (abar * S**2 + 1 - abar)


def drain(job):
    while True:
        try:
            next(job)
        except StopIteration as done:
            return done.value


def reference_ddim(x: np.ndarray, steps: int) -> np.ndarray:
    """Song et al. (2021) eq. 12 with σ = 0, written out independently, one scalar at a time."""
    abar = alphas_cumprod(BETAS)
    taus = list(np.linspace(0, 999, steps).round().astype(int)[::-1])
    out = x.astype(np.float64).copy()
    for index in np.ndindex(out.shape):
        value = out[index]
        for k, t in enumerate(taus):
            a_t = abar[t]
            a_prev = abar[taus[k + 1]] if k + 1 < len(taus) else 1.0
            eps = (value - np.sqrt(a_t) * MU) * np.sqrt(1 - a_t) / (a_t * S**2 + 1 - a_t)
            x0 = (value - np.sqrt(1 - a_t) * eps) / np.sqrt(a_t)
            value = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
        out[index] = value
    return out


def test_ddim_matches_its_equations() -> None:
    x_T = np.random.default_rng(0).standard_normal((2, 1, 2, 2)).astype(np.float32)
    ours = drain(ddim_sample(optimal_eps, x_T, BETAS, 20, 0.0, np.random.default_rng(1)))
    np.testing.assert_allclose(ours, reference_ddim(x_T, 20), atol=1e-4)


def test_ddim_and_ddpm_sample_the_data_distribution() -> None:
    # at the full 1000 steps; fewer DDIM steps trade some variance for speed
    x_T = np.random.default_rng(0).standard_normal((4000, 1, 1, 1)).astype(np.float32)
    for job in (
        ddim_sample(optimal_eps, x_T, BETAS, 1000, 0.0, np.random.default_rng(1)),
        ddim_sample(optimal_eps, x_T, BETAS, 1000, 1.0, np.random.default_rng(1)),
        ddpm_sample(optimal_eps, x_T, BETAS, np.random.default_rng(1)),
    ):
        samples = drain(job)
        assert abs(samples.mean() - MU) < 0.02 and abs(samples.std() - S) < 0.02


def test_ddpm_posterior_mean_form_equals_eq_11_without_clipping() -> None:
    """Ho et al. eq. 11, written out: the x̂_0 form the sampler uses must agree."""
    x_T = np.random.default_rng(0).standard_normal((3, 1, 2, 2)).astype(np.float32)
    ours = drain(ddpm_sample(optimal_eps, x_T, BETAS, np.random.default_rng(5), clip=None))
    abar, rng, x = alphas_cumprod(BETAS), np.random.default_rng(5), x_T.astype(np.float64)
    for t in reversed(range(len(BETAS))):
        eps = optimal_eps(x, np.full(len(x), t))
        mean = (x - BETAS[t] / np.sqrt(1 - abar[t]) * eps) / np.sqrt(1 - BETAS[t])
        x = mean + (np.sqrt(BETAS[t]) * rng.standard_normal(x.shape) if t > 0 else 0.0)
    np.testing.assert_allclose(ours, x, atol=1e-4)


def test_clipping_keeps_x0_in_the_data_range() -> None:
    def wild(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return x * 3.0  # a bad noise predictor: x̂_0 would leave [-1, 1]

    x_T = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    for _, _, x0 in ddim_sample(wild, x_T, BETAS, 10, 0.0, np.random.default_rng(1)):
        assert x0.min() >= -1 and x0.max() <= 1


def test_ddim_timesteps_descend_to_zero() -> None:
    taus = ddim_timesteps(1000, 25)
    assert len(taus) == 25 and taus[0] == 999 and taus[-1] == 0
    assert (np.diff(taus) < 0).all()


@pytest.fixture
def runtime(tmp_path: Path, tiny_ddpm_folder: Path) -> ModelRuntime:
    shutil.copytree(tiny_ddpm_folder, tmp_path / "models" / "tiny-ddpm")
    return ModelRuntime(Catalog([(tmp_path / "models", "user")]))


def test_ddim_eta0_is_deterministic_per_seed_with_previews(runtime: ModelRuntime) -> None:
    request = ImageRequest("tiny-ddpm", seed=4, steps=10, grid=(2, 2))
    previews: list[Any] = []
    first = run_to_completion(runtime.image_job(request), previews.append)
    again = run_to_completion(runtime.image_job(request))
    other = run_to_completion(runtime.image_job(ImageRequest("tiny-ddpm", seed=5, steps=10)))
    np.testing.assert_array_equal(first.pixels, again.pixels)
    assert first.pixels.shape == (16, 16, 3) and not np.array_equal(
        first.pixels[:8, :8], other.pixels
    )
    steps = [p.step for p in previews if p.step is not None]
    assert steps == list(range(1, 11))
    assert previews[-1].partial.provenance.preview_step == 10
    assert previews[-1].preview.shape == (16, 16, 3)


def test_stochastic_samplers_are_reproducible_per_seed(runtime: ModelRuntime) -> None:
    for request in (
        ImageRequest("tiny-ddpm", seed=2, steps=8, eta=1.0),
        ImageRequest("tiny-ddpm", seed=2, sampler="ddpm"),
    ):
        a = run_to_completion(runtime.image_job(request)).pixels
        b = run_to_completion(runtime.image_job(request)).pixels
        np.testing.assert_array_equal(a, b)


def test_cancel_stops_the_sampler_at_the_next_step(runtime: ModelRuntime) -> None:
    engine = Engine()
    seen: list[int] = []
    cancelled = threading.Event()
    third = threading.Event()
    resume = threading.Event()

    class Watch:
        def on_progress(self, ticket: Ticket, progress: Any) -> None:
            if progress.step is not None:
                seen.append(progress.step)
                if progress.step == 3:
                    third.set()
                    resume.wait(10)  # hold the worker until the test has cancelled

        def on_result(self, ticket: Ticket, result: Any) -> None:
            pass

        def on_error(self, ticket: Ticket, error: BaseException) -> None:
            pass

        def on_cancelled(self, ticket: Ticket) -> None:
            cancelled.set()

    request = ImageRequest("tiny-ddpm", sampler="ddpm")  # 1000 steps
    ticket = engine.submit_batch(lambda: runtime.image_job(request), Watch())
    assert third.wait(30)
    engine.cancel(ticket)
    resume.set()
    assert cancelled.wait(5)
    engine.shutdown()
    assert seen == [1, 2, 3]  # stopped at the very next step, not after 1000
