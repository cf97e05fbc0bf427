"""Text files with provenance: `.txt` and `.md`, the settings in a front matter block.

    ---
    latent-studio: {"request": {...}, "kind": "text", ...}
    ---
    the prompt and its continuation

JSON is valid YAML, so Markdown tools read the block as ordinary front matter. Writes are
atomic and never replace an existing file unless asked to.
"""

from __future__ import annotations

from pathlib import Path

from studio.core.errors import MediaError
from studio.core.provenance import PROVENANCE_KEY, Provenance
from studio.media.files import write_atomic

TEXT_SUFFIXES = (".txt", ".md")
MAX_TEXT_BYTES = 16 * 1024 * 1024  # a text export is a few KB; refuse to slurp anything huge
_FENCE = "---"


def encode_text(text: str, provenance: Provenance | None) -> str:
    if provenance is None:
        return text
    return f"{_FENCE}\n{PROVENANCE_KEY}: {provenance.to_json()}\n{_FENCE}\n{text}"


def write_text(
    path: Path, text: str, provenance: Provenance | None, overwrite: bool = False
) -> None:
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise MediaError(f"{path.name}: text exports are {' or '.join(TEXT_SUFFIXES)}")
    write_atomic(path, encode_text(text, provenance).encode("utf-8"), overwrite)


def split_front_matter(content: str) -> tuple[Provenance | None, str]:
    """(provenance or None, the text after the front matter)."""
    lines = content.split("\n", 3)
    if len(lines) == 4 and lines[0] == _FENCE and lines[2] == _FENCE:
        key, _, value = lines[1].partition(": ")
        if key == PROVENANCE_KEY:
            return Provenance.from_json(value), lines[3]
    return None, content


def read_text(path: Path) -> tuple[str, Provenance | None]:
    """(text, provenance or None). Raises MediaError for unreadable, huge or non-UTF-8 files,
    and for a front matter that names Latent Studio but does not parse."""
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise MediaError(f"{path.name}: {size:,} bytes is too large for a text prompt")
        content = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise MediaError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise MediaError(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise MediaError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    provenance, text = split_front_matter(content.replace("\r\n", "\n"))
    return text, provenance
