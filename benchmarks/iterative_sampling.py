"""Iterative families on 2 cores: DDIM 25 steps at 32x32 (budget <= 2 s), a full PixelCNN
sample, and Gibbs sweeps per second of the RBM. Batch 1 unless said, ONNX Runtime.

    python benchmarks/iterative_sampling.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime


def timed(runtime: ModelRuntime, request: ImageRequest, repeats: int) -> float:
    run_to_completion(runtime.image_job(request))  # load and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_to_completion(runtime.image_job(request))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runtime = ModelRuntime(Catalog())
    by_family = {m.family: m.id for m in runtime.catalog.manifests}
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
