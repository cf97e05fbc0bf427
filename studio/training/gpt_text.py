"""Train the byte-level GPT on the King James Bible and export `gpt-kjv`.

Next-byte cross-entropy on random windows; AdamW with a short warm-up and a cosine decay over
the time budget; a held-out tenth of the text (every tenth 64 KB block) gives the reported
loss in nats and bits per byte.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch.nn import functional as F

from studio.nets.gpt import GPT, GPTConfig, GPTStep
from studio.training.export import (
    export_onnx,
    export_safetensors,
    onnx_torch_max_diff,
    origin,
    write_manifest,
)
from studio.training.kjv_data import DATA_LICENCE, load_or_build

MODEL_ID = "gpt-kjv"
_HELD_OUT_BLOCK = 64 * 1024
log = logging.getLogger(__name__)


def split_bytes(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, held out): every tenth block of 64 KB is held out, so both span the corpus."""
    blocks = [data[i : i + _HELD_OUT_BLOCK] for i in range(0, len(data), _HELD_OUT_BLOCK)]
    held = [b for i, b in enumerate(blocks) if i % 10 == 5]
    return np.concatenate([b for i, b in enumerate(blocks) if i % 10 != 5]), np.concatenate(held)


def batch_of(
    data: np.ndarray, block: int, size: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    starts = rng.integers(0, len(data) - block - 1, size)
    windows = np.stack([data[s : s + block + 1] for s in starts]).astype(np.int64)
    tokens = torch.from_numpy(windows)
    return tokens[:, :-1], tokens[:, 1:]


def held_out_loss(model: GPT, data: np.ndarray, batches: int = 16, size: int = 16) -> float:
    """Mean next-byte cross-entropy (nats) on fixed windows of the held-out text."""
    rng = np.random.default_rng(1234)
    model.eval()
    losses = []
    with torch.no_grad():
        for _ in range(batches):
            x, y = batch_of(data, model.config.block_size, size, rng)
            losses.append(F.cross_entropy(model.logits(x).flatten(0, 1), y.flatten()).item())
    model.train()
    return float(np.mean(losses))


def learning_rate(progress: float, step: int, peak: float, warmup: int = 200) -> float:
    """Linear warm-up over `warmup` steps, then cosine from `peak` to peak/10 as `progress`
    (the spent fraction of the budget) goes 0 -> 1."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * min(progress, 1.0))))


def train_gpt(
    text: str,
    config: GPTConfig,
    minutes: float,
    max_steps: int | None = None,
    batch_size: int = 16,
    peak_lr: float = 1e-3,
    on_progress=None,
    start_from: Path | None = None,
) -> tuple[GPT, int, float]:
    """Returns (model in eval mode, steps, held-out loss in nats per byte)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    train, held = split_bytes(np.frombuffer(text.encode("utf-8"), np.uint8))
    model = GPT(config)
    if start_from is not None:
        model.load_state_dict(load_file(str(start_from)))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimiser = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=peak_lr,
        betas=(0.9, 0.99),
    )
    start, budget = time.monotonic(), minutes * 60
    steps, losses = 0, []
    while (max_steps is None or steps < max_steps) and time.monotonic() - start < budget:
        for group in optimiser.param_groups:
            group["lr"] = learning_rate((time.monotonic() - start) / budget, steps, peak_lr)
        x, y = batch_of(train, config.block_size, batch_size, rng)
        loss = F.cross_entropy(model.logits(x).flatten(0, 1), y.flatten())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(loss.item())
        steps += 1
        if on_progress is not None and steps % 250 == 0:
            on_progress(steps, float(np.mean(losses[-250:])), model, held)
    model.eval()
    return model, steps, held_out_loss(model, held)


def greedy_sample(model: GPT, prompt: str, length: int = 200) -> str:
    """A quick look during training (no cache: the app's family does the real sampling)."""
    ids = list(prompt.encode("utf-8"))
    with torch.no_grad():
        for _ in range(length):
            window = torch.tensor([ids[-model.config.block_size :]])
            ids.append(int(model.logits(window)[0, -1].argmax()))
    return bytes(ids).decode("utf-8", errors="replace")


def export_gpt(
    model: GPT,
    folder: Path,
    meta: dict,
    model_id: str = MODEL_ID,
    name: str = "King James Bible GPT",
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = model.config
    step = GPTStep(config).eval()
    step.load_state_dict(model.state_dict())
    heads, head_size = config.n_head, config.n_embd // config.n_head
    window = torch.randint(0, config.vocab_size, (2, config.block_size)).float()
    cache = (2, config.n_layer, heads, config.block_size, head_size)
    step_inputs = {
        "token": torch.tensor([[65.0], [66.0]]),
        "position": torch.tensor([3.0, config.block_size - 1.0]),
        "past_keys": torch.randn(cache),
        "past_values": torch.randn(cache),
    }
    export_onnx(model, {"tokens": window}, folder / "forward.onnx", ["logits", "keys", "values"])
    export_onnx(step, step_inputs, folder / "step.onnx", ["logits", "keys", "values"])
    export_safetensors(model, folder / "gpt.safetensors")
    diff = max(
        onnx_torch_max_diff(model, folder / "forward.onnx", {"tokens": window}),
        onnx_torch_max_diff(step, folder / "step.onnx", step_inputs),
    )
    block, vocab, layers = config.block_size, config.vocab_size, config.n_layer
    kv_window = ["batch", layers, heads, block, head_size]
    kv_one = ["batch", layers, heads, 1, head_size]
    weights = {"safetensors": {"path": "gpt.safetensors"}, "config": asdict(config)}
    parameters = sum(p.numel() for p in model.parameters())
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": name,
            "family": "gpt",
            "modality": "text",
            "description": (
                f"Byte-level decoder-only transformer ({parameters:,} parameters, "
                f"{layers} layers, {config.n_embd} wide, {block}-byte context) trained on the "
                f"King James Bible; {meta['steps']:,} steps in {meta['minutes']:.0f} min on "
                f"CPU. Held-out loss {meta['loss']:.3f} nats/byte."
            ),
            "networks": {
                "forward": {
                    "architecture": "gpt",
                    "onnx": {"path": "forward.onnx"},
                    **weights,
                    "inputs": {"tokens": {"shape": ["batch", block]}},
                    "outputs": {
                        "logits": {"shape": ["batch", block, vocab]},
                        "keys": {"shape": kv_window},
                        "values": {"shape": kv_window},
                    },
                },
                "step": {
                    "architecture": "gpt-step",
                    "onnx": {"path": "step.onnx"},
                    **weights,
                    "inputs": {
                        "token": {"shape": ["batch", 1]},
                        "position": {"shape": ["batch"]},
                        "past_keys": {"shape": kv_window},
                        "past_values": {"shape": kv_window},
                    },
                    "outputs": {
                        "logits": {"shape": ["batch", vocab]},
                        "keys": {"shape": kv_one},
                        "values": {"shape": kv_one},
                    },
                },
            },
            "parameters": {
                "tokenizer": "bytes",
                "default_temperature": 0.8,
                "default_top_p": 0.95,
                "default_prompt": "And it came to pass",
            },
            "metrics": {
                "held_out_nats_per_byte": round(meta["loss"], 4),
                "held_out_bits_per_byte": round(meta["loss"] / math.log(2), 4),
                "training_steps": meta["steps"],
                "training_minutes": round(meta["minutes"], 1),
            },
            "origin": origin(
                model_id,
                DATA_LICENCE,
                diff,
                "Model weights: same licence as the project; data: public domain",
            ),
        },
    )


def build(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    text: str | None = None,
    config: GPTConfig | None = None,
    resume: bool = False,
) -> Path:
    config = config or GPTConfig()
    work.mkdir(parents=True, exist_ok=True)
    text = text if text is not None else load_or_build(work / "kjv.txt")
    start = time.monotonic()
    checkpoint = work / "checkpoint.safetensors"

    def on_progress(step: int, loss: float, model: GPT, held: np.ndarray) -> None:
        log.info("gpt step %d  train loss %.4f", step, loss)
        if step % 1000 == 0:
            log.info("held-out loss %.4f", held_out_loss(model, held, batches=4))
            log.info("sample: %r", greedy_sample(model, "And it came to pass", 120))
            export_safetensors(model, checkpoint)

    start_from = checkpoint if resume and checkpoint.exists() else None
    model, steps, loss = train_gpt(
        text, config, minutes, max_steps, on_progress=on_progress, start_from=start_from
    )
    export_safetensors(model, checkpoint)
    meta = {"steps": steps, "minutes": (time.monotonic() - start) / 60, "loss": loss}
    export_gpt(model, out, meta)
    log.info("held-out %.4f nats/byte; exported %s", loss, out)
    return out
