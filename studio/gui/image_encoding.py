"""Encoding a picture of the user's own into the Image panel's model (VAE, flow) or having
the model complete it (PixelCNN, RBM): the button, the file dialog, the off-thread job, and
the box showing the model's input beside its reconstruction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QPushButton

from studio.core.errors import StudioError
from studio.core.results import EncodeResult
from studio.engine.runtime import ModelInfo, encode_job
from studio.engine.scheduler import Ticket
from studio.gui.bridge import EngineBridge
from studio.gui.encoded_view import EncodedView
from studio.media.image import read_image

if TYPE_CHECKING:
    from studio.gui.image_panel import ImagePanel

PICTURE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif)"


class ImageEncoding(QObject):
    def __init__(self, panel: ImagePanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.result: EncodeResult | None = None
        self.button = QPushButton("Encode picture…")
        self.button.setToolTip(
            "Map your own picture into this model's latent space (or drop it on the window)"
        )
        self.button.clicked.connect(self.dialog)
        self.view = EncodedView()
        self.view.setVisible(False)
        self.bridge = EngineBridge(self)
        self.bridge.result.connect(self._on_encoded)
        self.bridge.error.connect(lambda _t, error: self.panel.failed.emit("Encoding", str(error)))

    def model_changed(self, info: ModelInfo) -> None:
        self.button.setEnabled(info.can_encode)
        self.button.setText(info.encode_label if info.can_encode else "Encode picture…")
        self.view.setVisible(False)

    def dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.panel, "Encode picture", str(Path.home()), PICTURE_FILTER
        )
        if path:
            self.encode_file(Path(path))

    def encode_file(self, path: Path) -> bool:
        """Encode a picture (any size or mode) with the current model, off the GUI thread."""
        panel = self.panel
        if panel.info is None or not panel.info.can_encode or panel.state is None:
            name = panel.info.manifest.name if panel.info else "This model"
            panel.failed.emit(name, "cannot encode pictures: choose a VAE or a flow model")
            return False
        try:
            pixels, _ = read_image(path)
        except StudioError as exc:
            panel.failed.emit(path.name, str(exc))
            return False
        model_id, backend, runtime = panel.state.model_id, panel.state.backend, panel.runtime
        panel.engine.submit_batch(
            lambda: encode_job(runtime, model_id, pixels, backend), self.bridge
        )
        panel.status.emit(f"Encoding {path.name}…")
        return True

    def _on_encoded(self, _ticket: Ticket, result: EncodeResult) -> None:
        panel = self.panel
        if panel.state is None or result.model_id != panel.state.model_id:
            return  # the user moved to another model meanwhile
        self.result = result
        self.view.show_result(result)
        self.view.setVisible(True)
        latent = tuple(float(v) for v in result.latent.ravel())
        panel.edit("Encode picture", latent=latent, offsets=(), grid=(1, 1))
        panel.pictureEncoded.emit(result)
