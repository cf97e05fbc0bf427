"""`studio encode`: a picture into a model's latent space (.npy), with its reconstruction score."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from studio.cli import options
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.engine.run import run_to_completion


def add_parser(verbs: options.Verbs) -> None:
    enc = verbs.add_parser("encode", help="map a picture into a model's latent space")
    options.add_model(enc, required=True)
    enc.add_argument("image", type=Path)
    options.add_output(enc, help="latent as .npy")


def run(args: argparse.Namespace) -> int:
    from studio.engine.runtime import ModelRuntime, encode_job
    from studio.media.files import write_atomic
    from studio.media.image import read_image

    catalog = Catalog()
    if args.out.suffix != ".npy":
        raise RequestError(f"--out must end in .npy, got {args.out.name}")
    if args.out.exists() and not args.overwrite:
        raise MediaError(f"{args.out} already exists; choose another name or --overwrite")
    pixels, _ = read_image(args.image)
    result = run_to_completion(encode_job(ModelRuntime(catalog), args.model, pixels))
    buffer = io.BytesIO()
    np.save(buffer, result.latent)
    write_atomic(args.out, buffer.getvalue(), overwrite=args.overwrite)
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
