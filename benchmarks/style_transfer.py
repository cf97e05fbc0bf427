"""Style transfer speed: the fast method (AdaIN) end to end per backend and size, the VGG-16
feature pass alone, and optimisation iterations per second.

    python benchmarks/style_transfer.py [--threads 2] [--iterations 5]

Fast: "new pictures" is a whole job (read both files, encode content and style, AdaIN,
decode); "strength moved" is the same job after a slider move, when the encoded features are
remembered and only AdaIN and the decoder run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from studio.backends.select import open_session
from studio.backends.torch_style import optimize_style
from studio.core.catalog import Catalog
from studio.core.errors import StudioError
from studio.core.manifest import file_sha256
from studio.core.style_request import StyleRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import DeviceSettings, ModelRuntime

SIZES = (256, 512, 1024)


def feature_ms(session, size: int, repeats: int = 2) -> float:
    image = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    session.run({"image": image})  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        session.run({"image": image})
    return (time.perf_counter() - start) / repeats * 1000


def pictures(folder: Path) -> tuple[Path, Path]:
    """A smooth 'photo' and a striped 'painting', 1024 px, as PNG files."""
    y, x = np.mgrid[0:1024, 0:1024] / 1024
    photo = np.stack([x, y, 0.5 + 0.5 * np.sin(6 * x * y)], -1)
    stripes = np.stack([np.sin(40 * (x + y)) > 0, np.full_like(x, 0.3), np.sin(25 * x) > 0], -1)
    paths = folder / "photo.png", folder / "style.png"
    for path, pixels in zip(paths, (photo, stripes), strict=True):
        Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
    return paths


def fast_table(threads: int) -> None:
    runtime = ModelRuntime(Catalog())
    runtime.settings = DeviceSettings("cpu", threads)
    with tempfile.TemporaryDirectory() as folder:
        photo, style = pictures(Path(folder))
        base = StyleRequest(
            str(photo), file_sha256(photo), str(style), file_sha256(style),
            model_id="adain-style", method="fast",
        )  # fmt: skip
        print(f"fast method (AdaIN, adain-style), {threads} threads, ms")
        print(f"{'backend':<8}{'size':>6}{'new pictures':>15}{'strength moved':>16}")
        for backend in ("onnx", "torch"):
            try:
                run_to_completion(runtime.style_job(replace(base, size=64, backend=backend)))
            except StudioError as exc:
                print(f"{backend:<8} unavailable: {exc}")
                continue
            for size in SIZES:
                request = replace(base, size=size, backend=backend)
                runtime.family("adain-style", backend)._features.clear()  # type: ignore[attr-defined]
                runtime.family("vgg16-features", backend)  # loaded before the clock starts
                start = time.perf_counter()
                run_to_completion(runtime.style_job(request))
                cold = (time.perf_counter() - start) * 1000
                start = time.perf_counter()
                run_to_completion(runtime.style_job(replace(request, strength=0.5)))
                warm = (time.perf_counter() - start) * 1000
                print(f"{backend:<8}{size:>6}{cold:>15.0f}{warm:>16.0f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()
    fast_table(args.threads)
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
