"""Train the byte-level GPT on the King James Bible and export `gpt-kjv`.

Next-byte cross-entropy on random windows; AdamW with a short warm-up and a cosine decay over
the time budget; a held-out tenth of the text (every tenth 64 KB block) gives the reported
loss in nats and bits per byte.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from studio.nets.gpt import GPT, GPTConfig, GPTStep
from studio.training.export import (
    export_onnx,
    export_safetensors,
    onnx_torch_max_diff,
    parameter_count,
)
from studio.training.kjv_data import DATA_LICENCE, load_or_build
from studio.training.loop import LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, write_manifest
from studio.training.schedules import learning_rate, set_learning_rate
from studio.training.trainable import Trainable

MODEL_ID = "gpt-kjv"
DATA_PUBLIC_DOMAIN = "Model weights: same licence as the project; data: public domain"
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


class GPTTraining(Trainable):
    """Next-byte cross-entropy on random windows of `train` (uint8 bytes); AdamW (weight
    decay 0.1 on matrices only, betas (0.9, 0.99)), gradients clipped at norm 1, learning
    rate warmed up over 200 steps, then cosine to a tenth over the budget."""

    def __init__(
        self,
        train: np.ndarray,
        held: np.ndarray,
        config: GPTConfig,
        rngs: Rngs,
        batch_size: int = 16,
        peak_lr: float = 1e-3,
    ) -> None:
        self.model = GPT(config)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        optimiser = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
            lr=peak_lr,
            betas=(0.9, 0.99),
        )
        super().__init__(batch_size, {"gpt": self.model}, {"adamw": optimiser})
        self.train, self.held, self.rng, self.peak_lr = train, held, rngs.numpy, peak_lr

    def step(self, tick: Tick) -> Mapping[str, float]:
        optimiser = self.optimisers["adamw"]
        set_learning_rate(optimiser, learning_rate(tick.progress, tick.index, self.peak_lr))
        x, y = batch_of(self.train, self.model.config.block_size, self.batch_size, self.rng)
        loss = F.cross_entropy(self.model.logits(x).flatten(0, 1), y.flatten())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        optimiser.step()
        return {"loss": loss.item()}

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        log.info("held-out loss %.4f", held_out_loss(self.model, self.held, batches=4))
        log.info("sample: %r", greedy_sample(self.model, "And it came to pass", 120))


def greedy_sample(model: GPT, prompt: str, length: int = 200) -> str:
    """A quick look during training (no cache: the app's family does the real sampling)."""
    ids = list(prompt.encode("utf-8"))
    with torch.no_grad():
        for _ in range(length):
            window = torch.tensor([ids[-model.config.block_size :]])
            ids.append(int(model.logits(window)[0, -1].argmax()))
    return bytes(ids).decode("utf-8", errors="replace")


def _networks(config: GPTConfig) -> dict[str, Network]:
    """forward: a whole window -> logits and its KV cache; step: one token and the cache."""
    heads, head_size = config.n_head, config.n_embd // config.n_head
    block, vocab, layers = config.block_size, config.vocab_size, config.n_layer
    kv_window = ("batch", layers, heads, block, head_size)
    kv_one = ("batch", layers, heads, 1, head_size)
    return {
        "forward": Network(
            "gpt",
            {"tokens": ("batch", block)},
            {"logits": ("batch", block, vocab), "keys": kv_window, "values": kv_window},
            config,
            "forward.onnx",
            "gpt.safetensors",
        ),
        "step": Network(
            "gpt-step",
            {
                "token": ("batch", 1),
                "position": ("batch",),
                "past_keys": kv_window,
                "past_values": kv_window,
            },
            {"logits": ("batch", vocab), "keys": kv_one, "values": kv_one},
            config,
            "step.onnx",
            "gpt.safetensors",
        ),
    }


def export_gpt(
    model: GPT,
    folder: Path,
    steps: int,
    minutes: float,
    loss: float,
    model_id: str = MODEL_ID,
    name: str = "King James Bible GPT",
) -> None:
    """forward.onnx (a whole window), step.onnx (one token with a KV cache), gpt.safetensors
    and manifest.toml in `folder`; `loss` is the held-out loss in nats per byte."""
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
    layers, block = config.n_layer, config.block_size
    card = ModelCard(
        id=model_id,
        name=name,
        family="gpt",
        modality="text",
        description=(
            f"Byte-level decoder-only transformer ({parameter_count(model):,} parameters, "
            f"{layers} layers, {config.n_embd} wide, {block}-byte context) trained on the "
            f"King James Bible; {steps:,} steps in {minutes:.0f} min on CPU. "
            f"Held-out loss {loss:.3f} nats/byte."
        ),
        networks=_networks(config),
        parameters={
            "tokenizer": "bytes",
            "default_temperature": 0.8,
            "default_top_p": 0.95,
            "default_prompt": "And it came to pass",
        },
        metrics={
            "held_out_nats_per_byte": round(loss, 4),
            "held_out_bits_per_byte": round(loss / math.log(2), 4),
            "training_steps": steps,
            "training_minutes": round(minutes, 1),
        },
        origin=Origin(DATA_LICENCE, diff, DATA_PUBLIC_DOMAIN),
    )
    write_manifest(folder, card)


def build(
    out: Path,
    run: Run,
    text: str | None = None,
    config: GPTConfig | None = None,
) -> Path:
    """Train on the King James Bible (or `text`, at least ~330 KB: every tenth 64 KB block
    from the sixth on is held out) and export into `out`."""
    config = config or GPTConfig()
    run.work.mkdir(parents=True, exist_ok=True)
    text = text if text is not None else load_or_build(run.work / "kjv.txt")
    train_bytes, held = split_bytes(np.frombuffer(text.encode("utf-8"), np.uint8))
    loop = LoopSettings(MODEL_ID, log_every=250, checkpoint_every=1000, preview_every=1000)
    outcome = train(lambda rngs: GPTTraining(train_bytes, held, config, rngs), run, loop)
    model = outcome.recipe.model.eval()
    loss = held_out_loss(model, held)
    model.eval()
    export_gpt(model, out, outcome.steps, outcome.minutes, loss)
    log.info("held-out %.4f nats/byte; exported %s", loss, out)
    return out
