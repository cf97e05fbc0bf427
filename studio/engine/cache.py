"""A least-recently-used cache bounded in bytes, for loaded models."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class ByteBoundedCache(Generic[T]):
    """Keeps values while their total size is at most `max_bytes`; the newest value always
    stays, even alone over the bound. The key must hold everything that changes the value."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_create(self, key: Hashable, create: Callable[[], T], size: Callable[[T], int]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = create()  # outside the lock: loading a model takes a while
        with self._lock:
            self._items[key] = (value, size(value))
            self._items.move_to_end(key)
            while self.total_bytes > self.max_bytes and len(self._items) > 1:
                self._items.popitem(last=False)
        return value

    @property
    def total_bytes(self) -> int:
        return sum(nbytes for _, nbytes in self._items.values())

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
