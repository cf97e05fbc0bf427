"""The progress bar and Stop button under a canvas that draws step by step."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from studio.core.results import Progress

PROGRESS_STEPS = 1000  # the progress bar's resolution


class ProgressRow(QWidget):
    def __init__(self, stop_tip: str = "Stop sampling here; the last preview stays (Esc)") -> None:
        super().__init__()
        self.bar = QProgressBar()
        self.bar.setRange(0, PROGRESS_STEPS)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(stop_tip)
        self.stop_button.setShortcut("Esc")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.stop_button)

    def starting(self) -> None:
        self.bar.setValue(0)
        self.bar.setFormat("starting…")

    def report(self, progress: Progress) -> None:
        self.bar.setValue(round(progress.fraction * PROGRESS_STEPS))
        self.bar.setFormat(progress.message or "%p%")

    def done(self, seconds: float) -> None:
        self.bar.setValue(PROGRESS_STEPS)
        self.bar.setFormat(f"done in {seconds:.1f} s")
