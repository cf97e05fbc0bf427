"""The manifest writer: a typed ModelCard -> a manifest.toml the app's parser accepts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio.core.errors import ManifestError
from studio.core.manifest import file_sha256
from studio.training.manifest_writer import (
    ModelCard,
    Network,
    Origin,
    Tensor,
    manifest_table,
    write_manifest,
)


@dataclass(frozen=True)
class TinyConfig:
    width: int = 4
    dilations: tuple[int, ...] = (1, 2)


def card(**changes: object) -> ModelCard:
    fields: dict[str, object] = {
        "id": "tiny",
        "name": "Tiny",
        "family": "gan",
        "modality": "image",
        "description": "A test model.",
        "networks": {
            "generator": Network(
                "dcgan",
                {"z": ("batch", 4), "category": ("batch",)},
                {"image": ("batch", 3, 8, 8)},
                TinyConfig(),
                onnx="g.onnx",
                safetensors="g.safetensors",
                dtypes={"category": "int64"},
            )
        },
        "origin": Origin("some data (CC0)", 1e-6, "weights: MIT"),
        "io": {
            "latent": Tensor((4,), prior="normal"),
            "output": Tensor((3, 8, 8), range=(-1, 1)),
        },
        "parameters": {"default_temperature": 0.7},
        "directions": None,
        "metrics": {"loss": 0.5},
    }
    return ModelCard(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_table_holds_every_field() -> None:
    table = manifest_table(card())
    assert table["origin"] == {
        "train": "python -m studio.training tiny",
        "data": "some data (CC0)",
        "licence": "weights: MIT",
        "onnx_torch_max_abs_diff": 1e-6,
    }
    generator = table["networks"]["generator"]
    assert generator["config"] == {"width": 4, "dilations": (1, 2)}
    assert generator["inputs"] == {
        "z": {"shape": ["batch", 4]},  # float32: no dtype written
        "category": {"shape": ["batch"], "dtype": "int64"},
    }
    assert generator["onnx"] == {"path": "g.onnx"} and "sha256" not in generator["onnx"]
    assert table["io"]["output"] == {"shape": [3, 8, 8], "range": [-1.0, 1.0]}
    assert table["io"]["latent"] == {"shape": [4], "prior": "normal"}
    assert table["parameters"] == {"default_temperature": 0.7}
    assert table["metrics"] == {"loss": 0.5} and "directions" not in table


def test_write_fills_sha256_and_validates(tmp_path: Path) -> None:
    (tmp_path / "g.onnx").write_bytes(b"onnx")
    (tmp_path / "g.safetensors").write_bytes(b"weights")
    path = write_manifest(tmp_path, card())
    written = tomllib.loads(path.read_text())
    assert written["networks"]["generator"]["onnx"]["sha256"] == file_sha256(tmp_path / "g.onnx")
    assert written["origin"]["licence"] == "weights: MIT"
    with pytest.raises(ManifestError, match="modality"):
        write_manifest(tmp_path, card(modality="smell"))
    image = {"image": ("batch", 3, 8, 8)}
    bad = Network("dcgan", {"z": ("batch", 4)}, image, onnx="g.onnx", dtypes={"z": "float64"})
    with pytest.raises(ManifestError, match=r"networks.generator.inputs.z.dtype"):
        write_manifest(tmp_path, card(networks={"generator": bad}))


def test_write_names_a_missing_network_file(tmp_path: Path) -> None:
    (tmp_path / "g.onnx").write_bytes(b"onnx")
    with pytest.raises(ManifestError, match=r"networks.generator.safetensors.path"):
        write_manifest(tmp_path, card())
