"""Iterative families on 2 cores: DDIM 25 steps at 32x32 (budget <= 2 s), a full PixelCNN
sample, Gibbs sweeps per second of the RBM, and cancel -> stopped for every bundled model
(budget 250 ms; a 4x4 grid, DDPM for diffusion). Batch 1 unless said, ONNX Runtime.

    python benchmarks/iterative_sampling.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import threading
import time

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.engine.scheduler import Engine, Ticket


def timed(runtime: ModelRuntime, request: ImageRequest, repeats: int) -> float:
    run_to_completion(runtime.image_job(request))  # load and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_to_completion(runtime.image_job(request))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class _CancelTimer:
    """Cancels at the first preview step and measures how long the job takes to stop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cancelled_at = 0.0
        self.stopped = threading.Event()

    def on_progress(self, ticket: Ticket, progress: object) -> None:
        if not self.cancelled_at:
            self.cancelled_at = time.perf_counter()
            self.engine.cancel(ticket)

    def on_result(self, ticket: Ticket, result: object) -> None:
        self.stopped.set()

    def on_error(self, ticket: Ticket, error: BaseException) -> None:
        self.stopped.set()

    def on_cancelled(self, ticket: Ticket) -> None:
        self.stopped.set()


def cancel_latency_ms(runtime: ModelRuntime, request: ImageRequest) -> float:
    run_to_completion(runtime.image_job(dataclasses.replace(request, steps=5)))  # warm
    engine = Engine()
    timer = _CancelTimer(engine)
    engine.submit_batch(lambda: runtime.image_job(request), timer)
    timer.stopped.wait(60)
    engine.shutdown()
    return (time.perf_counter() - timer.cancelled_at) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runtime = ModelRuntime(Catalog())
    by_family = {m.family: m.id for m in runtime.catalog.manifests if m.modality == "image"}
    for family, model in sorted(by_family.items()):
        request = ImageRequest(model, seed=1, grid=(4, 4))
        if family == "diffusion":
            request = dataclasses.replace(request, sampler="ddpm")
        latency = cancel_latency_ms(runtime, request)
        print(f"{model}: cancel -> stopped {latency:.1f} ms (budget 250 ms)")
    if "diffusion" in by_family:
        model = by_family["diffusion"]
        for steps in (10, 25, 50):
            seconds = timed(runtime, ImageRequest(model, seed=1, steps=steps), args.repeats)
            print(
                f"{model}: DDIM {steps} steps {seconds:.2f} s ({steps / seconds:.0f} steps/s)"
                + ("  (budget 2 s)" if steps == 25 else "")
            )
        grid = timed(runtime, ImageRequest(model, seed=1, steps=25, grid=(4, 4)), 1)
        print(f"{model}: DDIM 25 steps, 4x4 grid in one batch {grid:.2f} s")
    if "pixelcnn" in by_family:
        model = by_family["pixelcnn"]
        seconds = timed(runtime, ImageRequest(model, seed=1), 1)
        print(f"{model}: one 32x32 sample {seconds:.2f} s ({1024 / seconds:.0f} pixels/s)")
    if "rbm" in by_family:
        model = by_family["rbm"]
        sweeps = 300
        seconds = timed(runtime, ImageRequest(model, seed=1, steps=sweeps), args.repeats)
        print(f"{model}: {sweeps / seconds:.0f} Gibbs sweeps/s (batch 1)")
        seconds = timed(runtime, ImageRequest(model, seed=1, steps=sweeps, grid=(4, 4)), 1)
        print(f"{model}: {16 * sweeps / seconds:.0f} chain-sweeps/s (16 chains in a batch)")


if __name__ == "__main__":
    main()
