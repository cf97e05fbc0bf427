"""The seed row: a spin box with previous, next and random buttons (keys [, ] and R)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QSpinBox, QToolButton, QWidget

from studio.core.priors import MAX_SEED

SPIN_MAX_SEED = min(MAX_SEED, 2**31 - 1)  # QSpinBox holds a signed 32-bit int


def seed_spin() -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, SPIN_MAX_SEED)
    spin.setKeyboardTracking(False)
    return spin


class SeedBox(QWidget):
    """`typed(seed)` for an edit in the box, `stepped(delta)` for ◀ ▶, `randomised()` for 🎲."""

    typed = Signal(int)
    stepped = Signal(int)
    randomised = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.spin = seed_spin()
        self.spin.valueChanged.connect(self.typed.emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.spin)
        for text, tip, key, slot in (
            ("◀", "Previous seed ([)", "[", lambda: self.stepped.emit(-1)),
            ("▶", "Next seed (])", "]", lambda: self.stepped.emit(+1)),
            ("🎲", "Random seed (R)", "R", self.randomised.emit),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setShortcut(key)
            button.clicked.connect(slot)
            row.addWidget(button)
