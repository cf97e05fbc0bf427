"""The ex-post mixture prior: EM finds the clusters, and placement is seeded and exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.latent.prior import MixturePrior, fit_mixture


def test_em_recovers_two_separated_clusters(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(-4, 0.5, (300, 2)), rng.normal(4, 1.0, (100, 2))])
    prior = fit_mixture(codes, components=2, ridge=1e-4)
    order = np.argsort(prior.means[:, 0])
    np.testing.assert_allclose(prior.means[order], [[-4, -4], [4, 4]], atol=0.2)
    np.testing.assert_allclose(prior.weights[order], [0.75, 0.25], atol=0.02)
    prior.save(tmp_path / "p.npz")
    loaded = MixturePrior.load(tmp_path / "p.npz", latent_dim=2)
    np.testing.assert_array_equal(loaded.means, prior.means)


def test_placement_is_seeded_and_uses_the_component_cholesky() -> None:
    prior = MixturePrior(
        weights=np.array([0.5, 0.5]),
        means=np.array([[10.0, 0.0], [-10.0, 0.0]], np.float32),
        cholesky=np.stack([np.eye(2), 2 * np.eye(2)]).astype(np.float32),
    )
    z = np.array([1.0, -1.0], np.float32)
    placed = prior.place(z, seed=3)
    np.testing.assert_array_equal(placed, prior.place(z, seed=3))
    assert placed.tolist() in ([11.0, -1.0], [-8.0, -2.0])
    seen = {prior.place(z, seed=s)[0] > 0 for s in range(20)}
    assert seen == {True, False}  # both components get picked
