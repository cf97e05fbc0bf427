"""Typed tensors: a user's model with an int64 class input, and the same model with float16
weights, run through open_session on both backends; a dtype that contradicts the model is
named at load, and a conversion that would change a value is refused at run time."""

from __future__ import annotations

import copy
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomli_w
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from studio.backends.base import to_declared
from studio.backends.select import open_session
from studio.core.errors import ModelError
from studio.core.manifest import Manifest, TensorSpec, file_sha256, parse_manifest
from studio.nets import registry

ARCHITECTURE = "test-class-conditioned"
LATENT = 4
CLASSES = 3
UNIT = 2.0**-11  # float16 keeps 11 significant bits: one rounding costs at most this, relative


@dataclass(frozen=True)
class ClassConfig:
    latent: int = LATENT
    classes: int = CLASSES


class ClassConditioned(nn.Module):
    """z (B, latent) float, label (B,) integer class -> image (B, 3, 2, 2) in (-1, 1)."""

    def __init__(self, config: ClassConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.classes, 12)
        self.linear = nn.Linear(config.latent, 12)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(z) + self.embed(label)).view(-1, 3, 2, 2)


def export(module: nn.Module, z_dtype: torch.dtype, path: Path) -> None:
    batch = torch.export.Dim("batch", min=1, max=64)
    example = (torch.zeros(2, LATENT, dtype=z_dtype), torch.zeros(2, dtype=torch.int64))
    with warnings.catch_warnings():  # the exporter warns about its own deprecations
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=["z", "label"],
            output_names=["image"],
            dynamic_shapes={"z": {0: batch}, "label": {0: batch}},
            external_data=False,
            dynamo=True,
            verbose=False,
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ClassConditioned]:
    """A folder with the model in float32 (full.onnx, full.safetensors) and float16 (half.*),
    and the float32 module, the reference both are compared with."""
    folder = tmp_path_factory.mktemp("user-model")
    torch.manual_seed(0)
    module = ClassConditioned(ClassConfig()).eval()
    export(module, torch.float32, folder / "full.onnx")
    save_file(module.state_dict(), str(folder / "full.safetensors"))
    half = copy.deepcopy(module).half()
    export(half, torch.float16, folder / "half.onnx")
    save_file(half.state_dict(), str(folder / "half.safetensors"))
    return folder, module


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test architecture in studio.nets' registry for this test only: no bundled
    architecture takes an integer input."""
    monkeypatch.setattr(registry, "ARCHITECTURES", dict(registry.ARCHITECTURES))
    registry.register(ARCHITECTURE, ClassConditioned, ClassConfig)


def user_model(tmp_path: Path, built: Path, stem: str, **dtypes: str) -> Manifest:
    """A model folder over built's {stem}.onnx and {stem}.safetensors whose manifest declares
    z, label and image with `dtypes` (float32, int64, float32 unless given)."""
    for suffix in ("onnx", "safetensors"):
        shutil.copy(built / f"{stem}.{suffix}", tmp_path / f"network.{suffix}")
    declared = {"z": "float32", "label": "int64", "image": "float32", **dtypes}
    shapes: dict[str, list[Any]] = {
        "z": ["batch", LATENT],
        "label": ["batch"],
        "image": ["batch", 3, 2, 2],
    }
    table = {name: {"shape": shapes[name], "dtype": declared[name]} for name in shapes}
    network: dict[str, Any] = {
        "architecture": ARCHITECTURE,
        "inputs": {"z": table["z"], "label": table["label"]},
        "outputs": {"image": table["image"]},
    }
    for suffix in ("onnx", "safetensors"):
        sha256 = file_sha256(tmp_path / f"network.{suffix}")
        network[suffix] = {"path": f"network.{suffix}", "sha256": sha256}
    manifest = {
        "id": "user-model",
        "family": "gan",
        "modality": "image",
        "networks": {"generator": network},
    }
    (tmp_path / "manifest.toml").write_text(tomli_w.dumps(manifest), encoding="utf-8")
    return parse_manifest(tmp_path / "manifest.toml")


def reference(module: ClassConditioned, z: np.ndarray, label: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(z), torch.from_numpy(label)).numpy()


Z = np.random.default_rng(0).standard_normal((3, LATENT)).astype(np.float32)
LABEL = np.array([0, 2, 1], np.int64)
BACKENDS = ["onnx", "torch"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.usefixtures("registered")
def test_int64_class_input_runs(tmp_path: Path, built: Any, backend: str) -> None:
    folder, module = built
    session = open_session(user_model(tmp_path, folder, "full"), "generator", backend, "cpu")
    image = session.run({"z": Z, "label": LABEL})["image"]
    assert image.dtype == np.float32
    np.testing.assert_allclose(image, reference(module, Z, LABEL), atol=1e-5)
    other = session.run({"z": Z, "label": np.array([1, 0, 2])})["image"]
    assert not np.allclose(image, other)  # the class input reaches the picture


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "label",
    [
        [0, 2, 1],
        np.array([0, 2, 1], np.int32),
        np.array([0.0, 2.0, 1.0]),
        np.array([0, 2, 1], np.uint8),
    ],
    ids=["python-ints", "int32", "whole-floats", "uint8"],
)
@pytest.mark.usefixtures("registered")
def test_class_input_is_converted_when_nothing_changes(
    tmp_path: Path, built: Any, backend: str, label: Any
) -> None:
    folder, module = built
    session = open_session(user_model(tmp_path, folder, "full"), "generator", backend, "cpu")
    image = session.run({"z": Z.astype(np.float64), "label": label})["image"]
    np.testing.assert_allclose(image, reference(module, Z, LABEL), atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.usefixtures("registered")
def test_float16_weights_match_the_float32_reference(
    tmp_path: Path, built: Any, backend: str
) -> None:
    folder, module = built
    assert {t.dtype for t in load_file(str(folder / "half.safetensors")).values()} == {
        torch.float16
    }
    manifest = user_model(tmp_path, folder, "half", z="float16", image="float16")
    session = open_session(manifest, "generator", backend, "cpu")
    image = session.run({"z": Z, "label": LABEL})["image"]
    assert image.dtype == np.float32  # float16 outputs come back as float32
    expected = reference(module, Z, LABEL)
    # Each pre-activation is a sum of 6 terms (4 products w*z, the bias, the embedding).
    # Rounding the weights, z and each product to float16 costs 3 units of 2**-11 of each
    # term, and summing 6 terms in float16 (ONNX Runtime) at most 5 more of the absolute
    # sum; tanh's slope is at most 1, and rounding the output costs half a unit of 1.
    linear = module.linear
    scale = (
        np.abs(Z) @ np.abs(linear.weight.detach().numpy()).T
        + np.abs(linear.bias.detach().numpy())
        + np.abs(module.embed.weight.detach().numpy()[LABEL])
    ).reshape(expected.shape)
    bound = 8 * UNIT * scale + UNIT / 2
    assert np.all(np.abs(image - expected) <= bound), np.abs(image - expected).max()
    assert not np.array_equal(image, expected)  # float16 weights really were used


@pytest.mark.usefixtures("registered")
def test_declared_dtype_that_contradicts_the_onnx_graph_is_named(
    tmp_path: Path, built: Any
) -> None:
    folder, _ = built
    manifest = user_model(tmp_path, folder, "full", label="float32")
    with pytest.raises(ModelError) as caught:
        open_session(manifest, "generator", "onnx", "cpu")
    message = str(caught.value)
    assert "'label' as float32" in message and "int64" in message
    assert "networks.generator.inputs.label.dtype" in message


@pytest.mark.usefixtures("registered")
def test_declared_output_dtype_the_torch_network_does_not_return_is_named(
    tmp_path: Path, built: Any
) -> None:
    folder, _ = built
    manifest = user_model(tmp_path, folder, "full", image="int64")
    with pytest.raises(ModelError, match=r"output 'image' as int64.*returns float32"):
        open_session(manifest, "generator", "torch", "cpu")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.usefixtures("registered")
def test_unsafe_conversion_at_run_time_names_network_input_and_dtypes(
    tmp_path: Path, built: Any, backend: str
) -> None:
    folder, _ = built
    session = open_session(user_model(tmp_path, folder, "full"), "generator", backend, "cpu")
    with pytest.raises(ModelError) as caught:
        session.run({"z": Z, "label": np.array([0.0, 1.5, 2.0])})
    message = str(caught.value)
    assert message.startswith("generator: input 'label' is declared int64")
    assert "float64" in message and "1.5 would become 1" in message


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        (np.array([1.5, -2.25]), "float32", np.array([1.5, -2.25], np.float32)),
        (np.array([1e-3, np.inf, np.nan]), "float16", np.array([1e-3, np.inf, np.nan], np.float16)),
        (np.array([2**24], np.int64), "float32", np.array([2**24], np.float32)),
        (np.array([-3.0, 7.0]), "int32", np.array([-3, 7], np.int32)),
        (np.array([0, 255]), "uint8", np.array([0, 255], np.uint8)),
        (np.array([True, False]), "int64", np.array([1, 0], np.int64)),
        (np.array([0.0, 1.0]), "bool", np.array([False, True])),
        (np.float64(2.0), "int64", np.array(2, np.int64)),
    ],
)
def test_safe_conversions(values: np.ndarray, dtype: str, expected: np.ndarray) -> None:
    converted = to_declared(np.asarray(values), TensorSpec("x", ("batch",), dtype), "net")
    assert converted.dtype == expected.dtype
    np.testing.assert_array_equal(converted, expected)


@pytest.mark.parametrize(
    ("values", "dtype", "reason"),
    [
        (np.array([0.0, 0.5]), "int64", "0.5 would become 0"),
        (np.array([1.0, np.nan]), "int64", "nan would become"),
        (np.array([1.0, np.inf]), "int32", "inf would become"),
        (np.array([0, 300]), "uint8", "300 would become 44"),
        (np.array([-1]), "uint8", "-1 would become 255"),
        (np.array([2**31]), "int32", "2147483648 would become"),
        (np.array([2**24 + 1]), "float32", "16777217 would become 16777216.0"),
        (np.array([7e4], np.float32), "float16", "70000.0 would become inf"),
        (np.array([0, 2]), "bool", "2 would become True"),
        (np.array(["1"]), "int64", "no numeric conversion"),
    ],
)
def test_unsafe_conversions_are_refused(values: np.ndarray, dtype: str, reason: str) -> None:
    with pytest.raises(ModelError) as caught:
        to_declared(values, TensorSpec("x", ("batch",), dtype), "net")
    message = str(caught.value)
    assert message.startswith(f"net: input 'x' is declared {dtype} but was given {values.dtype}")
    assert reason in message
