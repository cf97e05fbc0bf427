"""Binary letter glyphs rendered from Debian's font packages (fonts-noto-core and
fonts-dejavu-core, both SIL OFL / free licences), centred in 28 x 28 like MNIST."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"))
DATA_LICENCE = (
    "Letter glyphs from Debian fonts-noto-core (SIL Open Font License 1.1) and "
    "fonts-dejavu-core (Bitstream Vera / DejaVu free licence)"
)
CHARACTERS = string.ascii_letters + string.digits


def _glyph(font: ImageFont.FreeTypeFont, char: str, size: int) -> np.ndarray | None:
    canvas = Image.new("L", (96, 96), 0)
    ImageDraw.Draw(canvas).text((16, 8), char, font=font, fill=255)
    box = canvas.getbbox()
    if box is None:
        return None
    glyph = canvas.crop(box)
    inner = size * 20 // 28  # MNIST's 20 px box inside 28 px
    scale = inner / max(glyph.size)
    glyph = glyph.resize(
        (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))),
        Image.Resampling.LANCZOS,
    )
    out = Image.new("L", (size, size), 0)
    out.paste(glyph, ((size - glyph.width) // 2, (size - glyph.height) // 2))
    return (np.asarray(out) >= 128).astype(np.uint8)


def render_glyphs(size: int = 28) -> np.ndarray:
    """(N, size, size) uint8 in {0, 1}: every Latin-capable font x letters and digits."""
    glyphs = []
    for folder in FONT_DIRS:
        for path in sorted(folder.glob("*.ttf")):
            try:
                font = ImageFont.truetype(str(path), 64)
            except OSError:
                continue  # bitmap-only fonts (colour emoji) open at fixed sizes only
            probe_a, probe_missing = _glyph(font, "A", size), _glyph(font, "\uffff", size)
            if probe_a is None or (probe_missing is not None and (probe_a == probe_missing).all()):
                continue  # no Latin letters in this font
            glyphs += [g for c in CHARACTERS if (g := _glyph(font, c, size)) is not None]
    if not glyphs:
        raise FileNotFoundError("no fonts found: install Debian fonts-noto-core")
    return np.stack(glyphs)
