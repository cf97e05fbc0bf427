"""Open any file the studio exports: its settings (if it carries them) and its content, by
suffix, so the window hands it to a panel without knowing the formats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.errors import MediaError
from studio.core.modalities import AUDIO_SUFFIXES, IMAGE_SUFFIXES, TEXT_SUFFIXES
from studio.core.provenance import Provenance
from studio.media.audio import read_audio
from studio.media.image import read_provenance
from studio.media.text import read_text


@dataclass(frozen=True)
class OpenedFile:
    path: Path
    provenance: Provenance | None  # the settings inside, if any
    payload: Any  # text: str; audio: (samples, rate); pictures: None (read when needed)
    modality: str  # the modality its suffix belongs to first (image for a picture)


def _picture(path: Path) -> OpenedFile:
    return OpenedFile(path, read_provenance(path), None, "image")


def _text(path: Path) -> OpenedFile:
    text, provenance = read_text(path)
    return OpenedFile(path, provenance, text, "text")


def _audio(path: Path) -> OpenedFile:
    audio, rate, provenance = read_audio(path)
    return OpenedFile(path, provenance, (audio, rate), "audio")


READERS: dict[str, Callable[[Path], OpenedFile]] = {
    **dict.fromkeys(IMAGE_SUFFIXES, _picture),
    **dict.fromkeys(TEXT_SUFFIXES, _text),
    **dict.fromkeys(AUDIO_SUFFIXES, _audio),
}


def open_media(path: Path) -> OpenedFile:
    """Read `path`'s settings and content. Raises MediaError naming the file and why."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise MediaError(f"{path.name}: not a file the studio opens ({', '.join(sorted(READERS))})")
    return reader(path)
