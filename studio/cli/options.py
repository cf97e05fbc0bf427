"""What the verbs share: their repeated options, argument types, settings and messages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from studio.core.catalog import Catalog
from studio.core.errors import StudioError
from studio.core.provenance import Provenance
from studio.core.requests import BACKENDS, DEVICES

ERROR_STATUS = 2  # what a StudioError exits with (argparse's usage errors exit 2 too)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}

Verbs = argparse._SubParsersAction  # what `add_subparsers` returns


def add_model(
    parser: argparse.ArgumentParser, *, required: bool = False, help: str | None = None
) -> None:
    parser.add_argument("--model", required=required, help=help)


def add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)


def add_compute(parser: argparse.ArgumentParser) -> None:
    """--backend and --device: where a model runs (`auto` picks)."""
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--device", choices=DEVICES, default="auto")


def add_output(
    parser: argparse.ArgumentParser, help: str | None = None, overwrite_help: str | None = None
) -> None:
    """--out FILE (required) and --overwrite."""
    parser.add_argument("--out", type=Path, required=True, help=help)
    parser.add_argument("--overwrite", action="store_true", help=overwrite_help)


def direction(text: str) -> tuple[str, float]:
    """`PC1=2.5`: a move along a latent direction."""
    name, sep, value = text.partition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"direction must look like PC1=2.5, got {text!r}"
        ) from None


def grid(text: str) -> tuple[int, int]:
    """`4x4`: rows x columns."""
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"grid must look like 4x4, got {text!r}") from None
    return rows, cols


def weighted(text: str) -> tuple[str, float]:
    """`Violin` or `Violin=0.5`: an instrument and its weight in a mix."""
    name, sep, weight = text.partition("=")
    try:
        return name, float(weight) if sep else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"instrument must look like Violin or Violin=0.5, got {text!r}"
        ) from None


def base_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings every generated request takes from the command line."""
    return {"seed": args.seed, "backend": args.backend, "device": args.device}


def given(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options among `names` given on the command line (None means: the model's default)."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def modality_of(catalog: Catalog, model_id: str) -> str:
    """The modality of a model by id; an unknown id is an error that lists the known ones."""
    return catalog.get(model_id).modality


def ran_on(provenance: Provenance) -> str:
    return f"{provenance.backend}/{provenance.provider}"


def warn_if_changed(
    stored: Provenance | None, made: Provenance, model_id: str, source: Path, what: str
) -> None:
    """Warn when the model that made `source` is not the one that reproduced it."""
    if stored is not None and stored.model_sha256 != made.model_sha256:
        print(
            f"studio: warning: {model_id} changed since {source.name} was made; {what} may differ",
            file=sys.stderr,
        )


def report(exc: StudioError) -> int:
    """One line on stderr; the exit status of a failed verb."""
    print(f"studio: error: {exc}", file=sys.stderr)
    return ERROR_STATUS
