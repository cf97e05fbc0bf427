"""Style transfer speed: the VGG-16 feature pass per backend and size, and optimisation
iterations per second.

    python benchmarks/style_transfer.py [--threads 2] [--iterations 5]

The fast (AdaIN) method is not bundled yet, so only its encoder half is timed here: the
feature pass it would share with the optimisation method.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from studio.backends.select import open_session
from studio.backends.torch_style import optimize_style
from studio.core.catalog import Catalog

SIZES = (256, 512, 1024)


def feature_ms(session, size: int, repeats: int = 2) -> float:
    image = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    session.run({"image": image})  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        session.run({"image": image})
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()
    manifest = Catalog().get("vgg16-features")
    print(f"vgg16-features forward (relu1_1..relu4_1), {args.threads} threads, ms")
    print(f"{'backend':<8}" + "".join(f"{s:>9} px" for s in SIZES))
    for backend in ("onnx", "torch"):
        session = open_session(manifest, "features", backend, "cpu", args.threads)
        print(f"{backend:<8}" + "".join(f"{feature_ms(session, s):>12.0f}" for s in SIZES))
    rng = np.random.default_rng(1)
    print(f"\noptimisation (torch, L-BFGS, one evaluation per iteration), {args.iterations} its")
    for size in (256, 512):
        content = rng.random((size, size, 3), dtype=np.float32)
        style = rng.random((size, size, 3), dtype=np.float32)
        steps = optimize_style(
            manifest.networks["features"], content, style, 10.0, args.iterations, 0, args.threads
        )
        start = time.perf_counter()
        for _ in steps:
            pass
        rate = args.iterations / (time.perf_counter() - start)
        print(f"{size} px: {rate:.2f} iterations/s ({1 / rate:.1f} s each)")


if __name__ == "__main__":
    main()
