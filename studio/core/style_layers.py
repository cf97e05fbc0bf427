"""Style layers by what they carry, as the StyleGAN3 visualizer groups them: coarse layers
(up to 8 px) lay out the shape, the last size colours it, the ones between the middle."""

from __future__ import annotations

from collections.abc import Sequence


def layer_presets(ws_resolutions: Sequence[int], side: int) -> dict[str, tuple[int, ...]]:
    """Layer numbers of each preset, from the resolution each style layer drives."""
    res = [int(r) for r in ws_resolutions]
    return {
        "coarse": tuple(i for i, r in enumerate(res) if r <= 8),
        "middle": tuple(i for i, r in enumerate(res) if 8 < r < side),
        "fine": tuple(i for i, r in enumerate(res) if r >= side),
    }
