"""The modality registry: one row per kind of output (image, audio, text, style).

Each row says which request type describes a result, which file suffixes it exports and
opens, and the panel's tab title. The layers above key their own pieces by the row's name
(the GUI its panel class, the media layer its writer, the CLI its verb options) and a test
checks that every row has each of them, so adding a modality is one row here plus its pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from studio.core.audio_request import AudioRequest
from studio.core.errors import RequestError
from studio.core.requests import ImageRequest
from studio.core.style_request import StyleRequest
from studio.core.text_request import TextRequest

Request = ImageRequest | TextRequest | AudioRequest | StyleRequest

IMAGE_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")
AUDIO_SUFFIXES = (".flac", ".wav")
TEXT_SUFFIXES = (".md", ".txt")


@dataclass(frozen=True)
class Modality:
    name: str
    title: str  # the panel's tab
    request_type: type[Any]
    suffixes: tuple[str, ...]  # what its exports may be written as; the first is the default
    file_filter: str  # for save dialogs

    def export_path_suffix(self, suffix: str) -> str:
        """`suffix` when this modality writes it, else the default one."""
        return suffix.lower() if suffix.lower() in self.suffixes else self.suffixes[0]


_ROWS = (
    Modality(
        "image",
        "Image",
        ImageRequest,
        IMAGE_SUFFIXES,
        "PNG (*.png);;WebP (*.webp);;JPEG (*.jpg)",
    ),
    Modality("audio", "Audio", AudioRequest, AUDIO_SUFFIXES, "FLAC (*.flac);;WAV (*.wav)"),
    Modality("text", "Text", TextRequest, TEXT_SUFFIXES, "Markdown (*.md);;Text (*.txt)"),
    Modality(
        "style",
        "Style",
        StyleRequest,
        IMAGE_SUFFIXES,
        "PNG (*.png);;WebP (*.webp);;JPEG (*.jpg)",
    ),
)


def _table() -> Mapping[str, Modality]:
    table: dict[str, Modality] = {}
    for row in _ROWS:
        if row.name in table:
            raise ValueError(f"modality {row.name!r} is registered twice")
        table[row.name] = row
    return MappingProxyType(table)


MODALITIES: Mapping[str, Modality] = _table()
OPEN_SUFFIXES = tuple(dict.fromkeys(s for row in _ROWS for s in row.suffixes))


def modality(name: str) -> Modality:
    if name not in MODALITIES:
        raise RequestError(f"unknown modality {name!r}; known: {', '.join(MODALITIES)}")
    return MODALITIES[name]


def modality_of(request: Request) -> Modality:
    """The row whose request type `request` is."""
    for row in _ROWS:
        if type(request) is row.request_type:
            return row
    raise RequestError(f"no modality takes a {type(request).__name__}")
