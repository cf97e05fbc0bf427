"""Write trained networks as a bundled model's files: ONNX, safetensors, float16 storage.

The manifest beside them is written by manifest_writer.py; `origin` and `write_manifest`
here are the untyped forms kept for recipes that build their manifest as a dict.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from safetensors.torch import save_file

from studio.training.manifest_writer import DEFAULT_LICENCE, train_command, write_table

M = TypeVar("M", bound=torch.nn.Module)


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


def export_onnx_dynamic(
    module: torch.nn.Module,
    inputs: Mapping[str, torch.Tensor],
    path: Path,
    output_names: list[str],
    axes: Mapping[str, Mapping[int, str]],
) -> None:
    """One self-contained .onnx file whose named axes are free, e.g. {"image": {0: "batch",
    2: "height", 3: "width"}}; inputs sharing an axis name share its size."""
    module.eval()
    dims: dict[str, torch.export.Dim] = {}
    for spec in axes.values():
        for name in spec.values():
            top = 1024 if name == "batch" else 8192
            dims.setdefault(name, torch.export.Dim(name, min=1, max=top))
    dynamic = {name: {axis: dims[label] for axis, label in axes[name].items()} for name in inputs}
    with warnings.catch_warnings():
        # as in export_onnx: the exporter's own deprecations, and its note that inputs
        # share an axis, which they do on purpose
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*axis name: .* will not be used")
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(path),
            input_names=list(inputs),
            output_names=output_names,
            dynamic_shapes=dynamic,
            external_data=False,
            dynamo=True,
            verbose=False,
        )


def halve_onnx_initializers(path: Path) -> None:
    """Store every float32 initializer with more than 1,024 values as float16, each read back
    through a Cast to float32 (ONNX Runtime folds the casts when it loads the session): half
    the file, the same float32 arithmetic."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        if values.size <= 1024:
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(values.astype(np.float16), f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(graph.node)  # casts first: the graph stays topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def save_half(module: torch.nn.Module, path: Path) -> None:
    """safetensors with float16 weights; load_state_dict casts them back to float32."""
    state = {k: v.detach().half().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(path))


def round_to_half(module: M) -> M:
    """Round every weight to float16 precision (kept float32): the stored model's weights."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(parameter.half().float())
    return module


def ort_seconds(path: Path, inputs: Mapping[str, np.ndarray], repeats: int = 2) -> float:
    """Best wall time of `repeats` runs of an ONNX file with one ONNX Runtime thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, dict(inputs))
        best = min(best, time.perf_counter() - start)
    return best


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- the untyped manifest, for recipes not on manifest_writer.ModelCard yet -----------------
def origin(
    model_id: str,
    data: str,
    onnx_torch_diff: float,
    licence: str = DEFAULT_LICENCE,
) -> dict[str, Any]:
    """The manifest's [origin]: how to rebuild the model, from what, under which licence."""
    return {
        "train": train_command(model_id),
        "data": data,
        "licence": licence,
        "onnx_torch_max_abs_diff": onnx_torch_diff,
    }


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """manifest.toml in `folder`, filling each network file's sha256 from disk (not
    validated; manifest_writer.write_manifest writes and validates a typed ModelCard)."""
    return write_table(folder, manifest, validate=False)
