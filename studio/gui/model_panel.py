"""What the Audio, Text and Style panels share: a model picker of their modality, their
layout, one batch-lane job at a time that Stop cancels, and each model's settings kept while
another model is shown."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QSplitter, QWidget

from studio.core.errors import StudioError
from studio.core.modalities import Request
from studio.engine.scheduler import Job, Ticket
from studio.gui.bridge import EngineBridge
from studio.gui.panel import Panel, PanelContext


class ModelPanel(Panel):
    """A panel whose models are the catalog's models of `modality`, in `model_box`."""

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._shown_model: str | None = None
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_box_changed)
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
            self._model_box_changed(0)

    def set_model(self, model_id: str) -> None:
        index = self.model_box.findData(model_id)
        if index >= 0:
            self.model_box.setCurrentIndex(index)

    def current_model(self) -> str | None:
        data = self.model_box.currentData()
        return None if data is None else str(data)

    def _model_box_changed(self, index: int) -> None:
        """Keep the settings of the model left, show the new one's (its own if it was shown
        before, else its defaults)."""
        if self._shown_model is not None:
            try:
                left = self.current_request()
            except StudioError:  # the controls do not make a request yet
                left = None
            if left is not None:
                self.remember(dataclasses.replace(left, model_id=self._shown_model))
        model_id = self.model_box.itemData(index)
        self._shown_model = None if model_id is None else str(model_id)
        self._model_picked(index)
        kept = self.remembered(self._shown_model) if self._shown_model else None
        if kept is not None:
            self.apply_request(kept)
        if self._shown_model is not None:
            self.modelChanged.emit(self._shown_model)

    def _model_picked(self, index: int) -> None:
        """Set the controls to the model's defaults."""
        raise NotImplementedError

    def apply_request(self, request: Request) -> None:
        """Show a request's settings in the controls."""
        raise NotImplementedError

    def _lay_out(self, main: QWidget, side: QWidget) -> None:
        """The work area on the left (three quarters), the settings on the right."""
        splitter = QSplitter()
        splitter.addWidget(main)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)
