"""Encode and decode latency per family with an encoder (batch 1, CPU), p50/p99.

python benchmarks/encode_latency.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime, encode_job


def timed(fn, repeats: int) -> tuple[float, float]:
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    p50, p99 = np.percentile(times, [50, 99])
    return float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    runtime = ModelRuntime(Catalog())
    picture = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for manifest in runtime.catalog.manifests:
        if not runtime.describe(manifest.id).can_encode:
            continue
        for backend in manifest.backends:
            job_args = (runtime, manifest.id, picture, backend)
            request = ImageRequest(manifest.id, seed=1, backend=backend)
            enc = timed(lambda a=job_args: run_to_completion(encode_job(*a)), args.repeats)
            dec = timed(lambda r=request: run_to_completion(runtime.image_job(r)), args.repeats)
            print(
                f"{manifest.id:<16} {backend:<5} encode (+ reconstruct) p50 {enc[0]:.2f} ms "
                f"p99 {enc[1]:.2f} ms | decode p50 {dec[0]:.2f} ms p99 {dec[1]:.2f} ms"
            )


if __name__ == "__main__":
    main()
