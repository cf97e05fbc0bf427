"""Write a trained network as a bundled model: ONNX + safetensors + manifest.toml."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
import torch
from safetensors.torch import save_file

from studio.core.manifest import file_sha256


def export_onnx(
    module: torch.nn.Module,
    inputs: Mapping[str, torch.Tensor],
    path: Path,
    output_names: str | list[str],
) -> None:
    """One self-contained .onnx file with a shared dynamic batch axis. `inputs` are named and
    ordered as the module's forward arguments."""
    module.eval()
    outputs = [output_names] if isinstance(output_names, str) else output_names
    batch = torch.export.Dim("batch", min=1, max=1024)
    with warnings.catch_warnings():
        # torch's exporter trips over its own deprecations (treespec FutureWarning) and says
        # as a warning that inputs share the batch axis, which they do on purpose
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*axis name: batch will not be used")
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(path),
            input_names=list(inputs),
            output_names=outputs,
            dynamic_shapes={name: {0: batch} for name in inputs},
            external_data=False,
            dynamo=True,
            verbose=False,
        )


def export_safetensors(module: torch.nn.Module, path: Path) -> None:
    save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path))


def onnx_torch_max_diff(
    module: torch.nn.Module, onnx_path: Path, inputs: Mapping[str, torch.Tensor]
) -> float:
    """Largest absolute difference between torch eager and ONNX Runtime, over every output."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    with torch.no_grad():
        torch_outputs = module(*inputs.values())
    if isinstance(torch_outputs, torch.Tensor):
        torch_outputs = (torch_outputs,)
    return max(
        float(np.abs(a - b.numpy()).max()) for a, b in zip(onnx_outputs, torch_outputs, strict=True)
    )


def export_network(
    module: torch.nn.Module,
    inputs: Mapping[str, torch.Tensor],
    folder: Path,
    name: str,
    output_names: str | list[str],
    safetensors: bool = True,
) -> float:
    """name.onnx (+ name.safetensors) in folder; returns the ONNX vs torch max difference."""
    export_onnx(module, inputs, folder / f"{name}.onnx", output_names)
    if safetensors:
        export_safetensors(module, folder / f"{name}.safetensors")
    return onnx_torch_max_diff(module, folder / f"{name}.onnx", inputs)


def origin(
    model_id: str,
    data: str,
    onnx_torch_diff: float,
    licence: str = "Model weights: same licence as the project; data: see data",
) -> dict:
    """The manifest's [origin]: how to rebuild the model, from what, under which licence."""
    return {
        "train": f"python -m studio.training {model_id}",
        "data": data,
        "licence": licence,
        "onnx_torch_max_abs_diff": onnx_torch_diff,
    }


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """manifest.toml in `folder`, filling each network file's sha256 from disk."""
    for network in manifest.get("networks", {}).values():
        for fmt in ("onnx", "safetensors"):
            if fmt in network:
                network[fmt]["sha256"] = file_sha256(folder / network[fmt]["path"])
    path = folder / "manifest.toml"
    path.write_text(tomli_w.dumps(manifest), encoding="utf-8")
    return path
