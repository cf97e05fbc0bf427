"""A frozen feature network for style transfer (VGG-16 up to relu4_1).

It makes nothing by itself: the style methods read its activations, the channel statistics
(AdaIN) or Gram matrices (Gatys et al.) of relu1_1 .. relu4_1 for a style and relu4_1 for the
content.
"""

from __future__ import annotations

import numpy as np

from studio.families.base import Family


class StyleFeaturesFamily(Family):
    name = "vgg-features"
    modality = "style"
    networks = ("features",)

    def features(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        """pixels (H, W, 3) uint8 -> {layer: (1, C, h, w) float32 activations}."""
        session = self.sessions["features"]
        image = pixels.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        return session.run({session.spec.inputs[0].name: image})
