from __future__ import annotations

import numpy as np
import pytest

from studio.core.errors import RequestError
from studio.core.priors import lerp, sample_prior, slerp
from studio.core.requests import ImageRequest


def test_same_seed_same_latent_and_different_seeds_differ() -> None:
    a = sample_prior(7, (128,))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, sample_prior(7, (128,)))
    assert not np.allclose(a, sample_prior(8, (128,)))


def test_truncation_bounds_every_value() -> None:
    z = sample_prior(3, (10_000,), truncation=0.5)
    assert np.abs(z).max() <= 0.5
    assert z.std() > 0.2  # still spread, not collapsed to zero


def test_uniform_prior_fills_its_range_evenly() -> None:
    z = sample_prior(1, (10_000,), prior="uniform")
    assert z.dtype == np.float32 and z.min() >= -1 and z.max() < 1
    np.testing.assert_array_equal(z, sample_prior(1, (10_000,), prior="uniform"))
    # U[-1, 1): each tenth of the range holds 1,000 +- 150 values (5 binomial sigmas)
    counts = np.histogram(z, bins=10, range=(-1.0, 1.0))[0]
    assert np.abs(counts - 1000).max() < 150, counts


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_bad_seed_rejected(seed: object) -> None:
    with pytest.raises(RequestError, match="seed"):
        sample_prior(seed, (4,))  # type: ignore[arg-type]


def test_slerp_keeps_norm_where_lerp_shrinks() -> None:
    a, b = sample_prior(1, (512,)), sample_prior(2, (512,))
    mid_s, mid_l = slerp(a, b, 0.5), lerp(a, b, 0.5)
    assert abs(np.linalg.norm(mid_s) - np.linalg.norm(a)) < 0.05 * np.linalg.norm(a)
    assert np.linalg.norm(mid_l) < 0.8 * np.linalg.norm(a)
    np.testing.assert_allclose(slerp(a, b, 0.0), a, atol=1e-5)
    np.testing.assert_allclose(slerp(a, b, 1.0), b, atol=1e-5)


def test_request_normalises_offsets_and_round_trips() -> None:
    req = ImageRequest("m", seed=3, offsets={"PC2": 1.0, "PC1": 0.0, "PC3": -2.0})  # type: ignore[arg-type]
    assert req.offsets == (("PC2", 1.0), ("PC3", -2.0))  # zeros dropped, sorted
    assert ImageRequest.from_dict(req.to_dict()) == req
    assert hash(req) == hash(ImageRequest.from_dict(req.to_dict()))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grid": (0, 4)},
        {"grid": (20, 20)},
        {"truncation": 0.0},
        {"backend": "tpu"},
        {"offsets": (("PC1", float("nan")),)},
    ],
)
def test_bad_request_rejected(kwargs: dict) -> None:
    with pytest.raises(RequestError):
        ImageRequest("m", **kwargs)
