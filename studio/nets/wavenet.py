"""A small WaveNet for single notes (van den Oord et al. 2016), with Fast WaveNet generation.

Audio is 8-bit mu-law (256 classes); the network predicts a softmax over the next sample's
class from the previous samples through stacks of gated, dilated, causal convolutions with
residual and skip paths (paper section 2). Kernel 3 with dilations 1, 3, 9, ... 243 covers the
receptive field of kernel 2 with 1, 2, 4, ... 512 in 6 layers instead of 10: generation pays
per layer, not per tap (see studio/training/onnx_blocks.py). Conditioning (section 2.5):
- global: a pitch embedding (MIDI note) and a timbre vector. Training looks the timbre up in a
  learned table, one row per instrument, but the network takes any vector, so the app can
  morph between instruments by mixing rows.
- local: sin and cos of the phase of f0 at every sample (`phase_features`), which ties the
  waveform to the requested pitch and stops it drifting while it runs free.

Three ways to run one set of weights (one state dict, three faces):
- `WaveNet.forward`: teacher forcing over a whole waveform -> logits for every sample.
- `WaveNetBlock.forward`: Fast WaveNet (Paine et al. 2016): each dilated layer keeps a queue of
  its past inputs, so a sample costs O(layers), not O(receptive field). The queues are one
  explicit tensor, `history`, passed in and returned, and a call generates a block of samples.
- `generate_naive`: recompute the whole receptive field for every sample; the baseline the
  cached path must match sample for sample.

A dilated convolution is written as two linear maps, one on the current input and one on the
inputs 1..kernel_size-1 dilations back, so training and stepping share the same maths.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from studio.core.pitch import phase_features

MU = 255  # mu-law: 8 bits
SILENCE = 128  # the class of 0.0, fed as the "previous sample" before the first one


@dataclass(frozen=True)
class WaveNetConfig:
    classes: int = 256  # mu-law classes, MU + 1
    channels: int = 32  # residual channels: the width of every layer's input
    skip_channels: int = 64
    head_channels: int = 128  # the hidden 1x1 layer before the softmax
    kernel_size: int = 3  # taps per dilated convolution: now, 1 and 2 dilations back
    # two stacks of 1..243: a receptive field of 1,457 samples (91 ms at 16 kHz)
    dilations: tuple[int, ...] = tuple(3**i for i in range(6)) * 2
    pitches: int = 128  # MIDI notes 0..127
    pitch_size: int = 16  # pitch embedding width
    instruments: int = 15  # rows of the learned timbre table
    timbre_size: int = 16  # timbre vector width
    sample_rate: int = 16_000

    @property
    def receptive_field(self) -> int:
        """Samples one prediction sees, the current input included."""
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    @property
    def history_size(self) -> int:
        """Past inputs each layer's queue keeps: the oldest tap of the largest dilation."""
        return (self.kernel_size - 1) * max(self.dilations)


def mu_law_encode(audio: torch.Tensor) -> torch.Tensor:
    """audio in [-1, 1], any shape -> int64 classes 0..255 (ITU-T G.711 companding)."""
    x = audio.clamp(-1.0, 1.0)
    y = torch.sign(x) * torch.log1p(MU * x.abs()) / math.log1p(MU)
    return torch.round((y + 1) / 2 * MU).long()


def mu_law_decode(classes: torch.Tensor) -> torch.Tensor:
    """int or float classes 0..255, any shape -> float audio in [-1, 1]."""
    y = 2 * classes.float() / MU - 1
    return torch.sign(y) * ((1 + MU) ** y.abs() - 1) / MU


def sample_inverse_cdf(
    logits: torch.Tensor, uniform: torch.Tensor, temperature: torch.Tensor
) -> torch.Tensor:
    """logits (B, classes), uniform (B,) in [0, 1), temperature (B,) > 0 -> classes (B,) int64:
    the first class whose cumulative probability exceeds the uniform. One uniform per sample
    from the caller's seeded generator makes every path that computes the same logits draw
    the same samples."""
    probabilities = F.softmax(logits / temperature[:, None], dim=-1)
    below = (probabilities.cumsum(-1) < uniform[:, None]).sum(-1)
    return below.clamp(max=logits.shape[-1] - 1)


class Layer(nn.Module):
    """One gated dilated layer: z = tanh(W_f * x + V_f c) . sigmoid(W_g * x + V_g c)."""

    def __init__(self, config: WaveNetConfig, dilation: int) -> None:
        super().__init__()
        c, conditions = config.channels, config.pitch_size + config.timbre_size + 2
        self.dilation, self.kernel_size = dilation, config.kernel_size
        # the taps 1 .. kernel_size - 1 dilations back, concatenated nearest first
        self.past = nn.Linear((config.kernel_size - 1) * c, 2 * c, bias=False)
        self.now = nn.Linear(c, 2 * c)  # the tap on the current input
        self.condition = nn.Linear(conditions, 2 * c, bias=False)  # [pitch, timbre, sin, cos]
        self.residual = nn.Linear(c, c, bias=False)  # no bias: one fused op when stepping
        self.skip = nn.Linear(c, config.skip_channels)

    def gate(self, h: torch.Tensor) -> torch.Tensor:
        """(..., 2C) pre-activations -> (..., C)."""
        f, g = h.chunk(2, dim=-1)
        return torch.tanh(f) * torch.sigmoid(g)

    def forward(
        self, x: torch.Tensor, condition: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C), condition (B, T, 2C) from `self.condition` -> (next x, skip (B, T, S))."""
        t = x.shape[1]
        taps = [F.pad(x, (0, 0, j * self.dilation, 0))[:, :t] for j in range(1, self.kernel_size)]
        past = torch.cat(taps, dim=-1)  # (B, T, (K - 1) C), causal
        z = self.gate(self.now(x) + self.past(past) + condition)
        return x + self.residual(z), self.skip(z)


class WaveNet(nn.Module):
    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.classes, config.channels)  # the previous sample
        self.pitch_table = nn.Embedding(config.pitches, config.pitch_size)
        self.timbre_table = nn.Embedding(config.instruments, config.timbre_size)
        self.layers = nn.ModuleList(Layer(config, d) for d in config.dilations)
        self.hidden = nn.Linear(config.skip_channels, config.head_channels)
        self.output = nn.Linear(config.head_channels, config.classes)

    def gated_layers(self) -> list[Layer]:
        """The dilated layers, typed (a ModuleList holds plain Modules to a type checker)."""
        return [cast(Layer, layer) for layer in self.layers]

    def head(self, skip: torch.Tensor) -> torch.Tensor:
        """The summed skips (..., S) -> logits (..., classes): ReLU, 1x1, ReLU, 1x1."""
        return self.output(F.relu(self.hidden(F.relu(skip))))

    def conditions(
        self, pitch: torch.Tensor, timbre: torch.Tensor, phase: torch.Tensor
    ) -> torch.Tensor:
        """pitch (B,) float MIDI note, timbre (B, E), phase (B, T, 2) -> (B, T, P + E + 2)."""
        glob = torch.cat([self.pitch_table(pitch.long()), timbre], dim=-1)  # (B, P + E)
        return torch.cat([glob[:, None].expand(-1, phase.shape[1], -1), phase], dim=-1)

    def forward(
        self,
        classes: torch.Tensor,  # (B, T) float or int mu-law classes of the waveform
        pitch: torch.Tensor,  # (B,) float MIDI note
        timbre: torch.Tensor,  # (B, E), e.g. rows of timbre_table or a mix of them
        phase: torch.Tensor,  # (B, T, 2) from phase_features
    ) -> torch.Tensor:
        """Teacher forcing -> logits (B, classes, T): column t predicts classes[:, t] from
        classes[:, :t] (the sample before the first is SILENCE)."""
        previous = F.pad(classes.long(), (1, 0), value=SILENCE)[:, :-1]  # (B, T)
        x = self.embed(previous)  # (B, T, C)
        c = self.conditions(pitch, timbre, phase)
        skip = torch.zeros(*x.shape[:2], self.config.skip_channels, device=x.device)
        for layer in self.gated_layers():
            x, s = layer(x, layer.condition(c))
            skip = skip + s
        return self.head(skip).transpose(1, 2)  # (B, classes, T)


class WaveNetBlock(WaveNet):
    """Fast WaveNet: the same weights (and state-dict keys) as WaveNet, generating `block`
    samples per call from explicit state. Each layer's queue is a row of `history`."""

    def forward(  # type: ignore[override]
        self,
        history: torch.Tensor,  # (B, L, H, C): each layer's last H inputs, oldest first
        previous: torch.Tensor,  # (B,) float class of the last sample so far (SILENCE at start)
        pitch: torch.Tensor,  # (B,) float MIDI note
        timbre: torch.Tensor,  # (B, E)
        phase: torch.Tensor,  # (B, N, 2) for the block's samples
        uniform: torch.Tensor,  # (B, N) in [0, 1): one per sample
        temperature: torch.Tensor,  # (B,) > 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> audio (B, N) in [-1, 1], classes (B, N) float, history (B, L, H, C) and
        previous (B,) to pass to the next call. A new note starts from zeros and SILENCE."""
        b, n, h = phase.shape[0], phase.shape[1], history.shape[2]
        dilations = torch.tensor(self.config.dilations, device=history.device)  # (L,)
        layer_index = torch.arange(len(self.layers), device=history.device)  # (L,)
        # the queues, with room for this block's inputs after the kept history
        queue = torch.cat([history, history.new_zeros(*history.shape[:2], n, history.shape[3])], 2)
        taps = range(1, self.config.kernel_size)
        layers = self.gated_layers()
        past_weights = torch.stack([layer.past.weight.T for layer in layers])  # (L, (K-1)C, 2C)
        c = self.conditions(pitch, timbre, phase)  # (B, N, P + E + 2)
        last = previous.long()
        classes = []
        for i in range(n):
            # every layer's taps at once, nearest first: (B, L, (K - 1) C)
            past = torch.cat([queue[:, layer_index, h + i - j * dilations] for j in taps], -1)
            past_terms = torch.einsum("blc,lcd->bld", past, past_weights)  # (B, L, 2C)
            x = self.embed(last)  # (B, C)
            skip = torch.zeros(b, self.config.skip_channels, device=x.device)
            for index, layer in enumerate(layers):
                queue[:, index, h + i] = x
                pre = layer.now(x) + past_terms[:, index] + layer.condition(c[:, i])
                z = layer.gate(pre)
                skip = skip + layer.skip(z)
                x = x + layer.residual(z)
            last = sample_inverse_cdf(self.head(skip), uniform[:, i], temperature)
            classes.append(last)
        out = torch.stack(classes, 1)  # (B, N)
        return mu_law_decode(out), out.float(), queue[:, :, n:], last.float()


def empty_history(config: WaveNetConfig, batch: int) -> np.ndarray:
    """The state before a note's first sample: (B, L, H, C) float32 zeros."""
    shape = (batch, len(config.dilations), config.history_size, config.channels)
    return np.zeros(shape, np.float32)


def generate_naive(
    model: WaveNet,
    pitch: torch.Tensor,  # (B,) float MIDI note
    timbre: torch.Tensor,  # (B, E)
    phase: torch.Tensor,  # (B, N, 2)
    uniform: torch.Tensor,  # (B, N) in [0, 1)
    temperature: torch.Tensor,  # (B,) > 0
) -> torch.Tensor:
    """The baseline: one full forward pass over the last receptive field per sample.
    -> classes (B, N) int64, identical to WaveNetBlock's for the same inputs (up to float
    rounding in the logits, which run in model's dtype)."""
    window = model.config.receptive_field
    n = phase.shape[1]
    classes = torch.full((phase.shape[0], n + 1), SILENCE, dtype=torch.long)
    with torch.no_grad():
        for t in range(n):
            lo = max(0, t - window)
            # the window's last column predicts sample t; its own value there is not read
            logits = model(classes[:, lo : t + 1], pitch, timbre, phase[:, lo : t + 1])
            classes[:, t] = sample_inverse_cdf(logits[:, :, -1], uniform[:, t], temperature)
    return classes[:, :n]


def cached_matches_naive(model: WaveNet, length: int, seed: int = 0, block: int = 256) -> bool:
    """Generate `length` samples of two voices (two pitches and timbres, temperatures 1 and
    0.8) with WaveNetBlock, `block` samples a call, and with generate_naive, from the same
    uniforms of numpy Generator(seed): True when every sample is the same. Runs a float64
    copy of the model, so that rounding cannot split a near-tie in the inverse CDF; pass a
    length past the receptive field to exercise the longest queues."""
    config = model.config
    reference = copy.deepcopy(model).double().eval()
    fast = WaveNetBlock(config).double().eval()
    fast.load_state_dict(reference.state_dict())
    uniform = torch.from_numpy(np.random.default_rng(seed).random((2, length)))
    pitch = torch.tensor([52.0, 69.0], dtype=torch.float64)
    timbre = torch.randn(
        2, config.timbre_size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    temperature = torch.tensor([1.0, 0.8], dtype=torch.float64)
    phase = torch.from_numpy(phase_features(pitch.numpy(), np.zeros(2), length)).double()
    history = torch.from_numpy(empty_history(config, 2)).double()
    previous = torch.full((2,), float(SILENCE), dtype=torch.float64)
    chunks = []
    with torch.no_grad():
        for start in range(0, length, block):
            window = slice(start, start + block)
            _, classes, history, previous = fast(
                history, previous, pitch, timbre, phase[:, window], uniform[:, window], temperature
            )
            chunks.append(classes.long())
    naive = generate_naive(reference, pitch, timbre, phase, uniform, temperature)
    return bool(torch.equal(torch.cat(chunks, 1), naive))
