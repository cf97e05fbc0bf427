"""The one manifest writer: a typed `ModelCard` -> models/<id>/manifest.toml.

Every recipe describes its model with these dataclasses; `write_manifest` fills each
network file's sha256 from disk, writes the TOML and reads it back through the app's own
parser (studio.core.manifest), so a recipe cannot write a manifest the app would refuse.
The TOML layout is the one studio/core/manifest.py documents: id, name, family, modality,
description, [networks.*], [io.*], [parameters], [directions], [metrics], [origin].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from studio.core.errors import ManifestError
from studio.core.manifest import MANIFEST_NAME, file_sha256, parse_manifest

Shape = tuple[int | str, ...]  # a fixed size, or a named free axis such as "batch"
DEFAULT_LICENCE = "Model weights: same licence as the project; data: see data"


@dataclass(frozen=True)
class Network:
    """One network: its files in the model folder (ONNX, safetensors or both), the
    architecture and config that rebuild it in torch, and its tensors' shapes by name;
    `dtypes` names the tensors that are not float32 (e.g. {"category": "int64"})."""

    architecture: str
    inputs: Mapping[str, Shape]
    outputs: Mapping[str, Shape]
    config: Any = None  # a config dataclass, or a mapping; None writes no [config]
    onnx: str | None = None
    safetensors: str | None = None
    dtypes: Mapping[str, str] = field(default_factory=dict)

    def table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"architecture": self.architecture}
        if self.config is not None:
            config = self.config
            table["config"] = dataclasses.asdict(config) if _is_dataclass(config) else config
        for kind in ("onnx", "safetensors"):
            if (path := getattr(self, kind)) is not None:
                table[kind] = {"path": path}
        table["inputs"] = {k: self._tensor(k, v) for k, v in self.inputs.items()}
        table["outputs"] = {k: self._tensor(k, v) for k, v in self.outputs.items()}
        return table

    def _tensor(self, name: str, shape: Shape) -> dict[str, Any]:
        dtype = self.dtypes.get(name, "float32")
        return {"shape": list(shape)} | ({"dtype": dtype} if dtype != "float32" else {})


@dataclass(frozen=True)
class Tensor:
    """An [io.*] entry: what a family feeds or gets, without the batch axis."""

    shape: tuple[int, ...]
    range: tuple[float, float] | None = None
    prior: str | None = None  # io.latent only: "normal", "uniform" or "none"

    def table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"shape": list(self.shape)}
        if self.prior is not None:
            table["prior"] = self.prior
        if self.range is not None:
            table["range"] = [float(self.range[0]), float(self.range[1])]
        return table


@dataclass(frozen=True)
class Origin:
    """How the model was made: `train` is derived from the model id (the command that
    rebuilds it); `data` names the data and its licence, `licence` the weights'."""

    data: str
    onnx_torch_max_abs_diff: float
    licence: str = DEFAULT_LICENCE


@dataclass(frozen=True)
class ModelCard:
    """Everything manifest.toml says about a model. `parameters` are the family's
    constants; `metrics` the numbers measured at training (losses, timings)."""

    id: str
    name: str
    family: str
    modality: str
    description: str
    networks: Mapping[str, Network]
    origin: Origin
    io: Mapping[str, Tensor] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    directions: str | None = None  # file name of the directions .npz
    metrics: Mapping[str, Any] = field(default_factory=dict)


def train_command(model_id: str) -> str:
    return f"python -m studio.training {model_id}"


def manifest_table(card: ModelCard) -> dict[str, Any]:
    """The TOML table of `card`, without sha256s (pure: no file is read)."""
    table: dict[str, Any] = {
        "id": card.id,
        "name": card.name,
        "family": card.family,
        "modality": card.modality,
        "description": card.description,
        "networks": {name: network.table() for name, network in card.networks.items()},
    }
    if card.io:
        table["io"] = {role: tensor.table() for role, tensor in card.io.items()}
    if card.parameters:
        table["parameters"] = dict(card.parameters)
    if card.directions is not None:
        table["directions"] = {"file": card.directions}
    if card.metrics:
        table["metrics"] = dict(card.metrics)
    table["origin"] = {
        "train": train_command(card.id),
        "data": card.origin.data,
        "licence": card.origin.licence,
        "onnx_torch_max_abs_diff": card.origin.onnx_torch_max_abs_diff,
    }
    return table


def write_manifest(folder: Path, card: ModelCard) -> Path:
    """folder/manifest.toml for `card`, with each network file's sha256; validated by the
    app's parser (raises ManifestError naming the field when the card is not a valid model,
    e.g. a network file missing from `folder`)."""
    return write_table(folder, manifest_table(card))


def write_table(folder: Path, table: dict[str, Any], validate: bool = True) -> Path:
    """Write an already built manifest table, filling its sha256s in place; with `validate`,
    read it back through the app's parser (ManifestError when it would refuse it)."""
    path = folder / MANIFEST_NAME
    for name, network in table.get("networks", {}).items():
        for kind in ("onnx", "safetensors"):
            if kind not in network:
                continue
            weights = folder / network[kind]["path"]
            if validate and not weights.is_file():
                where = f"networks.{name}.{kind}.path"
                raise ManifestError(path, where, f"file {weights.name!r} was not written")
            network[kind]["sha256"] = file_sha256(weights)
    path.write_text(tomli_w.dumps(table), encoding="utf-8")
    if validate:
        parse_manifest(path)
    return path


def _is_dataclass(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)
