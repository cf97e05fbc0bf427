"""Headless verbs: `studio models`, `generate` (images and text), `encode`, `score`, `info`.

Errors are one line on stderr and exit status 2; nothing here imports Qt.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from studio.cli_audio import (
    add_audio_arguments,
    add_note_set_parser,
    generate_audio,
    is_audio_path,
    render_notes,
)
from studio.cli_style import add_style_parser, stylize
from studio.cli_text import add_text_arguments, generate_text, is_text_source
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError, StudioError
from studio.core.requests import BACKENDS, DEVICES, ImageRequest
from studio.core.results import ImageResult
from studio.engine.run import run_to_completion
from studio.families.base import ImageJob


def _grid(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"grid must look like 4x4, got {text!r}") from None
    return rows, cols


def _direction(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"direction must look like PC1=2.5, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio",
        description="Latent Studio: generate and explore images with generative models. "
        "Run without a verb to open the window.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.add_parser("models", help="list bundled and user models")

    gen = verbs.add_parser("generate", help="render an image (or a grid) or a text to a file")
    gen.add_argument("--model", help="model id (see `studio models`)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--direction",
        action="append",
        type=_direction,
        default=[],
        metavar="NAME=VALUE",
        help="move along a latent direction, e.g. PC1=2",
    )
    gen.add_argument(
        "--truncation",
        type=float,
        default=None,
        help="redraw latent values beyond this magnitude (e.g. 0.7)",
    )
    gen.add_argument(
        "--grid",
        type=_grid,
        default=(1, 1),
        metavar="RxC",
        help="rows x columns of consecutive seeds",
    )
    gen.add_argument(
        "--sampler",
        choices=("ddim", "ddpm"),
        default=None,
        help="diffusion sampler (default: the model's)",
    )
    gen.add_argument(
        "--steps",
        type=int,
        default=None,
        help="sampler steps (DDIM) or Gibbs sweeps (RBM); default: the model's",
    )
    gen.add_argument("--eta", type=float, default=None, help="DDIM stochasticity, 0 to 1")
    gen.add_argument("--backend", choices=BACKENDS, default="auto")
    gen.add_argument("--device", choices=DEVICES, default="auto")
    gen.add_argument("--upscale", type=int, default=1, help="integer upscale (nearest)")
    gen.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="scale the prior draw (default: the model's own, e.g. 0.7 for flows and VAEs)",
    )
    gen.add_argument(
        "--latent",
        type=Path,
        metavar="NPY",
        help="start from a latent saved by `studio encode` instead of a seed",
    )
    gen.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="reproduce the settings stored in an exported image or text",
    )
    gen.add_argument(
        "--out", type=Path, required=True, help=".png, .webp, .jpg; .txt, .md; .wav, .flac"
    )
    gen.add_argument("--overwrite", action="store_true", help="replace an existing file")
    add_text_arguments(gen)
    add_audio_arguments(gen)

    enc = verbs.add_parser("encode", help="map a picture into a model's latent space")
    enc.add_argument("--model", required=True)
    enc.add_argument("image", type=Path)
    enc.add_argument("--out", type=Path, required=True, help="latent as .npy")
    enc.add_argument("--overwrite", action="store_true")

    score = verbs.add_parser("score", help="rank the pictures of a folder by bits/dim")
    score.add_argument("--model", required=True)
    score.add_argument("folder", type=Path)

    add_note_set_parser(verbs)
    add_style_parser(verbs)

    info = verbs.add_parser("info", help="print the settings stored in an exported file")
    info.add_argument("file", type=Path)
    return parser


def cmd_models(catalog: Catalog) -> int:
    if not catalog.entries:
        print("no models found")
        return 0
    print(f"{'id':<24} {'family':<10} {'modality':<9} {'backends':<12} {'size':>8}  source")
    for entry in catalog.entries:
        m = entry.manifest
        if m is None:
            print(f"{entry.folder.name:<24} BROKEN: {entry.error}")
            continue
        size = f"{m.size_bytes / 1e6:.1f} MB"
        print(
            f"{m.id:<24} {m.family:<10} {m.modality:<9} {','.join(m.backends):<12} "
            f"{size:>8}  {entry.source}"
        )
    return 0


def cmd_generate(args: argparse.Namespace, catalog: Catalog) -> int:
    if args.source is not None and is_text_source(args.source):
        return generate_text(args, catalog)
    if args.source is not None and is_audio_path(args.source):
        return generate_audio(args, catalog)
    modality = catalog.get(args.model).modality if args.source is None and args.model else None
    if modality == "text":
        return generate_text(args, catalog)
    if modality == "audio":
        return generate_audio(args, catalog)
    return generate_image(args, catalog)


def generate_image(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime
    from studio.media.image import image_format, read_provenance, upscale, write_image

    image_format(args.out)  # reject a bad extension before loading anything
    if args.upscale < 1 or args.upscale > 64:
        raise RequestError(f"--upscale must be 1 to 64, got {args.upscale}")
    upscale_factor = args.upscale
    stored = None
    if args.source is not None:
        stored = read_provenance(args.source)
        if stored is None:
            raise MediaError(f"{args.source}: carries no Latent Studio settings")
        if not isinstance(stored.request, ImageRequest):
            raise MediaError(f"{args.source}: holds text settings; give a .txt or .md to --from")
        request = stored.request
        upscale_factor = stored.upscale
        runtime = ModelRuntime(catalog)
    else:
        if not args.model:
            raise RequestError("give --model ID (or --from FILE)")
        runtime = ModelRuntime(catalog)
        settings = {
            "seed": args.seed,
            "offsets": tuple(args.direction),
            "truncation": args.truncation,
            "latent": None if args.latent is None else load_latent(args.latent),
            "grid": args.grid,
            "backend": args.backend,
            "device": args.device,
        }
        for name in ("temperature", "sampler", "steps", "eta"):
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        request = runtime.default_request(args.model, **settings)
    stop_at = stored.preview_step if stored is not None else None
    result = render(runtime.image_job(request), stop_at)
    provenance = dataclasses.replace(result.provenance, upscale=upscale_factor)
    if stored is not None and stored.model_sha256 != provenance.model_sha256:
        print(
            f"studio: warning: {request.model_id} changed since {args.source.name} was made; "
            "pixels may differ",
            file=sys.stderr,
        )
    pixels = upscale(result.pixels, upscale_factor)
    write_image(args.out, pixels, provenance, overwrite=args.overwrite)
    choice = f"{provenance.backend}/{provenance.provider}"
    print(
        f"wrote {args.out} ({pixels.shape[1]}x{pixels.shape[0]}, {choice}, "
        f"{result.seconds * 1000:.1f} ms)"
    )
    return 0


def render(job: ImageJob, stop_at: int | None) -> ImageResult:
    """Run a job to its end, or to the intermediate preview of sampler step `stop_at`."""
    if stop_at is None:
        return run_to_completion(job)
    for progress in job:
        if progress.step == stop_at and progress.partial is not None:
            job.close()
            return progress.partial
    raise RequestError(f"the sampler never reached step {stop_at}")


def load_latent(path: Path) -> tuple[float, ...]:
    try:
        latent = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MediaError(f"{path}: not a readable .npy latent ({exc})") from exc
    if latent.dtype.kind != "f":
        raise MediaError(f"{path}: latent must hold floats, not {latent.dtype}")
    return tuple(float(v) for v in latent.ravel())


def cmd_encode(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime, encode_job
    from studio.media.image import read_image

    if args.out.suffix != ".npy":
        raise RequestError(f"--out must end in .npy, got {args.out.name}")
    if args.out.exists() and not args.overwrite:
        raise MediaError(f"{args.out} already exists; choose another name or --overwrite")
    pixels, _ = read_image(args.image)
    result = run_to_completion(encode_job(ModelRuntime(catalog), args.model, pixels))
    np.save(args.out, result.latent)
    print(f"wrote {args.out} ({result.latent.size} values)")
    score = (
        f"{result.bits_per_dim:.3f} bits/dim ({result.likelihood})"
        if result.bits_per_dim is not None
        else result.likelihood
    )
    print(f"reconstruction PSNR {result.psnr:.2f} dB; {score}")
    if result.typicality:
        print(result.typicality)
    return 0


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def cmd_score(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime, encode_job
    from studio.media.image import read_image

    if not args.folder.is_dir():
        raise MediaError(f"{args.folder}: not a folder")
    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise MediaError(f"{args.folder}: no pictures (.png, .jpg, .webp, ...) in it")
    runtime = ModelRuntime(catalog)
    scored, failed = [], []
    for path in files:
        try:
            result = run_to_completion(encode_job(runtime, args.model, read_image(path)[0]))
        except MediaError as exc:
            failed.append((path.name, str(exc)))
            continue
        if result.bits_per_dim is None:
            raise RequestError(f"model {args.model!r} has no likelihood to score pictures with")
        scored.append((result.bits_per_dim, path.name, result.typicality or result.likelihood))
    print(f"{'rank':>4}  {'bits/dim':>8}  {'file':<32} verdict (most unusual first)")
    for rank, (bpd, name, verdict) in enumerate(sorted(scored, reverse=True), 1):
        print(f"{rank:>4}  {bpd:>8.3f}  {name:<32} {verdict.split(':')[0]}")
    for name, reason in failed:
        print(f"{'-':>4}  {'-':>8}  {name:<32} unreadable: {reason}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from studio.media.audio import read_audio
    from studio.media.image import read_provenance
    from studio.media.text import read_text

    if is_text_source(args.file):
        provenance = read_text(args.file)[1]
    elif is_audio_path(args.file):
        provenance = read_audio(args.file)[2]
    else:
        provenance = read_provenance(args.file)
    if provenance is None:
        print(f"{args.file}: no Latent Studio settings stored")
        return 1
    data = provenance.to_dict()
    data.pop("latent")
    request = data.pop("request")
    if len(request.get("prompt", "")) > 60:
        request["prompt"] = request["prompt"][:60] + "…"
    if request.get("latent") is not None:
        request["latent"] = f"{len(request['latent'])} values (an encoded picture)"
    request["ran_on"] = f"{data.pop('backend')} / {data.pop('provider')}"
    for key, value in {**request, **data}.items():
        print(f"{key:<14} {value}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        from studio.gui.app import run

        return run()
    try:
        if args.verb == "models":
            return cmd_models(Catalog())
        if args.verb == "generate":
            return cmd_generate(args, Catalog())
        if args.verb == "info":
            return cmd_info(args)
        if args.verb == "encode":
            return cmd_encode(args, Catalog())
        if args.verb == "score":
            return cmd_score(args, Catalog())
        if args.verb == "render-notes":
            return render_notes(args, Catalog())
        if args.verb == "stylize":
            return stylize(args, Catalog())
    except StudioError as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        return 2
    return 0
