"""`studio generate` for audio models: one note in, a .wav / .flac with its settings out."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from studio.cli import options
from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.pitch import note_name
from studio.core.provenance import Provenance
from studio.engine.run import run_to_completion
from studio.media.audio import AUDIO_FORMATS, read_audio, write_audio

AUDIO_SETTINGS = ("pitch", "seconds", "release_at", "temperature")


def add_arguments(gen: argparse.ArgumentParser) -> None:
    audio = gen.add_argument_group("audio models")
    audio.add_argument("--pitch", type=int, default=None, help="MIDI note, 60 = middle C")
    audio.add_argument(
        "--instrument",
        action="append",
        type=options.weighted,
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


def owns(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_FORMATS


def read_provenance(path: Path) -> Provenance | None:
    return read_audio(path)[2]


def generate(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime

    if not owns(args.out):
        raise RequestError(f"an audio model writes .wav or .flac, not {args.out.name}")
    stored = None
    if args.source is not None:
        _, _, stored = read_audio(args.source)
        if stored is None or not isinstance(stored.request, AudioRequest):
            raise MediaError(f"{args.source}: carries no Latent Studio audio settings")
        request = stored.request
    else:
        settings: dict[str, object] = {
            **options.base_settings(args),
            "mix": tuple(args.instrument),
            "offsets": tuple(args.direction),
            **options.given(args, AUDIO_SETTINGS),
        }
        if args.timbre is not None:
            settings["timbre"] = tuple(np.load(args.timbre, allow_pickle=False).ravel().tolist())
        request = AudioRequest(args.model, **settings)  # type: ignore[arg-type]
    result = run_to_completion(ModelRuntime(catalog).audio_job(request))
    provenance = result.provenance
    options.warn_if_changed(stored, provenance, request.model_id, args.source, "the samples")
    write_audio(args.out, result.audio, result.sample_rate, provenance, args.overwrite)
    print(
        f"wrote {args.out} ({note_name(request.pitch)}, {result.duration:.2f} s, "
        f"{options.ran_on(provenance)}, {result.realtime_factor:.1f}x real time)"
    )
    return 0
