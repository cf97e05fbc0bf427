"""Splits and random batches of in-memory data sets (arrays with examples on axis 0)."""

from __future__ import annotations

import numpy as np


def split(examples: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out tenth), shuffled with a fixed seed; at least one example held out."""
    order = np.random.default_rng(seed).permutation(len(examples))
    cut = max(1, len(examples) // 10)
    return examples[order[cut:]], examples[order[:cut]]


def random_batch(examples: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` examples drawn uniformly with replacement."""
    return examples[rng.integers(len(examples), size=size)]
