"""A Qt-free worker thread with two lanes.

- The interactive lane holds one slot: the newest request replaces a waiting one and cancels
  the running one at its next yield (latest wins). Results carry a generation stamp; the
  scheduler never delivers a result for a request that has been superseded.
- The batch lane is a FIFO queue. A batch job yields to the interactive lane: at each of its
  yields, waiting interactive work runs first, then the batch job resumes.

Jobs are generator factories called on the worker thread: each `yield` is a progress report
and a cancellation point, `return value` is the result. A job that raises is reported through
its callbacks; the worker lives on. Callbacks run on the worker thread: a GUI re-emits them
through queued signals.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from studio.core.errors import Cancelled

log = logging.getLogger(__name__)

Job = Callable[[], Generator[Any, None, Any]]


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class Ticket:
    generation: int  # increases with every submission, in both lanes
    lane: str  # "interactive" | "batch"
    token: CancelToken = field(compare=False)


class Callbacks(Protocol):
    def on_progress(self, ticket: Ticket, progress: Any) -> None: ...
    def on_result(self, ticket: Ticket, result: Any) -> None: ...
    def on_error(self, ticket: Ticket, error: BaseException) -> None: ...
    def on_cancelled(self, ticket: Ticket) -> None: ...


@dataclass
class _Work:
    ticket: Ticket
    job: Job
    callbacks: Callbacks
    key: Hashable = None


class Engine:
    def __init__(self, name: str = "studio-engine") -> None:
        self._lock = threading.Condition()
        self._interactive: _Work | None = None
        self._running_interactive: _Work | None = None
        self._batch: collections.deque[_Work] = collections.deque()
        self._generation = 0
        self._latest_interactive = 0
        self._last_key: Hashable = None
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # -- submitting -------------------------------------------------------------------
    def submit_interactive(self, key: Hashable, job: Job, callbacks: Callbacks) -> Ticket | None:
        """Queue `job` as the newest interactive request; None when `key` equals the last one
        (its result is already shown or on its way)."""
        with self._lock:
            if key is not None and key == self._last_key:
                return None
            self._last_key = key
            ticket = self._new_ticket("interactive")
            self._latest_interactive = ticket.generation
            replaced = self._interactive
            self._interactive = _Work(ticket, job, callbacks, key)
            if self._running_interactive is not None:
                self._running_interactive.ticket.token.cancel()
            self._idle.clear()
            self._lock.notify_all()
        if replaced is not None:
            replaced.callbacks.on_cancelled(replaced.ticket)
        return ticket

    def submit_batch(self, job: Job, callbacks: Callbacks) -> Ticket:
        with self._lock:
            ticket = self._new_ticket("batch")
            self._batch.append(_Work(ticket, job, callbacks))
            self._idle.clear()
            self._lock.notify_all()
        return ticket

    def cancel(self, ticket: Ticket) -> None:
        """Stop that job at its next yield (or before it starts)."""
        ticket.token.cancel()
        with self._lock:
            if ticket.lane == "interactive" and self._last_key is not None:
                # the same request may be asked for again after a cancel
                self._last_key = None

    def is_latest(self, ticket: Ticket) -> bool:
        """Whether `ticket` is the newest interactive request (results of others are stale)."""
        return ticket.lane != "interactive" or ticket.generation == self._latest_interactive

    def forget_last_request(self) -> None:
        """Let an equal interactive request run again (after a model or device change)."""
        with self._lock:
            self._last_key = None

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopping = True
            if self._running_interactive is not None:
                self._running_interactive.ticket.token.cancel()
            for work in self._batch:
                work.ticket.token.cancel()
            self._lock.notify_all()
        self._thread.join(timeout)

    def _new_ticket(self, lane: str) -> Ticket:
        self._generation += 1
        return Ticket(self._generation, lane, CancelToken())

    # -- the worker ---------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and self._interactive is None and not self._batch:
                    self._idle.set()
                    self._lock.wait()
                if self._stopping:
                    self._idle.set()
                    return
                work = self._take_interactive() or self._batch.popleft()
            self._execute_guarded(work)
            if work.ticket.lane == "interactive":
                with self._lock:
                    self._running_interactive = None

    def _take_interactive(self) -> _Work | None:
        work, self._interactive = self._interactive, None
        if work is not None:
            self._running_interactive = work
        return work

    def _run_waiting_interactive(self) -> None:
        """Called between a batch job's steps: interactive work goes first."""
        while True:
            with self._lock:
                if self._stopping:
                    return
                work = self._take_interactive()
            if work is None:
                return
            self._execute_guarded(work)
            with self._lock:
                self._running_interactive = None

    def _execute_guarded(self, work: _Work) -> None:
        try:
            self._execute(work)
        except Exception:
            log.exception("a callback of job %s raised", work.ticket)

    def _execute(self, work: _Work) -> None:
        ticket, callbacks = work.ticket, work.callbacks
        try:
            if ticket.token.cancelled:
                raise Cancelled("cancelled before it started")
            steps = work.job()
            while True:
                try:
                    progress = next(steps)
                except StopIteration as done:
                    result = done.value
                    break
                if ticket.token.cancelled:
                    steps.close()
                    raise Cancelled("cancelled")
                callbacks.on_progress(ticket, progress)
                if ticket.lane == "batch":
                    self._run_waiting_interactive()
            if ticket.token.cancelled or not self.is_latest(ticket):
                raise Cancelled("superseded")
        except Cancelled:
            callbacks.on_cancelled(ticket)
            return
        except Exception as exc:
            log.debug("job %s failed", ticket, exc_info=True)
            if ticket.lane == "interactive":
                with self._lock:
                    if self._last_key == work.key:
                        self._last_key = None  # let the user retry the same request
            callbacks.on_error(ticket, exc)
            return
        callbacks.on_result(ticket, result)
