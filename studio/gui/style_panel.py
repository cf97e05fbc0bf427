"""The Style panel: a content photo and a style picture in, the photo in that style out.

The model decides the method: an AdaIN decoder is the fast method (one pass; every change of
strength, colours, blend or size re-renders through the engine's interactive lane, where the
newest request wins, so the preview follows the sliders), the VGG features alone the
optimisation method (the batch lane, a preview at every iteration; Stop keeps the last one).
Content comes from a file, a drop, the clipboard or the Image panel's current result; styles
from a file, a drop or the bundled gallery (assets/styles), and a second style can be blended
in by weight. Before/after shows the photo in the result's place.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.bundled import assets_dir
from studio.core.errors import StudioError
from studio.core.manifest import file_sha256
from studio.core.modalities import Request
from studio.core.provenance import Provenance
from studio.core.results import ImageResult, Progress
from studio.core.style_request import StyleRequest
from studio.engine.scheduler import Ticket
from studio.gui.canvas import to_qimage
from studio.gui.model_panel import ModelPanel
from studio.gui.panel import PanelContext
from studio.gui.seed_box import SPIN_MAX_SEED
from studio.media.image import write_image

PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.webp *.bmp)"
GALLERY = assets_dir() / "styles"
PERCENT = 100  # slider steps per 1.0
DRAG_SIDE = 256  # while a slider is held the preview renders this small (91 ms, 251 at 512)


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
    rendered = Signal(object)  # ImageResult, finished or stopped

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.content_path: Path | None = None
        self.style_path: Path | None = None
        self.blend_path: Path | None = None
        self.result: ImageResult | None = None
        self._partial: ImageResult | None = None
        self._preview: Ticket | None = None  # the fast method's newest interactive request
        self._restoring = False  # restore() sets many controls: one preview at its end
        self._hashes: dict[tuple[Path, int, int], str] = {}  # (path, mtime, size) -> sha256
        self.bridge.progress.connect(self._on_progress)
        self.bridge.result.connect(self._on_result)
        self.bridge.cancelled.connect(self._on_cancelled)
        self.bridge.error.connect(self._on_error)
        self._build()
        self._load_models()

    def _build(self) -> None:
        self.content_box = PictureBox("Content photo\n(drop a picture here)")
        self.style_box = PictureBox("Style picture\n(drop a picture here)")
        self.blend_box = PictureBox("Blend in a\nsecond style\n(drop it here)")
        self.blend_box.setMinimumSize(96, 96)
        self.blend_box.setMaximumSize(128, 128)
        self.result_box = PictureBox("Result")
        self.content_box.dropped.connect(self.set_content)
        self.style_box.dropped.connect(self.set_style)
        self.blend_box.dropped.connect(self.set_blend)
        content_button = QPushButton("Content…")
        content_button.clicked.connect(lambda: self._pick(self.set_content))
        paste = QPushButton("Paste")
        paste.setToolTip("A picture from the clipboard as the content (Ctrl+V)")
        paste.clicked.connect(self.content_from_clipboard)
        QShortcut(QKeySequence.StandardKey.Paste, self, self.content_from_clipboard)
        from_image = QPushButton("From Image panel")
        from_image.setToolTip("The Image panel's current picture as the content")
        from_image.clicked.connect(self.content_from_image_panel)
        style_button = QPushButton("Style…")
        style_button.clicked.connect(lambda: self._pick(self.set_style))
        self.gallery = QComboBox()
        self.gallery.addItem("Gallery…", None)
        for path in sorted(GALLERY.glob("*.png")):
            self.gallery.addItem(path.stem.replace("-", " "), path)
        self.gallery.activated.connect(self._gallery_picked)
        blend_button = QPushButton("Blend with…")
        blend_button.clicked.connect(lambda: self._pick(self.set_blend))
        no_blend = QPushButton("No blend")
        no_blend.clicked.connect(lambda: self.set_blend(None))
        self.before = QCheckBox("Show the photo (before)")
        self.before.toggled.connect(self._show_result)
        grid = QGridLayout()
        columns = (
            (self.content_box, (content_button, paste, from_image)),
            (self.style_box, (style_button, self.gallery)),
            (self.result_box, (self.before,)),
        )
        for column, (box, buttons) in enumerate(columns):
            grid.addWidget(box, 0, column)
            row = QHBoxLayout()
            for widget in buttons:
                row.addWidget(widget)
            grid.addLayout(row, 1, column)
        self.method_label = QLabel()
        self.strength = self._percent_slider(100)
        self.strength_label = QLabel()
        self.blend_weight = self._percent_slider(50)
        self.blend_label = QLabel()
        self.keep_colors = QCheckBox("Keep the photo's colours")
        self.color_method = QComboBox()
        self.color_method.addItem("by luminance transfer", "luminance")
        self.color_method.addItem("by matching the style's colours", "match")
        self.keep_colors.toggled.connect(self._settings_changed)
        self.color_method.currentIndexChanged.connect(self._settings_changed)
        self.side = QSpinBox(minimum=64, maximum=2048, value=512, singleStep=64)
        self.side.editingFinished.connect(self._settings_changed)
        self.iterations = QSpinBox(minimum=1, maximum=5000, value=150, singleStep=25)
        self.seed = QSpinBox(minimum=0, maximum=SPIN_MAX_SEED, value=0)
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("Method", self.method_label)
        form.addRow(self.strength_label, self.strength)
        blend_row = QHBoxLayout()
        blend_row.addWidget(self.blend_box)
        blend_buttons = QVBoxLayout()
        blend_buttons.addWidget(blend_button)
        blend_buttons.addWidget(no_blend)
        blend_buttons.addStretch(1)
        blend_row.addLayout(blend_buttons)
        form.addRow("Second style", blend_row)
        form.addRow(self.blend_label, self.blend_weight)
        form.addRow("", self.keep_colors)
        form.addRow("", self.color_method)
        form.addRow("Size (longer side)", self.side)
        form.addRow("Iterations", self.iterations)
        form.addRow("Seed (start picture)", self.seed)
        self._optimise_only = (self.iterations, self.seed)
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
        self._update_labels()

    def _percent_slider(self, value: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, PERCENT)
        slider.setValue(value)
        slider.valueChanged.connect(self._update_labels)
        slider.valueChanged.connect(self._settings_changed)
        slider.sliderReleased.connect(self._settings_changed)  # the full size, once let go
        return slider

    def _dragging(self) -> bool:
        return self.strength.isSliderDown() or self.blend_weight.isSliderDown()

    def _update_labels(self, *_: object) -> None:
        self.strength_label.setText(f"Style strength {self.strength.value()} %")
        self.blend_label.setText(f"Blend {self.blend_weight.value()} %")

    @property
    def method(self) -> str:
        """The chosen model's method, as its family declares it (AdaIN: fast)."""
        model_id = self.model_box.currentData()
        if model_id is None:
            return "optimize"
        return str(self.runtime.descriptor(str(model_id)).extra.get("method", "optimize"))

    def _model_picked(self, index: int) -> None:
        fast = self.method == "fast"
        self.method_label.setText(
            "fast: one pass, follows the sliders (AdaIN)"
            if fast
            else "optimisation: iterates on the picture (Gatys et al.)"
        )
        for widget in self._optimise_only:
            widget.setEnabled(not fast)
        self._settings_changed()

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
            self._settings_changed()

    def set_style(self, path: Path) -> None:
        if self._load_box(self.style_box, path):
            self.style_path = path
            self._settings_changed()

    def set_blend(self, path: Path | None) -> None:
        """A second style to blend in by the blend weight; None blends nothing."""
        if path is None:
            self.blend_path = None
            self.blend_box.show_pixmap(None)
            self.blend_box.setText("Blend in a\nsecond style\n(drop it here)")
        elif self._load_box(self.blend_box, path):
            self.blend_path = path
        self._settings_changed()

    def _gallery_picked(self, index: int) -> None:
        path = self.gallery.itemData(index)
        if path is not None:
            self.set_style(Path(path))

    def _keep_picture(self, save, stem: str) -> Path:
        """A pasted or generated picture saved where its settings can name it."""
        path = Path(tempfile.mkdtemp(prefix="latent-studio-")) / f"{stem}.png"
        save(path)
        return path

    def content_from_clipboard(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.set_content(Path(mime.urls()[0].toLocalFile()))
            return
        image = clipboard.image()
        if image.isNull():
            self.failed.emit("Style", "the clipboard holds no picture")
            return
        self.set_content(self._keep_picture(lambda path: image.save(str(path)), "pasted"))

    def content_from_image_panel(self) -> None:
        result = self.context.result_of("image")
        if not isinstance(result, ImageResult):
            self.failed.emit("Style", "the Image panel has no picture yet")
            return
        stem = f"{result.request.model_id}-seed{result.request.seed}"
        self.set_content(
            self._keep_picture(
                lambda path: write_image(path, result.pixels, result.provenance), stem
            )
        )

    # -- running --------------------------------------------------------------------------
    def current_request(self) -> StyleRequest:
        if self.content_path is None or self.style_path is None:
            raise StudioError("choose a content photo and a style picture first")
        blend: tuple[tuple[str, str, float], ...] = ()
        weight = self.blend_weight.value() / PERCENT
        if self.blend_path is not None and weight > 0:
            blend = ((str(self.blend_path), self._sha256(self.blend_path), weight),)
        fast = self.method == "fast"
        return StyleRequest(
            content=str(self.content_path),
            content_sha256=self._sha256(self.content_path),
            style=str(self.style_path),
            style_sha256=self._sha256(self.style_path),
            model_id=str(self.model_box.currentData() or "vgg16-features"),
            method=self.method,
            strength=self.strength.value() / PERCENT,
            keep_colors=self.keep_colors.isChecked(),
            color_method=str(self.color_method.currentData()),
            blend=blend,
            size=self.side.value(),
            iterations=150 if fast else self.iterations.value(),
            seed=0 if fast else self.seed.value(),
        )

    def _sha256(self, path: Path) -> str:
        """A picture's sha256, hashed again only when the file changes: the fast method builds
        a request on every slider move."""
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in self._hashes:
            self._hashes[key] = file_sha256(path)
        return self._hashes[key]

    def _settings_changed(self, *_: object) -> None:
        """The fast method previews every change; the optimisation waits for Stylize."""
        if self._restoring:
            return
        if self.method == "fast" and self.content_path and self.style_path and not self.running:
            self.preview()

    def preview(self) -> None:
        """Render the current settings in the interactive lane (the newest request wins)."""
        try:
            request = self.current_request()
        except (StudioError, OSError) as exc:
            self.failed.emit("Style", str(exc))
            return
        if self._dragging() and request.size > DRAG_SIDE:
            request = dataclasses.replace(request, size=DRAG_SIDE)
        ticket = self.engine.submit_interactive(
            request, lambda: self.runtime.style_job(request), self.bridge
        )
        if ticket is not None:
            self._preview = ticket
            self.progress.setFormat("rendering…")

    def stylize(self) -> None:
        if self.method == "fast":
            self.engine.forget_last_request()  # Stylize renders again even if nothing changed
            self.preview()
            return
        try:
            request = self.current_request()
        except (StudioError, OSError) as exc:
            self.failed.emit("Style", str(exc))
            return
        self._partial = None
        self.progress.setValue(0)
        self.progress.setFormat("loading…")
        self._submit(lambda: self.runtime.style_job(request))

    def _is_preview(self, ticket: Ticket) -> bool:
        return self._preview is not None and ticket.generation == self._preview.generation

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
        if result is not None:
            self.result = result
            self._show_result()
            self.rendered.emit(result)

    def _on_result(self, ticket: Ticket, result: ImageResult) -> None:
        if not (self._mine(ticket) or self._is_preview(ticket)):
            return
        if self._mine(ticket):
            self._job_ended()
        request = result.request
        method = "fast (AdaIN)" if request.method == "fast" else "optimisation"
        self.progress.setValue(100)
        self.progress.setFormat(f"done in {result.seconds:.2f} s")
        self.status.emit(
            f"stylized in {result.seconds:.2f} s · {result.provenance.backend} · {method}"
        )
        self._finish(result)

    def _on_cancelled(self, ticket: Ticket) -> None:
        if self._mine(ticket):
            self._job_ended()
            step = self._partial.provenance.preview_step if self._partial else None
            self.progress.setFormat(f"stopped at iteration {step}" if step else "stopped")
            self._finish(self._partial)

    def _on_error(self, ticket: Ticket, error: BaseException) -> None:
        if self._mine(ticket) or self._is_preview(ticket):
            if self._mine(ticket):
                self._job_ended()
            self.progress.setFormat("failed")
            self.failed.emit("Style", str(error))

    # -- files ----------------------------------------------------------------------------
    def has_result(self) -> bool:
        return self.result is not None

    def suggested_name(self) -> str:
        return "stylized.png"

    def export(self, path: Path, overwrite: bool = False) -> None:
        if self.result is None:
            raise StudioError("nothing has been stylized yet")
        write_image(path, self.result.pixels, self.result.provenance, overwrite=overwrite)

    def current_result(self) -> ImageResult | None:
        return self.result

    def open_plain(self, path: Path, payload: Any = None) -> bool:
        """A picture without settings dropped on the window becomes the content photo."""
        self.set_content(path)
        return True

    def apply_request(self, request: Request) -> None:
        """The settings of a model left earlier (the pictures stay the ones shown now)."""
        if not isinstance(request, StyleRequest):
            return
        self.strength.setValue(round(request.strength * PERCENT))
        self.keep_colors.setChecked(request.keep_colors)
        self.color_method.setCurrentIndex(max(0, self.color_method.findData(request.color_method)))
        self.side.setValue(request.size)
        self.iterations.setValue(request.iterations)

    def restore(self, provenance: Provenance, payload: Any = None) -> list[str]:
        """Settings of an exported result into the controls; warns of pictures that are gone."""
        request = provenance.request
        if not isinstance(request, StyleRequest):
            return [f"this file holds {type(request).__name__} settings"]
        paths = [request.content, *(path for path, _, _ in request.styles())]
        missing = [path for path in paths if not Path(path).is_file()]
        self._restoring = True
        self.set_model(request.model_id)
        for setter, path in zip(
            (self.set_content, self.set_style, self.set_blend), paths, strict=False
        ):
            if Path(path).is_file():
                setter(Path(path))
        if not request.blend:
            self.set_blend(None)
        else:
            self.blend_weight.setValue(round(request.blend[0][2] * PERCENT))
        self.strength.setValue(round(request.strength * PERCENT))
        self.keep_colors.setChecked(request.keep_colors)
        self.color_method.setCurrentIndex(max(0, self.color_method.findData(request.color_method)))
        self.side.setValue(request.size)
        self.iterations.setValue(request.iterations)
        self.seed.setValue(min(request.seed, SPIN_MAX_SEED))
        self._restoring = False
        self._settings_changed()
        return [f"a source picture is missing: {', '.join(missing)}"] if missing else []
