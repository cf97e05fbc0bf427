"""ONNX Runtime sessions: GPU execution providers when the installed build has them."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from studio.backends.base import DeviceChoice, Session, check_shape
from studio.core.errors import ModelError
from studio.core.manifest import NetworkSpec, TensorSpec

# Preference order; ONNX Runtime silently skips providers it cannot start, so we read back
# what the session really got.
GPU_PROVIDERS = ("CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider")
CPU_PROVIDER = "CPUExecutionProvider"
# ONNX Runtime's names for the element types a manifest may declare
ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def available_gpu_providers() -> list[str]:
    import onnxruntime as ort

    installed = set(ort.get_available_providers())
    return [p for p in GPU_PROVIDERS if p in installed]


class OnnxSession(Session):
    def __init__(self, spec: NetworkSpec, device: str = "auto", threads: int | None = None) -> None:
        import onnxruntime as ort

        if spec.onnx is None:
            raise ModelError(f"{spec.name}: the manifest names no ONNX file")
        gpu = available_gpu_providers() if device in ("auto", "gpu") else []
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.log_severity_level = 3  # errors only: provider warnings are reported by us
        try:
            session = ort.InferenceSession(
                str(spec.onnx.path), options, providers=[*gpu, CPU_PROVIDER]
            )
        except Exception as exc:  # ORT raises its own non-exported exception types
            raise ModelError(f"{spec.onnx.path.name}: ONNX Runtime cannot load it ({exc})") from exc
        used = session.get_providers()[0]
        fallback = None
        if device == "gpu" and used == CPU_PROVIDER:
            fallback = "no GPU execution provider is available in this ONNX Runtime build"
        elif gpu and used == CPU_PROVIDER:
            fallback = f"{gpu[0]} failed to start; running on CPU"
        super().__init__(spec, DeviceChoice("onnx", used, fallback), spec.onnx.sha256)
        self._session = session
        self._file = spec.onnx.path.name
        self._check_declared_shapes()

    def _check_declared_shapes(self) -> None:
        """Every declared tensor exists in the graph with a compatible shape and the same
        element type: ONNX Runtime refuses a feed of any other type, so a wrong dtype is
        reported here, naming the manifest field, rather than at the first run."""
        real_inputs = {i.name: i for i in self._session.get_inputs()}
        real_outputs = {o.name: o for o in self._session.get_outputs()}
        for kind, declared, real in (
            ("input", self.spec.inputs, real_inputs),
            ("output", self.spec.outputs, real_outputs),
        ):
            for tensor in declared:
                if tensor.name not in real:
                    raise ModelError(
                        f"{self._file}: the manifest declares {kind} "
                        f"{tensor.name!r}, the model has {sorted(real)}"
                    )
                check_shape(real[tensor.name].shape, tensor, f"{self.spec.name} {kind}")
                self._check_dtype(kind, tensor, real[tensor.name].type)

    def _check_dtype(self, kind: str, tensor: TensorSpec, ort_type: str) -> None:
        graph_dtype = ORT_TYPES.get(ort_type, ort_type)
        if graph_dtype != tensor.dtype:
            field = f"networks.{self.spec.name}.{kind}s.{tensor.name}.dtype"
            raise ModelError(
                f"{self._file}: the manifest declares {kind} {tensor.name!r} as {tensor.dtype} "
                f"({field}), the ONNX graph's is {graph_dtype}"
            )

    def _run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        # already in the declared dtypes, which load checked against the graph's
        feeds = {t.name: np.ascontiguousarray(inputs[t.name]) for t in self.spec.inputs}
        names = [t.name for t in self.spec.outputs]
        try:
            outputs = self._session.run(names, feeds)
        except Exception as exc:  # ORT's runtime errors are not exported as types
            raise ModelError(f"{self.spec.name}: ONNX Runtime failed to run ({exc})") from exc
        return dict(zip(names, outputs, strict=True))
