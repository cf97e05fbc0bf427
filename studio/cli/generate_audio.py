"""`studio generate` for audio models: one note in, a .wav / .flac with its settings out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.note_sets import SETS
from studio.core.pitch import note_name
from studio.engine.run import run_to_completion
from studio.media.audio import AUDIO_FORMATS, read_audio, write_audio


def _weighted(text: str) -> tuple[str, float]:
    name, sep, weight = text.partition("=")
    try:
        return name, float(weight) if sep else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"instrument must look like Violin or Violin=0.5, got {text!r}"
        ) from None


def add_audio_arguments(gen: argparse.ArgumentParser) -> None:
    audio = gen.add_argument_group("audio models")
    audio.add_argument("--pitch", type=int, default=None, help="MIDI note, 60 = middle C")
    audio.add_argument(
        "--instrument",
        action="append",
        type=_weighted,
        default=[],
        metavar="NAME[=WEIGHT]",
        help="an instrument, or several to morph between (weights are normalised)",
    )
    audio.add_argument("--timbre", type=Path, metavar="NPY", help="an explicit timbre vector")
    audio.add_argument("--seconds", type=float, default=None, help="length of the note")
    audio.add_argument(
        "--release-at",
        type=float,
        default=None,
        metavar="SECONDS",
        help="when the key is let go (default: so that the release ends with the note)",
    )


def is_audio_path(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_FORMATS


def generate_audio(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime

    if not is_audio_path(args.out):
        raise RequestError(f"an audio model writes .wav or .flac, not {args.out.name}")
    stored = None
    if args.source is not None:
        _, _, stored = read_audio(args.source)
        if stored is None or not isinstance(stored.request, AudioRequest):
            raise MediaError(f"{args.source}: carries no Latent Studio audio settings")
        request = stored.request
    else:
        settings: dict[str, object] = {
            "seed": args.seed,
            "backend": args.backend,
            "device": args.device,
            "mix": tuple(args.instrument),
            "offsets": tuple(args.direction),
        }
        for name in ("pitch", "seconds", "release_at", "temperature"):
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        if args.timbre is not None:
            settings["timbre"] = tuple(np.load(args.timbre, allow_pickle=False).ravel().tolist())
        request = AudioRequest(args.model, **settings)  # type: ignore[arg-type]
    result = run_to_completion(ModelRuntime(catalog).audio_job(request))
    provenance = result.provenance
    if stored is not None and stored.model_sha256 != provenance.model_sha256:
        print(
            f"studio: warning: {request.model_id} changed since {args.source.name} was made; "
            "the samples may differ",
            file=sys.stderr,
        )
    write_audio(args.out, result.audio, result.sample_rate, provenance, args.overwrite)
    print(
        f"wrote {args.out} ({note_name(request.pitch)}, {result.duration:.2f} s, "
        f"{provenance.backend}/{provenance.provider}, {result.realtime_factor:.1f}x real time)"
    )
    return 0


def add_note_set_parser(verbs) -> None:
    notes = verbs.add_parser(
        "render-notes", help="render a scale, a chord or every instrument to a folder"
    )
    notes.add_argument("--model", required=True)
    notes.add_argument("--set", dest="kind", choices=SETS, required=True)
    notes.add_argument("--pitch", type=int, default=60, help="the root note (MIDI)")
    notes.add_argument("--instrument", action="append", type=_weighted, default=[])
    notes.add_argument("--seconds", type=float, default=1.0)
    notes.add_argument("--seed", type=int, default=0)
    notes.add_argument("--format", choices=("flac", "wav"), default="flac")
    notes.add_argument("--out-dir", type=Path, required=True)


def render_notes(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime

    args.out_dir.mkdir(parents=True, exist_ok=True)
    base = AudioRequest(
        args.model, args.pitch, tuple(args.instrument), seconds=args.seconds, seed=args.seed
    )
    job = ModelRuntime(catalog).note_set_job(base, args.kind, args.out_dir, f".{args.format}")
    for path in run_to_completion(job):
        print(f"wrote {path}")
    return 0
