"""Strict reading of the values a request is made of, shared by every request type.

A value of the wrong type is an error that names its field; nothing is converted on the way
(1.5 is no seed, true is no pitch, "false" is not False), so a file whose settings do not
mean what they say is refused instead of reproducing something else. An integer field takes
integers only, a number field any real number (2 means 2.0); neither takes a boolean, although
Python's bool is an int. Ranges stay with each request's __post_init__.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Final

from studio.core.errors import RequestError, StudioError

MAX_SHOWN = 40  # characters of a bad value quoted in a message


def shown(value: object) -> str:
    """A bad value as a message shows it: short, and in JSON's words for containers."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} values" if value else "an empty list"
    written = repr(value)
    return written if len(written) <= MAX_SHOWN else written[: MAX_SHOWN - 1] + "…"


def as_integer(value: object, field: str, error: type[StudioError] = RequestError) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise error(f"{field} must be an integer, got {shown(value)}")
    return int(value)


def as_number(value: object, field: str, error: type[StudioError] = RequestError) -> float:
    """A real number as a float; not necessarily finite (the range checks say what is)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise error(f"{field} must be a number, got {shown(value)}")
    try:
        return float(value)
    except OverflowError:  # a JSON integer past float's range
        raise error(f"{field} is too large, got {shown(value)}") from None


def as_flag(value: object, field: str, error: type[StudioError] = RequestError) -> bool:
    if not isinstance(value, bool):
        raise error(f"{field} must be true or false, got {shown(value)}")
    return value


def as_text(value: object, field: str, error: type[StudioError] = RequestError) -> str:
    if not isinstance(value, str):
        raise error(f"{field} must be text, got {shown(value)}")
    return value


def as_items(value: object, field: str, error: type[StudioError] = RequestError) -> list[object]:
    """A list (or tuple, or array) of anything; text and objects are not lists here."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise error(f"{field} must be a list, got {shown(value)}")
    return list(value)


def numbers_of(
    value: object, field: str, error: type[StudioError] = RequestError
) -> tuple[float, ...]:
    return tuple(
        as_number(v, f"{field}[{k}]", error) for k, v in enumerate(as_items(value, field, error))
    )


def finite_numbers(value: object, field: str) -> tuple[float, ...]:
    """A non-empty vector of finite numbers (an explicit latent, a timbre) as a tuple, so the
    request stays hashable whatever sequence it was given."""
    vector = numbers_of(value, field)
    if not vector or not all(math.isfinite(v) for v in vector):
        raise RequestError(f"{field} must be a non-empty list of finite numbers")
    return vector


def summed(values: object, what: str, *, nonnegative: bool = False) -> dict[str, float]:
    """(name, number) pairs or a {name: number} mapping -> each name once, with the sum of
    its numbers: a name given twice weighs in twice, as the families would add it. With
    `nonnegative` every number must be finite and >= 0 (a sum could hide a negative one)."""
    pairs = values.items() if isinstance(values, Mapping) else as_items(values, f"{what}s")
    totals: dict[str, float] = {}
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise RequestError(f"{what}s must be (name, value) pairs, got {shown(pair)}")
        name = as_text(pair[0], f"a {what} name")
        value = as_number(pair[1], f"{what} {name!r}")
        if nonnegative and not (math.isfinite(value) and value >= 0):
            raise RequestError(f"{what}s must be finite and not negative, got {name}={value}")
        totals[name] = totals.get(name, 0.0) + value
    return totals


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()  # the default of a field that must be present


class Fields:
    """A JSON object read field by field into a request (or provenance): `what` names it in
    messages and `error` is the error type raised. Missing fields take the default given;
    JSON null is a value (of the optional fields only)."""

    def __init__(
        self, data: object, what: str = "request", error: type[StudioError] = RequestError
    ) -> None:
        if not isinstance(data, Mapping):
            raise error(f"{what} must be a JSON object, got {shown(data)}")
        self.data: Mapping[object, object] = data
        self.what = what
        self.error = error

    def value(self, key: str, default: object = REQUIRED) -> object:
        if key in self.data:
            return self.data[key]
        if isinstance(default, _Required):
            raise self.error(f"{self.what} is missing {key!r}")
        return default

    def required_text(self, key: str) -> str:
        return as_text(self.value(key), key, self.error)

    def text(self, key: str, default: str) -> str:
        return as_text(self.value(key, default), key, self.error)

    def optional_text(self, key: str) -> str | None:
        value = self.value(key, None)
        return None if value is None else as_text(value, key, self.error)

    def integer(self, key: str, default: int) -> int:
        return as_integer(self.value(key, default), key, self.error)

    def optional_integer(self, key: str) -> int | None:
        value = self.value(key, None)
        return None if value is None else as_integer(value, key, self.error)

    def number(self, key: str, default: float) -> float:
        return as_number(self.value(key, default), key, self.error)

    def optional_number(self, key: str) -> float | None:
        value = self.value(key, None)
        return None if value is None else as_number(value, key, self.error)

    def flag(self, key: str, default: bool) -> bool:
        return as_flag(self.value(key, default), key, self.error)

    def numbers(self, key: str, default: tuple[float, ...] = ()) -> tuple[float, ...]:
        return numbers_of(self.value(key, default), key, self.error)

    def optional_numbers(self, key: str) -> tuple[float, ...] | None:
        value = self.value(key, None)
        return None if value is None else numbers_of(value, key, self.error)

    def integers(self, key: str, default: tuple[int, ...]) -> tuple[int, ...]:
        values = as_items(self.value(key, default), key, self.error)
        return tuple(as_integer(v, f"{key}[{k}]", self.error) for k, v in enumerate(values))

    def named_numbers(self, key: str) -> dict[str, float]:
        """A {name: number} object (missing: empty)."""
        value = self.value(key, {})
        if not isinstance(value, Mapping):
            raise self.error(f"{key} must be an object of names and numbers, got {shown(value)}")
        return {
            as_text(name, f"a name in {key}", self.error): as_number(
                v, f"{key}[{name!r}]", self.error
            )
            for name, v in value.items()
        }

    def items(self, key: str) -> list[object]:
        """A list of anything (missing: empty), for the caller to read entry by entry."""
        return as_items(self.value(key, []), key, self.error)

    def mapping(self, key: str) -> Mapping[str, object]:
        """A required nested object."""
        value = self.value(key)
        if not isinstance(value, Mapping):
            raise self.error(f"{key} must be a JSON object, got {shown(value)}")
        return value
