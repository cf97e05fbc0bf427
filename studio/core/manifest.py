"""The model manifest: manifest.toml beside a model's weights, parsed into typed objects.

Every failure is a ManifestError naming the file, the field (dotted path) and the reason.
Family-specific requirements (which networks, which io keys) are checked by the family
registry; this module checks what every model needs.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.errors import ManifestError, ModelError

MANIFEST_NAME = "manifest.toml"
MODALITIES = ("image", "audio", "text", "style")
PRIORS = ("normal", "uniform", "none")
# element types a network's inputs and outputs may declare; names are numpy's, so a declared
# dtype is `np.dtype(name)` and needs no table
DTYPES = ("float32", "float16", "int64", "int32", "uint8", "bool")
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")

Dim = int | str  # a fixed size, or a named free axis such as "batch"


@dataclass(frozen=True)
class WeightsFile:
    path: Path  # absolute
    sha256: str


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float32"  # one of DTYPES; absent from a manifest means float32

    def size(self, axis: int) -> int:
        """The fixed size of `axis`; ModelError where the manifest names it (a free axis),
        since a family that reads a size from its network needs a number there."""
        dim = self.shape[axis]
        if isinstance(dim, str):
            raise ModelError(
                f"tensor {self.name!r}: axis {axis} must have a fixed size, not {dim!r}"
            )
        return dim


@dataclass(frozen=True)
class NetworkSpec:
    """One network of a model, available as ONNX, safetensors + architecture, or both."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    onnx: WeightsFile | None = None
    safetensors: WeightsFile | None = None
    architecture: str | None = None  # key of studio.nets' registry, for safetensors
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def backends(self) -> tuple[str, ...]:
        found = []
        if self.onnx is not None:
            found.append("onnx")
        if self.safetensors is not None:
            found.append("torch")
        return tuple(found)


@dataclass(frozen=True)
class Manifest:
    id: str
    name: str
    family: str
    modality: str
    folder: Path
    networks: Mapping[str, NetworkSpec]
    description: str = ""
    latent_shape: tuple[int, ...] | None = None
    prior: str = "none"
    output_shape: tuple[int, ...] | None = None
    output_range: tuple[float, float] | None = None
    input_shape: tuple[int, ...] | None = None  # what an encoder network takes
    input_range: tuple[float, float] | None = None
    directions_file: Path | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)  # family constants
    metrics: Mapping[str, Any] = field(default_factory=dict)  # measured at training
    origin: Mapping[str, Any] = field(default_factory=dict)

    @property
    def backends(self) -> tuple[str, ...]:
        """Backends every network supports."""
        common = set.intersection(*(set(n.backends) for n in self.networks.values()))
        return tuple(b for b in ("onnx", "torch") if b in common)

    @property
    def size_bytes(self) -> int:
        files = {f.path for n in self.networks.values() for f in (n.onnx, n.safetensors) if f}
        return sum(path.stat().st_size for path in files if path.exists())


class _Reader:
    """Typed access to the parsed TOML that names the field in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field_name: str, reason: str) -> ManifestError:
        return ManifestError(self.path, field_name, reason)

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        kind: type | tuple[type, ...],
        required: bool = True,
        default: Any = None,
    ) -> Any:
        name = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                raise self.fail(name, "is required but missing")
            return default
        value = table[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(name, f"must be {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.fail(name, f"must be {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def shape(self, value: Any, name: str, allow_names: bool) -> tuple[Dim, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(name, "must be a non-empty list of sizes")
        dims: list[Dim] = []
        for i, dim in enumerate(value):
            if isinstance(dim, bool) or not isinstance(dim, int | str):
                raise self.fail(f"{name}[{i}]", f"must be a positive integer, got {dim!r}")
            if isinstance(dim, str) and not allow_names:
                raise self.fail(f"{name}[{i}]", f"must be a positive integer, got {dim!r}")
            if isinstance(dim, int) and dim <= 0:
                raise self.fail(f"{name}[{i}]", f"must be a positive integer, got {dim}")
            dims.append(dim)
        return tuple(dims)

    def sizes(self, value: Any, name: str) -> tuple[int, ...]:
        """A shape of fixed sizes only: shape() has refused named axes, so every dim is int."""
        return tuple(int(dim) for dim in self.shape(value, name, False))

    def weights(self, table: Mapping[str, Any], key: str, where: str) -> WeightsFile | None:
        entry = self.get(table, key, where, dict, required=False)
        if entry is None:
            return None
        name = f"{where}.{key}"
        rel = self.get(entry, "path", name, str)
        sha = self.get(entry, "sha256", name, str)
        if not _SHA256_PATTERN.match(sha):
            raise self.fail(f"{name}.sha256", "must be 64 lowercase hex digits")
        path = (self.path.parent / rel).resolve()
        if self.path.parent.resolve() not in path.parents:
            raise self.fail(f"{name}.path", f"{rel!r} points outside the model folder")
        if not path.is_file():
            raise self.fail(f"{name}.path", f"file {rel!r} does not exist")
        return WeightsFile(path, sha)

    def tensors(self, table: Mapping[str, Any], key: str, where: str) -> tuple[TensorSpec, ...]:
        entries = self.get(table, key, where, dict)
        if not entries:
            raise self.fail(f"{where}.{key}", "must declare at least one tensor")
        specs = []
        for tensor, spec in entries.items():
            name = f"{where}.{key}.{tensor}"
            if not isinstance(spec, dict):
                raise self.fail(name, "must be a table with a shape")
            shape = self.shape(spec.get("shape"), f"{name}.shape", True)
            specs.append(TensorSpec(tensor, shape, self.dtype(spec, name)))
        return tuple(specs)

    def dtype(self, spec: Mapping[str, Any], where: str) -> str:
        dtype: str = self.get(spec, "dtype", where, str, required=False, default="float32")
        if dtype not in DTYPES:
            raise self.fail(f"{where}.dtype", f"{dtype!r} is not one of {', '.join(DTYPES)}")
        return dtype


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", dict: "a table", list: "a list", int: "an integer", float: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _network(reader: _Reader, name: str, table: Any) -> NetworkSpec:
    where = f"networks.{name}"
    if not isinstance(table, dict):
        raise reader.fail(where, "must be a table")
    onnx = reader.weights(table, "onnx", where)
    safetensors = reader.weights(table, "safetensors", where)
    if onnx is None and safetensors is None:
        raise reader.fail(where, "needs an 'onnx' or a 'safetensors' file")
    architecture = reader.get(table, "architecture", where, str, required=safetensors is not None)
    return NetworkSpec(
        name=name,
        inputs=reader.tensors(table, "inputs", where),
        outputs=reader.tensors(table, "outputs", where),
        onnx=onnx,
        safetensors=safetensors,
        architecture=architecture,
        config=reader.get(table, "config", where, dict, required=False, default={}),
    )


def _image_io(
    reader: _Reader, io: Mapping[str, Any], key: str
) -> tuple[tuple[int, ...] | None, tuple[float, float] | None]:
    """(shape, value range) of io.input or io.output, both optional."""
    if key not in io:
        return None, None
    table = reader.get(io, key, "io", dict)
    shape = reader.sizes(table.get("shape"), f"io.{key}.shape")
    value_range = reader.get(table, "range", f"io.{key}", list, required=False)
    if value_range is None:
        return shape, None
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value_range)
    if len(value_range) != 2 or not numbers or value_range[0] >= value_range[1]:
        raise reader.fail(f"io.{key}.range", "must be [low, high] numbers with low < high")
    return shape, (float(value_range[0]), float(value_range[1]))


def parse_manifest(path: Path) -> Manifest:
    """Read and validate `path` (a manifest.toml). Raises ManifestError."""
    reader = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise reader.fail("", "manifest.toml not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise reader.fail("", f"cannot be read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise reader.fail("", f"is not valid TOML ({exc})") from exc

    model_id = reader.get(data, "id", "", str)
    if not _ID_PATTERN.match(model_id):
        raise reader.fail("id", f"{model_id!r} must be lowercase letters, digits, '.', '_', '-'")
    modality = reader.get(data, "modality", "", str)
    if modality not in MODALITIES:
        raise reader.fail("modality", f"{modality!r} is not one of {', '.join(MODALITIES)}")
    networks_table = reader.get(data, "networks", "", dict)
    if not networks_table:
        raise reader.fail("networks", "must declare at least one network")
    networks = {name: _network(reader, name, t) for name, t in networks_table.items()}

    io = reader.get(data, "io", "", dict, required=False, default={})
    latent_shape = None
    prior = "none"
    if "latent" in io:
        latent = reader.get(io, "latent", "io", dict)
        latent_shape = reader.sizes(latent.get("shape"), "io.latent.shape")
        prior = reader.get(latent, "prior", "io.latent", str, required=False, default="normal")
        if prior not in PRIORS:
            raise reader.fail("io.latent.prior", f"{prior!r} is not one of {', '.join(PRIORS)}")
    output_shape, output_range = _image_io(reader, io, "output")
    input_shape, input_range = _image_io(reader, io, "input")

    directions_file = None
    directions = reader.get(data, "directions", "", dict, required=False)
    if directions is not None:
        rel = reader.get(directions, "file", "directions", str)
        directions_file = path.parent / rel
        if not directions_file.is_file():
            raise reader.fail("directions.file", f"file {rel!r} does not exist")

    return Manifest(
        id=model_id,
        name=reader.get(data, "name", "", str, required=False, default=model_id),
        family=reader.get(data, "family", "", str),
        modality=modality,
        folder=path.parent,
        networks=networks,
        description=reader.get(data, "description", "", str, required=False, default=""),
        latent_shape=latent_shape,
        prior=prior,
        output_shape=output_shape,
        output_range=output_range,
        input_shape=input_shape,
        input_range=input_range,
        directions_file=directions_file,
        parameters=reader.get(data, "parameters", "", dict, required=False, default={}),
        metrics=reader.get(data, "metrics", "", dict, required=False, default={}),
        origin=reader.get(data, "origin", "", dict, required=False, default={}),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(weights: WeightsFile, manifest_path: Path, field_name: str) -> None:
    """Raise ManifestError when the file on disk does not hash to the declared sha256."""
    if file_sha256(weights.path) != weights.sha256:
        raise ManifestError(
            manifest_path,
            f"{field_name}.sha256",
            f"{weights.path.name} does not match its sha256 (file changed or corrupt)",
        )
