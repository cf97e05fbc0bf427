"""Train the note WaveNet on the rendered notes and export `wavenet-notes-16k`.

Teacher forcing on random crops: cross-entropy of the 256 mu-law classes, Adam with a short
warm-up and a cosine decay over the time budget; every fifth pitch at the middle velocity is
held out for the reported loss. Crops that start inside a note lack the samples before them,
so only their columns past the receptive field count; a quarter of the crops start at the onset,
where the silence before the note is the true context, and count whole.

Export: `wavenet.safetensors` for the torch backend (architectures `wavenet` and
`wavenet-block`) and `block.onnx`, the Fast WaveNet sample loop for `BLOCK` samples compiled
into one ONNX `Loop` (see `block_graph`): stepping the WaveNet from Python costs a session
call per sample, far slower than real time, while the loop runs inside ONNX Runtime.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from safetensors.torch import load_file
from torch.nn import functional as F

from studio.core.pitch import phase_features
from studio.nets.wavenet import (
    SILENCE,
    WaveNet,
    WaveNetBlock,
    WaveNetConfig,
    empty_history,
    mu_law_decode,
    mu_law_encode,
)
from studio.training.export import export_safetensors, origin, write_manifest
from studio.training.gpt_text import learning_rate
from studio.training.notes_data import (
    DATA_LICENCE,
    HOLD_SECONDS,
    SAMPLE_RATE,
    NotesData,
    load_or_build,
)

MODEL_ID = "wavenet-notes-16k"
BLOCK = 64  # samples per block.onnx call: 4 ms of audio
CROP = 6000  # samples per training crop (0.375 s)
LOUDNESS_SCALE = 0.1  # RMS that the source's amplitude 1 stands for
log = logging.getLogger(__name__)


# ---- data -------------------------------------------------------------------------------


def source_features(audio: np.ndarray, pitch: np.ndarray, sample_rate: int) -> np.ndarray:
    """The local conditioning the notes were played with: audio (N, T), pitch (N,) MIDI ->
    (N, T, 2) float32 = loudness * (sin, cos) of the fundamental's phase.

    Why not the ideal phase 2 pi f0 t: a sampled instrument starts at an arbitrary phase and
    drifts off the nominal f0, so the ideal sinusoid does not line up with the waveform and
    teacher forcing learns to ignore it (the first model never played in tune). Here the
    phase is measured: heterodyne at f0, low-pass with a Hann window of four periods (deep
    nulls at every other harmonic), phase = 2 pi f0 t + angle. The amplitude is the RMS over
    the same window / LOUDNESS_SCALE, so the source also says how loud the note is and the
    free-running model has no reason to fade into silence. At generation the app feeds the
    ideal phase and an instrument's mean loudness curve (`loudness_table`), in tune by
    construction (the neural source-filter idea, Wang et al. 2019)."""
    n, t = audio.shape
    time_axis = np.arange(t)
    features = np.empty((n, t, 2), np.float32)
    for i in range(n):
        f0 = 440.0 * 2 ** ((float(pitch[i]) - 69) / 12)
        omega = 2 * np.pi * f0 / sample_rate
        window = np.hanning(max(3, round(4 * sample_rate / f0)))
        window /= window.sum()
        x = audio[i].astype(np.float64)
        base = np.convolve(x * np.exp(-1j * omega * time_axis), window, "same")
        loudness = np.sqrt(np.convolve(x**2, window, "same")) / LOUDNESS_SCALE
        phase = omega * time_axis + np.angle(base)
        features[i, :, 0] = loudness * np.sin(phase)
        features[i, :, 1] = loudness * np.cos(phase)
    return features


def loudness_table(data: NotesData, features: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """(instruments, T // block) float32: each instrument's mean source amplitude per block
    over its pitches and velocities; the app's loudness curve for a note."""
    amplitude = np.hypot(features[..., 0], features[..., 1])  # (N, T)
    frames = amplitude[:, : amplitude.shape[1] // block * block].reshape(len(amplitude), -1, block)
    per_note = frames.mean(-1)
    return np.stack(
        [per_note[data.instrument == k].mean(0) for k in range(len(data.instruments))]
    ).astype(np.float32)


def held_out(data: NotesData) -> np.ndarray:
    """bool (N,): every fifth pitch at the middle velocity, for every instrument."""
    middle = np.sort(np.unique(data.velocity))[len(np.unique(data.velocity)) // 2]
    return (data.pitch % 5 == 2) & (data.velocity == middle)


def batch_of(
    data: NotesData,
    source: np.ndarray,
    notes: np.ndarray,
    size: int,
    crop: int,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, ...]:
    """Random crops of random notes from the indices `notes` -> classes (B, T) int64, pitch
    (B,) float, instrument (B,) int64, source (B, T, 2) from `source_features`, loss weights
    (B, T)."""
    pick = rng.choice(notes, size)
    starts = rng.integers(0, data.audio.shape[1] - crop + 1, size)
    starts[rng.random(size) < 0.25] = 0  # a quarter at the onset
    audio = np.stack([data.audio[n, s : s + crop] for n, s in zip(pick, starts, strict=True)])
    weights = np.ones((size, crop), np.float32)
    weights[starts > 0, : WaveNetConfig().receptive_field] = 0.0  # no true context there
    return (
        mu_law_encode(torch.from_numpy(audio)),
        torch.from_numpy(data.pitch[pick].astype(np.float32)),
        torch.from_numpy(data.instrument[pick]),
        torch.from_numpy(
            np.stack([source[n, s : s + crop] for n, s in zip(pick, starts, strict=True)])
        ),
        torch.from_numpy(weights),
    )


def crop_loss(model: WaveNet, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Weighted mean cross-entropy (nats per sample) of the mu-law classes."""
    classes, pitch, instrument, phase, weights = batch
    logits = model(classes, pitch, model.timbre_table(instrument), phase)  # (B, 256, T)
    losses = F.cross_entropy(logits, classes, reduction="none")  # (B, T)
    return (losses * weights).sum() / weights.sum()


def held_out_loss(
    model: WaveNet, data: NotesData, source: np.ndarray, notes: np.ndarray, batches: int = 4
) -> float:
    rng = np.random.default_rng(1234)
    model.eval()
    with torch.no_grad():
        losses = [
            crop_loss(model, batch_of(data, source, notes, 8, CROP, rng)).item()
            for _ in range(batches)
        ]
    model.train()
    return float(np.mean(losses))


# ---- training ---------------------------------------------------------------------------


def train_wavenet(
    data: NotesData,
    source: np.ndarray,
    config: WaveNetConfig,
    minutes: float,
    max_steps: int | None = None,
    batch_size: int = 8,
    peak_lr: float = 2e-3,
    on_progress: Callable[[int, float, WaveNet], None] | None = None,
    start_from: Path | None = None,
) -> tuple[WaveNet, int, float]:
    """Returns (model in eval mode, steps, held-out loss in nats per sample)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    held = held_out(data)
    train, test = np.flatnonzero(~held), np.flatnonzero(held)
    model = WaveNet(config)
    if start_from is not None:
        model.load_state_dict(load_file(str(start_from)))
    optimiser = torch.optim.Adam(model.parameters(), lr=peak_lr)
    start, budget = time.monotonic(), minutes * 60
    steps, losses = 0, []
    while (max_steps is None or steps < max_steps) and time.monotonic() - start < budget:
        for group in optimiser.param_groups:
            progress = (time.monotonic() - start) / budget
            group["lr"] = learning_rate(progress, steps, peak_lr, warmup=100)
        loss = crop_loss(model, batch_of(data, source, train, batch_size, CROP, rng))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(loss.item())
        steps += 1
        if on_progress is not None and steps % 50 == 0:
            on_progress(steps, float(np.mean(losses[-50:])), model)
    model.eval()
    return model, steps, held_out_loss(model, data, source, test)


# ---- the compiled sample loop -----------------------------------------------------------


class _Graph:
    """Collects ONNX nodes and constants; each node gets fresh output names."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self._count = prefix, 0
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []

    def const(self, value: np.ndarray | float | int, name: str | None = None) -> str:
        self._count += 1
        name = name or f"{self.prefix}c{self._count}"
        self.constants.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attributes: Any) -> str:
        return self.ops(kind, *inputs, outputs=1, **attributes)[0]

    def ops(self, kind: str, *inputs: str, outputs: int, **attributes: Any) -> list[str]:
        self._count += 1
        names = [f"{self.prefix}{kind.lower()}{self._count}_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(kind, list(inputs), names, **attributes))
        return names


def block_graph(model: WaveNet, block: int = BLOCK) -> onnx.ModelProto:
    """WaveNetBlock.forward as one ONNX graph, same inputs and outputs, for `block` samples.

    Layers whose dilation is at least `block` (the "far" layers) read their whole block of
    past inputs from `history`: their past-tap products are one batched MatMul before the
    loop, together with all conditioning. The "near" layers keep a queue of their last D
    inputs (D their largest dilation) as a loop-carried tensor. Each iteration then costs a
    fixed ~6 nodes per layer: two Gemms (filter, gate) with the precomputed terms as their
    bias, tanh, sigmoid, product, and a Gemm that adds the residual."""
    config = model.config
    dil = config.dilations
    n_layers, h, c = len(dil), config.history_size, config.channels
    taps = range(1, config.kernel_size)  # past taps, nearest first
    near = [i for i, d in enumerate(dil) if d < block]
    far = [i for i, d in enumerate(dil) if d >= block]
    order = near + far  # the precomputed per-layer terms are stored in this order
    depth = max(((config.kernel_size - 1) * dil[i] for i in near), default=1)
    f32 = np.float32

    def weight(tensor: torch.Tensor) -> np.ndarray:
        return tensor.detach().cpu().numpy().astype(f32)

    layers = model.gated_layers()
    glob = config.pitch_size + config.timbre_size
    # conditioning and the current tap's bias for every layer: (P + E, L * 2C) and (2, L * 2C)
    w_glob = np.concatenate([weight(layers[i].condition.weight)[:, :glob] for i in order]).T
    w_local = np.concatenate([weight(layers[i].condition.weight)[:, glob:] for i in order]).T
    b_now = np.concatenate([weight(layers[i].now.bias) for i in order])

    g = _Graph("")
    # ---- before the loop: every term that does not depend on this block's samples
    pitch_vec = g.op(
        "Gather",
        g.const(weight(model.pitch_table.weight)),
        g.op("Cast", "pitch", to=TensorProto.INT64),
    )
    glob_terms = g.op(
        "Gemm", g.op("Concat", pitch_vec, "timbre", axis=1), g.const(w_glob), g.const(b_now)
    )
    pre = g.op(
        "Add",
        g.op("MatMul", "phase", g.const(w_local)),
        g.op("Unsqueeze", glob_terms, g.const(np.array([1]))),
    )
    pre = g.op(
        "Reshape", pre, g.const(np.array([0, block, n_layers, 1, 2 * c]))
    )  # (B, N, L, 1, 2C)
    flat_history = g.op(
        "Reshape", "history", g.const(np.array([0, n_layers * h, c]))
    )  # (B, L*H, C)
    if far:
        # (Lf, N, K - 1) rows of flat_history
        rows = np.array(
            [[[i * h + h - j * dil[i] + t for j in taps] for t in range(block)] for i in far]
        )
        w_far = np.stack([weight(layers[i].past.weight).T for i in far])  # (Lf, (K - 1) C, 2C)
        past = g.op("Gather", flat_history, g.const(rows), axis=1)  # (B, Lf, N, K - 1, C)
        past = g.op("Reshape", past, g.const(np.array([0, len(far), block, -1])))
        far_terms = g.op("MatMul", past, g.const(w_far))  # (B, Lf, N, 2C)
        far_terms = g.op("Transpose", far_terms, perm=[0, 2, 1, 3])  # (B, N, Lf, 2C)
        pad = np.array([0, 0, len(near), 0, 0, 0, 0, 0])  # zeros for the near layers first
        far_terms = g.op("Unsqueeze", g.op("Pad", far_terms, g.const(pad)), g.const(np.array([3])))
        pre = g.op("Add", pre, far_terms)
    # near queues, flattened time-major: (B, D * Ln * C), oldest row first
    near_rows = np.array([[i * h + h - depth + t for i in near] for t in range(depth)])  # (D, Ln)
    queue0 = g.op("Gather", flat_history, g.const(near_rows.reshape(depth, -1)), axis=1)
    queue0 = g.op("Reshape", queue0, g.const(np.array([0, -1])))
    x0 = g.op(
        "Gather",
        g.const(weight(model.embed.weight)),
        g.op("Cast", "previous", to=TensorProto.INT64),
    )
    temperature = g.op("Unsqueeze", "temperature", g.const(np.array([1])))  # (B, 1)
    uniform = g.op("Unsqueeze", g.op("Transpose", "uniform", perm=[1, 0]), g.const(np.array([2])))

    # ---- the loop body: one sample
    s = _Graph("s_")
    pre_i = s.op("Gather", pre, "i", axis=1)  # (B, L, 1, 2C)
    n_near = len(near)
    if near:
        # element indices of each near layer's past taps, nearest first: (Ln, 1, (K - 1) C)
        rows = np.array(
            [[(depth - j * dil[i]) * n_near + k for j in taps] for k, i in enumerate(near)]
        )
        elements = (rows[:, :, None] * c + np.arange(c)).reshape(n_near, 1, -1)
        w_near = np.stack([weight(layers[i].past.weight).T for i in near])  # (Ln, (K - 1) C, 2C)
        near_terms = s.op(
            "MatMul", s.op("Gather", "queue", s.const(elements), axis=1), s.const(w_near)
        )  # (B, Ln, 1, 2C)
        pad = np.array([0, 0, 0, 0, 0, len(far), 0, 0])  # zeros for the far layers last
        pre_i = s.op("Add", pre_i, s.op("Pad", near_terms, s.const(pad)))
    flat_pre = s.op("Reshape", pre_i, s.const(np.array([0, n_layers * 2 * c])))
    pieces = s.ops("Split", flat_pre, outputs=2 * n_layers, axis=1, num_outputs=2 * n_layers)
    x, inputs, gated = "x", {}, []
    for index, layer in enumerate(layers):
        inputs[index] = x
        w_now = weight(layer.now.weight)  # (2C, C): filter rows, then gate rows
        k = order.index(index)
        f = s.op("Gemm", x, s.const(w_now[:c]), pieces[2 * k], transB=1)
        gate = s.op("Gemm", x, s.const(w_now[c:]), pieces[2 * k + 1], transB=1)
        z = s.op("Mul", s.op("Tanh", f), s.op("Sigmoid", gate))
        gated.append(z)
        if index < n_layers - 1:  # the last layer's residual output is never used
            x = s.op("Gemm", z, s.const(weight(layer.residual.weight)), x, transB=1)
    w_skip = np.concatenate([weight(layer.skip.weight) for layer in layers], axis=1)  # (S, L*C)
    b_skip = sum(weight(layer.skip.bias) for layer in layers)
    hidden = s.op(
        "Gemm", s.op("Concat", *gated, axis=1), s.const(w_skip), s.const(b_skip), transB=1
    )
    first, second = model.hidden, model.output
    hidden = s.op(
        "Gemm",
        s.op("Relu", hidden),
        s.const(weight(first.weight)),
        s.const(weight(first.bias)),
        transB=1,
    )
    logits = s.op(
        "Gemm",
        s.op("Relu", hidden),
        s.const(weight(second.weight)),
        s.const(weight(second.bias)),
        transB=1,
    )
    # inverse-CDF sampling, as sample_inverse_cdf: the count of classes whose CDF is below u
    cdf = s.op(
        "CumSum", s.op("Softmax", s.op("Div", logits, temperature), axis=-1), s.const(np.array(1))
    )
    below = s.op(
        "Cast", s.op("Less", cdf, s.op("Gather", uniform, "i", axis=0)), to=TensorProto.INT64
    )
    sample = s.op(
        "Min",
        s.op("ReduceSum", below, s.const(np.array([1])), keepdims=0),
        s.const(np.array(config.classes - 1)),
    )  # (B,) int64
    x_next = s.op("Gather", s.const(weight(model.embed.weight)), sample)
    all_inputs = s.op("Concat", *[inputs[i] for i in range(n_layers)], axis=1)  # (B, L*C)
    queue_next = "queue"
    if near:
        newest = s.op("Concat", *[inputs[i] for i in near], axis=1)  # (B, Ln*C)
        end = np.array([depth * n_near * c])
        kept = s.op(
            "Slice", "queue", s.const(np.array([n_near * c])), s.const(end), s.const(np.array([1]))
        )
        queue_next = s.op("Concat", kept, newest, axis=1)
    body_outputs = [s.op("Identity", "going"), x_next, queue_next, all_inputs, sample]
    kinds = [TensorProto.BOOL, *[TensorProto.FLOAT] * 3, TensorProto.INT64]
    body = helper.make_graph(
        s.nodes,
        "sample",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("going", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("queue", TensorProto.FLOAT, None),
        ],
        [
            helper.make_tensor_value_info(name, kind, None)
            for name, kind in zip(body_outputs, kinds, strict=True)
        ],
        s.constants,
    )
    _, _, xs, samples = g.ops(
        "Loop", g.const(np.array(block)), g.const(np.array(True)), x0, queue0, outputs=4, body=body
    )
    # ---- after the loop: the block's samples and the queues shifted by `block`
    class_ids = g.op("Transpose", samples, perm=[1, 0])  # (B, N) int64
    classes = g.op("Cast", class_ids, to=TensorProto.FLOAT)
    xs = g.op(
        "Transpose",
        g.op("Reshape", xs, g.const(np.array([block, -1, n_layers, c]))),
        perm=[1, 2, 0, 3],
    )
    grown = g.op("Concat", "history", xs, axis=2)  # (B, L, H + N, C)
    history = g.op(
        "Slice",
        grown,
        g.const(np.array([block])),
        g.const(np.array([block + h])),
        g.const(np.array([2])),
    )
    table = mu_law_decode(torch.arange(config.classes)).numpy().astype(f32)
    audio = g.op("Gather", g.const(table), class_ids)
    previous = g.op("Gather", classes, g.const(np.array(block - 1)), axis=1)
    for name, value in [
        ("audio", audio),
        ("classes", classes),
        ("history_out", history),
        ("previous_out", previous),
    ]:
        g.nodes.append(helper.make_node("Identity", [value], [name]))

    def info(name: str, *shape: int | str) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *shape])

    graph = helper.make_graph(
        g.nodes,
        "wavenet_block",
        [
            info("history", n_layers, h, c),
            info("previous"),
            info("pitch"),
            info("timbre", config.timbre_size),
            info("phase", block, 2),
            info("uniform", block),
            info("temperature"),
        ],
        [
            info("audio", block),
            info("classes", block),
            info("history_out", n_layers, h, c),
            info("previous_out"),
        ],
        g.constants,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


# ---- export -----------------------------------------------------------------------------


def block_session(path: Path | bytes, threads: int = 1):
    """An ONNX Runtime session for block.onnx (a path or the serialised model)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    source = str(path) if isinstance(path, Path) else path
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def block_inputs(
    config: WaveNetConfig,
    pitch: np.ndarray,
    timbre: np.ndarray,
    uniform: np.ndarray,
    temperature: float = 1.0,
    start: int = 0,
) -> dict[str, np.ndarray]:
    """The inputs of the first call for a new note: pitch (B,), timbre (B, E), uniform (B, N)
    -> every input of WaveNetBlock / block.onnx as float32 arrays, in order."""
    batch, block = uniform.shape
    return {
        "history": empty_history(config, batch),
        "previous": np.full(batch, SILENCE, np.float32),
        "pitch": pitch.astype(np.float32),
        "timbre": timbre.astype(np.float32),
        "phase": phase_features(pitch, np.full(batch, start), block, config.sample_rate),
        "uniform": uniform.astype(np.float32),
        "temperature": np.full(batch, temperature, np.float32),
    }


def block_agreement(model: WaveNet, onnx_model: bytes, blocks: int = 4) -> tuple[float, int]:
    """Run `blocks` blocks of two voices through WaveNetBlock and block.onnx from the same
    state and uniforms -> (largest history difference while the samples agree, samples per
    voice that agree). Different float32 kernels can split a near-tie in the inverse CDF
    (u within ~1e-7 of a class boundary); from there on the voices go their own ways."""
    config = model.config
    step = WaveNetBlock(config).eval()
    step.load_state_dict(model.state_dict())
    session = block_session(onnx_model)
    rng = np.random.default_rng(7)
    pitch = np.array([55.0, 67.0])
    timbre = model.timbre_table.weight[:2].detach().numpy()
    uniform = rng.random((2, BLOCK * blocks))
    feeds = block_inputs(config, pitch, timbre, uniform[:, :BLOCK], 0.9)
    diff = 0.0
    for b in range(blocks):
        feeds["phase"] = phase_features(pitch, np.full(2, b * BLOCK), BLOCK, config.sample_rate)
        feeds["uniform"] = uniform[:, b * BLOCK : (b + 1) * BLOCK].astype(np.float32)
        with torch.no_grad():
            outputs = step(*(torch.from_numpy(v) for v in feeds.values()))
        _, classes_torch, history_torch, _ = (o.numpy() for o in outputs)
        _, classes, history, previous = session.run(None, feeds)
        mismatch = np.flatnonzero((classes != classes_torch).any(axis=0))
        if len(mismatch):
            return diff, b * BLOCK + int(mismatch[0])
        diff = max(diff, float(np.abs(history - history_torch).max()))
        feeds["history"], feeds["previous"] = history, previous
    return diff, blocks * BLOCK


def export_wavenet(
    model: WaveNet,
    folder: Path,
    meta: dict,
    instruments: tuple[str, ...],
    loudness: np.ndarray,
    model_id: str = MODEL_ID,
) -> None:
    """wavenet.safetensors, block.onnx and manifest.toml in `folder`; `loudness` is
    `loudness_table`'s (instruments, frames) curves."""
    folder.mkdir(parents=True, exist_ok=True)
    config = model.config
    export_safetensors(model, folder / "wavenet.safetensors")
    onnx_bytes = block_graph(model, BLOCK).SerializeToString()
    (folder / "block.onnx").write_bytes(onnx_bytes)
    diff, agreeing = block_agreement(model, onnx_bytes)
    log.info("block.onnx vs WaveNetBlock: %d samples agree, max diff %.2g", agreeing, diff)
    layers, h, c = len(config.dilations), config.history_size, config.channels
    history = ["batch", layers, h, c]
    parameters = sum(p.numel() for p in model.parameters())
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": "Note WaveNet (16 kHz)",
            "family": "wavenet",
            "modality": "audio",
            "description": (
                f"WaveNet ({parameters:,} parameters, {layers} gated dilated layers of "
                f"{c} channels, kernel {config.kernel_size}, receptive field "
                f"{config.receptive_field} samples) over 8-bit mu-law audio at "
                f"{config.sample_rate} Hz, conditioned on pitch, a timbre vector and a source "
                f"signal (loudness x the phase of f0); trained on {len(instruments)} General "
                f"MIDI instruments rendered with "
                f"FluidSynth, {meta['steps']:,} steps in {meta['minutes']:.0f} min on CPU. "
                f"Held-out loss {meta['loss']:.3f} nats/sample."
            ),
            "networks": {
                "block": {
                    "architecture": "wavenet-block",
                    "onnx": {"path": "block.onnx"},
                    "safetensors": {"path": "wavenet.safetensors"},
                    "config": asdict(config),
                    "inputs": {
                        "history": {"shape": history},
                        "previous": {"shape": ["batch"]},
                        "pitch": {"shape": ["batch"]},
                        "timbre": {"shape": ["batch", config.timbre_size]},
                        "phase": {"shape": ["batch", BLOCK, 2]},
                        "uniform": {"shape": ["batch", BLOCK]},
                        "temperature": {"shape": ["batch"]},
                    },
                    "outputs": {
                        "audio": {"shape": ["batch", BLOCK]},
                        "classes": {"shape": ["batch", BLOCK]},
                        "history_out": {"shape": history},
                        "previous_out": {"shape": ["batch"]},
                    },
                },
            },
            "parameters": {
                "sample_rate": config.sample_rate,
                "block": BLOCK,
                "silence_class": SILENCE,
                "note_seconds": 1.0,
                "pitch_range": [int(meta["pitch_min"]), int(meta["pitch_max"])],
                "default_temperature": 1.0,
                "instruments": list(instruments),
                # one row per instrument; the network takes any vector, e.g. a mix of rows
                "timbre_table": model.timbre_table.weight.detach().numpy().round(6).tolist(),
                # the source's amplitude per block of each instrument's first second (mean over
                # its notes): the note is held `hold_seconds`, then released
                "loudness_table": np.asarray(loudness).round(4).tolist(),
                "hold_seconds": HOLD_SECONDS,
            },
            "metrics": {
                "held_out_nats_per_sample": round(meta["loss"], 4),
                "held_out_bits_per_sample": round(meta["loss"] / math.log(2), 4),
                "training_steps": meta["steps"],
                "training_minutes": round(meta["minutes"], 1),
                "onnx_torch_agreeing_samples": agreeing,
            },
            "origin": origin(model_id, DATA_LICENCE, diff),
        },
    )


def build(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    config: WaveNetConfig | None = None,
    batch_size: int = 8,
    resume: bool = False,
) -> Path:
    """Render (or load) the notes under `work`, train for `minutes` (or `max_steps`), write
    checkpoints to work/ and the bundled model to `out`."""
    work.mkdir(parents=True, exist_ok=True)
    data = load_or_build(work / "notes.npz")
    config = config or WaveNetConfig(instruments=len(data.instruments))
    start = time.monotonic()
    checkpoint = work / "checkpoint.safetensors"

    def on_progress(step: int, loss: float, model: WaveNet) -> None:
        log.info("wavenet step %d  train loss %.4f nats/sample", step, loss)
        if step % 500 == 0:
            export_safetensors(model, checkpoint)

    start_from = checkpoint if resume and checkpoint.exists() else None
    tic = time.perf_counter()
    source = source_features(data.audio, data.pitch, SAMPLE_RATE)
    log.info("source features of %d notes in %.1f s", len(source), time.perf_counter() - tic)
    model, steps, loss = train_wavenet(
        data, source, config, minutes, max_steps, batch_size,
        on_progress=on_progress, start_from=start_from,
    )  # fmt: skip
    export_safetensors(model, checkpoint)
    # a resumed run reports the totals of all runs, as the diffusion recipe does
    totals = work / "progress.json"
    before = json.loads(totals.read_text()) if start_from and totals.exists() else {}
    steps += int(before.get("steps", 0))
    minutes = float(before.get("minutes", 0.0)) + (time.monotonic() - start) / 60
    totals.write_text(json.dumps({"steps": steps, "minutes": minutes}))
    meta = {
        "steps": steps,
        "minutes": minutes,
        "loss": loss,
        "pitch_min": data.pitch.min(),
        "pitch_max": data.pitch.max(),
    }
    export_wavenet(model, out, meta, data.instruments, loudness_table(data, source))
    log.info("held-out %.4f nats/sample; exported %s", loss, out)
    return out
