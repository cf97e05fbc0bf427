"""Typed errors. Each message is user-facing: it names the file or field at fault and why."""

from __future__ import annotations


class StudioError(Exception):
    """Base of every error the app reports to the user instead of crashing."""


class ManifestError(StudioError):
    """A model's manifest.toml is missing, malformed, or names something invalid."""

    def __init__(self, path: object, field: str, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        where = f"{self.path} [{field}]" if field else self.path
        super().__init__(f"{where}: {reason}")


class ModelError(StudioError):
    """A model's files cannot be loaded, or disagree with its manifest."""


class BackendUnavailableError(StudioError):
    """The requested backend or device is not installed or not usable here."""


class UnknownModelError(StudioError):
    """No bundled or user model has the requested id."""


class RequestError(StudioError):
    """A request's settings are invalid for its model (bad direction, seed, grid...)."""


class MediaError(StudioError):
    """An image, audio or text file cannot be read or written."""


class Cancelled(StudioError):
    """A job stopped at a cancellation point because a newer request or the user asked."""
