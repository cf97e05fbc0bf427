"""Undo steps of a panel whose state is one frozen request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand


class StateCommand(QUndoCommand):
    """One edit: `apply(new)` on redo, `apply(old)` on undo. Consecutive edits with the same
    merge key (one slider drag) collapse into a single undo step."""

    def __init__(
        self,
        apply: Callable[[Any], None],
        old: Any,
        new: Any,
        text: str,
        merge_key: object = None,
    ) -> None:
        super().__init__(text)
        self.apply, self.old, self.new, self.merge_key = apply, old, new, merge_key

    def id(self) -> int:
        return 1 if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if isinstance(other, StateCommand) and other.merge_key == self.merge_key:
            self.new = other.new
            return True
        return False

    def redo(self) -> None:
        self.apply(self.new)

    def undo(self) -> None:
        self.apply(self.old)
