"""The GUI's column of the modality registry: which panel shows each modality."""

from __future__ import annotations

from studio.gui.audio_panel import AudioPanel
from studio.gui.image_panel import ImagePanel
from studio.gui.panel import Panel
from studio.gui.style_panel import StylePanel
from studio.gui.text_panel import TextPanel

PANELS: dict[str, type[Panel]] = {
    "image": ImagePanel,
    "audio": AudioPanel,
    "text": TextPanel,
    "style": StylePanel,
}
