"""Run a job to completion on the calling thread (CLI, tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

R = TypeVar("R")


def run_to_completion(
    job: Generator[Any, None, R], on_progress: Callable[[Any], None] | None = None
) -> R:
    while True:
        try:
            progress = next(job)
        except StopIteration as done:
            result: R = done.value  # what the generator returned (StopIteration types it Any)
            return result
        if on_progress is not None:
            on_progress(progress)
