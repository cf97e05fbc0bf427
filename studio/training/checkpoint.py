"""Checkpoints without pickles: tensors in safetensors, everything else in JSON beside them.

A state is a tree of dicts, lists and tuples whose leaves are tensors or JSON values (str,
int, float, bool, None). `save_checkpoint` splits it: every tensor goes into
`<stem>.safetensors` under its path in the tree ("recipe/networks/generator/body.0.weight"),
and `<stem>.json` keeps the tree with each tensor replaced by {"$tensor": path}. Optimiser
state dicts fit as they are: their per-parameter state is keyed by int, and a dict with keys
that are not all strings is stored as {"$items": [[key, value], ...]}; tuples as
{"$tuple": [...]}.

Both files go to temporaries first and are moved into place, the JSON last. The step is
written into both (the safetensors metadata and the JSON), so a pair torn by a crash between
the two moves is refused on load instead of resuming from mismatched halves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from studio.core.errors import StudioError

FORMAT = 1
_TENSOR, _ITEMS, _TUPLE = "$tensor", "$items", "$tuple"


class CheckpointError(StudioError):
    """A checkpoint cannot be read, is torn, or does not fit the run resuming from it."""

    def __init__(self, path: Path, field: str, reason: str) -> None:
        self.path, self.field, self.reason = str(path), field, reason
        super().__init__(f"{path} [{field}]: {reason}" if field else f"{path}: {reason}")


def flatten(tree: Any, prefix: str = "") -> tuple[dict[str, torch.Tensor], Any]:
    """(tensors by path, JSON skeleton) of a state tree; tensors are detached copies."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, torch.Tensor):
            # a copy: safetensors refuses tensors that share storage (tied weights, views)
            tensors[path] = node.detach().cpu().clone().contiguous()
            return {_TENSOR: path}
        if isinstance(node, Mapping):
            if all(isinstance(k, str) and not k.startswith("$") for k in node):
                return {k: walk(v, f"{path}/{k}") for k, v in node.items()}
            return {_ITEMS: [[k, walk(v, f"{path}/{k}")] for k, v in node.items()]}
        if isinstance(node, tuple):
            return {_TUPLE: [walk(v, f"{path}/{i}") for i, v in enumerate(node)]}
        if isinstance(node, list):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(node)]
        if node is None or isinstance(node, str | int | float | bool):
            return node
        raise TypeError(f"{path or '/'}: cannot store a {type(node).__name__} in a checkpoint")

    return tensors, walk(tree, prefix)


def unflatten(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of `flatten`: the skeleton with every {"$tensor": path} filled in."""
    if isinstance(skeleton, list):
        return [unflatten(v, tensors) for v in skeleton]
    if not isinstance(skeleton, dict):
        return skeleton
    if _TENSOR in skeleton:
        return tensors[skeleton[_TENSOR]]
    if _ITEMS in skeleton:
        return {k: unflatten(v, tensors) for k, v in skeleton[_ITEMS]}
    if _TUPLE in skeleton:
        return tuple(unflatten(v, tensors) for v in skeleton[_TUPLE])
    return {k: unflatten(v, tensors) for k, v in skeleton.items()}


def paths(stem: Path) -> tuple[Path, Path]:
    """(tensors file, JSON file) of the checkpoint `stem`, e.g. runs/x/checkpoint."""
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def save_checkpoint(stem: Path, state: Mapping[str, Any], info: Mapping[str, Any]) -> None:
    """Write `state` (a tree, see the module docstring) and `info` (JSON values; must hold
    an int "step") as <stem>.safetensors + <stem>.json, replacing an older pair."""
    tensor_path, json_path = paths(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors, skeleton = flatten(state)
    step = str(int(info["step"]))
    partial = tensor_path.with_suffix(".partial.safetensors")
    save_file(tensors, str(partial), metadata={"step": step, "format": str(FORMAT)})
    text = json.dumps({"format": FORMAT, **info, "state": skeleton}, indent=1)
    partial_json = json_path.with_suffix(".partial.json")
    partial_json.write_text(text, encoding="utf-8")
    os.replace(partial, tensor_path)
    os.replace(partial_json, json_path)


def load_checkpoint(stem: Path) -> tuple[Any, dict[str, Any]]:
    """(state tree, info) written by `save_checkpoint`. Raises CheckpointError when a file is
    missing or unreadable, or the two halves come from different steps."""
    tensor_path, json_path = paths(stem)
    if not json_path.is_file():
        reason = "has no JSON half (an old weights-only checkpoint?)"
        raise CheckpointError(tensor_path, "", reason if tensor_path.is_file() else "not found")
    try:
        info = json.loads(json_path.read_text(encoding="utf-8"))
        with safe_open(str(tensor_path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (OSError, ValueError, SafetensorError) as exc:  # ValueError: bad JSON
        raise CheckpointError(json_path, "", f"cannot be read ({exc})") from exc
    if info.get("format") != FORMAT:
        raise CheckpointError(json_path, "format", f"is {info.get('format')!r}, not {FORMAT}")
    if metadata.get("step") != str(info.get("step")):
        reason = f"says step {info.get('step')}, the tensors step {metadata.get('step')}"
        raise CheckpointError(json_path, "step", reason + " (a torn write?)")
    return unflatten(info.pop("state"), tensors), info
