"""The `studio` command line: one parser, one module per verb; the window without a verb.

A verb module adds its subparser (`add_parser`) and runs it (`run`). A `StudioError` becomes
one line on stderr and exit status 2; nothing here imports Qt unless no verb is given.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Protocol

from studio.cli import encode, generate, info, models, options, render_notes, score, stylize
from studio.core.errors import StudioError


class Verb(Protocol):
    def add_parser(self, verbs: options.Verbs) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


VERBS: dict[str, Verb] = {  # in the order `studio --help` lists them
    "models": models,
    "generate": generate,
    "encode": encode,
    "score": score,
    "render-notes": render_notes,
    "stylize": stylize,
    "info": info,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio",
        description="Latent Studio: generate and explore images with generative models. "
        "Run without a verb to open the window.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in VERBS.values():
        verb.add_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb is None:
        from studio.gui.app import run

        return run()
    try:
        return VERBS[args.verb].run(args)
    except StudioError as exc:
        return options.report(exc)
