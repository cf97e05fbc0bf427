"""A bilinear morph between four corner instruments (A top-left, B top-right, C bottom-left,
D bottom-right), and the way back from a mix to corners and slider steps. No Qt: the Audio
panel's XY pad and sliders show it."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product
from typing import TypeVar

import numpy as np

MORPH_STEPS = 100  # slider steps from one side to the other

Corners = tuple[str, str, str, str]  # instruments at A top-left, B top-right, C, D below
Coordinate = TypeVar("Coordinate", float, np.ndarray)


def corner_weights(
    x: Coordinate, y: Coordinate
) -> tuple[Coordinate, Coordinate, Coordinate, Coordinate]:
    """Bilinear weights of the corners A, B, C, D at (x, y) in [0, 1]; they sum to 1.
    Works on numpy arrays of x and y as well."""
    return ((1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y)


def corner_mix(corners: Corners, x: float, y: float) -> dict[str, float]:
    """The instrument mix at (x, y): corner weights summed per name, zero weights dropped."""
    mix: dict[str, float] = {}
    for name, weight in zip(corners, corner_weights(x, y), strict=True):
        if weight:
            mix[name] = mix.get(name, 0.0) + weight
    return mix


def fit_corners(mix: Mapping[str, float], current: Corners) -> tuple[Corners, int, int]:
    """Corners and slider steps (x, y) whose `corner_mix` is closest to `mix` (weights
    normalised; the four heaviest instruments if it has more). Every placement of the names
    on the corners is tried over the whole slider grid. The best gives `mix` bit for bit
    (a mix the panel made always can), then is closest, then keeps the `current` top row,
    then most `current` corners, then comes first in name order."""
    heaviest = sorted(mix, key=lambda name: (-mix[name], name))[:4]
    names = sorted(heaviest)
    total = sum(mix[name] for name in names) or 1.0
    target = dict(mix)
    steps = np.arange(MORPH_STEPS + 1) / MORPH_STEPS
    x, y = np.meshgrid(steps, steps, indexing="ij")  # (MORPH_STEPS + 1,) * 2: x then y
    weights = corner_weights(x, y)
    best: tuple[tuple[bool, float, int, int], Corners, int, int] | None = None
    for a, b, c, d in product(names, repeat=4):
        corners = (a, b, c, d)
        if len(set(corners)) < len(names):  # every instrument on a corner
            continue
        error = np.zeros_like(x)
        for name in names:
            share = sum(w for w, at in zip(weights, corners, strict=True) if at == name)
            error = np.maximum(error, np.abs(share - mix[name] / total))
        least = float(error.min())
        # a placement may reach the mix at two points (one instrument on a diagonal)
        points = [divmod(int(k), MORPH_STEPS + 1) for k in np.flatnonzero(error <= least + 1e-9)]
        exact = [
            (i, j)
            for i, j in points[:8]
            if corner_mix(corners, i / MORPH_STEPS, j / MORPH_STEPS) == target
        ]
        i, j = (exact or points)[0]
        kept = [at == now for at, now in zip(corners, current, strict=True)]
        # float noise in the error counts as a tie
        key = (not exact, round(least, 9), -sum(kept[:2]), -sum(kept))
        if best is None or key < best[0]:
            best = (key, corners, i, j)
    if best is None:  # an empty mix
        return current, 0, 0
    return best[1], best[2], best[3]
