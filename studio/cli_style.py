"""`studio stylize`: a photo in the style of another picture, with its settings in the PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.core.catalog import Catalog
from studio.core.manifest import file_sha256
from studio.core.style_request import METHODS, StyleRequest
from studio.engine.run import run_to_completion


def add_style_parser(verbs) -> None:
    style = verbs.add_parser("stylize", help="paint a photo in the style of another picture")
    style.add_argument("--content", type=Path, required=True, help="the photo")
    style.add_argument("--style", type=Path, required=True, help="the painting or texture")
    style.add_argument("--method", choices=METHODS, default="optimize")
    style.add_argument("--strength", type=float, default=1.0, help="weight of the style")
    style.add_argument("--keep-colors", action="store_true", help="keep the photo's colours")
    style.add_argument("--size", type=int, default=512, help="longer side of the result")
    style.add_argument("--iterations", type=int, default=150, help="optimisation steps")
    style.add_argument("--seed", type=int, default=0)
    style.add_argument("--out", type=Path, required=True, help=".png, .webp or .jpg")
    style.add_argument("--overwrite", action="store_true")


def stylize(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime
    from studio.media.image import image_format, write_image

    image_format(args.out)  # a bad extension fails before minutes of work
    request = StyleRequest(
        content=str(args.content.resolve()),
        content_sha256=file_sha256(args.content) if args.content.is_file() else "",
        style=str(args.style.resolve()),
        style_sha256=file_sha256(args.style) if args.style.is_file() else "",
        method=args.method,
        strength=args.strength,
        keep_colors=args.keep_colors,
        size=args.size,
        iterations=args.iterations,
        seed=args.seed,
    )

    def report(progress) -> None:
        if progress.step % 25 == 0:
            print(f"  {progress.message}")

    result = run_to_completion(ModelRuntime(catalog).style_job(request), report)
    write_image(args.out, result.pixels, result.provenance, overwrite=args.overwrite)
    height, width = result.pixels.shape[:2]
    print(f"wrote {args.out} ({width}x{height}, {result.seconds:.1f} s)")
    return 0
