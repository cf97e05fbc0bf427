"""Manifest validation: every kind of bad field gives a ManifestError naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from studio.core.catalog import Catalog
from studio.core.errors import ManifestError, UnknownModelError
from studio.core.manifest import parse_manifest, verify_sha256
from studio.families.registry import family_for

SHA = "0" * 64
VALID: dict[str, Any] = {
    "id": "my-gan",
    "name": "My GAN",
    "family": "gan",
    "modality": "image",
    "networks": {
        "generator": {
            "architecture": "dcgan",
            "onnx": {"path": "g.onnx", "sha256": SHA},
            "safetensors": {"path": "g.safetensors", "sha256": SHA},
            "inputs": {"z": {"shape": ["batch", 8]}},
            "outputs": {"image": {"shape": ["batch", 3, 8, 8]}},
        }
    },
    "io": {
        "latent": {"shape": [8], "prior": "normal"},
        "output": {"shape": [3, 8, 8], "range": [-1.0, 1.0]},
    },
}


def write(folder: Path, manifest: dict[str, Any], raw: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "g.onnx").write_bytes(b"onnx")
    (folder / "g.safetensors").write_bytes(b"st")
    path = folder / "manifest.toml"
    path.write_text(raw if raw is not None else tomli_w.dumps(manifest), encoding="utf-8")
    return path


def mutated(change: str, value: Any) -> dict[str, Any]:
    """VALID with the dotted key `change` set to `value` (or deleted when value is ...)."""
    data = copy.deepcopy(VALID)
    *parents, last = change.split(".")
    table = data
    for key in parents:
        table = table[key]
    if value is ...:
        del table[last]
    else:
        table[last] = value
    return data


def test_valid_manifest_parses(tmp_path: Path) -> None:
    manifest = parse_manifest(write(tmp_path, VALID))
    assert manifest.id == "my-gan"
    assert manifest.backends == ("onnx", "torch")
    assert manifest.networks["generator"].inputs[0].shape == ("batch", 8)
    assert manifest.networks["generator"].inputs[0].dtype == "float32"  # absent: float32
    assert manifest.latent_shape == (8,)
    assert manifest.output_range == (-1.0, 1.0)


@pytest.mark.parametrize(
    ("change", "value", "field", "reason"),
    [
        ("id", ..., "id", "required"),
        ("id", "Has Spaces", "id", "lowercase"),
        ("id", 5, "id", "must be a string"),
        ("modality", "video", "modality", "not one of"),
        ("family", ..., "family", "required"),
        ("networks", {}, "networks", "at least one"),
        ("networks.generator.onnx", ..., "networks.generator", None),
        (
            "networks.generator.onnx.path",
            "missing.onnx",
            "networks.generator.onnx.path",
            "does not exist",
        ),
        (
            "networks.generator.onnx.path",
            "../../etc/passwd",
            "networks.generator.onnx.path",
            "outside the model folder",
        ),
        ("networks.generator.onnx.sha256", "abc", "networks.generator.onnx.sha256", "64"),
        ("networks.generator.architecture", ..., "networks.generator.architecture", "required"),
        ("networks.generator.inputs", {}, "networks.generator.inputs", "at least one"),
        (
            "networks.generator.inputs.z.shape",
            [0, 8],
            "networks.generator.inputs.z.shape[0]",
            "positive",
        ),
        ("networks.generator.outputs.image", "x", "networks.generator.outputs.image", "table"),
        (
            "networks.generator.inputs.z.dtype",
            "float64",
            "networks.generator.inputs.z.dtype",
            "not one of float32, float16, int64, int32, uint8, bool",
        ),
        (
            "networks.generator.outputs.image.dtype",
            32,
            "networks.generator.outputs.image.dtype",
            "must be a string",
        ),
        ("io.latent.shape", ["batch"], "io.latent.shape[0]", "positive integer"),
        ("io.latent.prior", "cauchy", "io.latent.prior", "not one of"),
        ("io.output.range", [1.0, -1.0], "io.output.range", "low < high"),
        ("io.output.range", [True, 2], "io.output.range", "numbers"),
        ("directions", {"file": "nope.npz"}, "directions.file", "does not exist"),
    ],
)
def test_bad_field_is_named(
    tmp_path: Path, change: str, value: Any, field: str, reason: str | None
) -> None:
    data = mutated(change, value)
    if change == "networks.generator.onnx":
        data["networks"]["generator"].pop("safetensors")
        reason = "needs an 'onnx' or a 'safetensors' file"
    path = write(tmp_path, data)
    with pytest.raises(ManifestError) as caught:
        parse_manifest(path)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "int32", "uint8", "bool"])
def test_declared_dtype_is_parsed(tmp_path: Path, dtype: str) -> None:
    data = mutated("networks.generator.inputs.z.dtype", dtype)
    data["networks"]["generator"]["outputs"]["image"]["dtype"] = dtype
    network = parse_manifest(write(tmp_path, data)).networks["generator"]
    assert (network.inputs[0].dtype, network.outputs[0].dtype) == (dtype, dtype)


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, VALID, raw="id = 'x\nfamily = ")
    with pytest.raises(ManifestError, match="not valid TOML"):
        parse_manifest(path)


def test_unknown_family_is_reported(tmp_path: Path) -> None:
    manifest = parse_manifest(write(tmp_path, mutated("family", "hologram")))
    with pytest.raises(ManifestError) as caught:
        family_for(manifest)
    assert caught.value.field == "family"
    assert "gan" in caught.value.reason  # lists the known families


def test_gan_without_latent_is_reported(tmp_path: Path) -> None:
    manifest = parse_manifest(write(tmp_path, mutated("io.latent", ...)))
    with pytest.raises(ManifestError) as caught:
        family_for(manifest)
    assert caught.value.field == "io.latent"


def test_sha256_mismatch_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    weights = parse_manifest(path).networks["generator"].onnx
    assert weights is not None
    with pytest.raises(ManifestError, match="does not match its sha256"):
        verify_sha256(weights, path, "networks.generator.onnx")


def test_catalog_lists_broken_models_without_hiding_good_ones(tmp_path: Path) -> None:
    write(tmp_path / "good", VALID)
    write(tmp_path / "bad", mutated("modality", "video"))
    write(tmp_path / "clash", VALID)  # same id as "good"
    catalog = Catalog([(tmp_path, "user")])
    assert [m.id for m in catalog.manifests] == ["my-gan"]
    errors = {e.folder.name: e.error for e in catalog.entries if e.error}
    assert set(errors) == {"bad", "good"}  # folders scan in name order: "clash" came first
    assert "already used" in str(errors["good"])
    assert "modality" in str(errors["bad"])
    with pytest.raises(UnknownModelError, match="my-gan"):
        catalog.get("nope")
