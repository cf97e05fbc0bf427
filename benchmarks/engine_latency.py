"""Request -> result latency through the engine's interactive lane, per backend.

    python benchmarks/engine_latency.py [--model gan-emoji-32] [--requests 300]

Each request moves one slider a little (a new latent every time, so nothing is cached),
waits for its result, and records the wall time from submit to result callback. Prints
p50/p99 per backend, the bare session.run time, and the ONNX Runtime vs torch eager ratio.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

import numpy as np

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.engine.runtime import ModelRuntime
from studio.engine.scheduler import Engine, Ticket


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None

    def on_progress(self, ticket: Ticket, progress: Any) -> None:
        pass

    def on_result(self, ticket: Ticket, result: Any) -> None:
        self.done.set()

    def on_error(self, ticket: Ticket, error: BaseException) -> None:
        self.error = error
        self.done.set()

    def on_cancelled(self, ticket: Ticket) -> None:
        self.done.set()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def engine_latencies(
    engine: Engine, runtime: ModelRuntime, model: str, backend: str, count: int
) -> list[float]:
    times = []
    for k in range(count + 10):
        request = ImageRequest(model, seed=1, offsets=(("PC1", k * 0.01),), backend=backend)
        waiter = _Waiter()
        start = time.perf_counter()
        engine.submit_interactive(request, lambda r=request: runtime.image_job(r), waiter)
        waiter.done.wait(30)
        if waiter.error is not None:
            raise waiter.error
        if k >= 10:  # the first requests load the model and warm the caches
            times.append((time.perf_counter() - start) * 1000)
    return times


def session_latencies(runtime: ModelRuntime, model: str, backend: str, count: int) -> list[float]:
    family = runtime.image_family(model, backend)
    session = family.sessions["generator"]
    latent_shape = family.manifest.latent_shape or ()
    z = np.random.default_rng(0).standard_normal((1, *latent_shape))
    feeds = {session.spec.inputs[0].name: z.astype(np.float32)}
    for _ in range(10):
        session.run(feeds)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        session.run(feeds)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="gan-emoji-32")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    runtime = ModelRuntime(Catalog())
    engine = Engine()
    medians = {}
    print(f"model {args.model}, batch 1, {args.requests} requests per backend")
    for backend in runtime.catalog.get(args.model).backends:
        through_engine = engine_latencies(engine, runtime, args.model, backend, args.requests)
        bare = session_latencies(runtime, args.model, backend, args.requests)
        medians[backend] = statistics.median(bare)
        device = runtime.image_family(args.model, backend).sessions["generator"].choice.device
        print(
            f"{backend:>5} ({device}): engine request->result p50 "
            f"{percentile(through_engine, 50):.2f} ms  p99 {percentile(through_engine, 99):.2f} ms"
            f" | session.run p50 {percentile(bare, 50):.3f} ms  p99 {percentile(bare, 99):.3f} ms"
        )
    engine.shutdown()
    if {"onnx", "torch"} <= set(medians):
        ratio = medians["torch"] / medians["onnx"]
        print(f"ONNX Runtime is {ratio:.2f}x torch eager (session.run medians)")


if __name__ == "__main__":
    main()
