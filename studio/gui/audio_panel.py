"""The Audio panel: pick or morph instruments, a pitch, generate a note, see it, hear it.

The timbre is a bilinear morph between four corner instruments (A top-left, B top-right,
C bottom-left, D bottom-right): x moves from the left column to the right one, y from the top
row to the bottom one. C and D repeat A and B by default, which leaves a morph A -> B.

A note renders in the engine's batch lane (the rest of the window stays live); the waveform
grows as blocks arrive, the spectrogram follows at the end. Stop keeps what was rendered.
Playback goes through `Player`, which says once why it is off when there is no device.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
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
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.audio_request import AudioRequest
from studio.core.corners import MORPH_STEPS, Corners, corner_mix, fit_corners
from studio.core.errors import StudioError
from studio.core.modalities import Request
from studio.core.note_sets import SETS
from studio.core.pitch import note_name
from studio.core.provenance import Provenance
from studio.core.results import AudioProgress, AudioResult
from studio.engine.runtime import AudioControls, audio_controls
from studio.engine.scheduler import Ticket
from studio.gui.audio_views import Keyboard, SpectrogramView, WaveformView, XYPad
from studio.gui.bridge import EngineBridge
from studio.gui.model_panel import ModelPanel
from studio.gui.panel import PanelContext
from studio.gui.playback import Player
from studio.gui.seed_box import SPIN_MAX_SEED
from studio.media.audio import write_audio

TIMBRE_SLIDERS = 3  # the first principal directions of the timbre space
SLIDER_STEPS = 100  # per standard deviation


class AudioPanel(ModelPanel):
    modality = "audio"

    rendered = Signal(object)  # AudioResult, finished or stopped, once shown
    setRendered = Signal(object)  # list[Path] a note set wrote

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.controls: AudioControls | None = None
        self.result: AudioResult | None = None
        self._partial: AudioResult | None = None
        self.player = Player()
        self._playback_checked = False
        self._request: AudioRequest | None = None  # of the note rendering now
        self.bridge.progress.connect(self._on_progress)
        self.bridge.result.connect(self._on_result)
        self.bridge.cancelled.connect(self._on_cancelled)
        self.bridge.error.connect(self._on_error)
        self.set_bridge = EngineBridge(self, coalesce_progress=True)
        self.set_bridge.progress.connect(self._set_progress)
        self.set_bridge.result.connect(self._set_done)
        self.set_bridge.error.connect(self._set_failed)
        self._build()
        self._load_models()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.instrument_a, self.instrument_b = QComboBox(), QComboBox()
        # the first entry of C and D repeats the corner above: a plain morph A -> B
        self.instrument_c, self.instrument_d = QComboBox(), QComboBox()
        for box in self._corner_boxes():
            box.currentIndexChanged.connect(self._corners_changed)
        self.morph = QSlider(Qt.Orientation.Horizontal)
        self.morph.setRange(0, MORPH_STEPS)
        self.morph.setToolTip("Morph: 0 = instrument A, 100 = instrument B (x on the pad)")
        self.morph_y = QSlider(Qt.Orientation.Horizontal)
        self.morph_y.setRange(0, MORPH_STEPS)
        self.morph_y.setToolTip("Morph: 0 = the top row A, B; 100 = the bottom row C, D")
        self.pad = XYPad()
        self.pad.setToolTip("Drag between the four instruments")
        self.morph.valueChanged.connect(self._morph_moved)
        self.morph_y.valueChanged.connect(self._morph_moved)
        self.pad.moved.connect(self._pad_moved)
        self.timbre_sliders: list[QSlider] = []
        timbre_grid = QGridLayout()
        for k in range(TIMBRE_SLIDERS):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-3 * SLIDER_STEPS, 3 * SLIDER_STEPS)
            slider.setToolTip(f"Timbre PC{k + 1}, in standard deviations of the instruments")
            timbre_grid.addWidget(QLabel(f"PC{k + 1}"), k, 0)
            timbre_grid.addWidget(slider, k, 1)
            self.timbre_sliders.append(slider)
        self.pitch = QSpinBox(minimum=0, maximum=127, value=60)
        self.pitch_name = QLabel(note_name(60))
        self.pitch.valueChanged.connect(self._pitch_changed)
        self.keyboard = Keyboard()
        self.keyboard.noteClicked.connect(self.pitch.setValue)
        self.seconds = QDoubleSpinBox(minimum=0.1, maximum=8.0, value=1.0, singleStep=0.25)
        # 0 stands for "not set": the key is let go so that the release ends with the note
        self.release_at = QDoubleSpinBox(minimum=0.0, maximum=8.0, value=0.0, singleStep=0.1)
        self.release_at.setSpecialValueText("at the end")
        self.release_at.setSuffix(" s")
        self.release_at.setToolTip("When the key is let go; the release follows")
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=2.0, value=1.0, singleStep=0.05)
        self.seed = QSpinBox(minimum=0, maximum=SPIN_MAX_SEED, value=0)
        dice = QPushButton("🎲")
        dice.setToolTip("A random seed")
        dice.clicked.connect(lambda: self.seed.setValue(random.randrange(SPIN_MAX_SEED + 1)))
        pitch_row, seed_row = QHBoxLayout(), QHBoxLayout()
        pitch_row.addWidget(self.pitch)
        pitch_row.addWidget(self.pitch_name)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(dice)
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("Instrument A", self.instrument_a)
        form.addRow("Instrument B", self.instrument_b)
        form.addRow("Instrument C", self.instrument_c)
        form.addRow("Instrument D", self.instrument_d)
        form.addRow("Morph A → B", self.morph)
        form.addRow("Morph AB → CD", self.morph_y)
        form.addRow(self.pad)
        form.addRow("Timbre", timbre_grid)
        form.addRow("Pitch (MIDI)", pitch_row)
        form.addRow("Seconds", self.seconds)
        form.addRow("Key released", self.release_at)
        form.addRow("Temperature", self.temperature)
        form.addRow("Seed", seed_row)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setShortcut("Ctrl+Return")
        self.generate_button.clicked.connect(self.generate)
        self.play_button = QPushButton("▶ Play")
        self.play_button.clicked.connect(self.play)
        self.halt_button = QPushButton("■")
        self.halt_button.setToolTip("Stop playback")
        self.halt_button.clicked.connect(self.player.stop)
        self.loop = QCheckBox("Loop")
        buttons = QHBoxLayout()
        for widget in (
            self.generate_button,
            self.stop_button,
            self.play_button,
            self.halt_button,
            self.loop,
        ):
            buttons.addWidget(widget)
        self.set_kind = QComboBox()
        self.set_kind.addItems(list(SETS))
        self.set_kind.setToolTip(
            "Render the current settings as a scale, a chord or on every instrument"
        )
        self.set_button = QPushButton("Render set to folder…")
        self.set_button.clicked.connect(self._render_set_dialog)
        set_row = QHBoxLayout()
        set_row.addWidget(self.set_kind)
        set_row.addWidget(self.set_button)
        self.progress = QProgressBar()
        self.waveform = WaveformView()
        self.spectrogram = SpectrogramView()
        self.info = QLabel("")
        self.info.setWordWrap(True)

        views = QWidget()
        views_layout = QVBoxLayout(views)
        views_layout.addWidget(self.keyboard)
        views_layout.addLayout(buttons)
        views_layout.addWidget(self.progress)
        views_layout.addWidget(QLabel("Waveform (wheel zooms)"))
        views_layout.addWidget(self.waveform, 1)
        views_layout.addWidget(QLabel("Spectrogram"))
        views_layout.addWidget(self.spectrogram, 1)
        views_layout.addWidget(self.info)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addLayout(form)
        side_layout.addLayout(set_row)
        side_layout.addStretch(1)
        self._lay_out(views, side)

    def showEvent(self, event: QShowEvent) -> None:
        """Ask for a sound device when the panel is first seen, not at launch."""
        if not self._playback_checked:
            self._playback_checked = True
            for widget in (self.play_button, self.halt_button, self.loop):
                widget.setEnabled(self.player.available)
                widget.setToolTip(self.player.reason or "")
            self.info.setText(self.player.reason or "")
        super().showEvent(event)

    def _model_picked(self, index: int) -> None:
        try:
            self.controls = audio_controls(self.runtime.catalog.get(self.model_box.itemData(index)))
        except (StudioError, KeyError, ValueError) as exc:
            self.controls = None
            self.failed.emit(self.model_box.itemText(index), str(exc))
            return
        instruments = list(self.controls.instruments)
        for box, pick in ((self.instrument_a, 0), (self.instrument_b, 1)):
            box.clear()
            box.addItems(instruments)
            box.setCurrentIndex(min(pick, box.count() - 1))
        for box, above in ((self.instrument_c, "A"), (self.instrument_d, "B")):
            box.clear()
            box.addItems([f"(same as {above})", *instruments])
            box.setCurrentIndex(0)
        low, high = self.controls.pitch_range
        self.pitch.setToolTip(
            f"Trained on MIDI {low}..{high} ({note_name(low)}..{note_name(high)})"
        )
        self.temperature.setValue(self.controls.default_temperature)
        for k, slider in enumerate(self.timbre_sliders):
            slider.setEnabled(k < len(self.controls.direction_names))

    def _pitch_changed(self, note: int) -> None:
        self.pitch_name.setText(note_name(note))
        self.keyboard.set_current(note)

    # -- the four corners -----------------------------------------------------------------
    def _corner_boxes(self) -> tuple[QComboBox, QComboBox, QComboBox, QComboBox]:
        return self.instrument_a, self.instrument_b, self.instrument_c, self.instrument_d

    def corners(self) -> Corners:
        """The instruments at A, B, C, D, with "(same as …)" resolved."""
        a = self.instrument_a.currentText()
        b = self.instrument_b.currentText() or a
        c = self.instrument_c.currentText() if self.instrument_c.currentIndex() > 0 else a
        d = self.instrument_d.currentText() if self.instrument_d.currentIndex() > 0 else b
        return a, b, c, d

    def _corners_changed(self) -> None:
        self.pad.set_corners(self.corners())

    def _morph_moved(self) -> None:
        self.pad.set_position(self.morph.value() / MORPH_STEPS, self.morph_y.value() / MORPH_STEPS)

    def _pad_moved(self, x: float, y: float) -> None:
        self.morph.setValue(round(x * MORPH_STEPS))
        self.morph_y.setValue(round(y * MORPH_STEPS))

    def _show_corners(self, corners: Corners) -> None:
        """Pick `corners` in the boxes; C or D stays (or becomes) "(same as …)" when it
        repeats the corner above, unless it already names that instrument."""
        self.instrument_a.setCurrentText(corners[0])
        self.instrument_b.setCurrentText(corners[1])
        for box, name, above in (
            (self.instrument_c, corners[2], corners[0]),
            (self.instrument_d, corners[3], corners[1]),
        ):
            if box.currentText() != name:
                box.setCurrentIndex(0 if name == above else max(0, box.findText(name)))

    def current_request(self) -> AudioRequest:
        mix = corner_mix(
            self.corners(), self.morph.value() / MORPH_STEPS, self.morph_y.value() / MORPH_STEPS
        )
        offsets = {
            f"PC{k + 1}": slider.value() / SLIDER_STEPS
            for k, slider in enumerate(self.timbre_sliders)
            if slider.isEnabled()
        }
        return AudioRequest(
            model_id=str(self.model_box.currentData()),
            pitch=self.pitch.value(),
            mix=tuple(mix.items()),
            offsets=tuple(offsets.items()),
            seconds=round(self.seconds.value(), 3),
            release_at=round(self.release_at.value(), 3) or None,
            temperature=round(self.temperature.value(), 3),
            seed=self.seed.value(),
        )

    def apply_request(self, request: Request) -> None:
        """Show a request's settings (a dropped export). One or two instruments become a
        morph A -> B on the top row; three or four go on the corners (see `fit_corners`),
        more than four are cut to the four heaviest."""
        if not isinstance(request, AudioRequest):
            return
        self.set_model(request.model_id)
        weights = dict(request.mix)
        if len(weights) > 2:
            corners, x, y = fit_corners(weights, self.corners())
            self._show_corners(corners)
            self.morph.setValue(x)
            self.morph_y.setValue(y)
        else:
            names = sorted(weights) or [self.instrument_a.itemText(0)]
            shown = [self.instrument_a.currentText(), self.instrument_b.currentText()]
            if sorted(set(shown)) != names:  # keep A and B where they are if they fit
                shown = [names[0], names[-1]]
            self.instrument_a.setCurrentText(shown[0])
            self.instrument_b.setCurrentText(shown[1])
            self.instrument_c.setCurrentIndex(0)
            self.instrument_d.setCurrentIndex(0)
            total = sum(weights.values()) or 1.0
            weight_b = weights.get(shown[1], 0.0) / total if shown[0] != shown[1] else 0.0
            self.morph.setValue(round(weight_b * MORPH_STEPS))
            self.morph_y.setValue(0)
        offsets = dict(request.offsets)
        for k, slider in enumerate(self.timbre_sliders):
            slider.setValue(round(offsets.get(f"PC{k + 1}", 0.0) * SLIDER_STEPS))
        self.pitch.setValue(request.pitch)
        self.seconds.setValue(request.seconds)
        self.release_at.setValue(request.release_at or 0.0)
        self.temperature.setValue(request.temperature)
        self.seed.setValue(min(request.seed, SPIN_MAX_SEED))

    # -- running --------------------------------------------------------------------------
    def generate(self) -> None:
        if self.controls is None:
            self.failed.emit("Audio", "no audio model is installed")
            return
        try:
            request = self.current_request()
        except StudioError as exc:
            self.failed.emit("Audio", str(exc))
            return
        self._partial = None
        self.progress.setValue(0)
        self.progress.setFormat("loading…")
        self.waveform.set_audio(self.waveform.audio[:0])
        self._request = request
        self._submit(lambda: self.runtime.audio_job(request))

    def _on_progress(self, ticket: Ticket, progress: AudioProgress) -> None:
        if not self._mine(ticket):
            return
        self._partial = progress.partial
        # the note being rendered, not the controls (they may have moved since)
        seconds = self._request.seconds if self._request else 0.0
        expected = round(seconds * progress.partial.sample_rate)
        self.waveform.set_audio(progress.partial.audio, expected)
        self.progress.setValue(round(progress.fraction * 100))
        self.progress.setFormat(progress.message)

    def _show(self, result: AudioResult) -> None:
        self._job_ended()
        self.result = result
        self.waveform.set_audio(result.audio)
        self.spectrogram.set_audio(result.audio)
        self.rendered.emit(result)

    def _on_result(self, ticket: Ticket, result: AudioResult) -> None:
        if not self._mine(ticket):
            return
        self.progress.setValue(100)
        p = result.provenance
        note = f"  ⚠ {result.fallback}" if result.fallback else ""
        message = (
            f"{result.duration:.2f} s in {result.seconds:.2f} s "
            f"({result.realtime_factor:.1f}x real time) · {p.backend} · {p.provider}{note}"
        )
        self.progress.setFormat(f"{result.duration:.2f} s")
        self.status.emit(message)
        self._show(result)

    def _on_cancelled(self, ticket: Ticket) -> None:
        if not self._mine(ticket):
            return
        self.progress.setFormat("stopped")
        if self._partial is not None:
            self._show(self._partial)
        else:
            self._job_ended()

    def _on_error(self, ticket: Ticket, error: BaseException) -> None:
        if not self._mine(ticket):
            return
        self._job_ended()
        self.progress.setFormat("failed")
        self.failed.emit(self.model_box.currentText() or "Audio", str(error))

    def play(self) -> None:
        if self.result is None:
            return
        problem = self.player.play(
            self.result.audio, self.result.sample_rate, self.loop.isChecked()
        )
        if problem:
            self.info.setText(problem)

    # -- sets of notes --------------------------------------------------------------------
    def _render_set_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Render the notes into")
        if folder:
            self.render_set(self.set_kind.currentText(), Path(folder))

    def render_set(self, kind: str, folder: Path) -> None:
        """Render `kind` around the current settings into `folder` (batch lane)."""
        try:
            base = self.current_request()
        except StudioError as exc:
            self.failed.emit("Audio", str(exc))
            return
        self.set_button.setEnabled(False)
        self.engine.submit_batch(
            lambda: self.runtime.note_set_job(base, kind, folder), self.set_bridge
        )

    def _set_progress(self, _ticket: Ticket, progress: AudioProgress) -> None:
        self.progress.setValue(round(progress.fraction * 100))
        self.progress.setFormat(f"rendering the {self.set_kind.currentText()}: %p%")

    def _set_done(self, _ticket: Ticket, paths: list[Path]) -> None:
        self.set_button.setEnabled(True)
        self.progress.setFormat(f"wrote {len(paths)} files to {paths[0].parent}" if paths else "")
        self.setRendered.emit(paths)

    def _set_failed(self, _ticket: Ticket, error: BaseException) -> None:
        self.set_button.setEnabled(True)
        self.failed.emit("Render set", str(error))

    # -- files ----------------------------------------------------------------------------
    def has_result(self) -> bool:
        return self.result is not None

    def suggested_name(self) -> str:
        if self.result is None:
            return super().suggested_name()
        request = self.result.request
        return f"{request.model_id}-{request.pitch}-seed{request.seed}.flac"

    def export(self, path: Path, overwrite: bool = False) -> None:
        """Write the current note with its settings. Raises StudioError."""
        if self.result is None:
            raise StudioError("nothing has been generated yet")
        result = self.result
        write_audio(path, result.audio, result.sample_rate, result.provenance, overwrite)

    def restore(self, provenance: Provenance, payload: Any = None) -> list[str]:
        """An exported note: its settings into the controls, its samples (`payload`:
        (audio, sample_rate)) into the views."""
        if not isinstance(provenance.request, AudioRequest):
            return [f"this file holds {type(provenance.request).__name__} settings"]
        self.apply_request(provenance.request)
        if payload is not None:
            audio, sample_rate = payload
            self._show(AudioResult(audio, sample_rate, provenance, 0.0))
        return []
