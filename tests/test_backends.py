"""Sessions over the tiny real model: devices, parity, and bad models."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from studio.backends.select import open_session
from studio.core.catalog import Catalog
from studio.core.errors import BackendUnavailableError, ManifestError, ModelError
from studio.core.manifest import file_sha256, parse_manifest
from studio.engine.runtime import ModelRuntime


def edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.toml"
    data = tomllib.loads(path.read_text())
    change(data)
    path.write_text(tomli_w.dumps(data))


@pytest.fixture
def model_copy(tmp_path: Path, tiny_gan_folder: Path) -> Path:
    return Path(shutil.copytree(tiny_gan_folder, tmp_path / "tiny-gan"))


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_session_runs_and_reports_cpu(tiny_gan_folder: Path, backend: str) -> None:
    manifest = parse_manifest(tiny_gan_folder / "manifest.toml")
    session = open_session(manifest, "generator", backend, device="cpu")
    out = session.run({"z": np.zeros((3, 8), np.float32)})["image"]
    assert out.shape == (3, 3, 8, 8)
    assert session.choice.backend == backend
    assert not session.choice.is_gpu and session.choice.fallback is None


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_asking_for_a_missing_gpu_reports_the_fallback(tiny_gan_folder: Path, backend: str) -> None:
    manifest = parse_manifest(tiny_gan_folder / "manifest.toml")
    session = open_session(manifest, "generator", backend, device="gpu")
    if session.choice.is_gpu:
        pytest.skip("this machine has a GPU")
    assert session.choice.fallback and "GPU" in session.choice.fallback.upper()


def test_onnx_and_torch_agree(tiny_gan_folder: Path) -> None:
    manifest = parse_manifest(tiny_gan_folder / "manifest.toml")
    z = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    a = open_session(manifest, "generator", "onnx", "cpu").run({"z": z})["image"]
    b = open_session(manifest, "generator", "torch", "cpu").run({"z": z})["image"]
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_declared_shape_that_contradicts_the_model_is_named(model_copy: Path, backend: str) -> None:
    def wrong(data: dict) -> None:
        data["networks"]["generator"]["outputs"]["image"]["shape"] = ["batch", 3, 16, 16]

    edit_manifest(model_copy, wrong)
    manifest = parse_manifest(model_copy / "manifest.toml")
    with pytest.raises(ModelError, match=r"axis 2.*declares 16"):
        open_session(manifest, "generator", backend, "cpu")


def test_wrong_input_shape_at_run_time_is_an_error(tiny_gan_folder: Path) -> None:
    manifest = parse_manifest(tiny_gan_folder / "manifest.toml")
    session = open_session(manifest, "generator", "onnx", "cpu")
    with pytest.raises(ModelError, match="axis 1"):
        session.run({"z": np.zeros((1, 9), np.float32)})


@pytest.mark.parametrize(
    ("name", "backend", "message"),
    [
        ("generator.onnx", "onnx", "ONNX Runtime cannot load"),
        ("generator.safetensors", "torch", "not a readable safetensors"),
    ],
)
def test_corrupt_weights_are_a_clear_error(
    model_copy: Path, name: str, backend: str, message: str
) -> None:
    (model_copy / name).write_bytes(b"\x00garbage" * 10)
    fmt = "onnx" if backend == "onnx" else "safetensors"

    def rehash(data: dict) -> None:
        data["networks"]["generator"][fmt]["sha256"] = file_sha256(model_copy / name)

    edit_manifest(model_copy, rehash)
    manifest = parse_manifest(model_copy / "manifest.toml")
    with pytest.raises(ModelError, match=message):
        open_session(manifest, "generator", backend, "cpu")


def test_weights_for_another_architecture_are_a_clear_error(model_copy: Path) -> None:
    edit_manifest(model_copy, lambda d: d["networks"]["generator"]["config"].update(latent_dim=9))
    manifest = parse_manifest(model_copy / "manifest.toml")
    with pytest.raises(ModelError, match="do not fit architecture"):
        open_session(manifest, "generator", "torch", "cpu")


def test_changed_weights_fail_the_sha256_check(model_copy: Path) -> None:
    data = bytearray((model_copy / "generator.onnx").read_bytes())
    data[-1] ^= 0xFF
    (model_copy / "generator.onnx").write_bytes(bytes(data))
    runtime = ModelRuntime(Catalog([(model_copy.parent, "user")]))
    with pytest.raises(ManifestError, match="sha256"):
        runtime.family("tiny-gan", "onnx")


def test_backend_the_model_does_not_ship_is_refused(model_copy: Path) -> None:
    def onnx_only(data: dict) -> None:
        del data["networks"]["generator"]["safetensors"]

    edit_manifest(model_copy, onnx_only)
    manifest = parse_manifest(model_copy / "manifest.toml")
    assert manifest.backends == ("onnx",)
    with pytest.raises(BackendUnavailableError, match="no torch weights"):
        open_session(manifest, "generator", "torch")
