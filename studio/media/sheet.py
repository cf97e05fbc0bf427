"""Sprite sheets: a grid of samples as one PNG (RGBA when the model draws alpha) beside a
TSV with one row per cell — its place, seed and the full settings that redraw it alone."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from studio.core.errors import MediaError
from studio.core.priors import MAX_SEED
from studio.core.provenance import Provenance
from studio.core.requests import ImageRequest
from studio.media.files import write_atomic
from studio.media.image import write_image

COLUMNS = ("index", "row", "column", "x", "y", "seed", "category", "settings")


def cell_request(request: ImageRequest, index: int) -> ImageRequest:
    """The request that draws cell `index` of a grid on its own (cell k is seed + k)."""
    rows, cols = request.grid
    if not 0 <= index < rows * cols:
        raise MediaError(f"cell {index} is outside a {rows}x{cols} grid (0 to {rows * cols - 1})")
    seed = (request.seed + index) % (MAX_SEED + 1)
    return dataclasses.replace(request, seed=seed, grid=(1, 1))


def sheet_rows(request: ImageRequest, cell_size: tuple[int, int]) -> str:
    """The TSV text: a header, then one line per cell, row-major."""
    height, width = cell_size
    lines = ["\t".join(COLUMNS)]
    rows, cols = request.grid
    for index in range(rows * cols):
        cell = cell_request(request, index)
        row, col = divmod(index, cols)
        settings = json.dumps(cell.to_dict(), separators=(",", ":"))
        fields = (index, row, col, col * width, row * height, cell.seed, cell.category or "")
        lines.append("\t".join([*map(str, fields), settings]))
    return "\n".join(lines) + "\n"


def write_sheet(
    path: Path, pixels: np.ndarray, provenance: Provenance, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write the grid picture to `path` (.png) and its cells to the .tsv beside it."""
    request = provenance.request
    if not isinstance(request, ImageRequest) or request.latent is not None:
        raise MediaError("a sprite sheet is a grid of seeds: show the sample grid first")
    if path.suffix.lower() != ".png":
        raise MediaError(f"{path.name}: sprite sheets are PNG (they keep the alpha)")
    rows, cols = request.grid
    cell = (pixels.shape[0] // rows, pixels.shape[1] // cols)  # in the written (upscaled) pixels
    table = path.with_suffix(".tsv")
    write_atomic(table, sheet_rows(request, cell).encode(), overwrite)
    write_image(path, pixels, provenance, overwrite)
    return path, table
