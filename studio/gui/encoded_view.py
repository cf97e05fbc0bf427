"""What the model saw of the user's picture, what it made of it, and how likely it is."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QWidget

from studio.core.results import EncodeResult
from studio.gui.canvas import to_qimage

PREVIEW = 96  # pixels on screen for each small picture


class EncodedView(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Encoded picture", parent)
        self.model_input = QLabel()
        self.reconstruction = QLabel()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        grid = QGridLayout(self)
        grid.addWidget(QLabel("Model input"), 0, 0, Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(QLabel("Reconstruction"), 0, 1, Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(self.model_input, 1, 0, Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(self.reconstruction, 1, 1, Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(self.summary, 2, 0, 1, 2)

    def show_result(self, result: EncodeResult) -> None:
        for label, pixels in (
            (self.model_input, result.model_input),
            (self.reconstruction, result.reconstruction),
        ):
            pixmap = QPixmap.fromImage(to_qimage(pixels)).scaled(
                PREVIEW,
                PREVIEW,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
            label.setPixmap(pixmap)
        if math.isnan(result.psnr):
            lines = []
        else:
            psnr = "exact (∞ dB)" if math.isinf(result.psnr) else f"{result.psnr:.1f} dB"
            lines = [f"Reconstruction PSNR: {psnr}"]
        if result.bits_per_dim is not None:
            lines.append(f"{result.bits_per_dim:.3f} bits/dim ({result.likelihood})")
        else:
            lines.append(result.likelihood)
        if result.typicality:
            lines.append(result.typicality.capitalize())
        self.summary.setText("\n".join(lines))
