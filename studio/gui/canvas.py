"""The picture: scaled to fit with crisp (nearest) or smooth scaling; grid cells clickable."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

CHECKER = 8  # screen pixels per square of the transparency checkerboard


def to_qimage(pixels: np.ndarray) -> QImage:
    """(H, W, 3) RGB or (H, W, 4) straight-alpha RGBA uint8 -> a QImage owning a copy."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    h, w, c = pixels.shape
    fmt = QImage.Format.Format_RGBA8888 if c == 4 else QImage.Format.Format_RGB888
    return QImage(pixels.data, w, h, c * w, fmt).copy()


def checkerboard() -> QBrush:
    """The grey squares shown through transparent pixels, as image editors do."""
    tile = QPixmap(2 * CHECKER, 2 * CHECKER)
    tile.fill(QColor(204, 204, 204))
    painter = QPainter(tile)
    painter.fillRect(0, 0, CHECKER, CHECKER, QColor(153, 153, 153))
    painter.fillRect(CHECKER, CHECKER, CHECKER, CHECKER, QColor(153, 153, 153))
    painter.end()
    return QBrush(tile)


class Canvas(QWidget):
    cellClicked = Signal(int, int)  # row, column, when a grid is shown
    painted = Signal()  # after a new image reached the screen (benchmarks, tests)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(256, 256)
        self.setBackgroundRole(QPalette.ColorRole.Dark)
        self.setAutoFillBackground(True)
        self._image: QImage | None = None
        self._grid = (1, 1)
        self._smooth = False
        self._fresh = False
        self.message = "Pick a model to start"

    def set_image(self, image: QImage, grid: tuple[int, int] = (1, 1)) -> None:
        self._image, self._grid, self._fresh = image, grid, True
        self.setCursor(
            Qt.CursorShape.PointingHandCursor if grid != (1, 1) else Qt.CursorShape.ArrowCursor
        )
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def set_smooth(self, smooth: bool) -> None:
        self._smooth = smooth
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    def target_rect(self) -> QRect:
        """Where the picture is drawn: the largest integer (or fitting) scale, centred."""
        if self._image is None:
            return QRect()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        if scale >= 1 and not self._smooth:
            scale = int(scale)  # whole pixels stay square and crisp
        w, h = int(iw * scale), int(ih * scale)
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._image is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
        if self._image.hasAlphaChannel():
            painter.fillRect(self.target_rect(), checkerboard())
        painter.drawImage(self.target_rect(), self._image)
        painter.end()
        if self._fresh:
            self._fresh = False
            self.painted.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cellClicked.emit(*cell)

    def cell_at(self, point: QPoint) -> tuple[int, int] | None:
        rows, cols = self._grid
        rect = self.target_rect()
        if (rows, cols) == (1, 1) or not rect.contains(point):
            return None
        col = (point.x() - rect.x()) * cols // rect.width()
        row = (point.y() - rect.y()) * rows // rect.height()
        return row, col
