"""The Style panel: a content photo and a style picture in, the photo in that style out.

Pictures come from files, drops on their boxes, or the Image panel's current result. The
optimisation method runs in the engine's batch lane with a preview at every iteration; Stop
keeps the last one. Before/after shows the photo in the result's place while held.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.core.manifest import file_sha256
from studio.core.provenance import Provenance
from studio.core.results import ImageResult, Progress
from studio.core.style_request import StyleRequest
from studio.engine.runtime import ModelRuntime
from studio.engine.scheduler import Engine, Ticket
from studio.gui.canvas import to_qimage
from studio.gui.image_panel import SPIN_MAX_SEED
from studio.gui.model_panel import ModelPanel
from studio.media.image import write_image

PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.webp *.bmp)"


class PictureBox(QLabel):
    """Shows a picture scaled to fit; a picture file dropped on it is offered to `dropped`."""

    dropped = Signal(object)  # Path

    def __init__(self, placeholder: str) -> None:
        super().__init__(placeholder)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(220, 220)
        self.setStyleSheet("border: 1px solid #555;")
        self.setAcceptDrops(True)
        self._pixmap: QPixmap | None = None

    def show_pixmap(self, pixmap: QPixmap | None) -> None:
        self._pixmap = pixmap
        if pixmap is not None:
            self.setPixmap(pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio))

    def resizeEvent(self, event) -> None:
        self.show_pixmap(self._pixmap)
        super().resizeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.dropped.emit(Path(event.mimeData().urls()[0].toLocalFile()))


class StylePanel(ModelPanel):
    modality = "style"
    failed = Signal(str, str)
    status = Signal(str)
    rendered = Signal(object)  # ImageResult, finished or stopped

    def __init__(
        self,
        engine: Engine,
        runtime: ModelRuntime,
        current_image=None,  # () -> ImageResult | None: the Image panel's picture
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(engine, runtime, parent)
        self.current_image = current_image
        self.content_path: Path | None = None
        self.style_path: Path | None = None
        self.result: ImageResult | None = None
        self._partial: ImageResult | None = None
        self.bridge.progress.connect(self._on_progress)
        self.bridge.result.connect(self._on_result)
        self.bridge.cancelled.connect(self._on_cancelled)
        self.bridge.error.connect(self._on_error)
        self._build()
        self._load_models()

    def _build(self) -> None:
        self.content_box = PictureBox("Content photo\n(drop a picture here)")
        self.style_box = PictureBox("Style picture\n(drop a picture here)")
        self.result_box = PictureBox("Result")
        self.content_box.dropped.connect(self.set_content)
        self.style_box.dropped.connect(self.set_style)
        content_button = QPushButton("Content…")
        content_button.clicked.connect(lambda: self._pick(self.set_content))
        style_button = QPushButton("Style…")
        style_button.clicked.connect(lambda: self._pick(self.set_style))
        from_image = QPushButton("Use the Image panel's picture")
        from_image.clicked.connect(self.content_from_image_panel)
        self.before = QCheckBox("Show the photo (before)")
        self.before.toggled.connect(self._show_result)
        grid = QGridLayout()
        for column, (box, buttons) in enumerate(
            (
                (self.content_box, (content_button, from_image)),
                (self.style_box, (style_button,)),
                (self.result_box, (self.before,)),
            )
        ):
            grid.addWidget(box, 0, column)
            row = QHBoxLayout()
            for widget in buttons:
                row.addWidget(widget)
            grid.addLayout(row, 1, column)
        self.method = QComboBox()
        self.method.addItem("Optimisation (Gatys et al.)", "optimize")
        self.method.addItem("Fast (AdaIN): needs the adain-style model", "fast")
        self.strength = QDoubleSpinBox(minimum=0.0, maximum=100.0, value=1.0, singleStep=0.25)
        self.keep_colors = QCheckBox("Keep the photo's colours")
        self.side = QSpinBox(minimum=64, maximum=2048, value=384, singleStep=64)
        self.iterations = QSpinBox(minimum=1, maximum=5000, value=150, singleStep=25)
        self.seed = QSpinBox(minimum=0, maximum=SPIN_MAX_SEED, value=0)
        form = QFormLayout()
        form.addRow("Features", self.model_box)
        form.addRow("Method", self.method)
        form.addRow("Style strength", self.strength)
        form.addRow("", self.keep_colors)
        form.addRow("Size (longer side)", self.side)
        form.addRow("Iterations", self.iterations)
        form.addRow("Seed", self.seed)
        self.go = QPushButton("Stylize")
        self.go.setShortcut("Ctrl+Return")
        self.go.clicked.connect(self.stylize)
        self.progress = QProgressBar()
        run_row = QHBoxLayout()
        run_row.addWidget(self.go)
        run_row.addWidget(self.stop_button)
        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.addLayout(grid, 1)
        main_layout.addLayout(run_row)
        main_layout.addWidget(self.progress)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addLayout(form)
        side_layout.addStretch(1)
        self._lay_out(main, side)

    def _model_picked(self, index: int) -> None:
        pass  # one feature network serves both methods; nothing to reload

    # -- pictures -------------------------------------------------------------------------
    def _pick(self, setter) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a picture", "", PICTURE_FILTER)
        if path:
            setter(Path(path))

    def _load_box(self, box: PictureBox, path: Path) -> bool:
        pixmap = QPixmap(str(path))
        if pixmap.isNull():
            self.failed.emit(path.name, "not a picture this app can read")
            return False
        box.show_pixmap(pixmap)
        return True

    def set_content(self, path: Path) -> None:
        if self._load_box(self.content_box, path):
            self.content_path = path

    def set_style(self, path: Path) -> None:
        if self._load_box(self.style_box, path):
            self.style_path = path

    def content_from_image_panel(self) -> None:
        result = self.current_image() if self.current_image else None
        if result is None:
            self.failed.emit("Style", "the Image panel has no picture yet")
            return
        folder = Path(tempfile.mkdtemp(prefix="latent-studio-"))
        path = folder / f"{result.request.model_id}-seed{result.request.seed}.png"
        write_image(path, result.pixels, result.provenance)
        self.set_content(path)

    # -- running --------------------------------------------------------------------------
    def current_request(self) -> StyleRequest:
        if self.content_path is None or self.style_path is None:
            raise StudioError("choose a content photo and a style picture first")
        return StyleRequest(
            content=str(self.content_path),
            content_sha256=file_sha256(self.content_path),
            style=str(self.style_path),
            style_sha256=file_sha256(self.style_path),
            model_id=str(self.model_box.currentData() or "vgg16-features"),
            method=str(self.method.currentData()),
            strength=self.strength.value(),
            keep_colors=self.keep_colors.isChecked(),
            size=self.side.value(),
            iterations=self.iterations.value(),
            seed=self.seed.value(),
        )

    def stylize(self) -> None:
        try:
            request = self.current_request()
        except (StudioError, OSError) as exc:
            self.failed.emit("Style", str(exc))
            return
        self._partial = None
        self.progress.setValue(0)
        self.progress.setFormat("loading…")
        self._submit(lambda: self.runtime.style_job(request))

    def _on_progress(self, ticket: Ticket, progress: Progress) -> None:
        if not self._mine(ticket) or progress.partial is None:
            return
        self._partial = progress.partial
        self.progress.setValue(round(progress.fraction * 100))
        self.progress.setFormat(progress.message)
        self.result = progress.partial
        self._show_result()

    def _show_result(self, *_: object) -> None:
        if self.before.isChecked() and self.content_path is not None:
            self.result_box.show_pixmap(QPixmap(str(self.content_path)))
        elif self.result is not None:
            self.result_box.show_pixmap(QPixmap.fromImage(to_qimage(self.result.pixels)))

    def _finish(self, result: ImageResult | None) -> None:
        self._job_ended()
        if result is not None:
            self.result = result
            self._show_result()
            self.rendered.emit(result)

    def _on_result(self, ticket: Ticket, result: ImageResult) -> None:
        if self._mine(ticket):
            self.progress.setValue(100)
            self.progress.setFormat(f"done in {result.seconds:.1f} s")
            self.status.emit(f"stylized in {result.seconds:.1f} s · torch · optimisation")
            self._finish(result)

    def _on_cancelled(self, ticket: Ticket) -> None:
        if self._mine(ticket):
            step = self._partial.provenance.preview_step if self._partial else None
            self.progress.setFormat(f"stopped at iteration {step}" if step else "stopped")
            self._finish(self._partial)

    def _on_error(self, ticket: Ticket, error: BaseException) -> None:
        if self._mine(ticket):
            self.progress.setFormat("failed")
            self._finish(None)
            self.failed.emit("Style", str(error))

    # -- files ----------------------------------------------------------------------------
    def export_to(self, path: Path, overwrite: bool = False) -> None:
        if self.result is None:
            raise StudioError("nothing has been stylized yet")
        write_image(path, self.result.pixels, self.result.provenance, overwrite=overwrite)

    def restore(self, provenance: Provenance) -> str | None:
        """Settings of an exported result into the controls; None, or which picture is gone."""
        request = provenance.request
        if not isinstance(request, StyleRequest):
            return None
        missing = [p for p in (request.content, request.style) if not Path(p).is_file()]
        for path, setter in ((request.content, self.set_content), (request.style, self.set_style)):
            if Path(path).is_file():
                setter(Path(path))
        self.method.setCurrentIndex(max(0, self.method.findData(request.method)))
        self.strength.setValue(request.strength)
        self.keep_colors.setChecked(request.keep_colors)
        self.side.setValue(request.size)
        self.iterations.setValue(request.iterations)
        self.seed.setValue(min(request.seed, SPIN_MAX_SEED))
        return f"missing: {', '.join(missing)}" if missing else None
