"""Find models: bundled ones in the repository's models/ and the user's models directory.

A folder whose manifest is broken is listed with its error instead of stopping the scan, so
one bad user model never hides the others.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from studio.core.bundled import bundled_models_dir
from studio.core.errors import ManifestError, StudioError, UnknownModelError
from studio.core.manifest import MANIFEST_NAME, Manifest, parse_manifest

BUNDLED_MODELS = bundled_models_dir()
USER_MODELS_ENV = "LATENT_STUDIO_MODELS"  # overrides the platformdirs location (tests, CI)


def user_models_dir() -> Path:
    override = os.environ.get(USER_MODELS_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("latent-studio")) / "models"


@dataclass(frozen=True)
class CatalogEntry:
    folder: Path
    source: str  # "bundled" | "user"
    manifest: Manifest | None
    error: StudioError | None = None


class Catalog:
    """Models by id, scanned once from the given roots (bundled first: it wins on a clash)."""

    def __init__(self, roots: list[tuple[Path, str]] | None = None) -> None:
        if roots is None:
            roots = [(BUNDLED_MODELS, "bundled"), (user_models_dir(), "user")]
        self.entries: list[CatalogEntry] = []
        seen: dict[str, Path] = {}
        for root, source in roots:
            if not root.is_dir():
                continue
            for folder in sorted(p for p in root.iterdir() if (p / MANIFEST_NAME).is_file()):
                try:
                    manifest = parse_manifest(folder / MANIFEST_NAME)
                except ManifestError as exc:
                    self.entries.append(CatalogEntry(folder, source, None, exc))
                    continue
                if manifest.id in seen:
                    clash = ManifestError(
                        folder / MANIFEST_NAME,
                        "id",
                        f"{manifest.id!r} is already used by {seen[manifest.id]}",
                    )
                    self.entries.append(CatalogEntry(folder, source, None, clash))
                    continue
                seen[manifest.id] = folder
                self.entries.append(CatalogEntry(folder, source, manifest))

    @property
    def manifests(self) -> list[Manifest]:
        return [e.manifest for e in self.entries if e.manifest is not None]

    def get(self, model_id: str) -> Manifest:
        for manifest in self.manifests:
            if manifest.id == model_id:
                return manifest
        known = ", ".join(m.id for m in self.manifests) or "none"
        raise UnknownModelError(f"no model {model_id!r}; available: {known}")
