"""The style-space box of the Image panel (StyleGAN): which category to draw, which style
layers come from a second seed (per-layer checkboxes and the coarse / middle / fine presets of
the StyleGAN3 visualizer), and whether the noise stays fixed across seeds."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from studio.core.descriptor import Capability, FamilyDescriptor
from studio.core.style_layers import layer_presets
from studio.gui.seed_box import seed_spin

COLUMNS = 6  # layer checkboxes per row


class StyleMixBox(QGroupBox):
    """`edited(changes, undo text, merge key)` like ControlForm."""

    edited = Signal(object, str, object)

    def __init__(self) -> None:
        super().__init__("Style space")
        form = QFormLayout(self)
        self.category = QComboBox()
        self.category.setToolTip("What to draw")
        self.category.currentIndexChanged.connect(
            lambda _: self.edited.emit({"category": self.category.currentData()}, "Category", None)
        )
        form.addRow("Category", self.category)
        self.mix = QCheckBox("Mix styles with seed")
        self.mix_seed = seed_spin()
        self.mix.toggled.connect(lambda _: self._mix_edited())
        self.mix_seed.valueChanged.connect(lambda _: self._mix_edited())
        mix_row = QHBoxLayout()
        mix_row.addWidget(self.mix)
        mix_row.addWidget(self.mix_seed)
        form.addRow(mix_row)
        self.layer_grid = QGridLayout()
        form.addRow("Layers", self._wrap(self.layer_grid))
        self.preset_row = QHBoxLayout()
        form.addRow(self.preset_row)
        self.fixed_noise = QCheckBox("Same noise for every seed")
        self.fixed_noise.setToolTip("Off: each seed draws its own fine detail noise")
        self.fixed_noise.toggled.connect(
            lambda on: self.edited.emit({"fixed_noise": on}, "Noise", None)
        )
        form.addRow(self.fixed_noise)
        self.layers: list[QCheckBox] = []
        self.setVisible(False)

    @staticmethod
    def _wrap(layout: QGridLayout) -> QWidget:
        widget = QWidget()
        widget.setLayout(layout)
        return widget

    def set_model(
        self, descriptor: FamilyDescriptor, parameters: Mapping[str, Any], side: int
    ) -> None:
        """Rebuild for a model; hidden when its family has no categories or style layers."""
        mixing = descriptor.can(Capability.STYLE_MIXING)
        categories = [str(c) for c in parameters.get("categories", [])]
        self.setVisible(mixing or bool(categories))
        with QSignalBlocker(self.category):
            self.category.clear()
            for name in categories:
                self.category.addItem(name.capitalize(), name)
        self.category.setEnabled(bool(categories))
        resolutions = [int(r) for r in parameters.get("ws_resolutions", [])] if mixing else []
        self._build_layers(resolutions, side)

    def _build_layers(self, resolutions: list[int], side: int) -> None:
        for box in self.layers:
            box.deleteLater()
        self.layers = []
        for k, resolution in enumerate(resolutions):
            box = QCheckBox(str(k))
            box.setToolTip(f"Style layer {k}: drives the {resolution} px convolution")
            box.toggled.connect(lambda _: self._mix_edited())
            self.layer_grid.addWidget(box, k // COLUMNS, k % COLUMNS)
            self.layers.append(box)
        while self.preset_row.count():
            item = self.preset_row.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        for name, chosen in layer_presets(resolutions, side).items():
            button = QPushButton(name.capitalize())
            button.setToolTip(f"Layers {', '.join(map(str, chosen)) or 'none'}")
            button.setEnabled(bool(chosen))
            button.clicked.connect(lambda _=False, c=chosen: self.choose_layers(c))
            self.preset_row.addWidget(button)
        for widget in (self.mix, self.mix_seed, self.fixed_noise):
            widget.setEnabled(bool(resolutions))

    def choose_layers(self, chosen: tuple[int, ...]) -> None:
        with contextlib.ExitStack() as quiet:
            for box in self.layers:
                quiet.enter_context(QSignalBlocker(box))
            for k, box in enumerate(self.layers):
                box.setChecked(k in chosen)
        with QSignalBlocker(self.mix):
            self.mix.setChecked(True)
        self._mix_edited()

    def _mix_edited(self) -> None:
        on = self.mix.isChecked()
        changes = {
            "mix_seed": self.mix_seed.value() if on else None,
            "mix_layers": tuple(k for k, b in enumerate(self.layers) if b.isChecked())
            if on
            else (),
        }
        self.edited.emit(changes, "Style mixing", None)

    def show_values(self, values: Mapping[str, Any]) -> None:
        """Show a request's style-space fields without emitting."""
        widgets = (self.category, self.mix, self.mix_seed, self.fixed_noise, *self.layers)
        with contextlib.ExitStack() as quiet:
            for widget in widgets:
                quiet.enter_context(QSignalBlocker(widget))
            category = values.get("category")
            self.category.setCurrentIndex(
                0 if category is None else max(0, self.category.findData(category))
            )
            mix_seed = values.get("mix_seed")
            self.mix.setChecked(mix_seed is not None)
            if mix_seed is not None:
                self.mix_seed.setValue(int(mix_seed))
            chosen = set(values.get("mix_layers", ()))
            for k, box in enumerate(self.layers):
                box.setChecked(k in chosen)
            self.fixed_noise.setChecked(bool(values.get("fixed_noise", True)))
