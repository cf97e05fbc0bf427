"""Engine callbacks (worker thread) -> Qt signals (delivered queued on the GUI thread)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.engine.scheduler import Ticket


class EngineBridge(QObject):
    """Implements the engine's Callbacks protocol by emitting signals; because this object
    lives on the GUI thread, Qt queues each emission from the worker thread."""

    progress = Signal(object, object)  # Ticket, Progress
    result = Signal(object, object)  # Ticket, result
    error = Signal(object, object)  # Ticket, BaseException
    cancelled = Signal(object)  # Ticket

    def on_progress(self, ticket: Ticket, progress: Any) -> None:
        self.progress.emit(ticket, progress)

    def on_result(self, ticket: Ticket, result: Any) -> None:
        self.result.emit(ticket, result)

    def on_error(self, ticket: Ticket, error: BaseException) -> None:
        self.error.emit(ticket, error)

    def on_cancelled(self, ticket: Ticket) -> None:
        self.cancelled.emit(ticket)
