"""The Text panel: a prompt, sampling settings and a seed in; a continuation streams out.

Generation runs in the engine's batch lane, so the Image panel's sliders stay live meanwhile;
Stop cancels at the next token and keeps what was written. "Resample from here" keeps the
text before the cursor of the output and draws the rest again with the next seed. Every
finished or stopped run joins the history of variations, which restores text and settings.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.core.modalities import Request
from studio.core.provenance import Provenance
from studio.core.results import TextProgress, TextResult
from studio.core.text_request import MAX_NEW_TOKENS, TextRequest
from studio.engine.scheduler import Ticket
from studio.gui.model_panel import ModelPanel
from studio.gui.panel import PanelContext
from studio.gui.seed_box import SPIN_MAX_SEED
from studio.media.text import write_text

REPAINT_MS = 33  # streamed text is painted at most this often, however fast tokens come
# Control bytes a model may draw show as their Unicode pictures (U+2400..), one character each,
# so a cursor position in the view maps back to a position in the real text.
_CONTROL_PICTURES = {c: 0x2400 + c for c in range(32) if chr(c) not in "\n\t"} | {127: 0x2421}


def visible(text: str) -> str:
    return text.translate(_CONTROL_PICTURES)


def index_of_utf16(text: str, position: int) -> int:
    """The index in `text` of a Qt cursor position (Qt counts UTF-16 units)."""
    units = 0
    for index, char in enumerate(text):
        if units >= position:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


@dataclass(frozen=True)
class Variation:
    """One run: what was asked, what came out, and whether Stop cut it short."""

    request: TextRequest
    completion: str
    provenance: Provenance  # a stopped run's request has max_tokens = tokens it drew
    stopped: bool


class TextPanel(ModelPanel):
    modality = "text"

    finished = Signal(object)  # Variation, once it is in the history

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.request: TextRequest | None = None  # of the run shown (running or done)
        self.history: list[Variation] = []
        self._streamed = ""
        self._partial: TextResult | None = None  # the text so far of the running job
        self._dirty = False
        self.bridge.progress.connect(self._on_progress)
        self.bridge.result.connect(self._on_result)
        self.bridge.cancelled.connect(self._on_cancelled)
        self.bridge.error.connect(self._on_error)
        self.repaint_timer = QTimer(self)
        self.repaint_timer.setInterval(REPAINT_MS)
        self.repaint_timer.timeout.connect(self._paint_if_dirty)
        self._build()
        self._load_models()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Write the beginning; the model continues it.")
        self.output = QTextEdit()
        self.output.setReadOnly(True)
        self.output.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.output.setPlaceholderText("The continuation streams in here.")

        self.temperature = _spin(0.0, 2.0, 0.05, 0.8, "0 = greedy: always the likeliest token")
        self.top_k = QSpinBox(minimum=0, maximum=256, value=0)
        self.top_k.setSpecialValueText("off")
        self.top_p = _spin(
            0.05, 1.0, 0.05, 1.0, "nucleus: keep the likeliest tokens up to this mass"
        )
        self.penalty = _spin(1.0, 2.0, 0.05, 1.0, "above 1 discourages repeating recent tokens")
        self.max_tokens = QSpinBox(minimum=1, maximum=MAX_NEW_TOKENS, value=300, singleStep=50)
        self.seed = QSpinBox(minimum=0, maximum=SPIN_MAX_SEED, value=0)
        self.use_cache = QCheckBox("KV cache (fast)")
        self.use_cache.setChecked(True)
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-k", self.top_k)
        form.addRow("Top-p", self.top_p)
        form.addRow("Repetition penalty", self.penalty)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("Seed", self.seed)
        form.addRow("", self.use_cache)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setShortcut("Ctrl+Return")
        self.generate_button.clicked.connect(self.generate)
        self.resample_button = QPushButton("Resample from here")
        self.resample_button.setToolTip(
            "Keep the output up to the cursor; draw the rest again with the next seed"
        )
        self.resample_button.clicked.connect(self.resample_from_cursor)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Take the whole output as the prompt and go on")
        self.continue_button.clicked.connect(self.continue_text)
        buttons = QHBoxLayout()
        for button in (
            self.generate_button,
            self.stop_button,
            self.resample_button,
            self.continue_button,
        ):
            buttons.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.speed = QLabel("")
        self.history_list = QListWidget()
        self.history_list.setToolTip("Variations: click one to bring back its text and settings")
        self.history_list.currentRowChanged.connect(self.show_variation)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addLayout(form)
        side_layout.addWidget(QLabel("Variations"))
        side_layout.addWidget(self.history_list, 1)
        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.addWidget(QLabel("Prompt"))
        main_layout.addWidget(self.prompt, 1)
        main_layout.addLayout(buttons)
        main_layout.addWidget(self.progress)
        main_layout.addWidget(self.output, 3)
        main_layout.addWidget(self.speed)
        self._lay_out(main, side)

    # -- state ----------------------------------------------------------------------------
    def _model_picked(self, index: int) -> None:
        model_id = self.model_box.itemData(index)
        try:
            defaults = self.runtime.default_text_request(model_id)
        except StudioError as exc:
            self.failed.emit(self.model_box.itemText(index), str(exc))
            return
        self.temperature.setValue(defaults.temperature)
        self.top_k.setValue(defaults.top_k)
        self.top_p.setValue(defaults.top_p)
        if not self.prompt.toPlainText():
            self.prompt.setPlainText(defaults.prompt)

    def current_request(self) -> TextRequest:
        return TextRequest(
            model_id=str(self.model_box.currentData()),
            prompt=self.prompt.toPlainText(),
            seed=self.seed.value(),
            max_tokens=self.max_tokens.value(),
            temperature=self.temperature.value(),
            top_k=self.top_k.value(),
            top_p=self.top_p.value(),
            repetition_penalty=self.penalty.value(),
            use_cache=self.use_cache.isChecked(),
        )

    def apply_request(self, request: Request) -> None:
        """Show `request`'s settings in the controls (a restored file, a variation)."""
        if not isinstance(request, TextRequest):
            return
        self.set_model(request.model_id)
        self.prompt.setPlainText(request.prompt)
        self.temperature.setValue(request.temperature)
        self.top_k.setValue(request.top_k)
        self.top_p.setValue(request.top_p)
        self.penalty.setValue(request.repetition_penalty)
        self.max_tokens.setValue(request.max_tokens)
        self.seed.setValue(min(request.seed, SPIN_MAX_SEED))
        self.use_cache.setChecked(request.use_cache)

    # -- running --------------------------------------------------------------------------
    def generate(self) -> None:
        if self.model_box.currentData() is None:
            self.failed.emit("Text", "no text model is installed")
            return
        try:
            request = self.current_request()
        except StudioError as exc:
            self.failed.emit("Text", str(exc))
            return
        self.start(request)

    def start(self, request: TextRequest) -> None:
        self.request = request
        self._streamed = ""
        self._partial = None
        self._paint()
        self.progress.setValue(0)
        self.progress.setFormat("loading…")
        self._submit(lambda: self.runtime.text_job(request))
        self.repaint_timer.start()

    @property
    def completion(self) -> str:
        """The continuation shown (streaming, finished or stopped), without the prompt."""
        return self._streamed

    @property
    def shown_text(self) -> str:
        """The prompt and continuation in the output, as the model wrote them."""
        return (self.request.prompt if self.request else "") + self._streamed

    def resample_from_cursor(self) -> None:
        """Keep the shown text up to the output's cursor; redraw the rest with the next seed."""
        if self.request is None:
            return
        text = self.shown_text
        cut = index_of_utf16(text, self.output.textCursor().position())
        self.seed.setValue((self.seed.value() + 1) % (SPIN_MAX_SEED + 1))
        self.prompt.setPlainText(text[:cut])
        self.generate()

    def continue_text(self) -> None:
        if self.request is None:
            return
        self.prompt.setPlainText(self.shown_text)
        self.generate()

    def _on_progress(self, ticket: Ticket, progress: TextProgress) -> None:
        if not self._mine(ticket):
            return
        self._partial = progress.partial
        self._streamed = progress.partial.completion
        self._dirty = True
        self.progress.setValue(round(progress.fraction * 100))
        self.progress.setFormat(progress.message)

    def _paint_if_dirty(self) -> None:
        if self._dirty:
            self._paint()

    def _paint(self) -> None:
        """The prompt in grey, then the continuation, cursor at the end."""
        self._dirty = False
        prompt = self.request.prompt if self.request else ""
        self.output.setHtml(
            '<pre style="white-space: pre-wrap; font-family: serif">'
            f'<span style="color: #777">{html.escape(visible(prompt))}</span>'
            f"{html.escape(visible(self._streamed))}</pre>"
        )
        self.output.moveCursor(QTextCursor.MoveOperation.End)

    def _finish(self, variation: Variation) -> None:
        self._job_ended()
        self.repaint_timer.stop()
        self._streamed = variation.completion
        self._paint()
        self.history.append(variation)
        words = " ".join(variation.completion.split()[:6])
        mark = " (stopped)" if variation.stopped else ""
        item = QListWidgetItem(f"seed {variation.request.seed}{mark}: {words}…")
        self.history_list.blockSignals(True)
        self.history_list.addItem(item)
        self.history_list.setCurrentItem(item)
        self.history_list.blockSignals(False)
        self.finished.emit(variation)

    def _on_result(self, ticket: Ticket, result: TextResult) -> None:
        if not self._mine(ticket):
            return
        self.progress.setValue(100)
        self.progress.setFormat(f"{result.tokens} tokens")
        p = result.provenance
        note = f"  ⚠ {result.fallback}" if result.fallback else ""
        message = f"{result.tokens_per_second:.0f} tokens/s · {p.backend} · {p.provider}{note}"
        self.speed.setText(message)
        self.status.emit(message)
        self._finish(Variation(result.request, result.completion, p, stopped=False))

    def _on_cancelled(self, ticket: Ticket) -> None:
        if not self._mine(ticket):
            return
        partial = self._partial
        if partial is None:  # stopped before the first token: nothing to keep
            self._job_ended()
            self.repaint_timer.stop()
            self.progress.setFormat("stopped")
            return
        self.progress.setFormat(f"stopped after {partial.tokens} tokens")
        self._finish(Variation(partial.request, partial.completion, partial.provenance, True))

    def _on_error(self, ticket: Ticket, error: BaseException) -> None:
        if not self._mine(ticket):
            return
        self._job_ended()
        self.repaint_timer.stop()
        self.progress.setFormat("failed")
        self.failed.emit(self.model_box.currentText() or "Text", str(error))

    # -- history and files ----------------------------------------------------------------
    def show_variation(self, row: int) -> None:
        if not 0 <= row < len(self.history) or self.running:
            return
        variation = self.history[row]
        self.apply_request(variation.request)
        self.request = variation.request
        self._streamed = variation.completion
        self._paint()

    @property
    def current_variation(self) -> Variation | None:
        row = self.history_list.currentRow()
        return self.history[row] if 0 <= row < len(self.history) else None

    def has_result(self) -> bool:
        return self.current_variation is not None

    def suggested_name(self) -> str:
        variation = self.current_variation
        if variation is None:
            return super().suggested_name()
        return f"{variation.request.model_id}-seed{variation.request.seed}.md"

    def export(self, path: Path, overwrite: bool = False) -> None:
        """Write the shown variation with its settings. Raises StudioError."""
        variation = self.current_variation
        if variation is None:
            raise StudioError("nothing has been generated yet")
        text = variation.request.prompt + variation.completion
        write_text(path, text, variation.provenance, overwrite)

    def restore(self, provenance: Provenance, payload: Any = None) -> list[str]:
        """An exported file: its settings into the controls, its text (`payload`) into the
        output."""
        request = provenance.request
        if not isinstance(request, TextRequest):
            return [f"this file holds {type(request).__name__} settings, not a text's"]
        text = str(payload or "")
        self.apply_request(request)
        self.request = request
        body = text[len(request.prompt) :] if text.startswith(request.prompt) else text
        self._finish(Variation(request, body, provenance, stopped=False))
        return []

    def open_plain(self, path: Path, payload: Any = None) -> bool:
        """Any other text file becomes the prompt."""
        self.prompt.setPlainText(str(payload or ""))
        return True


def _spin(low: float, high: float, step: float, value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(minimum=low, maximum=high, singleStep=step, value=value, decimals=2)
    box.setToolTip(tip)
    return box
