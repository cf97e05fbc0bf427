"""The Session interface: named numpy inputs in, named numpy outputs out.

Families see only this; no torch or ONNX Runtime object crosses it. A session reports the
backend and the device or provider that actually runs it, and why it fell back if it did.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from studio.core.errors import ModelError
from studio.core.manifest import Dim, NetworkSpec, TensorSpec


@dataclass(frozen=True)
class DeviceChoice:
    """What a session runs on: `device` is what ran, `fallback` says why it is not a GPU
    when one was asked for or expected (None when nothing fell back)."""

    backend: str  # "onnx" | "torch"
    device: str  # "CPUExecutionProvider", "CUDAExecutionProvider", "cpu", "cuda:0", "mps"
    fallback: str | None = None

    @property
    def is_gpu(self) -> bool:
        return not self.device.lower().startswith("cpu")


class Session(ABC):
    """One loaded network. `run` is thread-safe for one caller at a time (the engine's worker)."""

    def __init__(self, spec: NetworkSpec, choice: DeviceChoice, weights_sha256: str) -> None:
        self.spec = spec
        self.choice = choice
        self.weights_sha256 = weights_sha256

    @abstractmethod
    def _run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """float32 arrays named as the manifest's inputs -> arrays named as its outputs."""
        for tensor in self.spec.inputs:
            if tensor.name not in inputs:
                raise ModelError(f"{self.spec.name}: input {tensor.name!r} was not given")
            check_shape(inputs[tensor.name].shape, tensor, f"{self.spec.name} input")
        return self._run(inputs)

    @property
    def nbytes(self) -> int:
        """Approximate memory held: the weights file's size."""
        weights = self.spec.onnx if self.choice.backend == "onnx" else self.spec.safetensors
        return weights.path.stat().st_size if weights else 0


def check_shape(actual: Sequence[int | str | None], spec: TensorSpec, what: str) -> None:
    """Raise ModelError when a real shape contradicts a declared one (named axes are free)."""
    if len(actual) != len(spec.shape):
        raise ModelError(
            f"{what} {spec.name!r} has {len(actual)} dimensions {tuple(actual)}; "
            f"the manifest declares {len(spec.shape)} {spec.shape}"
        )
    for axis, (real, declared) in enumerate(zip(actual, spec.shape, strict=True)):
        if isinstance(declared, int) and isinstance(real, int) and real != declared:
            raise ModelError(
                f"{what} {spec.name!r} has size {real} on axis {axis}; "
                f"the manifest declares {declared} (shape {spec.shape})"
            )


def concrete_shape(shape: tuple[Dim, ...], batch: int = 1) -> tuple[int, ...]:
    """A declared shape with every named axis set to `batch`."""
    return tuple(batch if isinstance(d, str) else d for d in shape)
