"""Sets of notes rendered in one go: a major scale, a chord's notes, or every instrument."""

from __future__ import annotations

from dataclasses import replace

from studio.core.audio_request import AudioRequest
from studio.core.errors import RequestError
from studio.core.pitch import note_name

SETS = ("scale", "chord", "instruments")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11, 12)
MAJOR_CHORD = (0, 4, 7, 12)


def note_set(
    base: AudioRequest, kind: str, instruments: tuple[str, ...]
) -> list[tuple[str, AudioRequest]]:
    """(file stem, request) for each note of the set, built around `base` (its pitch is the
    root; seeds, timbre and length are kept)."""
    if kind == "instruments":
        return [
            (
                f"{i + 1:02d}-{name.lower().replace(' ', '-')}-{note_name(base.pitch)}",
                replace(base, mix=((name, 1.0),), timbre=None),
            )
            for i, name in enumerate(instruments)
        ]
    steps = {"scale": MAJOR_SCALE, "chord": MAJOR_CHORD}.get(kind)
    if steps is None:
        raise RequestError(f"a note set is one of {', '.join(SETS)}, not {kind!r}")
    if base.pitch + steps[-1] > 127:
        raise RequestError(f"a {kind} from {note_name(base.pitch)} goes above MIDI 127")
    return [
        (
            f"{i + 1:02d}-{note_name(base.pitch + step).replace('#', 's')}",
            replace(base, pitch=base.pitch + step),
        )
        for i, step in enumerate(steps)
    ]
