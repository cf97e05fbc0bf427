"""Ex-post latent priors: a Gaussian mixture fitted to the posterior means of the training
set (Ghosh et al., 2020, "From Variational to Deterministic Autoencoders", §4). A VAE's
aggregate posterior rarely fills N(0, I); sampling where the data's codes actually lie gives
far more recognisable pictures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from studio.core.errors import ModelError


@dataclass(frozen=True)
class MixturePrior:
    weights: npt.NDArray[np.float64]  # (K,)
    means: npt.NDArray[np.float32]  # (K, D)
    cholesky: npt.NDArray[np.float32]  # (K, D, D) lower-triangular factors of the covariances

    def place(self, z: npt.NDArray[np.float32], seed: int) -> npt.NDArray[np.float32]:
        """Map a standard-normal draw z (D,) to the mixture: a component chosen by the seed
        (its own stream, so z keeps its meaning), then mean + L z."""
        k = int(np.random.default_rng([seed, 2]).choice(len(self.weights), p=self.weights))
        placed = self.means[k] + self.cholesky[k] @ z.ravel()  # (D,)
        return np.asarray(placed, np.float32).reshape(z.shape)

    def save(self, path: Path) -> None:
        np.savez(path, weights=self.weights, means=self.means, cholesky=self.cholesky)

    @classmethod
    def load(cls, path: Path, latent_dim: int) -> MixturePrior:
        try:
            with np.load(path, allow_pickle=False) as data:
                prior = cls(
                    np.asarray(data["weights"], np.float64),
                    np.asarray(data["means"], np.float32),
                    np.asarray(data["cholesky"], np.float32),
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{path}: cannot read the latent prior ({exc})") from exc
        k = len(prior.weights)
        if prior.means.shape != (k, latent_dim) or prior.cholesky.shape != (
            k,
            latent_dim,
            latent_dim,
        ):
            raise ModelError(f"{path}: prior shapes do not fit a {latent_dim}-d latent")
        return cls(prior.weights / prior.weights.sum(), prior.means, prior.cholesky)


def fit_mixture(
    codes: npt.NDArray[np.floating],
    components: int = 16,
    iterations: int = 60,
    seed: int = 0,
    ridge: float = 1e-2,
) -> MixturePrior:
    """Full-covariance Gaussian mixture by expectation-maximisation on codes (N, D)."""
    x = codes.astype(np.float64)
    n, d = x.shape
    rng = np.random.default_rng(seed)
    means = x[rng.choice(n, components, replace=False)]
    covs = np.stack([np.cov(x.T) + ridge * np.eye(d)] * components)
    weights = np.full(components, 1.0 / components)
    for _ in range(iterations):
        log_p = np.empty((n, components))
        for k in range(components):
            chol = np.linalg.cholesky(covs[k])
            white = np.linalg.solve(chol, (x - means[k]).T)  # (D, N)
            log_p[:, k] = np.log(weights[k]) - 0.5 * (white**2).sum(0) - np.log(np.diag(chol)).sum()
        resp = np.exp(log_p - log_p.max(1, keepdims=True))
        resp /= resp.sum(1, keepdims=True)  # (N, K) responsibilities
        counts = resp.sum(0) + 1e-9
        weights = counts / n
        means = (resp.T @ x) / counts[:, None]
        for k in range(components):
            centred = x - means[k]
            covs[k] = (resp[:, k, None] * centred).T @ centred / counts[k] + ridge * np.eye(d)
    return MixturePrior(
        weights, means.astype(np.float32), np.linalg.cholesky(covs).astype(np.float32)
    )
