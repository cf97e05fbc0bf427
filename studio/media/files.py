"""Writing files safely: atomically, and never over an existing file unless asked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from studio.core.errors import MediaError


def write_atomic(path: Path, data: bytes, overwrite: bool = False) -> None:
    if path.exists() and not overwrite:
        raise MediaError(f"{path} already exists; choose another name or allow overwriting")
    folder = path.parent
    if not folder.is_dir():
        raise MediaError(f"{path}: folder {folder} does not exist")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise MediaError(f"{path}: cannot write in {folder} ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if overwrite:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # fails if the name was taken meanwhile: never clobber
            os.unlink(temp)
    except FileExistsError:
        os.unlink(temp)
        raise MediaError(f"{path} already exists; choose another name") from None
    except OSError as exc:
        if os.path.exists(temp):
            os.unlink(temp)
        raise MediaError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    except BaseException:  # an interrupt mid-write: no temporary file left behind either
        if os.path.exists(temp):
            os.unlink(temp)
        raise
