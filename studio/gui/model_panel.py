"""What the Audio and Text panels share: a model picker of their modality and their layout."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSplitter, QWidget

from studio.engine.runtime import ModelRuntime


class ModelPanel(QWidget):
    """A panel whose models are the catalog's models of `modality`, in `model_box`."""

    modality: ClassVar[str]

    def __init__(self, runtime: ModelRuntime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_picked)

    def _load_models(self) -> None:
        """Fill the picker (call once the controls `_model_picked` sets exist)."""
        self.model_box.blockSignals(True)
        for manifest in self.runtime.catalog.manifests:
            if manifest.modality == self.modality:
                self.model_box.addItem(manifest.name, manifest.id)
        self.model_box.blockSignals(False)
        if self.model_box.count():
            self._model_picked(0)

    def set_model(self, model_id: str) -> None:
        index = self.model_box.findData(model_id)
        if index >= 0:
            self.model_box.setCurrentIndex(index)

    def _model_picked(self, index: int) -> None:
        raise NotImplementedError

    def _lay_out(self, main: QWidget, side: QWidget) -> None:
        """The work area on the left (three quarters), the settings on the right."""
        splitter = QSplitter()
        splitter.addWidget(main)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)
