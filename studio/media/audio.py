"""Audio files with provenance: WAV and FLAC (16-bit PCM), the settings in the comment tag.

libsndfile (through `soundfile`) writes the comment as a RIFF INFO ICMT chunk in WAV and a
Vorbis comment in FLAC; both survive ordinary copying. The file is encoded in memory and
written atomically, never over an existing file unless asked to.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile

from studio.core.errors import MediaError
from studio.core.provenance import Provenance
from studio.media.files import write_atomic

AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
MAX_SECONDS = 600  # longer files are refused before decoding


def audio_format(path: Path) -> str:
    fmt = AUDIO_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MediaError(f"{path.name}: audio exports are .wav or .flac")
    return fmt


def encode_audio(
    audio: np.ndarray, sample_rate: int, fmt: str, provenance: Provenance | None
) -> bytes:
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", sample_rate, 1, "PCM_16", format=fmt) as handle:
        if provenance is not None:
            handle.comment = provenance.to_json()
            handle.software = f"Latent Studio {provenance.app_version}"
        handle.write(np.clip(audio, -1.0, 1.0).astype(np.float32))
    return buffer.getvalue()


def write_audio(
    path: Path,
    audio: np.ndarray,
    sample_rate: int,
    provenance: Provenance | None = None,
    overwrite: bool = False,
) -> None:
    """audio (samples,) float in [-1, 1] -> a 16-bit mono WAV or FLAC at `path`."""
    fmt = audio_format(path)
    write_atomic(path, encode_audio(audio, sample_rate, fmt, provenance), overwrite)


def read_audio(path: Path) -> tuple[np.ndarray, int, Provenance | None]:
    """(mono float32 samples, sample rate, provenance or None). Raises MediaError for a
    missing, unreadable, truncated or over-long file, or a comment naming Latent Studio that
    does not parse."""
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    try:
        with soundfile.SoundFile(str(path)) as handle:
            if handle.frames > MAX_SECONDS * handle.samplerate:
                raise MediaError(
                    f"{path.name}: {handle.frames / handle.samplerate:.0f} s is longer than "
                    f"the {MAX_SECONDS} s this app opens"
                )
            audio = handle.read(dtype="float32", always_2d=True).mean(axis=1)
            rate, comment = handle.samplerate, handle.comment
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise MediaError(f"{path.name}: not a readable audio file ({exc})") from exc
    provenance = Provenance.from_json(comment) if comment.startswith('{"request"') else None
    return audio, rate, provenance
