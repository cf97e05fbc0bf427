"""A form built from a family's declared controls: the sampler picker and one spin box per
numeric knob, each with the range and default the descriptor gives (STYLE.md rule 12)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox

from studio.core.descriptor import Control, FamilyDescriptor

SpinBox = QSpinBox | QDoubleSpinBox


def spin_for(control: Control) -> SpinBox:
    """A spin box with the control's range, step, tooltip and default."""
    box: SpinBox
    if control.integer:
        box = QSpinBox()
        box.setRange(int(control.minimum), int(control.maximum))
        box.setKeyboardTracking(False)  # typing 250 is not three edits
    else:
        box = QDoubleSpinBox()
        box.setRange(control.minimum, control.maximum)
        box.setSingleStep(control.step)
        box.setDecimals(2)
    box.setToolTip(control.tooltip)
    box.setValue(control.default)  # type: ignore[arg-type]
    return box


class ControlForm(QGroupBox):
    """`edited(changes, undo text, merge key)` when the user moves a control; `show_values` puts a
    request's values in without emitting."""

    edited = Signal(object, str, object)  # dict of request fields, text, merge key

    def __init__(self, title: str = "Sampling") -> None:
        super().__init__(title)
        self.form = QFormLayout(self)
        self.sampler = QComboBox()
        self.sampler.currentIndexChanged.connect(self._sampler_picked)
        self.form.addRow(self.sampler)
        self.spins: dict[str, SpinBox] = {}
        self.descriptor: FamilyDescriptor | None = None
        self.parameters: Mapping[str, Any] = {}

    def set_descriptor(self, descriptor: FamilyDescriptor, parameters: Mapping[str, Any]) -> None:
        """Rebuild for a family; `parameters` (the manifest's) give the model's defaults."""
        self.descriptor, self.parameters = descriptor, parameters
        for field in list(self.spins):
            self.form.removeRow(self.spins.pop(field))
        with QSignalBlocker(self.sampler):
            self.sampler.clear()
            for sampler in descriptor.samplers:
                self.sampler.addItem(sampler.label, sampler.name)
        self.form.setRowVisible(self.sampler, bool(descriptor.samplers))
        for control in descriptor.controls:
            box = spin_for(control)
            box.setValue(control.default_for(parameters))  # type: ignore[arg-type]
            box.setToolTip(self._tooltip(control))
            box.valueChanged.connect(lambda v, c=control: self._spun(c, v))
            self.form.addRow(control.label, box)
            self.spins[control.field] = box
        self.setVisible(bool(descriptor.samplers or descriptor.controls))

    def _tooltip(self, control: Control) -> str:
        model_default = control.default_for(self.parameters)
        if control.default_key and control.default_key in self.parameters:
            return f"{control.tooltip} (this model's default: {model_default:g})".strip()
        return control.tooltip

    def show_values(self, values: Mapping[str, Any]) -> None:
        """Show a request's values (a field set to None shows the model's default)."""
        if self.descriptor is None:
            return
        with contextlib.ExitStack() as quiet:
            for widget in (self.sampler, *self.spins.values()):
                quiet.enter_context(QSignalBlocker(widget))
            sampler = values.get("sampler") or self.descriptor.default_sampler(self.parameters)
            if sampler is not None:
                self.sampler.setCurrentIndex(max(0, self.sampler.findData(sampler)))
            for control in self.descriptor.controls:
                value = values.get(control.field)
                shown = control.default_for(self.parameters) if value is None else value
                self.spins[control.field].setValue(shown)  # type: ignore[arg-type]
        self._enable_for(sampler)

    def _enable_for(self, sampler: str | None) -> None:
        """A control that its sampler does not use is greyed (DDPM runs every step)."""
        if self.descriptor is None:
            return
        for control in self.descriptor.controls:
            self.spins[control.field].setEnabled(control.applies_to(sampler))

    def _sampler_picked(self, _index: int) -> None:
        sampler = self.sampler.currentData()
        self._enable_for(sampler)
        self.edited.emit({"sampler": sampler}, "Sampler", None)

    def _spun(self, control: Control, value: float) -> None:
        merge = None if control.integer else (control.field,)  # a float drag is one step
        self.edited.emit({control.field: value}, control.label, merge)
