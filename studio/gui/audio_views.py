"""Small widgets of the Audio panel: waveform, spectrogram, a piano keyboard and an XY pad."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.core.pitch import note_name

BACKGROUND = QColor(24, 24, 28)


class WaveformView(QWidget):
    """Min/max envelope of each pixel column. The wheel zooms in and out around the pointer;
    `set_audio` keeps the zoom, so a growing preview can be watched at any scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.audio = np.zeros(0, np.float32)
        self.expected = 0  # samples the finished note will have: the preview grows into it
        self.view = (0.0, 1.0)  # the shown fraction of the note

    def set_audio(self, audio: np.ndarray, expected: int | None = None) -> None:
        self.audio = audio
        self.expected = max(len(audio), expected or 0)
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        start, end = self.view
        anchor = start + (end - start) * event.position().x() / max(1, self.width())
        scale = 0.8 if event.angleDelta().y() > 0 else 1.25
        width = min(1.0, max(0.002, (end - start) * scale))
        start = min(max(0.0, anchor - (anchor - start) * width / (end - start)), 1.0 - width)
        self.view = (start, start + width)
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        w, h = self.width(), self.height()
        mid = h / 2
        painter.setPen(QPen(QColor(70, 70, 80)))
        painter.drawLine(0, int(mid), w, int(mid))
        if len(self.audio) == 0 or self.expected == 0:
            return
        first = int(self.view[0] * self.expected)
        last = max(first + 1, int(self.view[1] * self.expected))
        edges = np.linspace(first, last, w + 1).astype(int)
        painter.setPen(QPen(QColor(120, 190, 255)))
        for x in range(w):
            chunk = self.audio[edges[x] : max(edges[x + 1], edges[x] + 1)]
            if len(chunk) == 0:
                break
            top, bottom = float(chunk.max()), float(chunk.min())
            painter.drawLine(QPointF(x, mid - top * mid), QPointF(x, mid - bottom * mid))


def spectrogram(audio: np.ndarray, window: int = 512, hop: int = 128) -> np.ndarray:
    """(frequencies, frames) magnitude in dB relative to the loudest bin, Hann window."""
    if len(audio) < window:
        audio = np.pad(audio, (0, window - len(audio)))
    frames = 1 + (len(audio) - window) // hop
    index = np.arange(window)[None, :] + hop * np.arange(frames)[:, None]
    spectrum = np.abs(np.fft.rfft(audio[index] * np.hanning(window), axis=1)).T
    return 20 * np.log10(spectrum / (spectrum.max() + 1e-12) + 1e-6)


class SpectrogramView(QWidget):
    """Spectrogram of the note, low frequencies at the bottom, 80 dB of range."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image: QImage | None = None

    def set_audio(self, audio: np.ndarray) -> None:
        if len(audio) == 0:
            self.image = None
        else:
            db = spectrogram(audio)[::-1]  # high frequencies on top
            level = np.clip((db + 80.0) / 80.0, 0.0, 1.0)
            rgb = np.stack([level**0.7, level**1.5, 0.35 + 0.65 * level**3], -1)
            pixels = np.ascontiguousarray((rgb * 255).astype(np.uint8))
            height, width = pixels.shape[:2]
            self.image = QImage(
                pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888
            ).copy()
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self.image is not None:
            painter.drawImage(QRectF(self.rect()), self.image)


class Keyboard(QWidget):
    """Two octaves of piano keys; a click picks the note, the current one is highlighted."""

    noteClicked = Signal(int)  # MIDI note
    _BLACK = frozenset({1, 3, 6, 8, 10})  # pitch classes of the black keys

    def __init__(self, low: int = 48, octaves: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.low, self.high = low, low + 12 * octaves
        self.current = 60
        self.setMinimumHeight(56)
        self.setMaximumHeight(70)
        self.setToolTip("Click a key to pick the pitch")

    def whites(self) -> list[int]:
        return [n for n in range(self.low, self.high + 1) if n % 12 not in self._BLACK]

    def key_rects(self) -> list[tuple[int, QRectF]]:
        """Black keys last, so they are drawn (and hit) on top."""
        whites = self.whites()
        width = self.width() / len(whites)
        rects = [(n, QRectF(i * width, 0, width, self.height())) for i, n in enumerate(whites)]
        for i, n in enumerate(whites):
            if (n + 1) % 12 in self._BLACK and n + 1 <= self.high:
                black = QRectF((i + 0.65) * width, 0, width * 0.7, self.height() * 0.6)
                rects.append((n + 1, black))
        return rects

    def set_current(self, note: int) -> None:
        self.current = note
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        for note, rect in reversed(self.key_rects()):
            if rect.contains(event.position()):
                self.noteClicked.emit(note)
                return

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        for note, rect in self.key_rects():
            black = note % 12 in self._BLACK
            colour = QColor(30, 30, 30) if black else QColor(235, 235, 235)
            if note == self.current:
                colour = QColor(90, 150, 230)
            painter.fillRect(rect, colour)
            painter.setPen(QPen(QColor(90, 90, 90)))
            painter.drawRect(rect)
            if note % 12 == 0:
                painter.setPen(QPen(QColor(60, 60, 60)))
                painter.drawText(
                    rect.adjusted(2, 0, 0, -3), Qt.AlignmentFlag.AlignBottom, note_name(note)
                )


class XYPad(QWidget):
    """A square with an instrument at each corner (top-left, top-right, bottom-left,
    bottom-right) and a dot between them; pressing or dragging moves the dot.

    The position is (x, y) in [0, 1]: x from the left column to the right one, y from the top
    row to the bottom one. Colours come from the palette, so the pad follows the theme."""

    moved = Signal(float, float)  # x, y in [0, 1], on a press or drag only
    MARGIN = 6  # pixels around the square, so that the dot is whole at an edge

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.position = (0.0, 0.0)
        self.corners: tuple[str, str, str, str] = ("", "", "", "")

    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def set_position(self, x: float, y: float) -> None:
        """Move the dot without emitting `moved` (the sliders drive it this way)."""
        self.position = (min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0))
        self.update()

    def set_corners(self, labels: Sequence[str]) -> None:
        """Four names: top-left, top-right, bottom-left, bottom-right."""
        a, b, c, d = labels
        self.corners = (a, b, c, d)
        self.update()

    def square(self) -> QRectF:
        """The pad's square in widget pixels, centred."""
        side = max(1.0, min(self.width(), self.height()) - 2.0 * self.MARGIN)
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def point_at(self, x: float, y: float) -> QPointF:
        """The widget pixel of pad position (x, y)."""
        square = self.square()
        return QPointF(square.left() + x * square.width(), square.top() + y * square.height())

    def _move_to(self, point: QPointF) -> None:
        square = self.square()
        x = (point.x() - square.left()) / square.width()
        y = (point.y() - square.top()) / square.height()
        self.set_position(x, y)
        self.moved.emit(*self.position)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._move_to(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_to(event.position())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        square = self.square()
        painter.fillRect(square, palette.color(QPalette.ColorRole.Base))
        faint = QColor(text)
        faint.setAlpha(45)
        painter.setPen(QPen(faint, 1, Qt.PenStyle.DotLine))
        for k in (1, 2, 3):  # quarter lines
            painter.drawLine(self.point_at(k / 4, 0), self.point_at(k / 4, 1))
            painter.drawLine(self.point_at(0, k / 4), self.point_at(1, k / 4))
        dot = self.point_at(*self.position)
        guide = QColor(accent)
        guide.setAlpha(110)
        painter.setPen(QPen(guide, 1))
        painter.drawLine(QPointF(dot.x(), square.top()), QPointF(dot.x(), square.bottom()))
        painter.drawLine(QPointF(square.left(), dot.y()), QPointF(square.right(), dot.y()))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(square)
        painter.setPen(text)
        metrics = painter.fontMetrics()
        cell = square.adjusted(4, 2, -4, -2)
        width = int(cell.width() / 2) - 2
        align = Qt.AlignmentFlag
        for label, where in zip(
            self.corners,
            (
                align.AlignTop | align.AlignLeft,
                align.AlignTop | align.AlignRight,
                align.AlignBottom | align.AlignLeft,
                align.AlignBottom | align.AlignRight,
            ),
            strict=True,
        ):
            shown = metrics.elidedText(label, Qt.TextElideMode.ElideRight, width)
            painter.drawText(cell, where, shown)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Base), 2))
        painter.setBrush(accent)
        painter.drawEllipse(dot, 6, 6)
