"""Principal latent directions (GANSpace, Härkönen et al., 2020).

PCA finds the directions along which a generator's early activations vary most; a linear
regression from PCA coordinates back to latents turns each activation direction into a latent
direction that moves the picture the same way. Ordered by the variance they explain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.errors import ModelError


@dataclass(frozen=True)
class Directions:
    """Unit latent directions, (K, latent_dim) float32, strongest first."""

    vectors: np.ndarray
    names: tuple[str, ...]
    scales: np.ndarray  # (K,) std of the PCA coordinate: a slider unit of 1 moves this far
    explained_variance: np.ndarray  # (K,) fraction of the activation variance

    def __len__(self) -> int:
        return len(self.names)

    def save(self, path: Path) -> None:
        np.savez(
            path,
            vectors=self.vectors,
            names=np.array(self.names),
            scales=self.scales,
            explained_variance=self.explained_variance,
        )

    @classmethod
    def load(cls, path: Path, latent_dim: int) -> Directions:
        try:
            with np.load(path, allow_pickle=False) as data:
                vectors = np.asarray(data["vectors"], dtype=np.float32)
                names = tuple(str(n) for n in data["names"])
                scales = np.asarray(data["scales"], dtype=np.float32)
                variance = np.asarray(data["explained_variance"], dtype=np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{path}: cannot read latent directions ({exc})") from exc
        k = len(names)
        if vectors.shape != (k, latent_dim) or scales.shape != (k,) or variance.shape != (k,):
            raise ModelError(
                f"{path}: directions have shape {vectors.shape} for {k} names; "
                f"expected ({k}, {latent_dim})"
            )
        return cls(vectors, names, scales, variance)


def principal_directions(latents: np.ndarray, features: np.ndarray, count: int) -> Directions:
    """GANSpace directions from paired samples.

    latents (N, D) drawn from the prior; features (N, F) the generator's early activations for
    them. Returns `count` unit latent directions ordered by activation variance.
    """
    centred = features - features.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)  # (K,), (K, F)
    components = components[:count]
    coords = centred @ components.T  # (N, count): PCA coordinates of each sample
    # Least squares: latents ≈ coords @ basis, so basis row k is the latent move of PC k.
    basis, *_ = np.linalg.lstsq(coords, latents, rcond=None)  # (count, D)
    norms = np.linalg.norm(basis, axis=1, keepdims=True)
    vectors = (basis / norms).astype(np.float32)
    # A slider unit is one standard deviation of the prior along the direction.
    scales = (latents @ vectors.T).std(axis=0).astype(np.float32)
    variance = singular**2 / (singular**2).sum()
    return Directions(
        vectors=vectors,
        names=tuple(f"PC{k + 1}" for k in range(count)),
        scales=scales,
        explained_variance=variance[:count].astype(np.float32),
    )


COLOUR_AXES = {  # unit RGB mixes: overall tone and the two opponent colour axes
    "tone": (1.0, 1.0, 1.0),
    "red-cyan": (2.0, -1.0, -1.0),
    "yellow-blue": (1.0, 1.0, -2.0),
}


def low_frequency_directions(size: int, frequencies: int = 2) -> Directions:
    """Directions in a noise space shaped (3, size, size): smooth cosine patterns (Ahmed et al.,
    1974, the DCT basis) times opponent colour axes. In a diffusion model's initial noise these
    move large-scale layout and colour, which pixel-wise noise directions would not."""
    coords = (np.arange(size) + 0.5) / size
    vectors, names = [], []
    for colour, mix in COLOUR_AXES.items():
        rgb = np.asarray(mix) / np.linalg.norm(mix)
        for v in range(frequencies):
            for u in range(frequencies):
                pattern = np.outer(np.cos(np.pi * v * coords), np.cos(np.pi * u * coords))
                vector = rgb[:, None, None] * pattern[None]  # (3, size, size)
                vectors.append((vector / np.linalg.norm(vector)).ravel())
                names.append(f"{colour} {u}:{v}")
    k = len(names)
    return Directions(
        vectors=np.asarray(vectors, np.float32),
        names=tuple(names),
        scales=np.full(k, 1.0, np.float32) * np.sqrt(size * size * 3) / 8,
        explained_variance=np.full(k, 1.0 / k, np.float32),
    )
