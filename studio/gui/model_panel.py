"""What the Audio, Text and Style panels share: a model picker of their modality, their
layout, and one batch-lane job at a time that Stop cancels."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QSplitter, QWidget

from studio.engine.runtime import ModelRuntime
from studio.engine.scheduler import Engine, Job, Ticket
from studio.gui.bridge import EngineBridge


class ModelPanel(QWidget):
    """A panel whose models are the catalog's models of `modality`, in `model_box`."""

    modality: ClassVar[str]

    def __init__(
        self, engine: Engine, runtime: ModelRuntime, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.engine, self.runtime = engine, runtime
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_picked)
        self.bridge = EngineBridge(self, coalesce_progress=True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self._ticket: Ticket | None = None

    # -- the running job ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._ticket is not None

    def _submit(self, job: Job) -> None:
        """Start `job` in the batch lane; a job still running is cancelled first."""
        if self._ticket is not None:
            self.engine.cancel(self._ticket)
        self._ticket = self.engine.submit_batch(job, self.bridge)
        self.stop_button.setEnabled(True)

    def stop(self) -> None:
        if self._ticket is not None:
            self.engine.cancel(self._ticket)

    def _mine(self, ticket: Ticket) -> bool:
        """Whether a report comes from the job this panel runs now (not a replaced one)."""
        return self._ticket is not None and ticket.generation == self._ticket.generation

    def _job_ended(self) -> None:
        self._ticket = None
        self.stop_button.setEnabled(False)

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
