"""Image files with provenance: PNG (iTXt chunk), WebP (XMP packet), JPEG (COM segment).

Writes are atomic (a temporary file in the same folder, then a rename) and never replace an
existing file unless asked to.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import unescape as xml_unescape

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from studio.core.errors import MediaError
from studio.core.provenance import PROVENANCE_KEY, Provenance
from studio.media.files import write_atomic

FORMATS = {".png": "PNG", ".webp": "WEBP", ".jpg": "JPEG", ".jpeg": "JPEG"}
MAX_PIXELS = 64_000_000  # larger images are refused before decoding (decompression bombs)
_XMP_PATTERN = re.compile(rb"<ls:provenance>(.*?)</ls:provenance>", re.S)
_XMP_TEMPLATE = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:ls="https://latent-studio.invalid/ns/1.0/"><ls:provenance>{}</ls:provenance>'
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def image_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise MediaError(
            f"{path.name}: unsupported image type {path.suffix!r}; use .png, .webp or .jpg"
        ) from None


def upscale(pixels: np.ndarray, factor: int, smooth: bool = False) -> np.ndarray:
    """(H, W, C) uint8 -> (H*factor, W*factor, C); nearest keeps small pictures crisp."""
    if factor == 1:
        return pixels
    if not smooth:
        return pixels.repeat(factor, axis=0).repeat(factor, axis=1)
    h, w = pixels.shape[:2]
    resized = Image.fromarray(pixels).resize((w * factor, h * factor), Image.Resampling.LANCZOS)
    return np.asarray(resized)


def encode_image(
    pixels: np.ndarray, fmt: str, provenance: Provenance | None, quality: int = 95
) -> bytes:
    """pixels (H, W, 3) RGB or (H, W, 4) RGBA with straight alpha, uint8. PNG and WebP keep
    the alpha (WebP losslessly, so a sprite's edges stay exact); JPEG has none, so a
    transparent picture is laid on white first."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    image = Image.fromarray(pixels, "RGBA" if pixels.shape[-1] == 4 else "RGB")
    if fmt == "JPEG" and image.mode == "RGBA":
        ground = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(ground, image).convert("RGB")
    text = provenance.to_json() if provenance else None
    buffer = io.BytesIO()
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if text:
            info.add_itxt(PROVENANCE_KEY, text)
        image.save(buffer, "PNG", pnginfo=info, optimize=False)
    elif fmt == "WEBP":
        extra = {"xmp": _XMP_TEMPLATE.format(xml_escape(text)).encode()} if text else {}
        lossless = image.mode == "RGBA"
        # exact: keep the colour under fully transparent pixels too (a round trip is exact)
        image.save(buffer, "WEBP", quality=quality, lossless=lossless, exact=lossless, **extra)
    else:
        extra = {"comment": f"{PROVENANCE_KEY}:{text}".encode()} if text else {}
        image.save(buffer, "JPEG", quality=quality, **extra)
    return buffer.getvalue()


def write_image(
    path: Path,
    pixels: np.ndarray,
    provenance: Provenance | None = None,
    overwrite: bool = False,
    quality: int = 95,
) -> Path:
    """Write pixels (H, W, 3) or (H, W, 4) uint8 to `path` with provenance embedded; returns
    the path."""
    path = Path(path)
    data = encode_image(pixels, image_format(path), provenance, quality)
    write_atomic(path, data, overwrite)
    return path


def read_image(path: Path) -> tuple[np.ndarray, Provenance | None]:
    """(pixels (H, W, 3) uint8, provenance or None). Raises MediaError naming the reason."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise MediaError(
                    f"{path.name}: {image.width}x{image.height} is larger than "
                    f"{MAX_PIXELS // 1_000_000} megapixels"
                )
            image.load()
            provenance_text = _provenance_text(image)
            pixels = _flatten_to_rgb(image)
    except FileNotFoundError:
        raise MediaError(f"{path}: no such file") from None
    except Image.DecompressionBombError:
        raise MediaError(f"{path.name}: larger than {MAX_PIXELS // 1_000_000} megapixels") from None
    except UnidentifiedImageError:
        raise MediaError(f"{path.name}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{path.name}: damaged or truncated image ({exc})") from exc
    provenance = Provenance.from_json(provenance_text) if provenance_text else None
    return pixels, provenance


def _flatten_to_rgb(image: Image.Image) -> np.ndarray:
    """Any mode (grey, palette, 16-bit, CMYK, with or without alpha) -> (H, W, 3) uint8;
    transparent parts become white, the ground the bundled models were trained on."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")  # 16-bit grey -> 8-bit
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        ground = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(ground, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


def fit_square(pixels: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square and resize to size x size: what an image model sees."""
    h, w = pixels.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(pixels[top : top + side, left : left + side])
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS))


def fit_long_side(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize so the longer side is `size` pixels, keeping the aspect ratio."""
    h, w = pixels.shape[:2]
    scale = size / max(h, w)
    shape = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(shape, Image.Resampling.LANCZOS))


def read_provenance(path: Path) -> Provenance | None:
    return read_image(path)[1]


def _provenance_text(image: Image.Image) -> str | None:
    if image.format == "PNG":
        return image.info.get(PROVENANCE_KEY)
    if image.format == "WEBP":
        xmp = image.info.get("xmp")
        match = _XMP_PATTERN.search(xmp if isinstance(xmp, bytes) else (xmp or "").encode())
        return xml_unescape(match.group(1).decode()) if match else None
    comment = image.info.get("comment", b"")
    prefix = f"{PROVENANCE_KEY}:".encode()
    if isinstance(comment, bytes) and comment.startswith(prefix):
        return comment[len(prefix) :].decode("utf-8", "replace")
    return None
