"""The Image panel: seed, latent sliders, truncation, sample grid; renders live.

State is one frozen ImageRequest. Every edit goes through the undo stack as a new request;
applying a request updates the widgets (without feedback) and submits it to the engine's
interactive lane, where the newest request wins and stale results are dropped by their
generation stamp.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QImage, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.core.priors import MAX_SEED
from studio.core.requests import ImageRequest
from studio.core.results import EncodeResult, ImageResult, Progress
from studio.engine.runtime import ModelInfo, ModelRuntime, encode_job
from studio.engine.scheduler import Engine, Ticket
from studio.gui.bridge import EngineBridge
from studio.gui.canvas import Canvas, to_qimage
from studio.gui.encoded_view import EncodedView
from studio.gui.sliders import DirectionSliders
from studio.media.image import read_image

GRID = (4, 4)
PROGRESS_STEPS = 1000  # the progress bar's resolution
SPIN_MAX_SEED = min(MAX_SEED, 2**31 - 1)  # QSpinBox holds a signed 32-bit int


class StateCommand(QUndoCommand):
    """One edit of the panel's request; consecutive edits with the same merge key (one slider
    drag) collapse into a single undo step."""

    def __init__(
        self,
        panel: ImagePanel,
        old: ImageRequest,
        new: ImageRequest,
        text: str,
        merge_key: object = None,
    ) -> None:
        super().__init__(text)
        self.panel, self.old, self.new, self.merge_key = panel, old, new, merge_key

    def id(self) -> int:
        return 1 if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if isinstance(other, StateCommand) and other.merge_key == self.merge_key:
            self.new = other.new
            return True
        return False

    def redo(self) -> None:
        self.panel.apply_state(self.new)

    def undo(self) -> None:
        self.panel.apply_state(self.old)


class ImagePanel(QWidget):
    rendered = Signal(object)  # ImageResult, after it is shown
    failed = Signal(str, str)  # model name, reason
    status = Signal(str)
    modelChanged = Signal(str)  # model id, after its controls are shown
    pictureEncoded = Signal(object)  # EncodeResult, after the state moved to its latent
    stopped = Signal(object)  # ImageResult: the preview a stopped sampler left

    def __init__(
        self, engine: Engine, runtime: ModelRuntime, undo: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.engine, self.runtime, self.undo = engine, runtime, undo
        self.state: ImageRequest | None = None
        self.info: ModelInfo | None = None
        self.result: ImageResult | None = None
        self.encoded_result: EncodeResult | None = None
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
        self.encode_bridge = EngineBridge(self)
        self.encode_bridge.result.connect(self._on_encoded)
        self.encode_bridge.error.connect(self._on_encode_error)
        self._build()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.canvas = Canvas()
        self.canvas.cellClicked.connect(self.pick_cell)

        self.seed = QSpinBox()
        self.seed.setRange(0, SPIN_MAX_SEED)
        self.seed.setKeyboardTracking(False)
        self.seed.valueChanged.connect(lambda v: self.edit(seed=v, latent=None, text="Change seed"))
        prev_seed, next_seed, dice = QToolButton(), QToolButton(), QToolButton()
        prev_seed.setText("◀")
        prev_seed.setToolTip("Previous seed ([)")
        prev_seed.setShortcut("[")
        next_seed.setText("▶")
        next_seed.setToolTip("Next seed (])")
        next_seed.setShortcut("]")
        dice.setText("🎲")
        dice.setToolTip("Random seed (R)")
        dice.setShortcut("R")
        prev_seed.clicked.connect(lambda: self.step_seed(-1))
        next_seed.clicked.connect(lambda: self.step_seed(+1))
        dice.clicked.connect(self.random_seed)
        seed_row = QHBoxLayout()
        for widget in (self.seed, prev_seed, next_seed, dice):
            seed_row.addWidget(widget)

        self.truncate = QCheckBox("Truncate")
        self.truncate.setToolTip("Redraw latent values beyond ±ψ: more typical, less varied")
        self.truncation = QDoubleSpinBox()
        self.truncation.setRange(0.1, 3.0)
        self.truncation.setSingleStep(0.1)
        self.truncation.setValue(1.0)
        self.truncation.setPrefix("ψ ")
        self.truncate.toggled.connect(lambda _: self._truncation_edited())
        self.truncation.valueChanged.connect(lambda _: self._truncation_edited())
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.05, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(1.0)
        self.temperature.setToolTip("Scale of the prior draw: lower is cleaner, higher is wilder")
        self.temperature.valueChanged.connect(
            lambda v: self.edit(temperature=v, text="Temperature", merge_key=("temperature",))
        )
        self.encode_button = QPushButton("Encode picture…")
        self.encode_button.setToolTip(
            "Map your own picture into this model's latent space (or drop it on the window)"
        )
        self.encode_button.clicked.connect(self._encode_dialog)
        trunc_row = QHBoxLayout()
        trunc_row.addWidget(self.truncate)
        trunc_row.addWidget(self.truncation)

        self.grid_button = QPushButton(f"Sample grid {GRID[0]}×{GRID[1]}")
        self.grid_button.setCheckable(True)
        self.grid_button.setToolTip("Show neighbouring seeds; click one to make it current (G)")
        self.grid_button.setShortcut("G")
        self.grid_button.toggled.connect(self.show_grid)
        self.smooth = QCheckBox("Smooth zoom")
        self.smooth.toggled.connect(self.canvas.set_smooth)
        self.export_scale = QSpinBox()
        self.export_scale.setRange(1, 32)
        self.export_scale.setValue(8)
        self.export_scale.setSuffix("×")
        self.export_scale.setToolTip("Export upscale factor (nearest, or smooth if chosen)")

        point = QGroupBox("Latent point")
        form = QFormLayout(point)
        form.addRow("Seed", seed_row)
        form.addRow(trunc_row)
        form.addRow("Temperature", self.temperature)
        form.addRow(self.grid_button)
        form.addRow(self.encode_button)
        view = QGroupBox("View and export")
        view_form = QFormLayout(view)
        view_form.addRow(self.smooth)
        view_form.addRow("Export scale", self.export_scale)

        self.sliders = DirectionSliders()
        self.sliders.valueEdited.connect(self._direction_edited)
        self.sliders.dragStarted.connect(self._drag_started)
        self.sliders.dragFinished.connect(lambda _: setattr(self, "_dragging", None))
        self.sliders.resetAll.connect(self.reset_directions)
        self.sampler = QComboBox()
        self.sampler.addItem("DDIM (fast, deterministic at η 0)", "ddim")
        self.sampler.addItem("DDPM (all 1000 steps)", "ddpm")
        self.sampler.currentIndexChanged.connect(
            lambda _: self.edit(sampler=self.sampler.currentData(), text="Sampler")
        )
        self.steps = QSpinBox()
        self.steps.setRange(5, 2000)
        self.steps.setKeyboardTracking(False)
        self.steps.valueChanged.connect(lambda v: self.edit(steps=v, text="Steps"))
        self.eta = QDoubleSpinBox()
        self.eta.setRange(0.0, 1.0)
        self.eta.setSingleStep(0.1)
        self.eta.setPrefix("η ")
        self.eta.valueChanged.connect(lambda v: self.edit(eta=v, text="Eta", merge_key=("eta",)))
        self.sampler_box = QGroupBox("Sampler")
        self.sampler_form = QFormLayout(self.sampler_box)
        self.sampler_form.addRow(self.sampler)
        self.sampler_form.addRow("Steps", self.steps)
        self.sampler_form.addRow("Stochasticity", self.eta)
        self.sampler_box.setVisible(False)
        self.encoded = EncodedView()
        self.encoded.setVisible(False)
        directions = QGroupBox("Directions")
        QVBoxLayout(directions).addWidget(self.sliders)

        controls = QWidget()
        column = QVBoxLayout(controls)
        column.addWidget(point)
        column.addWidget(self.sampler_box)
        column.addWidget(self.encoded)
        column.addWidget(directions)
        column.addWidget(view)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(340)
        self.controls = scroll

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop sampling here; the last preview stays (Esc)")
        self.stop_button.setShortcut("Esc")
        self.stop_button.clicked.connect(self.stop)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.stop_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.setVisible(False)
        picture = QWidget()
        picture_column = QVBoxLayout(picture)
        picture_column.setContentsMargins(0, 0, 0, 0)
        picture_column.addWidget(self.canvas, 1)
        picture_column.addWidget(self.progress_box)
        splitter.addWidget(picture)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.setEnabled(False)

    # -- model and state ------------------------------------------------------------------
    def set_model(self, model_id: str, state: ImageRequest | None = None) -> None:
        """Switch to `model_id` and render `state` (default: seed 0 at the origin)."""
        new = state or self.runtime.default_request(model_id)
        if self.state is None:
            self.apply_state(new)
        elif new != self.state:
            self.undo.push(StateCommand(self, self.state, new, f"Open {model_id}"))

    def set_state(self, new: ImageRequest, text: str, merge_key: object = None) -> None:
        if self.state is None or new == self.state:
            return
        self.undo.push(StateCommand(self, self.state, new, text, merge_key))

    def edit(self, text: str, merge_key: object = None, **changes: object) -> None:
        if self.state is not None:
            new = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]
            self.set_state(new, text, merge_key)

    def apply_state(self, state: ImageRequest) -> None:
        """Show `state` in every control and render it. Called by undo commands."""
        if self.info is None or state.model_id != self.info.manifest.id:
            try:
                self._load_controls(self.runtime.describe(state.model_id))
            except StudioError as exc:
                self.failed.emit(state.model_id, str(exc))
                return
            self.modelChanged.emit(state.model_id)
        self.state = state
        self._show(state)
        self.request_render()

    def _load_controls(self, info: ModelInfo) -> None:
        self.info = info
        self.sliders.set_directions(info.direction_names, info.explained_variance)
        self.truncate.setEnabled(info.has_truncation)
        self.truncation.setEnabled(info.has_truncation)
        self.encode_button.setEnabled(info.can_encode)
        self.encode_button.setText(info.encode_label if info.can_encode else "Encode picture…")
        family = info.manifest.family
        self.sampler_box.setVisible(family in ("diffusion", "rbm"))
        self.sampler_form.setRowVisible(self.sampler, family == "diffusion")
        self.sampler_form.setRowVisible(self.eta, family == "diffusion")
        self.progress_box.setVisible(family in ("diffusion", "pixelcnn", "rbm"))
        self.encoded.setVisible(False)
        default_temperature = float(info.manifest.parameters.get("default_temperature", 1.0))
        self.temperature.setToolTip(
            f"Scale of the prior draw; this model looks best near {default_temperature:g}"
        )
        self.setEnabled(True)
        self.canvas.set_message(f"Rendering {info.manifest.name}…")

    def _show(self, state: ImageRequest) -> None:
        with contextlib.ExitStack() as quiet:  # showing a state is not an edit
            for widget in (
                self.seed,
                self.truncate,
                self.truncation,
                self.grid_button,
                self.temperature,
                self.sampler,
                self.steps,
                self.eta,
            ):
                quiet.enter_context(QSignalBlocker(widget))
            self.seed.setValue(min(state.seed, SPIN_MAX_SEED))
            self.truncate.setChecked(state.truncation is not None)
            if state.truncation is not None:
                self.truncation.setValue(state.truncation)
            self.grid_button.setChecked(state.grid != (1, 1))
            self.temperature.setValue(state.temperature)
            family = self.info.manifest.family if self.info else ""
            params = self.info.manifest.parameters if self.info else {}
            sampler = state.sampler or str(params.get("default_sampler", "ddim"))
            self.sampler.setCurrentIndex(max(0, self.sampler.findData(sampler)))
            self.steps.setValue(state.steps or int(params.get("default_steps", 25)))
            # DDPM always runs every training step; RBMs and DDIM take a step count
            self.steps.setEnabled(sampler == "ddim" or family == "rbm")
            self.eta.setEnabled(sampler == "ddim")
            self.eta.setValue(state.eta)
        self.sliders.show_values(state.offset_map)

    # -- edits ------------------------------------------------------------------------------
    def step_seed(self, delta: int) -> None:
        if self.state is not None:
            seed = (self.state.seed + delta) % (SPIN_MAX_SEED + 1)
            self.edit(seed=seed, latent=None, text="Previous seed" if delta < 0 else "Next seed")

    def random_seed(self) -> None:
        self.edit(seed=random.randrange(SPIN_MAX_SEED + 1), latent=None, text="Random seed")

    def show_grid(self, on: bool) -> None:
        text = "Sample grid" if on else "Single image"
        self.edit(grid=GRID if on else (1, 1), latent=None, text=text)

    def pick_cell(self, row: int, col: int) -> None:
        if self.state is None or self.state.grid == (1, 1):
            return
        seed = (self.state.seed + row * self.state.grid[1] + col) % (MAX_SEED + 1)
        self.edit(seed=seed, grid=(1, 1), text="Pick from grid")

    def _truncation_edited(self) -> None:
        value = self.truncation.value() if self.truncate.isChecked() else None
        self.edit(truncation=value, text="Truncation", merge_key=("truncation",))

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
        self.edit(offsets=(), text="Reset directions")

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
            self.progress.setValue(0)
            self.progress.setFormat("starting…")

    def stop(self) -> None:
        """Stop the running sampler; its last preview becomes the current picture."""
        if self._latest is not None:
            self.engine.cancel(self._latest)

    def _on_progress(self, ticket: Ticket, progress: Progress) -> None:
        if self._latest is None or ticket.generation != self._latest.generation:
            return
        self.progress.setValue(round(progress.fraction * PROGRESS_STEPS))
        self.progress.setFormat(progress.message or "%p%")
        if progress.preview is not None:
            grid = self.state.grid if self.state and self.state.latent is None else (1, 1)
            self.canvas.set_image(to_qimage(progress.preview), grid)
        self._partial = progress.partial

    def _on_cancelled(self, ticket: Ticket) -> None:
        if self._latest is None or ticket.generation != self._latest.generation:
            return  # replaced by a newer request: that one will paint
        partial = self._partial
        if partial is not None:
            self.result = partial
            step = partial.provenance.preview_step
            self.status.emit(f"Stopped at step {step}: the preview can be exported")
            self.stopped.emit(partial)

    def rerender(self) -> None:
        """Render the current state again (after a device change)."""
        self.engine.forget_last_request()
        self.request_render()

    def _on_result(self, ticket: Ticket, result: ImageResult) -> None:
        if self._latest is None or ticket.generation != self._latest.generation:
            return  # stale: a newer request was made since
        self.result = result
        grid = result.request.grid if result.request.latent is None else (1, 1)
        self.canvas.set_image(to_qimage(result.pixels), grid)
        self.progress.setValue(PROGRESS_STEPS)
        self.progress.setFormat(f"done in {result.seconds:.1f} s")
        elapsed = (time.perf_counter() - self._submitted_at) * 1000
        p = result.provenance
        note = f"  ⚠ {result.fallback}" if result.fallback else ""
        self.status.emit(f"{p.backend} · {p.provider} · {elapsed:.0f} ms{note}")
        self.rendered.emit(result)

    def _on_error(self, ticket: Ticket, error: BaseException) -> None:
        if self._latest is None or ticket.generation != self._latest.generation:
            return
        name = self.info.manifest.name if self.info else "the model"
        self.canvas.set_message(f"{name} could not render:\n{error}")
        self.failed.emit(name, str(error))

    # -- encoding ------------------------------------------------------------------------------
    def _encode_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Encode picture",
            str(Path.home()),
            "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif)",
        )
        if path:
            self.encode_file(Path(path))

    def encode_file(self, path: Path) -> bool:
        """Encode a picture (any size or mode) with the current model, off the GUI thread."""
        if self.info is None or not self.info.can_encode or self.state is None:
            name = self.info.manifest.name if self.info else "This model"
            self.failed.emit(name, "cannot encode pictures: choose a VAE or a flow model")
            return False
        try:
            pixels, _ = read_image(path)
        except StudioError as exc:
            self.failed.emit(path.name, str(exc))
            return False
        model_id, backend = self.state.model_id, self.state.backend
        self.engine.submit_batch(
            lambda: encode_job(self.runtime, model_id, pixels, backend), self.encode_bridge
        )
        self.status.emit(f"Encoding {path.name}…")
        return True

    def _on_encoded(self, _ticket: Ticket, result: EncodeResult) -> None:
        if self.state is None or result.model_id != self.state.model_id:
            return  # the user moved to another model meanwhile
        self.encoded_result = result
        self.encoded.show_result(result)
        self.encoded.setVisible(True)
        latent = tuple(float(v) for v in result.latent.ravel())
        self.edit(latent=latent, offsets=(), grid=(1, 1), text="Encode picture")
        self.pictureEncoded.emit(result)

    def _on_encode_error(self, _ticket: Ticket, error: BaseException) -> None:
        self.failed.emit("Encoding", str(error))

    def current_image(self) -> QImage | None:
        return self.canvas.image()
