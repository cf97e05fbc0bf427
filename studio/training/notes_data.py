"""An NSynth-like set of single notes (Engel et al. 2017), rendered here with FluidSynth.

Each General MIDI instrument below plays every pitch in `PITCHES` at every velocity in
`VELOCITIES`: the note is held `HOLD_SECONDS`, then released, and the first `NOTE_SECONDS` of it
are kept, so every note is the same length and its release starts at the same sample. All
notes of one instrument go into one Standard MIDI File (one note per `_SLOT_SECONDS`, long
enough for the release to die out), which FluidSynth renders in one call, reverb and chorus
off; the notes are then cut out at their known onsets. Writing the MIDI bytes here avoids a
dependency (the format is a header chunk and one track chunk).

Loudness: each instrument gets one gain, chosen so that its loudest note peaks at `_PEAK`;
velocity differences within an instrument are kept, and so are the instrument's own dynamics
across pitch. The set is rebuilt on demand (Debian `fluidsynth` and `fluid-soundfont-gm`) and
cached as an .npz, never committed.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 16_000
NOTE_SECONDS = 1.0  # kept per note
HOLD_SECONDS = 0.8  # note-on to note-off; the rest of the kept second is the release
PITCHES = tuple(range(48, 73))  # C3 .. C5, 25 MIDI notes
VELOCITIES = (60, 90, 120)
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
# (name, General MIDI program number counted from 0): keyboards, organ, plucked and bowed
# strings, brass, reeds, flute and synth leads, so the timbre space is wide
INSTRUMENTS: tuple[tuple[str, int], ...] = (
    ("Acoustic Grand Piano", 0),
    ("Electric Piano", 4),
    ("Marimba", 12),
    ("Church Organ", 19),
    ("Nylon Guitar", 24),
    ("Acoustic Bass", 32),
    ("Violin", 40),
    ("Cello", 42),
    ("Harp", 46),
    ("Trumpet", 56),
    ("Alto Sax", 65),
    ("Clarinet", 71),
    ("Flute", 73),
    ("Square Lead", 80),
    ("Sawtooth Lead", 81),
)
DATA_LICENCE = (
    "Notes rendered from the FluidR3_GM SoundFont (Frank Wen, MIT licence; Debian "
    "fluid-soundfont-gm) with FluidSynth (LGPL-2.1, used only as a rendering tool)"
)
_SLOT_SECONDS = 2.0  # one note per slot: hold, release and silence before the next note
_TICKS_PER_QUARTER = 1000
_MICROSECONDS_PER_QUARTER = 1_000_000  # with 1000 ticks per quarter: one tick is 1 ms
_PEAK = 0.9  # each instrument's loudest note peaks here
_FADE_SAMPLES = 160  # 10 ms fade at the cut, so a note does not end in a click


@dataclass(frozen=True)
class NotesData:
    """N notes of `samples = SAMPLE_RATE * NOTE_SECONDS` each.

    audio (N, samples) float32 in [-1, 1]; pitch (N,) int64 MIDI note; instrument (N,) int64
    index into `instruments`; velocity (N,) int64 MIDI velocity 1..127.
    """

    audio: np.ndarray
    pitch: np.ndarray
    instrument: np.ndarray
    velocity: np.ndarray
    instruments: tuple[str, ...]


def _variable_length(value: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits a byte, most significant first."""
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(groups))


def midi_file(program: int, notes: list[tuple[int, int]], hold_ms: int, slot_ms: int) -> bytes:
    """A format-0 Standard MIDI File on channel 0 (not 9, the drum channel): program change,
    then each (pitch, velocity) note at `slot_ms` intervals, held `hold_ms`; 1 tick = 1 ms."""
    events = [
        b"\x00\xff\x51\x03" + _MICROSECONDS_PER_QUARTER.to_bytes(3, "big"),  # tempo
        b"\x00" + bytes([0xC0, program]),
    ]
    for pitch, velocity in notes:
        events.append(_variable_length(0) + bytes([0x90, pitch, velocity]))
        events.append(_variable_length(hold_ms) + bytes([0x80, pitch, 0]))
        events.append(_variable_length(slot_ms - hold_ms) + b"\xff\x01\x00")  # empty text: a rest
    events.append(b"\x00\xff\x2f\x00")  # end of track
    track = b"".join(events)
    header = struct.pack(">4sIHHH", b"MThd", 6, 0, 1, _TICKS_PER_QUARTER)
    return header + struct.pack(">4sI", b"MTrk", len(track)) + track


def render_midi(midi: bytes, soundfont: Path = SOUNDFONT) -> np.ndarray:
    """Render MIDI bytes with FluidSynth at SAMPLE_RATE -> mono float32 (samples,)."""
    program = shutil.which("fluidsynth")
    if program is None:
        raise FileNotFoundError("the `fluidsynth` program is missing: install Debian fluidsynth")
    if not soundfont.exists():
        raise FileNotFoundError(f"{soundfont}: missing; install Debian fluid-soundfont-gm")
    with tempfile.TemporaryDirectory() as folder:
        source, wav = Path(folder) / "in.mid", Path(folder) / "out.wav"
        source.write_bytes(midi)
        command = [program, "-ni", "-q", "-R", "0", "-C", "0", "-r", str(SAMPLE_RATE)]
        command += ["-F", str(wav), str(soundfont), str(source)]
        subprocess.run(command, capture_output=True, check=True)
        audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"fluidsynth wrote {rate} Hz, not {SAMPLE_RATE}")
    return audio.mean(axis=1)  # stereo -> mono


def render_instrument(
    program: int, pitches: tuple[int, ...], velocities: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pitch x velocity of one GM program -> (audio (n, samples) float32 at the
    renderer's level, pitch (n,), velocity (n,)), pitch-major."""
    notes = [(p, v) for p in pitches for v in velocities]
    slot = round(_SLOT_SECONDS * SAMPLE_RATE)
    keep = round(NOTE_SECONDS * SAMPLE_RATE)
    midi = midi_file(program, notes, round(HOLD_SECONDS * 1000), round(_SLOT_SECONDS * 1000))
    audio = render_midi(midi)
    audio = np.pad(audio, (0, max(0, slot * len(notes) - len(audio))))
    clips = audio[: slot * len(notes)].reshape(len(notes), slot)[:, :keep].copy()
    clips[:, -_FADE_SAMPLES:] *= np.linspace(1.0, 0.0, _FADE_SAMPLES, dtype=np.float32)
    pitch, velocity = (np.array(column, np.int64) for column in zip(*notes, strict=True))
    return clips, pitch, velocity


def build_notes(
    instruments: tuple[tuple[str, int], ...] = INSTRUMENTS,
    pitches: tuple[int, ...] = PITCHES,
    velocities: tuple[int, ...] = VELOCITIES,
) -> NotesData:
    """Render the whole set (~1 s per instrument): one FluidSynth process at a time."""
    audio, pitch, instrument, velocity = [], [], [], []
    for index, (_, program) in enumerate(instruments):
        clips, p, v = render_instrument(program, pitches, velocities)
        peak = float(np.abs(clips).max())
        if peak == 0.0:
            raise ValueError(f"GM program {program} rendered silence")
        audio.append(clips * (_PEAK / peak))
        pitch.append(p)
        velocity.append(v)
        instrument.append(np.full(len(p), index, np.int64))
    return NotesData(
        audio=np.clip(np.concatenate(audio), -1.0, 1.0).astype(np.float32),
        pitch=np.concatenate(pitch),
        instrument=np.concatenate(instrument),
        velocity=np.concatenate(velocity),
        instruments=tuple(name for name, _ in instruments),
    )


def load_or_build(cache: Path) -> NotesData:
    """The set from `cache` (.npz), rendering and saving it on first use."""
    if not cache.exists():
        data = build_notes()
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npz")
        np.savez(
            partial,
            audio=data.audio,
            pitch=data.pitch,
            instrument=data.instrument,
            velocity=data.velocity,
            instruments=np.array(data.instruments),
        )
        partial.replace(cache)  # never leave a half-written cache behind
        return data
    with np.load(cache) as stored:
        return NotesData(
            audio=stored["audio"],
            pitch=stored["pitch"],
            instrument=stored["instrument"],
            velocity=stored["velocity"],
            instruments=tuple(str(name) for name in stored["instruments"]),
        )


if __name__ == "__main__":  # python -m studio.training.notes_data CACHE.npz: build and time
    import sys

    start = time.monotonic()
    notes = load_or_build(Path(sys.argv[1]))
    print(
        f"{len(notes.audio)} notes, {len(notes.instruments)} instruments, pitches "
        f"{notes.pitch.min()}..{notes.pitch.max()}, {time.monotonic() - start:.1f} s"
    )
