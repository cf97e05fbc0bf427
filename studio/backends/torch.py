"""PyTorch sessions: an architecture from studio.nets with weights from safetensors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from studio.backends.base import (
    DeviceChoice,
    Session,
    check_shape,
    concrete_shape,
    returned_dtype,
)
from studio.core.errors import ModelError
from studio.core.manifest import NetworkSpec

if TYPE_CHECKING:  # annotations only: torch is imported when a session opens, not before
    import torch


def pick_device(device: str) -> tuple[str, str | None]:
    """(torch device string, fallback reason or None) for "auto" | "cpu" | "gpu"."""
    import torch

    if device == "cpu":
        return "cpu", None
    if torch.cuda.is_available():
        return "cuda:0", None
    if torch.backends.mps.is_available():
        return "mps", None
    return "cpu", ("no GPU (CUDA or MPS) is available to PyTorch" if device == "gpu" else None)


class TorchSession(Session):
    def __init__(self, spec: NetworkSpec, device: str = "auto", threads: int | None = None) -> None:
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from studio.nets.registry import build

        if spec.safetensors is None or spec.architecture is None:
            raise ModelError(
                f"{spec.name}: the manifest names no safetensors file and architecture"
            )
        if threads:
            torch.set_num_threads(threads)
        torch_device, fallback = pick_device(device)
        module = build(spec.architecture, spec.config)
        name = spec.safetensors.path.name
        try:
            state = load_file(str(spec.safetensors.path))
        except (SafetensorError, OSError) as exc:
            raise ModelError(f"{name}: not a readable safetensors file ({exc})") from exc
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(
                f"{name}: weights do not fit architecture {spec.architecture!r} ({exc})"
            ) from exc
        # float16 (or bfloat16) weights are computed in float32, on every device:
        # load_state_dict copied them into float32 parameters, and .float() says so for any
        # an architecture made otherwise. CPU float16 kernels are missing or slow for some
        # ops, and our networks are small enough that half the memory is not worth a second
        # numeric path. Float inputs are fed as float32 to match (see _tensor).
        self._module = module.float().eval().to(torch_device)
        self._torch = torch
        super().__init__(
            spec, DeviceChoice("torch", torch_device, fallback), spec.safetensors.sha256
        )
        self._check_declared_shapes()

    def frozen_module(self) -> torch.nn.Module:
        """The network itself, for methods that need gradients through it (style by
        optimisation): in eval mode, on this session's device, its own weights frozen."""
        for parameter in self._module.parameters():
            parameter.requires_grad_(False)
        return self._module

    def _check_declared_shapes(self) -> None:
        """torch modules declare neither shapes nor dtypes: run a probe of zeros in the
        declared dtypes (class 0 is a valid index) and compare what comes back. Free axes are
        2, not 1: a reflection pad (the AdaIN decoder) needs two pixels to reflect."""
        probe = {
            t.name: np.zeros(concrete_shape(t.shape, batch=2), t.dtype) for t in self.spec.inputs
        }
        outputs = self._run(probe)
        for tensor in self.spec.outputs:
            output = outputs[tensor.name]
            check_shape(output.shape, tensor, f"{self.spec.name} output")
            if output.dtype.name != returned_dtype(tensor.dtype):
                raise ModelError(
                    f"{self.spec.name}: the manifest declares output {tensor.name!r} as "
                    f"{tensor.dtype} (networks.{self.spec.name}.outputs.{tensor.name}.dtype), "
                    f"the network returns {output.dtype.name}"
                )

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        tensor = self._torch.from_numpy(np.ascontiguousarray(array))
        if tensor.is_floating_point():
            tensor = tensor.float()  # the weights are float32 (see __init__)
        return tensor.to(self.choice.device)

    def _run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self._torch
        args = [self._tensor(inputs[t.name]) for t in self.spec.inputs]
        with torch.inference_mode():
            outputs = self._module(*args)
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        if len(outputs) != len(self.spec.outputs):
            raise ModelError(
                f"{self.spec.name}: the network returned {len(outputs)} outputs, "
                f"the manifest declares {len(self.spec.outputs)}"
            )
        # floats come back as float32 (numpy has no bfloat16); integers and bools as they are
        return {
            t.name: (o.float() if o.is_floating_point() else o).cpu().numpy()
            for t, o in zip(self.spec.outputs, outputs, strict=True)
        }
