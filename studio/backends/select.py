"""Open a network on the best backend and device, honouring the user's override."""

from __future__ import annotations

import importlib.util

from studio.backends.base import Session
from studio.core.errors import BackendUnavailableError, ModelError
from studio.core.manifest import Manifest


def installed_backends() -> tuple[str, ...]:
    """Backends whose runtime is importable, without importing it (torch costs ~1 s)."""
    return tuple(
        name
        for name, module in (("onnx", "onnxruntime"), ("torch", "torch"))
        if importlib.util.find_spec(module) is not None
    )


def resolve_backend(manifest: Manifest, backend: str) -> str:
    """'auto' -> ONNX Runtime when the model ships ONNX (faster on CPU), else torch."""
    offered = manifest.backends
    installed = installed_backends()
    if backend == "auto":
        for candidate in ("onnx", "torch"):
            if candidate in offered and candidate in installed:
                return candidate
        raise BackendUnavailableError(
            f"model {manifest.id!r} needs one of {list(offered)}, none is installed"
        )
    if backend not in offered:
        raise BackendUnavailableError(
            f"model {manifest.id!r} has no {backend} weights; it offers {list(offered)}"
        )
    if backend not in installed:
        raise BackendUnavailableError(f"the {backend} backend is not installed")
    return backend


def open_session(
    manifest: Manifest,
    network: str,
    backend: str = "auto",
    device: str = "auto",
    threads: int | None = None,
) -> Session:
    if network not in manifest.networks:
        raise ModelError(f"model {manifest.id!r} has no network {network!r}")
    spec = manifest.networks[network]
    chosen = resolve_backend(manifest, backend)
    if chosen == "onnx":
        from studio.backends.onnx import OnnxSession

        return OnnxSession(spec, device, threads)
    from studio.backends.torch import TorchSession

    return TorchSession(spec, device, threads)


def gpu_devices() -> list[str]:
    """GPU paths the installed runtimes offer; imports ONNX Runtime (and torch if loaded)."""
    import sys

    found = []
    if "onnx" in installed_backends():
        from studio.backends.onnx import available_gpu_providers

        found += [f"onnx: {p}" for p in available_gpu_providers()]
    torch = sys.modules.get("torch")  # importing torch only to list devices costs ~1 s
    if torch is not None:
        if torch.cuda.is_available():
            found.append(f"torch: cuda ({torch.cuda.get_device_name(0)})")
        elif torch.backends.mps.is_available():
            found.append("torch: mps")
    return found
