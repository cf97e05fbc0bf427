"""Engine behaviour, synchronised with events (never sleeps)."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

import pytest

from studio.engine.cache import ByteBoundedCache
from studio.engine.scheduler import Engine, Ticket

TIMEOUT = 10.0


class Recorder:
    def __init__(self) -> None:
        self.progress: list[tuple[int, Any]] = []
        self.results: list[tuple[int, Any]] = []
        self.errors: list[tuple[int, BaseException]] = []
        self.cancelled: list[int] = []
        self.finished = threading.Event()  # set on every result, error or cancel

    def on_progress(self, ticket: Ticket, progress: Any) -> None:
        self.progress.append((ticket.generation, progress))

    def on_result(self, ticket: Ticket, result: Any) -> None:
        self.results.append((ticket.generation, result))
        self.finished.set()

    def on_error(self, ticket: Ticket, error: BaseException) -> None:
        self.errors.append((ticket.generation, error))
        self.finished.set()

    def on_cancelled(self, ticket: Ticket) -> None:
        self.cancelled.append(ticket.generation)
        self.finished.set()


@pytest.fixture
def engine() -> Generator[Engine, None, None]:
    engine = Engine()
    yield engine
    engine.shutdown()


def value_job(value: Any, started: list[Any] | None = None):
    def job():
        if started is not None:
            started.append(value)
        yield 0.5
        return value

    return job


def gated_job(started: threading.Event, gate: threading.Event, steps: list[int]):
    """Yields once, then blocks until `gate` opens, then yields again: the engine must stop
    it at that second yield if it was cancelled meanwhile."""

    def job():
        try:
            steps.append(1)
            started.set()
            yield 0.1
            gate.wait(TIMEOUT)
            steps.append(2)
            yield 0.5
            steps.append(3)
            return "finished"
        finally:
            steps.append(-1)  # closed or returned

    return job


def test_latest_wins_under_a_burst(engine: Engine) -> None:
    rec = Recorder()
    started, gate, steps = threading.Event(), threading.Event(), []
    first = engine.submit_interactive("first", gated_job(started, gate, steps), rec)
    assert started.wait(TIMEOUT)
    ran: list[Any] = []
    tickets = [engine.submit_interactive(k, value_job(k, ran), rec) for k in range(100)]
    gate.set()
    assert engine.wait_idle(TIMEOUT)
    assert rec.results == [(tickets[-1].generation, 99)]  # only the newest
    assert ran == [99]  # the 99 replaced requests never started
    assert first is not None and first.generation in rec.cancelled
    assert len(rec.cancelled) == 100  # the running one plus 99 replaced
    assert 3 not in steps  # the running job stopped at its next yield
    assert rec.errors == []


def test_cancel_stops_a_running_job_at_its_next_yield(engine: Engine) -> None:
    rec = Recorder()
    started, gate, steps = threading.Event(), threading.Event(), []
    ticket = engine.submit_batch(gated_job(started, gate, steps), rec)
    assert started.wait(TIMEOUT)
    engine.cancel(ticket)
    gate.set()
    assert rec.finished.wait(TIMEOUT)
    assert rec.cancelled == [ticket.generation]
    assert steps == [1, 2, -1]  # reached the second yield, then was closed
    assert rec.results == []


def test_equal_request_is_dropped(engine: Engine) -> None:
    rec = Recorder()
    assert engine.submit_interactive(("m", 1), value_job(1), rec) is not None
    assert engine.submit_interactive(("m", 1), value_job(1), rec) is None
    assert engine.wait_idle(TIMEOUT)
    assert len(rec.results) == 1


def test_a_failing_job_is_reported_and_the_worker_lives_on(engine: Engine) -> None:
    rec = Recorder()

    def broken():
        yield 0.0
        raise ValueError("model exploded")

    engine.submit_interactive("a", broken, rec)
    assert engine.wait_idle(TIMEOUT)
    assert [type(e) for _, e in rec.errors] == [ValueError]
    engine.submit_interactive("b", value_job("ok"), rec)
    assert engine.wait_idle(TIMEOUT)
    assert [r for _, r in rec.results] == ["ok"]
    # after an error the same request may be retried
    assert engine.submit_interactive("b", value_job("again"), rec) is None
    engine.submit_interactive("a", value_job("retried"), rec)
    assert engine.wait_idle(TIMEOUT)
    assert rec.results[-1][1] == "retried"


def test_a_raising_callback_does_not_kill_the_worker(engine: Engine) -> None:
    class Angry(Recorder):
        def on_result(self, ticket: Ticket, result: Any) -> None:
            raise RuntimeError("GUI bug")

    engine.submit_interactive("a", value_job(1), Angry())
    assert engine.wait_idle(TIMEOUT)
    rec = Recorder()
    engine.submit_interactive("b", value_job(2), rec)
    assert engine.wait_idle(TIMEOUT)
    assert rec.results[0][1] == 2


def test_batch_work_yields_to_interactive_work(engine: Engine) -> None:
    order: list[str] = []
    rec = Recorder()

    class SubmitOnFirstStep(Recorder):
        def on_progress(self, ticket: Ticket, progress: Any) -> None:
            if progress == 1:
                engine.submit_interactive("i", interactive, rec)

    def interactive():
        order.append("interactive")
        yield None
        return "i"

    def batch():
        for step in (1, 2, 3):
            order.append(f"batch-{step}")
            yield step
        return "b"

    batch_rec = SubmitOnFirstStep()
    engine.submit_batch(batch, batch_rec)
    assert engine.wait_idle(TIMEOUT)
    assert order == ["batch-1", "interactive", "batch-2", "batch-3"]
    assert rec.results[0][1] == "i" and batch_rec.results[0][1] == "b"


def test_cache_is_bounded_in_bytes_and_keeps_recent_entries() -> None:
    cache: ByteBoundedCache[str] = ByteBoundedCache(max_bytes=100)
    loads: list[str] = []

    def get(key: str, size: int) -> str:
        return cache.get_or_create(key, lambda: loads.append(key) or key, lambda _: size)

    get("a", 40)
    get("b", 40)
    get("a", 40)  # hit: a becomes the most recent
    get("c", 40)  # evicts b, the least recent
    assert loads == ["a", "b", "c"]
    assert "a" in cache and "c" in cache and "b" not in cache
    assert cache.total_bytes <= 100
    get("huge", 500)  # the newest always stays, alone
    assert len(cache) == 1 and "huge" in cache


def test_cancel_stops_only_the_job_it_names(engine: Engine) -> None:
    rec = Recorder()
    started, gate, steps = threading.Event(), threading.Event(), []
    running = engine.submit_batch(gated_job(started, gate, steps), rec)
    assert started.wait(TIMEOUT)
    waiting = engine.submit_batch(value_job("second"), rec)
    engine.cancel(waiting)
    gate.set()
    assert engine.wait_idle(TIMEOUT)
    assert rec.results == [(running.generation, "finished")]
    assert rec.cancelled == [waiting.generation]


def test_the_same_request_runs_again_after_a_stop(engine: Engine) -> None:
    """After Stop, asking for the same settings again must render, not be dropped as equal."""
    rec = Recorder()
    started, gate, steps = threading.Event(), threading.Event(), []
    first = engine.submit_interactive(("m", 1), gated_job(started, gate, steps), rec)
    assert first is not None and started.wait(TIMEOUT)
    engine.cancel(first)
    gate.set()
    assert engine.wait_idle(TIMEOUT)
    again = engine.submit_interactive(("m", 1), value_job("again"), rec)
    assert again is not None
    assert engine.wait_idle(TIMEOUT)
    assert rec.results == [(again.generation, "again")]
