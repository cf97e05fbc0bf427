"""One slider per latent direction: value, range, reset; the first few shown, "More" the rest."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

STEPS_PER_UNIT = 100  # QSlider is integer: 0.01 of a standard deviation per step
RANGES = (1.0, 2.0, 3.0, 5.0, 10.0)
DEFAULT_RANGE = 3.0
SHOWN = 8


class DirectionRow:
    """The widgets of one direction, laid out in the parent's grid."""

    def __init__(self, owner: DirectionSliders, name: str, variance: float, row: int) -> None:
        self.name = name
        self.owner = owner
        self.label = QLabel(name)
        self.label.setToolTip(f"{name}: {variance * 100:.1f}% of the variance of early features")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName(f"slider-{name}")
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(2)
        self.spin.setSingleStep(0.1)
        self.spin.setFixedWidth(72)
        self.reset = QToolButton()
        self.reset.setText("⟲")
        self.reset.setToolTip(f"Reset {name} to 0")
        self.set_range(DEFAULT_RANGE)
        for widget in (self.label, self.slider, self.spin):
            widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            widget.customContextMenuRequested.connect(self.show_range_menu)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderPressed.connect(lambda: owner.dragStarted.emit(name))
        self.slider.sliderReleased.connect(lambda: owner.dragFinished.emit(name))
        self.spin.valueChanged.connect(self._spin_changed)
        self.reset.clicked.connect(lambda: owner.valueEdited.emit(name, 0.0))
        grid = owner.grid
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.slider, row, 1)
        grid.addWidget(self.spin, row, 2)
        grid.addWidget(self.reset, row, 3)

    @property
    def widgets(self) -> tuple[QWidget, ...]:
        return (self.label, self.slider, self.spin, self.reset)

    def set_range(self, limit: float) -> None:
        self.limit = limit
        with QSignalBlocker(self.slider):
            self.slider.setRange(-int(limit * STEPS_PER_UNIT), int(limit * STEPS_PER_UNIT))
        self.spin.setRange(-limit, limit)

    def show_range_menu(self, _pos: object) -> None:
        menu = QMenu(self.slider)
        for limit in RANGES:
            action = menu.addAction(f"Range ±{limit:g}")
            action.setCheckable(True)
            action.setChecked(limit == self.limit)
            action.triggered.connect(lambda _=False, v=limit: self.set_range(v))
        menu.exec(self.slider.cursor().pos())

    def show_value(self, value: float) -> None:
        if value > self.limit or value < -self.limit:
            self.set_range(next((r for r in RANGES if r >= abs(value)), abs(value)))
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(round(value * STEPS_PER_UNIT))
            self.spin.setValue(value)

    def value(self) -> float:
        return self.spin.value()

    def _slider_moved(self, steps: int) -> None:
        value = steps / STEPS_PER_UNIT
        with QSignalBlocker(self.spin):
            self.spin.setValue(value)
        self.owner.valueEdited.emit(self.name, value)

    def _spin_changed(self, value: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(round(value * STEPS_PER_UNIT))
        self.owner.valueEdited.emit(self.name, value)


class DirectionSliders(QWidget):
    """Emits user edits; shows values it is given (showing never emits)."""

    valueEdited = Signal(str, float)  # direction name, slider value in std units
    dragStarted = Signal(str)
    dragFinished = Signal(str)
    resetAll = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.body = QWidget()
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(1, 1)
        layout.addWidget(self.body)
        self.more = QPushButton("More directions")
        self.more.setCheckable(True)
        self.more.toggled.connect(self._show_more)
        self.reset_all = QPushButton("Reset all")
        self.reset_all.clicked.connect(self.resetAll)
        layout.addWidget(self.more)
        layout.addWidget(self.reset_all)
        self.empty = QLabel("This model has no latent directions.")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        self.rows: dict[str, DirectionRow] = {}
        self.set_directions((), ())

    def set_directions(self, names: tuple[str, ...], variance: tuple[float, ...]) -> None:
        for row in self.rows.values():
            for widget in row.widgets:
                widget.deleteLater()
        self.rows = {
            name: DirectionRow(self, name, var, k)
            for k, (name, var) in enumerate(zip(names, variance, strict=True))
        }
        self.more.setVisible(len(names) > SHOWN)
        self.more.setChecked(False)
        self.reset_all.setVisible(bool(names))
        self.empty.setVisible(not names)
        self._show_more(False)

    def _show_more(self, more: bool) -> None:
        for k, row in enumerate(self.rows.values()):
            for widget in row.widgets:
                widget.setVisible(more or k < SHOWN)
        self.more.setText("Fewer directions" if more else f"More directions ({len(self.rows)})")

    def show_values(self, values: dict[str, float]) -> None:
        for name, row in self.rows.items():
            row.show_value(values.get(name, 0.0))

    def slider(self, name: str) -> QSlider:
        return self.rows[name].slider
