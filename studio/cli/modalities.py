"""The one table from a modality to the CLI module that handles it; `generate` and `info` read it.

A modality's module adds its options to `generate`, says which files are its own (for
`generate --from` and `info`), generates, and reads the settings stored in its files. A model of
a modality without a row (style) and a file no row claims go to the default row, pictures.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Protocol

from studio.cli import generate_audio, generate_image, generate_text
from studio.core.catalog import Catalog
from studio.core.provenance import Provenance


class ModalityCli(Protocol):
    def add_arguments(self, gen: argparse.ArgumentParser) -> None: ...

    def owns(self, path: Path) -> bool: ...

    def generate(self, args: argparse.Namespace, catalog: Catalog) -> int: ...

    def read_provenance(self, path: Path) -> Provenance | None: ...


MODALITIES: dict[str, ModalityCli] = {
    "image": generate_image,
    "text": generate_text,
    "audio": generate_audio,
}
DEFAULT = "image"


def for_model(modality: str) -> ModalityCli:
    return MODALITIES.get(modality, MODALITIES[DEFAULT])


def for_file(path: Path) -> ModalityCli:
    owner = next((name for name, cli in MODALITIES.items() if cli.owns(path)), DEFAULT)
    return MODALITIES[owner]
