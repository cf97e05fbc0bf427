"""`studio score`: rank the pictures of a folder by a likelihood model's bits/dim."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli import options
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.engine.run import run_to_completion


def add_parser(verbs: options.Verbs) -> None:
    score = verbs.add_parser("score", help="rank the pictures of a folder by bits/dim")
    options.add_model(score, required=True)
    score.add_argument("folder", type=Path)


def run(args: argparse.Namespace) -> int:
    from studio.engine.runtime import ModelRuntime, encode_job
    from studio.media.image import read_image

    catalog = Catalog()
    if not args.folder.is_dir():
        raise MediaError(f"{args.folder}: not a folder")
    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in options.IMAGE_SUFFIXES)
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
