"""`studio generate`: a picture (or a grid), a text or a sound to a file, or one reproduced.

The model's modality, or the kind of the `--from` file, picks the module that generates
(`studio.cli.modalities`); each modality adds its own group of options.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli import modalities, options, style_space
from studio.core.catalog import Catalog
from studio.families.registry import FAMILIES

# every sampler some family offers; a model refuses one its family does not have
SAMPLERS = sorted({name for f in FAMILIES.values() for name in f.descriptor.sampler_names})


def add_parser(verbs: options.Verbs) -> None:
    gen = verbs.add_parser("generate", help="render an image (or a grid) or a text to a file")
    options.add_model(gen, help="model id (see `studio models`)")
    options.add_seed(gen)
    gen.add_argument(
        "--direction",
        action="append",
        type=options.direction,
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
        type=options.grid,
        default=(1, 1),
        metavar="RxC",
        help="rows x columns of consecutive seeds",
    )
    gen.add_argument(
        "--sampler",
        choices=SAMPLERS,
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
    options.add_compute(gen)
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
        "--sheet",
        action="store_true",
        help="with --grid: also write a .tsv beside the .png, one row per sprite with its settings",
    )
    gen.add_argument(
        "--cell",
        type=int,
        default=None,
        metavar="K",
        help="with --from a grid or sheet: redraw only its cell K (row-major, from 0)",
    )
    options.add_output(
        gen,
        help=".png, .webp, .jpg; .txt, .md; .wav, .flac",
        overwrite_help="replace an existing file",
    )
    style_space.add_arguments(gen)
    for modality in modalities.MODALITIES.values():
        modality.add_arguments(gen)


def run(args: argparse.Namespace) -> int:
    catalog = Catalog()
    if args.source is not None:
        modality = modalities.for_file(args.source)
    elif args.model:
        modality = modalities.for_model(options.modality_of(catalog, args.model))
    else:
        modality = modalities.MODALITIES[modalities.DEFAULT]
    return modality.generate(args, catalog)
