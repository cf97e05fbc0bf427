"""The Fast WaveNet sample loop compiled into one ONNX graph (`block.onnx`).

Stepping a WaveNet from Python costs one session call per sample, far slower than real time;
`block_graph` writes `WaveNetBlock.forward` for `block` samples as a single ONNX `Loop`, so
the whole block runs inside ONNX Runtime. Same inputs and outputs as WaveNetBlock:
history (B, L, H, C), previous, pitch, temperature (B,), timbre (B, E), phase (B, N, 2),
uniform (B, N) -> audio, classes (B, N), history_out (B, L, H, C), previous_out (B,).

Layers whose dilation is at least `block` (the "far" layers) read their whole block of past
inputs from `history`: their past-tap products are one batched MatMul before the loop,
together with all conditioning. The "near" layers keep a queue of their last D inputs (D
their largest dilation) as a loop-carried tensor. Each iteration then costs a fixed ~6
nodes per layer: two Gemms (filter, gate) with the precomputed terms as their bias, tanh,
sigmoid, product, and a Gemm that adds the residual. `block_agreement` checks the graph
against WaveNetBlock sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from studio.core.pitch import phase_features
from studio.nets.wavenet import (
    SILENCE,
    WaveNet,
    WaveNetBlock,
    WaveNetConfig,
    empty_history,
    mu_law_decode,
)

BLOCK = 64  # samples per block.onnx call: 4 ms of audio at 16 kHz


class GraphBuilder:
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


def _weight(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32)


@dataclass(frozen=True)
class _Layout:
    """How the layers split into near (queued in the loop) and far (precomputed)."""

    model: WaveNet
    block: int
    near: list[int]
    far: list[int]
    order: list[int]  # near + far: the order of the precomputed per-layer terms
    depth: int  # rows of the near queue

    @property
    def config(self) -> WaveNetConfig:
        return self.model.config

    @property
    def taps(self) -> range:
        return range(1, self.config.kernel_size)  # past taps, nearest first

    @classmethod
    def of(cls, model: WaveNet, block: int) -> _Layout:
        dil, kernel = model.config.dilations, model.config.kernel_size
        near = [i for i, d in enumerate(dil) if d < block]
        far = [i for i, d in enumerate(dil) if d >= block]
        depth = max(((kernel - 1) * dil[i] for i in near), default=1)
        return cls(model, block, near, far, near + far, depth)


def _conditioning(g: GraphBuilder, lay: _Layout) -> str:
    """Per-sample terms of every layer that do not depend on the samples: conditioning and
    the current tap's bias -> (B, N, L, 1, 2C)."""
    config, layers = lay.config, lay.model.gated_layers()
    glob = config.pitch_size + config.timbre_size
    # conditioning and the current tap's bias for every layer: (P + E, L * 2C) and (2, L * 2C)
    w_glob = np.concatenate([_weight(layers[i].condition.weight)[:, :glob] for i in lay.order]).T
    w_local = np.concatenate([_weight(layers[i].condition.weight)[:, glob:] for i in lay.order]).T
    b_now = np.concatenate([_weight(layers[i].now.bias) for i in lay.order])
    pitch_vec = g.op(
        "Gather",
        g.const(_weight(lay.model.pitch_table.weight)),
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
    shape = np.array([0, lay.block, len(config.dilations), 1, 2 * config.channels])
    return g.op("Reshape", pre, g.const(shape))  # (B, N, L, 1, 2C)


def _far_terms(g: GraphBuilder, lay: _Layout, pre: str, flat_history: str) -> str:
    """`pre` plus the far layers' past taps, all read from `history` at once."""
    if not lay.far:
        return pre
    config, layers = lay.config, lay.model.gated_layers()
    h, dil = config.history_size, config.dilations
    # (Lf, N, K - 1) rows of flat_history
    rows = np.array(
        [
            [[i * h + h - j * dil[i] + t for j in lay.taps] for t in range(lay.block)]
            for i in lay.far
        ]
    )
    w_far = np.stack([_weight(layers[i].past.weight).T for i in lay.far])  # (Lf, (K - 1) C, 2C)
    past = g.op("Gather", flat_history, g.const(rows), axis=1)  # (B, Lf, N, K - 1, C)
    past = g.op("Reshape", past, g.const(np.array([0, len(lay.far), lay.block, -1])))
    far_terms = g.op("MatMul", past, g.const(w_far))  # (B, Lf, N, 2C)
    far_terms = g.op("Transpose", far_terms, perm=[0, 2, 1, 3])  # (B, N, Lf, 2C)
    pad = np.array([0, 0, len(lay.near), 0, 0, 0, 0, 0])  # zeros for the near layers first
    far_terms = g.op("Unsqueeze", g.op("Pad", far_terms, g.const(pad)), g.const(np.array([3])))
    return g.op("Add", pre, far_terms)


def _near_terms(s: GraphBuilder, lay: _Layout, pre: str) -> str:
    """This sample's precomputed terms (B, L, 1, 2C) plus the near layers' past taps, read
    from the loop-carried queue."""
    pre_i = s.op("Gather", pre, "i", axis=1)  # (B, L, 1, 2C)
    if not lay.near:
        return pre_i
    c, dil, n_near = lay.config.channels, lay.config.dilations, len(lay.near)
    layers = lay.model.gated_layers()
    # element indices of each near layer's past taps, nearest first: (Ln, 1, (K - 1) C)
    rows = np.array(
        [[(lay.depth - j * dil[i]) * n_near + k for j in lay.taps] for k, i in enumerate(lay.near)]
    )
    elements = (rows[:, :, None] * c + np.arange(c)).reshape(n_near, 1, -1)
    w_near = np.stack([_weight(layers[i].past.weight).T for i in lay.near])  # (Ln, (K-1) C, 2C)
    near_terms = s.op(
        "MatMul", s.op("Gather", "queue", s.const(elements), axis=1), s.const(w_near)
    )  # (B, Ln, 1, 2C)
    pad = np.array([0, 0, 0, 0, 0, len(lay.far), 0, 0])  # zeros for the far layers last
    return s.op("Add", pre_i, s.op("Pad", near_terms, s.const(pad)))


def _gated_stack(s: GraphBuilder, lay: _Layout, pre_i: str) -> tuple[list[str], list[str]]:
    """The dilated layers for one sample -> (each layer's input, each layer's gated output)."""
    c, n_layers = lay.config.channels, len(lay.config.dilations)
    flat_pre = s.op("Reshape", pre_i, s.const(np.array([0, n_layers * 2 * c])))
    pieces = s.ops("Split", flat_pre, outputs=2 * n_layers, axis=1, num_outputs=2 * n_layers)
    x, inputs, gated = "x", [], []
    for index, layer in enumerate(lay.model.gated_layers()):
        inputs.append(x)
        w_now = _weight(layer.now.weight)  # (2C, C): filter rows, then gate rows
        k = lay.order.index(index)
        f = s.op("Gemm", x, s.const(w_now[:c]), pieces[2 * k], transB=1)
        gate = s.op("Gemm", x, s.const(w_now[c:]), pieces[2 * k + 1], transB=1)
        z = s.op("Mul", s.op("Tanh", f), s.op("Sigmoid", gate))
        gated.append(z)
        if index < n_layers - 1:  # the last layer's residual output is never used
            x = s.op("Gemm", z, s.const(_weight(layer.residual.weight)), x, transB=1)
    return inputs, gated


def _sample(s: GraphBuilder, lay: _Layout, gated: list[str], temperature: str, uniform: str) -> str:
    """Skip connections, the output head and inverse-CDF sampling -> the class (B,) int64."""
    model, layers = lay.model, lay.model.gated_layers()
    w_skip = np.concatenate([_weight(layer.skip.weight) for layer in layers], axis=1)  # (S, L*C)
    b_skip = sum(_weight(layer.skip.bias) for layer in layers)
    hidden = s.op(
        "Gemm", s.op("Concat", *gated, axis=1), s.const(w_skip), s.const(b_skip), transB=1
    )
    for linear in (model.hidden, model.output):
        hidden = s.op(
            "Gemm",
            s.op("Relu", hidden),
            s.const(_weight(linear.weight)),
            s.const(_weight(linear.bias)),
            transB=1,
        )
    # inverse-CDF sampling, as sample_inverse_cdf: the count of classes whose CDF is below u
    cdf = s.op(
        "CumSum", s.op("Softmax", s.op("Div", hidden, temperature), axis=-1), s.const(np.array(1))
    )
    below = s.op(
        "Cast", s.op("Less", cdf, s.op("Gather", uniform, "i", axis=0)), to=TensorProto.INT64
    )
    return s.op(
        "Min",
        s.op("ReduceSum", below, s.const(np.array([1])), keepdims=0),
        s.const(np.array(lay.config.classes - 1)),
    )  # (B,) int64


def _loop_body(lay: _Layout, pre: str, temperature: str, uniform: str) -> onnx.GraphProto:
    """One sample: (i, going, x, queue) -> (going, next x, next queue, all inputs, class)."""
    s = GraphBuilder("s_")
    inputs, gated = _gated_stack(s, lay, _near_terms(s, lay, pre))
    sample = _sample(s, lay, gated, temperature, uniform)
    x_next = s.op("Gather", s.const(_weight(lay.model.embed.weight)), sample)
    all_inputs = s.op("Concat", *inputs, axis=1)  # (B, L*C)
    queue_next = "queue"
    if lay.near:
        width = len(lay.near) * lay.config.channels
        newest = s.op("Concat", *[inputs[i] for i in lay.near], axis=1)  # (B, Ln*C)
        end = np.array([lay.depth * width])
        kept = s.op(
            "Slice", "queue", s.const(np.array([width])), s.const(end), s.const(np.array([1]))
        )
        queue_next = s.op("Concat", kept, newest, axis=1)
    outputs = [s.op("Identity", "going"), x_next, queue_next, all_inputs, sample]
    kinds = [TensorProto.BOOL, *[TensorProto.FLOAT] * 3, TensorProto.INT64]
    scalar = helper.make_tensor_value_info
    return helper.make_graph(
        s.nodes,
        "sample",
        [
            scalar("i", TensorProto.INT64, []),
            scalar("going", TensorProto.BOOL, []),
            scalar("x", TensorProto.FLOAT, None),
            scalar("queue", TensorProto.FLOAT, None),
        ],
        [scalar(name, kind, None) for name, kind in zip(outputs, kinds, strict=True)],
        s.constants,
    )


def _after_loop(g: GraphBuilder, lay: _Layout, xs: str, samples: str) -> None:
    """The block's samples and the queues shifted by `block`, as the graph's outputs."""
    config, block = lay.config, lay.block
    h, n_layers = config.history_size, len(config.dilations)
    class_ids = g.op("Transpose", samples, perm=[1, 0])  # (B, N) int64
    classes = g.op("Cast", class_ids, to=TensorProto.FLOAT)
    xs = g.op(
        "Transpose",
        g.op("Reshape", xs, g.const(np.array([block, -1, n_layers, config.channels]))),
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
    table = mu_law_decode(torch.arange(config.classes)).numpy().astype(np.float32)
    audio = g.op("Gather", g.const(table), class_ids)
    previous = g.op("Gather", classes, g.const(np.array(block - 1)), axis=1)
    outputs = {"audio": audio, "classes": classes, "history_out": history}
    for name, value in [*outputs.items(), ("previous_out", previous)]:
        g.nodes.append(helper.make_node("Identity", [value], [name]))


def _graph_io(lay: _Layout) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    config, block = lay.config, lay.block
    state = (len(config.dilations), config.history_size, config.channels)

    def info(name: str, *shape: int | str) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *shape])

    inputs = [
        info("history", *state),
        info("previous"),
        info("pitch"),
        info("timbre", config.timbre_size),
        info("phase", block, 2),
        info("uniform", block),
        info("temperature"),
    ]
    outputs = [
        info("audio", block),
        info("classes", block),
        info("history_out", *state),
        info("previous_out"),
    ]
    return inputs, outputs


def block_graph(model: WaveNet, block: int = BLOCK) -> onnx.ModelProto:
    """WaveNetBlock.forward as one ONNX graph, same inputs and outputs, for `block` samples
    (see the module docstring); checked by onnx.checker."""
    lay = _Layout.of(model, block)
    config = model.config
    n_layers, h, c = len(config.dilations), config.history_size, config.channels
    g = GraphBuilder("")
    pre = _conditioning(g, lay)
    flat_history = g.op("Reshape", "history", g.const(np.array([0, n_layers * h, c])))
    pre = _far_terms(g, lay, pre, flat_history)  # (B, L*H, C) history read once
    # near queues, flattened time-major: (B, D * Ln * C), oldest row first
    near_rows = np.array([[i * h + h - lay.depth + t for i in lay.near] for t in range(lay.depth)])
    queue0 = g.op("Gather", flat_history, g.const(near_rows.reshape(lay.depth, -1)), axis=1)
    queue0 = g.op("Reshape", queue0, g.const(np.array([0, -1])))
    embed = g.const(_weight(model.embed.weight))
    x0 = g.op("Gather", embed, g.op("Cast", "previous", to=TensorProto.INT64))
    temperature = g.op("Unsqueeze", "temperature", g.const(np.array([1])))  # (B, 1)
    uniform = g.op("Unsqueeze", g.op("Transpose", "uniform", perm=[1, 0]), g.const(np.array([2])))
    body = _loop_body(lay, pre, temperature, uniform)
    _, _, xs, samples = g.ops(
        "Loop", g.const(np.array(block)), g.const(np.array(True)), x0, queue0, outputs=4, body=body
    )
    _after_loop(g, lay, xs, samples)
    graph = helper.make_graph(g.nodes, "wavenet_block", *_graph_io(lay), g.constants)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def block_session(path: Path | bytes, threads: int = 1) -> Any:
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


def block_agreement(
    model: WaveNet, onnx_model: bytes, blocks: int = 4, block: int = BLOCK
) -> tuple[float, int]:
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
    uniform = rng.random((2, block * blocks))
    feeds = block_inputs(config, pitch, timbre, uniform[:, :block], 0.9)
    diff = 0.0
    for b in range(blocks):
        feeds["phase"] = phase_features(pitch, np.full(2, b * block), block, config.sample_rate)
        feeds["uniform"] = uniform[:, b * block : (b + 1) * block].astype(np.float32)
        with torch.no_grad():
            outputs = step(*(torch.from_numpy(v) for v in feeds.values()))
        _, classes_torch, history_torch, _ = (o.numpy() for o in outputs)
        _, classes, history, previous = session.run(None, feeds)
        mismatch = np.flatnonzero((classes != classes_torch).any(axis=0))
        if len(mismatch):
            return diff, b * block + int(mismatch[0])
        diff = max(diff, float(np.abs(history - history_torch).max()))
        feeds["history"], feeds["previous"] = history, previous
    return diff, blocks * block
