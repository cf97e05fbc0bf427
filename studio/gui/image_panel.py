"""The Image panel: seed, latent sliders, truncation, the family's sampling controls, sample
grid; renders live.

State is one frozen ImageRequest. Every edit goes through the undo stack as a new request;
applying a request updates the widgets (without feedback) and submits it to the engine's
interactive lane, where the newest request wins and stale results are dropped by their
generation stamp. What the controls offer comes from the model's family descriptor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.descriptor import Capability
from studio.core.errors import StudioError
from studio.core.modalities import Request
from studio.core.priors import MAX_SEED
from studio.core.provenance import Provenance
from studio.core.requests import ImageRequest
from studio.core.results import ImageResult, Progress
from studio.engine.runtime import ModelInfo
from studio.engine.scheduler import Ticket
from studio.gui.bridge import EngineBridge
from studio.gui.canvas import Canvas, to_qimage
from studio.gui.control_form import ControlForm
from studio.gui.image_encoding import ImageEncoding
from studio.gui.panel import Panel, PanelContext
from studio.gui.progress_row import ProgressRow
from studio.gui.seed_box import SPIN_MAX_SEED, SeedBox
from studio.gui.sliders import DirectionSliders
from studio.gui.state_command import StateCommand
from studio.gui.style_mix_box import StyleMixBox
from studio.media.image import upscale, write_image
from studio.media.sheet import write_sheet

GRID = (4, 4)


class ImagePanel(Panel):
    modality = "image"
    rendered = Signal(object)  # ImageResult, after it is shown
    pictureEncoded = Signal(object)  # EncodeResult, after the state moved to its latent
    stopped = Signal(object)  # ImageResult: the preview a stopped sampler left

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.undo = context.undo
        self.state: ImageRequest | None = None
        self.info: ModelInfo | None = None
        self.result: ImageResult | None = None
        self._latest: Ticket | None = None
        self._partial: ImageResult | None = None  # the newest preview of an iterative job
        self._submitted_at = 0.0
        self._drag_serial = 0
        self._dragging: str | None = None
        self.bridge = EngineBridge(self)
        self.bridge.result.connect(self._on_result)
        self.bridge.progress.connect(self._on_progress)
        self.bridge.cancelled.connect(self._on_cancelled)
        self.bridge.error.connect(self._on_error)
        self.encoding = ImageEncoding(self)
        self._build()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.canvas = Canvas()
        self.canvas.cellClicked.connect(self.pick_cell)
        self.progress_box = ProgressRow()
        self.progress_box.stop_button.clicked.connect(self.stop)
        self.progress_box.setVisible(False)
        self.progress = self.progress_box.bar
        self.sliders = DirectionSliders()
        self.sliders.valueEdited.connect(self._direction_edited)
        self.sliders.dragStarted.connect(self._drag_started)
        self.sliders.dragFinished.connect(lambda _: setattr(self, "_dragging", None))
        self.sliders.resetAll.connect(self.reset_directions)
        self.sampler_box = ControlForm("Sampling")
        self.sampler_box.edited.connect(lambda changes, text, key: self.edit(text, key, **changes))
        self.sampler = self.sampler_box.sampler
        self.style_box = StyleMixBox()
        self.style_box.edited.connect(lambda changes, text, key: self.edit(text, key, **changes))
        directions = QGroupBox("Directions")
        QVBoxLayout(directions).addWidget(self.sliders)
        column_widget = QWidget()
        column = QVBoxLayout(column_widget)
        boxes = (self._point_box(), self.style_box, self.sampler_box, self.encoding.view)
        for box in (*boxes, directions):
            column.addWidget(box)
        column.addWidget(self._view_box())
        column.addStretch(1)
        self.controls = QScrollArea()
        self.controls.setWidget(column_widget)
        self.controls.setWidgetResizable(True)
        self.controls.setMinimumWidth(340)
        picture = QWidget()
        picture_column = QVBoxLayout(picture)
        picture_column.setContentsMargins(0, 0, 0, 0)
        picture_column.addWidget(self.canvas, 1)
        picture_column.addWidget(self.progress_box)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(picture)
        splitter.addWidget(self.controls)
        splitter.setStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.setEnabled(False)

    def _point_box(self) -> QGroupBox:
        """Seed, truncation, the sample grid and encoding."""
        seed_box = SeedBox()
        self.seed = seed_box.spin
        seed_box.typed.connect(lambda v: self.edit("Change seed", seed=v, latent=None))
        seed_box.stepped.connect(self.step_seed)
        seed_box.randomised.connect(self.random_seed)
        self.truncate = QCheckBox("Truncate")
        self.truncate.setToolTip("Redraw latent values beyond ±ψ: more typical, less varied")
        self.truncation = QDoubleSpinBox()
        self.truncation.setRange(0.1, 3.0)
        self.truncation.setSingleStep(0.1)
        self.truncation.setValue(1.0)
        self.truncation.setPrefix("ψ ")
        self.truncate.toggled.connect(lambda _: self._truncation_edited())
        self.truncation.valueChanged.connect(lambda _: self._truncation_edited())
        trunc_row = QHBoxLayout()
        trunc_row.addWidget(self.truncate)
        trunc_row.addWidget(self.truncation)
        self.grid_button = QPushButton(f"Sample grid {GRID[0]}×{GRID[1]}")
        self.grid_button.setCheckable(True)
        self.grid_button.setToolTip("Show neighbouring seeds; click one to make it current (G)")
        self.grid_button.setShortcut("G")
        self.grid_button.toggled.connect(self.show_grid)
        point = QGroupBox("Latent point")
        form = QFormLayout(point)
        form.addRow("Seed", seed_box)
        form.addRow(trunc_row)
        form.addRow(self.grid_button)
        form.addRow(self.encoding.button)
        self.encode_button = self.encoding.button
        return point

    def _view_box(self) -> QGroupBox:
        self.smooth = QCheckBox("Smooth zoom")
        self.smooth.toggled.connect(self.canvas.set_smooth)
        self.export_scale = QSpinBox()
        self.export_scale.setRange(1, 32)
        self.export_scale.setValue(8)
        self.export_scale.setSuffix("×")
        self.export_scale.setToolTip("Export upscale factor (nearest, or smooth if chosen)")
        view = QGroupBox("View and export")
        view_form = QFormLayout(view)
        view_form.addRow(self.smooth)
        view_form.addRow("Export scale", self.export_scale)
        return view

    # -- the panel protocol -----------------------------------------------------------------
    def set_model(self, model_id: str, state: ImageRequest | None = None) -> None:  # type: ignore[override]
        """Switch to `model_id` and render `state` (default: where that model was left, else
        seed 0 at the origin with the model's defaults)."""
        kept = self.remembered(model_id)
        new = state or (kept if isinstance(kept, ImageRequest) else None)
        new = new or self.runtime.default_request(model_id)
        if self.state is None:
            self.apply_state(new)
        elif new != self.state:
            self.undo.push(StateCommand(self.apply_state, self.state, new, f"Open {model_id}"))

    def current_model(self) -> str | None:
        return None if self.state is None else self.state.model_id

    def current_request(self) -> Request | None:
        return self.state

    def restore(self, provenance: Provenance, payload: Any = None) -> list[str]:
        request = provenance.request
        if not isinstance(request, ImageRequest):
            return [f"this file holds {type(request).__name__} settings, not a picture's"]
        self.set_model(request.model_id, request)
        self.export_scale.setValue(provenance.upscale)
        return []

    def open_plain(self, path: Path, payload: Any = None) -> bool:
        """A picture of the user's own: encoded by the current model when it can."""
        if self.info is not None and self.info.can_encode:
            return self.encoding.encode_file(path)
        self.failed.emit(
            path.name,
            "this image carries no Latent Studio settings; to start from it, choose a model "
            "that can encode pictures (VAE or flow) and drop it again",
        )
        return False

    def has_result(self) -> bool:
        return self.result is not None and self.state is not None

    def suggested_name(self) -> str:
        if self.state is None:
            return super().suggested_name()
        return f"{self.state.model_id}-seed{self.state.seed}.png"

    def export(self, path: Path, overwrite: bool = False) -> None:
        """The picture at the chosen upscale, with its settings (and the upscale) inside."""
        if self.result is None:
            raise StudioError("nothing has been rendered yet")
        factor = self.export_scale.value()
        provenance = dataclasses.replace(self.result.provenance, upscale=factor)
        pixels = upscale(self.result.pixels, factor, smooth=self.smooth.isChecked())
        write_image(path, pixels, provenance, overwrite)

    def menu_actions(self) -> list[QAction]:
        encode = QAction(self.encoding.button.text(), self)
        encode.triggered.connect(self.encoding.dialog)
        grid = QAction(self.grid_button.text(), self)
        grid.triggered.connect(self.grid_button.toggle)
        randomise = QAction("Random seed", self)
        randomise.triggered.connect(self.random_seed)
        sheet = QAction("Export sprite sheet…", self)
        sheet.triggered.connect(self._sheet_dialog)
        return [randomise, grid, encode, sheet]

    def _sheet_dialog(self) -> None:
        if self.state is None or self.state.grid == (1, 1):
            self.failed.emit("Sprite sheet", "show the sample grid first (G)")
            return
        name = f"{self.state.model_id}-sheet-seed{self.state.seed}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export sprite sheet", name, "PNG (*.png)")
        if path:
            try:
                self.export_sheet(Path(path), overwrite=True)  # the dialog asked already
            except StudioError as exc:
                self.failed.emit("Sprite sheet", str(exc))

    def export_sheet(self, path: Path, overwrite: bool = False) -> tuple[Path, Path]:
        """The shown grid as one PNG at the export scale, and a .tsv of its cells beside."""
        if self.result is None:
            raise StudioError("nothing has been rendered yet")
        factor = self.export_scale.value()
        provenance = dataclasses.replace(self.result.provenance, upscale=factor)
        pixels = upscale(self.result.pixels, factor, smooth=self.smooth.isChecked())
        return write_sheet(path.with_suffix(".png"), pixels, provenance, overwrite)

    def current_image(self) -> QImage | None:
        return self.canvas.image()

    def current_result(self) -> ImageResult | None:
        return self.result

    def set_controls_visible(self, visible: bool) -> None:
        self.controls.setVisible(visible)

    def rerender(self) -> None:
        """Render the current state again (after a device change)."""
        self.engine.forget_last_request()
        self.request_render()

    # -- state ----------------------------------------------------------------------------
    def set_state(self, new: ImageRequest, text: str, merge_key: object = None) -> None:
        if self.state is None or new == self.state:
            return
        self.undo.push(StateCommand(self.apply_state, self.state, new, text, merge_key))

    def edit(self, text: str, merge_key: object = None, **changes: object) -> None:
        if self.state is not None:
            new = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]
            self.set_state(new, text, merge_key)

    def apply_state(self, state: ImageRequest) -> None:
        """Show `state` in every control and render it. Called by undo commands."""
        if self.info is None or state.model_id != self.info.manifest.id:
            try:
                info = self.runtime.describe(state.model_id)
            except StudioError as exc:
                self.failed.emit(state.model_id, str(exc))
                return
            self.remember(self.state)  # the model left keeps its point
            self._load_controls(info)
            self.modelChanged.emit(state.model_id)
        self.state = state
        self._show(state)
        self.request_render()

    def _load_controls(self, info: ModelInfo) -> None:
        """The controls this model's family declares."""
        self.info = info
        self.sliders.set_directions(info.direction_names, info.explained_variance)
        self.truncate.setEnabled(info.has_truncation)
        self.truncation.setEnabled(info.has_truncation)
        self.encoding.model_changed(info)
        self.sampler_box.set_descriptor(info.descriptor, info.manifest.parameters)
        side = info.manifest.output_shape[-1] if info.manifest.output_shape else 0
        self.style_box.set_model(info.descriptor, info.manifest.parameters, side)
        self.progress_box.setVisible(info.descriptor.can(Capability.STEP_PREVIEWS))
        self.setEnabled(True)
        self.canvas.set_message(f"Rendering {info.manifest.name}…")

    def _show(self, state: ImageRequest) -> None:
        with contextlib.ExitStack() as quiet:  # showing a state is not an edit
            for widget in (self.seed, self.truncate, self.truncation, self.grid_button):
                quiet.enter_context(QSignalBlocker(widget))
            self.seed.setValue(min(state.seed, SPIN_MAX_SEED))
            self.truncate.setChecked(state.truncation is not None)
            if state.truncation is not None:
                self.truncation.setValue(state.truncation)
            self.grid_button.setChecked(state.grid != (1, 1))
        self.sampler_box.show_values(state.to_dict())
        self.style_box.show_values(state.to_dict())
        self.sliders.show_values(state.offset_map)

    # -- edits ------------------------------------------------------------------------------
    def step_seed(self, delta: int) -> None:
        if self.state is not None:
            seed = (self.state.seed + delta) % (SPIN_MAX_SEED + 1)
            self.edit("Previous seed" if delta < 0 else "Next seed", seed=seed, latent=None)

    def random_seed(self) -> None:
        self.edit("Random seed", seed=random.randrange(SPIN_MAX_SEED + 1), latent=None)

    def show_grid(self, on: bool) -> None:
        text = "Sample grid" if on else "Single image"
        self.edit(text, grid=GRID if on else (1, 1), latent=None)

    def pick_cell(self, row: int, col: int) -> None:
        if self.state is None or self.state.grid == (1, 1):
            return
        seed = (self.state.seed + row * self.state.grid[1] + col) % (MAX_SEED + 1)
        self.edit("Pick from grid", seed=seed, grid=(1, 1))

    def _truncation_edited(self) -> None:
        value = self.truncation.value() if self.truncate.isChecked() else None
        self.edit("Truncation", ("truncation",), truncation=value)

    def _drag_started(self, name: str) -> None:
        self._drag_serial += 1
        self._dragging = name

    def _direction_edited(self, name: str, value: float) -> None:
        if self.state is None:
            return
        offsets = self.state.offset_map
        offsets[name] = value
        # A drag merges into one undo step; separate clicks or typing stay separate.
        key = ("drag", name, self._drag_serial) if self._dragging == name else None
        self.set_state(
            dataclasses.replace(self.state, offsets=tuple(offsets.items())), f"Move {name}", key
        )

    def reset_directions(self) -> None:
        self.edit("Reset directions", offsets=())

    # -- rendering ----------------------------------------------------------------------------
    def request_render(self) -> None:
        state = self.state
        if state is None:
            return
        ticket = self.engine.submit_interactive(
            state, lambda: self.runtime.image_job(state), self.bridge
        )
        if ticket is not None:
            self._latest = ticket
            self._partial = None
            self._submitted_at = time.perf_counter()
            self.progress_box.starting()

    def stop(self) -> None:
        """Stop the running sampler; its last preview becomes the current picture."""
        if self._latest is not None:
            self.engine.cancel(self._latest)

    def _is_latest(self, ticket: Ticket) -> bool:
        return self._latest is not None and ticket.generation == self._latest.generation

    def _on_progress(self, ticket: Ticket, progress: Progress) -> None:
        if not self._is_latest(ticket):
            return
        self.progress_box.report(progress)
        if progress.preview is not None:
            grid = self.state.grid if self.state and self.state.latent is None else (1, 1)
            self.canvas.set_image(to_qimage(progress.preview), grid)
        self._partial = progress.partial

    def _on_cancelled(self, ticket: Ticket) -> None:
        if not self._is_latest(ticket):
            return  # replaced by a newer request: that one will paint
        partial = self._partial
        if partial is not None:
            self.result = partial
            step = partial.provenance.preview_step
            self.status.emit(f"Stopped at step {step}: the preview can be exported")
            self.stopped.emit(partial)

    def _on_result(self, ticket: Ticket, result: ImageResult) -> None:
        if not self._is_latest(ticket):
            return  # stale: a newer request was made since
        self.result = result
        grid = result.request.grid if result.request.latent is None else (1, 1)
        self.canvas.set_image(to_qimage(result.pixels), grid)
        self.progress_box.done(result.seconds)
        elapsed = (time.perf_counter() - self._submitted_at) * 1000
        p = result.provenance
        note = f"  ⚠ {result.fallback}" if result.fallback else ""
        self.status.emit(f"{p.backend} · {p.provider} · {elapsed:.0f} ms{note}")
        self.rendered.emit(result)

    def _on_error(self, ticket: Ticket, error: BaseException) -> None:
        if not self._is_latest(ticket):
            return
        name = self.info.manifest.name if self.info else "the model"
        self.canvas.set_message(f"{name} could not render:\n{error}")
        self.failed.emit(name, str(error))

    # -- encoding (kept as attributes tests and the window use) -----------------------------
    @property
    def encoded(self):  # -> EncodedView
        return self.encoding.view

    @property
    def encoded_result(self):  # -> EncodeResult | None
        return self.encoding.result

    def encode_file(self, path: Path) -> bool:
        return self.encoding.encode_file(path)
