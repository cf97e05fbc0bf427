"""The King James Bible as plain text, from Debian's `bible-kjv` (public domain text).

The package stores it compressed for its `bible` reader, which prints any range of verses;
the builder asks for all of them (4.3 MB, ~0.05 s), drops the chapter headings and verse
numbers and joins each verse's wrapped lines, so the model sees one verse per line of prose.
The text is rebuilt on demand, never committed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

DATA_LICENCE = (
    "King James Version (1611) text, public domain, from Debian bible-kjv "
    "(Bible Retrieval System; its data may be used, copied, modified and distributed at will)"
)
_VERSE_START = re.compile(r"^\s+\d+ ")
_HEADING = re.compile(r"(\d )?[A-Z][A-Za-z ]+ \d+")  # "1 Kings 12"; the text has no digits


def verses_from_listing(listing: str) -> list[str]:
    """`bible` output -> verses, one string each, without chapter headings or numbers."""
    verses: list[str] = []
    for line in listing.splitlines():
        if _VERSE_START.match(line):
            verses.append(_VERSE_START.sub("", line, count=1).strip())
        elif line.strip() and verses and not _HEADING.fullmatch(line.strip()):
            verses[-1] += " " + line.strip()  # a wrapped line continues its verse
    return verses


def build_text() -> str:
    """The whole KJV, one verse per line."""
    program = shutil.which("bible")
    if program is None:
        raise FileNotFoundError("the `bible` program is missing: install Debian bible-kjv")
    listing = subprocess.run(
        [program, "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True
    ).stdout
    return "\n".join(verses_from_listing(listing)) + "\n"


def load_or_build(cache: Path) -> str:
    """The corpus from `cache`, building and saving it on first use."""
    if cache.exists():
        return cache.read_text(encoding="utf-8")
    text = build_text()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(text, encoding="utf-8")
    return text
