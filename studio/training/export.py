"""Write a trained network as a bundled model: ONNX + safetensors + manifest.toml."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
import torch
from safetensors.torch import save_file

from studio.core.manifest import file_sha256


def export_onnx(
    module: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    input_name: str,
    output_names: str | list[str],
) -> None:
    """One self-contained .onnx file with a dynamic batch axis. `input_name` must be the name
    of the module's forward argument."""
    module.eval()
    outputs = [output_names] if isinstance(output_names, str) else output_names
    with warnings.catch_warnings():
        # torch's exporter trips over its own deprecations (treespec FutureWarning): not ours
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=outputs,
            dynamic_shapes={input_name: {0: torch.export.Dim("batch", min=1, max=1024)}},
            external_data=False,
            dynamo=True,
            verbose=False,
        )


def export_safetensors(module: torch.nn.Module, path: Path) -> None:
    save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path))


def onnx_torch_max_diff(module: torch.nn.Module, onnx_path: Path, example: np.ndarray) -> float:
    """Largest absolute difference between torch eager and ONNX Runtime on `example`, over
    every output."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(None, {session.get_inputs()[0].name: example})
    with torch.no_grad():
        torch_outputs = module(torch.from_numpy(example))
    if isinstance(torch_outputs, torch.Tensor):
        torch_outputs = (torch_outputs,)
    return max(
        float(np.abs(a - b.numpy()).max()) for a, b in zip(onnx_outputs, torch_outputs, strict=True)
    )


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """manifest.toml in `folder`, filling each network file's sha256 from disk."""
    for network in manifest.get("networks", {}).values():
        for fmt in ("onnx", "safetensors"):
            if fmt in network:
                network[fmt]["sha256"] = file_sha256(folder / network[fmt]["path"])
    path = folder / "manifest.toml"
    path.write_text(tomli_w.dumps(manifest), encoding="utf-8")
    return path
