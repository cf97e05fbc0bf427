"""The Session interface: named numpy inputs in, named numpy outputs out, typed as the manifest
declares (see `Session.run`).

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
    def _run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Inputs already checked and in their declared dtypes -> outputs by name."""

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Arrays named as the manifest's inputs -> numpy arrays named as its outputs.

        Each input must have its declared shape (named axes are free) and is converted to its
        declared dtype when no value changes but float precision: float64 -> float32/float16
        (a finite value beyond float16's range is refused), integers and bools -> any dtype
        that holds them exactly (so 3.0 -> int64 is fine, 3.5 or 300 -> uint8 is not), 0 and
        1 -> bool. Anything else raises ModelError naming the network, the input and both
        dtypes. Outputs come back in their real dtype, except that float16 comes back as
        float32: families do their maths in float32.
        """
        typed: dict[str, np.ndarray] = {}
        for tensor in self.spec.inputs:
            if tensor.name not in inputs:
                raise ModelError(f"{self.spec.name}: input {tensor.name!r} was not given")
            array = np.asarray(inputs[tensor.name])
            check_shape(array.shape, tensor, f"{self.spec.name} input")
            typed[tensor.name] = to_declared(array, tensor, self.spec.name)
        outputs = self._run(typed)
        return {name: returned(array) for name, array in outputs.items()}

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


def returned_dtype(dtype: str) -> str:
    """The dtype `Session.run` hands back for an output declared (or produced) as `dtype`."""
    return "float32" if dtype == "float16" else dtype


def returned(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float32) if array.dtype == np.float16 else array


def to_declared(array: np.ndarray, spec: TensorSpec, network: str) -> np.ndarray:
    """`array` as `spec.dtype`, or ModelError when converting would change a value (other than
    rounding a float to a narrower float)."""
    target = np.dtype(spec.dtype)
    if array.dtype == target:
        return array  # the common case costs nothing
    if array.dtype.kind not in "biuf":
        problem: str | None = "that kind of array has no numeric conversion"
        converted = array
    else:
        with np.errstate(invalid="ignore", over="ignore"):  # judged below, not warned
            converted = array.astype(target)
        problem = _changed_value(array, converted)
    if problem is not None:
        raise ModelError(
            f"{network}: input {spec.name!r} is declared {spec.dtype} but was given "
            f"{array.dtype} values that do not convert safely: {problem}"
        )
    return converted


def _changed_value(array: np.ndarray, converted: np.ndarray) -> str | None:
    """Why `converted` is not a faithful copy of `array`, or None when it is."""
    if array.dtype.kind == "f" and converted.dtype.kind == "f":
        # float to float may round; it must not overflow a finite value to infinity. Widening
        # cannot, and one pass over the result clears the usual narrowing (float64 latents)
        if converted.itemsize >= array.itemsize or not np.isinf(converted).any():
            return None
        broken = np.isinf(converted) & ~np.isinf(array)
    else:
        broken = converted != array  # NaN never equals, so NaN -> integer is caught too
    bad = np.flatnonzero(broken)
    if bad.size == 0:
        return None
    first = bad[0]
    return (
        f"{array.flat[first].item()!r} would become {converted.flat[first].item()!r} "
        f"({bad.size} of {array.size} values change)"
    )
