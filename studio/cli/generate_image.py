"""`studio generate` for image models: a seed, a latent or an exported picture in, a picture out.

The image options are `generate`'s own (see `studio.cli.generate`): the verb began with
pictures, and its help lists them first.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from studio.cli import options, style_space
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.modalities import modality_of
from studio.core.provenance import Provenance
from studio.core.requests import ImageRequest
from studio.core.results import ImageResult
from studio.core.style_layers import layer_presets
from studio.engine.run import run_to_completion
from studio.families.base import ImageJob
from studio.media.sheet import cell_request, write_sheet

IMAGE_SETTINGS = ("temperature", "sampler", "steps", "eta")


def add_arguments(gen: argparse.ArgumentParser) -> None:
    """Nothing to add: `generate` declares the image options itself."""


def owns(path: Path) -> bool:
    return path.suffix.lower() in options.IMAGE_SUFFIXES


def read_provenance(path: Path) -> Provenance | None:
    from studio.media.image import read_provenance

    return read_provenance(path)


def generate(args: argparse.Namespace, catalog: Catalog) -> int:
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
            raise not_generated(args.source, stored)
        request = stored.request
        if args.cell is not None:
            request = cell_request(request, args.cell)
        upscale_factor = stored.upscale
        runtime = ModelRuntime(catalog)
    else:
        if not args.model:
            raise RequestError("give --model ID (or --from FILE)")
        runtime = ModelRuntime(catalog)
        settings = {
            **options.base_settings(args),
            "offsets": tuple(args.direction),
            "truncation": args.truncation,
            "latent": None if args.latent is None else load_latent(args.latent),
            "grid": args.grid,
            **options.given(args, IMAGE_SETTINGS),
            **style_space.settings(args, layer_presets_of(catalog, args.model)),
        }
        request = runtime.default_request(args.model, **settings)
    stop_at = stored.preview_step if stored is not None else None
    result = render(runtime.image_job(request), stop_at)
    provenance = dataclasses.replace(result.provenance, upscale=upscale_factor)
    options.warn_if_changed(stored, provenance, request.model_id, args.source, "pixels")
    pixels = upscale(result.pixels, upscale_factor)
    if args.sheet:
        write_sheet(args.out, pixels, provenance, overwrite=args.overwrite)
    else:
        write_image(args.out, pixels, provenance, overwrite=args.overwrite)
    print(
        f"wrote {args.out} ({pixels.shape[1]}x{pixels.shape[0]}, {options.ran_on(provenance)}, "
        f"{result.seconds * 1000:.1f} ms)"
    )
    return 0


def layer_presets_of(catalog: Catalog, model_id: str) -> dict[str, tuple[int, ...]]:
    """coarse / middle / fine style layers of a style-space model (none for others)."""
    manifest = catalog.get(model_id)
    resolutions = manifest.parameters.get("ws_resolutions")
    if not resolutions or manifest.output_shape is None:
        return {}
    return layer_presets(resolutions, manifest.output_shape[-1])


def not_generated(source: Path, stored: Provenance) -> MediaError:
    """The error for a picture whose settings `generate` cannot reproduce: what it holds, by
    the provenance's kind, and what reproduces it instead."""
    kind = modality_of(stored.request)
    if kind.name == "style":
        return MediaError(
            f"{source}: holds style transfer settings, which `generate --from` does not "
            f"reproduce; run `studio stylize` with the pictures and settings that "
            f"`studio info {source}` lists"
        )
    suffixes = " or ".join(kind.suffixes)
    return MediaError(f"{source}: holds {kind.name} settings; give --from a {suffixes} file")


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
