"""Engine callbacks (worker thread) -> Qt signals (delivered queued on the GUI thread)."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.engine.scheduler import Ticket


class EngineBridge(QObject):
    """Implements the engine's Callbacks protocol by emitting signals; because this object
    lives on the GUI thread, Qt queues each emission from the worker thread.

    With `coalesce_progress`, progress reports that arrive faster than the GUI takes them
    (a token a millisecond) collapse into the newest: at most one waits in the event queue,
    and it still arrives before the result that follows it."""

    progress = Signal(object, object)  # Ticket, Progress
    result = Signal(object, object)  # Ticket, result
    error = Signal(object, object)  # Ticket, BaseException
    cancelled = Signal(object)  # Ticket
    _progress_waiting = Signal()

    def __init__(self, parent: QObject | None = None, coalesce_progress: bool = False) -> None:
        super().__init__(parent)
        self._coalesce = coalesce_progress
        self._lock = threading.Lock()
        self._newest: tuple[Ticket, Any] | None = None
        self._progress_waiting.connect(self._deliver_newest)

    def on_progress(self, ticket: Ticket, progress: Any) -> None:
        if not self._coalesce:
            self.progress.emit(ticket, progress)
            return
        with self._lock:
            already_waiting = self._newest is not None
            self._newest = (ticket, progress)
        if not already_waiting:
            self._progress_waiting.emit()

    def _deliver_newest(self) -> None:
        with self._lock:
            newest, self._newest = self._newest, None
        if newest is not None:
            self.progress.emit(*newest)

    def on_result(self, ticket: Ticket, result: Any) -> None:
        self.result.emit(ticket, result)

    def on_error(self, ticket: Ticket, error: BaseException) -> None:
        self.error.emit(ticket, error)

    def on_cancelled(self, ticket: Ticket) -> None:
        self.cancelled.emit(ticket)
