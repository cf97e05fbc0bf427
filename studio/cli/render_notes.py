"""`studio render-notes`: a scale, a chord or every instrument of an audio model to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli import options
from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.note_sets import SETS
from studio.engine.run import run_to_completion


def add_parser(verbs: options.Verbs) -> None:
    notes = verbs.add_parser(
        "render-notes", help="render a scale, a chord or every instrument to a folder"
    )
    options.add_model(notes, required=True)
    notes.add_argument("--set", dest="kind", choices=SETS, required=True)
    notes.add_argument("--pitch", type=int, default=60, help="the root note (MIDI)")
    notes.add_argument("--instrument", action="append", type=options.weighted, default=[])
    notes.add_argument("--seconds", type=float, default=1.0)
    options.add_seed(notes)
    notes.add_argument("--format", choices=("flac", "wav"), default="flac")
    notes.add_argument("--out-dir", type=Path, required=True)


def run(args: argparse.Namespace) -> int:
    from studio.engine.runtime import ModelRuntime

    catalog = Catalog()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    base = AudioRequest(
        args.model, args.pitch, tuple(args.instrument), seconds=args.seconds, seed=args.seed
    )
    job = ModelRuntime(catalog).note_set_job(base, args.kind, args.out_dir, f".{args.format}")
    for path in run_to_completion(job):
        print(f"wrote {path}")
    return 0
