"""`studio stylize`: a photo in the style of another picture, with its settings in the PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli import options
from studio.core.catalog import Catalog
from studio.core.manifest import file_sha256
from studio.core.results import Progress
from studio.core.style_request import COLOR_METHODS, METHODS, MODEL_OF_METHOD, StyleRequest
from studio.engine.run import run_to_completion


def add_parser(verbs: options.Verbs) -> None:
    style = verbs.add_parser("stylize", help="paint a photo in the style of another picture")
    style.add_argument("--content", type=Path, required=True, help="the photo")
    style.add_argument("--style", type=Path, required=True, help="the painting or texture")
    style.add_argument(
        "--blend",
        action="append",
        type=_blended,
        default=[],
        metavar="PICTURE=WEIGHT",
        help="another style mixed in with this weight (the first style gets the rest)",
    )
    style.add_argument("--method", choices=METHODS, default="optimize")
    options.add_model(
        style, help="the model of the method (default: adain-style or vgg16-features)"
    )
    style.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="style weight (optimize, 0-100) or content-style blend (fast, 0-1)",
    )
    style.add_argument("--keep-colors", action="store_true", help="keep the photo's colours")
    style.add_argument(
        "--color-method",
        choices=COLOR_METHODS,
        default="luminance",
        help="with --keep-colors: transfer luminance only, or recolour the style to the photo's",
    )
    style.add_argument("--size", type=int, default=512, help="longer side of the result")
    style.add_argument("--iterations", type=int, default=150, help="optimisation steps")
    options.add_seed(style)
    options.add_output(style, help=".png, .webp or .jpg")


def _blended(text: str) -> tuple[Path, float]:
    path, _, weight = text.rpartition("=")
    try:
        return Path(path), float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PICTURE=WEIGHT, got {text!r}") from None


def _pinned(path: Path) -> tuple[str, str]:
    """A picture's absolute path and sha256 ('' when it is missing: the job says so)."""
    return str(path.resolve()), file_sha256(path) if path.is_file() else ""


def run(args: argparse.Namespace) -> int:
    from studio.engine.runtime import ModelRuntime
    from studio.media.image import image_format, write_image

    catalog = Catalog()
    image_format(args.out)  # a bad extension fails before minutes of work
    content, content_sha256 = _pinned(args.content)
    style, style_sha256 = _pinned(args.style)
    request = StyleRequest(
        content=content,
        content_sha256=content_sha256,
        style=style,
        style_sha256=style_sha256,
        model_id=args.model or MODEL_OF_METHOD[args.method],
        method=args.method,
        strength=args.strength,
        keep_colors=args.keep_colors,
        color_method=args.color_method,
        blend=tuple((*_pinned(path), weight) for path, weight in args.blend),
        size=args.size,
        iterations=args.iterations,
        seed=args.seed,
    )

    def report(progress: Progress) -> None:
        if progress.step and progress.step % 25 == 0:
            print(f"  {progress.message}")

    result = run_to_completion(ModelRuntime(catalog).style_job(request), report)
    write_image(args.out, result.pixels, result.provenance, overwrite=args.overwrite)
    height, width = result.pixels.shape[:2]
    print(f"wrote {args.out} ({width}x{height}, {result.seconds:.1f} s)")
    return 0
