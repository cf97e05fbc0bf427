"""Where the bundled models and assets are.

An installed wheel carries them as package data, `studio/_bundled/models` and
`studio/_bundled/assets` (setup.py maps those onto the repository's models/ and assets/ at
build time); a source checkout or an editable install reads the repository's folders, where
trainings write.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]  # the checkout's root (in a wheel: unused)


def _bundled(name: str) -> Path:
    packaged = resources.files("studio") / "_bundled" / name
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return REPOSITORY / name


def bundled_models_dir() -> Path:
    """The folder of the bundled models, one sub-folder with a manifest each."""
    return _bundled("models")


def assets_dir() -> Path:
    """The folder of the bundled assets (assets/styles: the style gallery)."""
    return _bundled("assets")
