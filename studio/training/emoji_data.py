"""Emoji image set rendered from Debian's Noto Color Emoji font (SIL OFL 1.1).

Each glyph is drawn with its colour bitmap, cropped to its bounding box, centred on a square
of white and resized to the target size. White, because emoji are designed to be read on a
light page and their outlines assume it; a transparent or black ground makes dark outlines
vanish and the set less coherent.

Single code points give ~1,400 glyphs; people and hands with the five Fitzpatrick skin-tone
modifiers (shaped by raqm) add ~1,000 more. The set is rebuilt on demand, never committed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
DATA_LICENCE = "Noto Color Emoji (Debian fonts-noto-color-emoji), SIL Open Font License 1.1"
EMOJI_MODEL_LICENCE = "Model weights: same licence as the project; data: SIL OFL 1.1"
_BITMAP_SIZE = 109  # the only pixel size at which FreeType opens the colour bitmaps
_CANVAS = 160
_EMOJI_RANGES = ((0x00A9, 0x00AE), (0x2190, 0x2BFF), (0x3030, 0x3300), (0x1F000, 0x1FAFF))
_SKIN_TONES = tuple(chr(c) for c in range(0x1F3FB, 0x1F400))


def _render(font: ImageFont.FreeTypeFont, text: str) -> Image.Image | None:
    canvas = Image.new("RGBA", (_CANVAS * 2, _CANVAS), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((0, 0), text, font=font, embedded_color=True)
    box = canvas.getbbox()
    return None if box is None else canvas.crop(box)


def _to_square(glyph: Image.Image, size: int) -> np.ndarray:
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    square.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    small = square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8)


def render_emoji(size: int = 32, skin_tones: bool = True) -> np.ndarray:
    """All renderable emoji as uint8 images, (N, size, size, 3), in code point order."""
    if not FONT_PATH.exists():
        raise FileNotFoundError(
            f"{FONT_PATH} is missing: install the Debian package fonts-noto-color-emoji"
        )
    font = ImageFont.truetype(str(FONT_PATH), _BITMAP_SIZE)
    with_tones = skin_tones and features.check("raqm")
    images = []
    for first, last in _EMOJI_RANGES:
        for code_point in range(first, last + 1):
            base = _render(font, chr(code_point))
            if base is None:
                continue
            images.append(_to_square(base, size))
            if not with_tones:
                continue
            for tone in _SKIN_TONES:
                toned = _render(font, chr(code_point) + tone)
                # Without a ligature the modifier draws as a second glyph: twice as wide.
                if toned is not None and toned.width < base.width * 1.3:
                    images.append(_to_square(toned, size))
    return np.stack(images)


def load_or_build(
    cache: Path, size: int = 32, render: Callable[[int], np.ndarray] | None = None
) -> np.ndarray:
    """The set `render(size)` makes (all emoji by default) from `cache` (an .npy file),
    rendering and saving it on first use."""
    if cache.exists():
        return np.load(cache)
    images = (render or render_emoji)(size)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, images)
    return images


# Smileys and cat faces: one coherent look (a round face, eyes, a mouth), which a model trained
# for an hour on 2 cores can draw recognisably, unlike the whole, very diverse set.
FACE_CODE_POINTS = (
    *range(0x1F600, 0x1F645),  # grinning face .. face with rolling eyes, cat faces
    *range(0x1F910, 0x1F918),
    *range(0x1F920, 0x1F930),
    *range(0x1F970, 0x1F97B),
    *range(0x1FAE0, 0x1FAE9),
    0x1F9D0,
    0x263A,
    0x2639,
)


def render_faces(size: int = 32) -> np.ndarray:
    """The face emoji as uint8 images, (N, size, size, 3)."""
    if not FONT_PATH.exists():
        raise FileNotFoundError(
            f"{FONT_PATH} is missing: install the Debian package fonts-noto-color-emoji"
        )
    font = ImageFont.truetype(str(FONT_PATH), _BITMAP_SIZE)
    glyphs = (_render(font, chr(code_point)) for code_point in FACE_CODE_POINTS)
    return np.stack([_to_square(glyph, size) for glyph in glyphs if glyph is not None])
