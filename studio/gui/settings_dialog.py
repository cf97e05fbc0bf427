"""Compute settings: device (auto, CPU, GPU) and threads, applied without a restart."""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from studio.engine.runtime import DeviceSettings, available_gpu_backends

DEVICE_LABELS = {"auto": "Automatic (GPU when available)", "cpu": "CPU", "gpu": "GPU"}


class SettingsDialog(QDialog):
    def __init__(self, current: DeviceSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.device = QComboBox()
        for key, label in DEVICE_LABELS.items():
            self.device.addItem(label, key)
        self.device.setCurrentIndex(list(DEVICE_LABELS).index(current.device))
        self.threads = QSpinBox()
        self.threads.setRange(0, os.cpu_count() or 1)
        self.threads.setSpecialValueText("Automatic")
        self.threads.setValue(current.threads or 0)
        gpus = available_gpu_backends()
        found = QLabel(
            "GPU backends found: " + (", ".join(gpus) if gpus else "none; GPU falls back to CPU")
        )
        found.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Compute device", self.device)
        form.addRow("CPU threads", self.threads)
        form.addRow(found)
        form.addRow(buttons)

    def chosen(self) -> DeviceSettings:
        return DeviceSettings(self.device.currentData(), self.threads.value() or None)
