"""The one protocol every panel implements (STYLE.md rule 13): the window talks to "the
active panel" through it and never to a named one.

A panel shows one modality's models. The window tells it which model to show, asks it for its
current request, hands it an opened file to restore (getting warnings back), asks it to export
to a path, adds the actions it offers to a menu of its own, and saves its per-model state
(each model's last request, so switching away and back keeps your sliders).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QWidget

from studio.core.errors import StudioError
from studio.core.modalities import MODALITIES, Modality, Request
from studio.core.provenance import Provenance
from studio.engine.runtime import ModelRuntime
from studio.engine.scheduler import Engine

MAX_SAVED_MODELS = 64  # per-model states remembered per panel


@dataclass(frozen=True)
class PanelContext:
    """What the window lends every panel: the engine, the model runtime, the undo stack, and
    a way to ask another panel (by modality) for the result it shows."""

    engine: Engine
    runtime: ModelRuntime
    undo: Any  # QUndoStack
    result_of: Callable[[str], Any]  # modality -> that panel's current result or None


class Panel(QWidget):
    """Base of every panel. Subclasses set `modality` and implement the abstract methods."""

    modality: ClassVar[str]
    failed = Signal(str, str)  # subject, reason
    status = Signal(str)
    modelChanged = Signal(str)  # model id, once its controls are shown

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.engine, self.runtime = context.engine, context.runtime
        self._states: dict[str, Request] = {}  # model id -> the request it was left at

    @property
    def row(self) -> Modality:
        return MODALITIES[self.modality]

    # -- the protocol ---------------------------------------------------------------------
    def set_model(self, model_id: str) -> None:
        """Show `model_id`, at the state it was left in if it was shown before."""
        raise NotImplementedError

    def current_model(self) -> str | None:
        raise NotImplementedError

    def current_request(self) -> Request | None:
        """The request the controls describe now (None before a model is chosen)."""
        raise NotImplementedError

    def restore(self, provenance: Provenance, payload: Any = None) -> list[str]:
        """Show what an exported file was made with (`payload`: its decoded content, e.g.
        the text or the samples). Returns warnings for the user; raises StudioError."""
        raise NotImplementedError

    def open_plain(self, path: Path, payload: Any = None) -> bool:
        """A file of this modality with no settings inside. False (and `failed`) if the panel
        has no use for it."""
        self.failed.emit(path.name, "this file carries no Latent Studio settings")
        return False

    def has_result(self) -> bool:
        raise NotImplementedError

    def suggested_name(self) -> str:
        """The file name the export dialog proposes."""
        return f"{self.current_model() or self.modality}{self.row.suffixes[0]}"

    def export(self, path: Path, overwrite: bool = False) -> None:
        """Write the current result to `path` (a suffix of this modality). Raises StudioError."""
        raise NotImplementedError

    def menu_actions(self) -> list[QAction]:
        """Actions for this panel's menu (shown while the panel is)."""
        return []

    def current_image(self) -> QImage | None:
        """The picture Edit > Copy puts on the clipboard, if the panel shows one."""
        return None

    def current_result(self) -> Any:
        """The result the panel shows (an ImageResult, AudioResult...), for other panels."""
        return None

    def set_controls_visible(self, visible: bool) -> None:
        """Full-screen work area: hide the settings column."""

    def rerender(self) -> None:
        """The compute settings changed: make the current result again where that is cheap."""

    # -- per-model state ------------------------------------------------------------------
    def remember(self, request: Request | None) -> None:
        if request is None:
            return
        self._states.pop(request.model_id, None)
        self._states[request.model_id] = request
        while len(self._states) > MAX_SAVED_MODELS:
            self._states.pop(next(iter(self._states)))

    def remembered(self, model_id: str) -> Request | None:
        return self._states.get(model_id)

    def saved_states(self) -> str:
        """Every model's last request, as JSON for the settings file."""
        # the controls may not make a request yet (no pictures chosen)
        with contextlib.suppress(StudioError):
            self.remember(self.current_request())
        return json.dumps({k: v.to_dict() for k, v in self._states.items()})

    def load_states(self, text: str) -> None:
        """Inverse of saved_states; entries that no longer parse are dropped silently (an
        older version's settings, a model that changed)."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            return
        if not isinstance(data, Mapping):
            return
        request_type = self.row.request_type
        for model_id, value in data.items():
            try:
                request = request_type.from_dict(value)
            except (StudioError, TypeError, ValueError, AttributeError):
                continue
            if request.model_id == model_id:
                self.remember(request)
