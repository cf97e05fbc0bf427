"""Train the note WaveNet on the rendered notes and export `wavenet-notes-16k`.

Teacher forcing on random crops: cross-entropy of the 256 mu-law classes, Adam with a short
warm-up and a cosine decay over the time budget; every fifth pitch at the middle velocity is
held out for the reported loss. Crops that start inside a note lack the samples before them,
so only their columns past the receptive field count; a quarter of the crops start at the onset,
where the silence before the note is the true context, and count whole.

Export: `wavenet.safetensors` for the torch backend (architectures `wavenet` and
`wavenet-block`) and `block.onnx`, the Fast WaveNet sample loop for `BLOCK` samples compiled
into one ONNX `Loop` (onnx_blocks.py): stepping the WaveNet from Python costs a session
call per sample, far slower than real time, while the loop runs inside ONNX Runtime.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from studio.nets.wavenet import SILENCE, WaveNet, WaveNetConfig, mu_law_encode
from studio.training.export import export_safetensors, parameter_count
from studio.training.loop import LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, write_manifest
from studio.training.notes_data import (
    DATA_LICENCE,
    HOLD_SECONDS,
    SAMPLE_RATE,
    NotesData,
    load_or_build,
)
from studio.training.onnx_blocks import BLOCK, block_agreement, block_graph
from studio.training.schedules import learning_rate, set_learning_rate
from studio.training.trainable import Trainable

MODEL_ID = "wavenet-notes-16k"
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
    context: int,
) -> tuple[torch.Tensor, ...]:
    """Random crops of random notes from the indices `notes` -> classes (B, T) int64, pitch
    (B,) float, instrument (B,) int64, source (B, T, 2) from `source_features`, loss weights
    (B, T): zero for the first `context` (the receptive field) columns of crops that start
    inside a note."""
    pick = rng.choice(notes, size)
    starts = rng.integers(0, data.audio.shape[1] - crop + 1, size)
    starts[rng.random(size) < 0.25] = 0  # a quarter at the onset
    audio = np.stack([data.audio[n, s : s + crop] for n, s in zip(pick, starts, strict=True)])
    weights = np.ones((size, crop), np.float32)
    weights[starts > 0, :context] = 0.0  # no true context there
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
    model: WaveNet,
    data: NotesData,
    source: np.ndarray,
    notes: np.ndarray,
    batches: int = 4,
    crop: int = CROP,
) -> float:
    """Mean nats per sample on fixed crops of the notes `notes`; leaves `model` training."""
    rng = np.random.default_rng(1234)
    context = model.config.receptive_field
    model.eval()
    with torch.no_grad():
        losses = [
            crop_loss(model, batch_of(data, source, notes, 8, crop, rng, context)).item()
            for _ in range(batches)
        ]
    model.train()
    return float(np.mean(losses))


@dataclass(frozen=True)
class WaveNetTrained:
    """What a run measured, for the manifest: totals over resumed runs, the held-out loss
    in nats per sample, and the MIDI pitches the notes spanned."""

    steps: int
    minutes: float
    loss: float
    pitch_range: tuple[int, int]


# ---- training ---------------------------------------------------------------------------


class WaveNetTraining(Trainable):
    """Teacher forcing on random crops; Adam, gradients clipped at norm 1, learning rate
    warmed up over 100 steps, then cosine to a tenth over the budget."""

    def __init__(
        self,
        data: NotesData,
        source: np.ndarray,
        config: WaveNetConfig,
        rngs: Rngs,
        batch_size: int = 8,
        peak_lr: float = 2e-3,
        crop: int = CROP,
    ) -> None:
        self.model = WaveNet(config)
        optimiser = torch.optim.Adam(self.model.parameters(), lr=peak_lr)
        super().__init__(batch_size, {"wavenet": self.model}, {"adam": optimiser})
        self.data, self.source, self.rng = data, source, rngs.numpy
        self.peak_lr, self.crop = peak_lr, crop
        held = held_out(data)
        self.train, self.test = np.flatnonzero(~held), np.flatnonzero(held)

    def step(self, tick: Tick) -> Mapping[str, float]:
        optimiser = self.optimisers["adam"]
        rate = learning_rate(tick.progress, tick.index, self.peak_lr, warmup=100)
        set_learning_rate(optimiser, rate)
        batch = batch_of(
            self.data, self.source, self.train, self.batch_size, self.crop, self.rng,
            self.model.config.receptive_field,
        )  # fmt: skip
        loss = crop_loss(self.model, batch)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        optimiser.step()
        return {"nats_per_sample": loss.item()}

    def held_out_loss(self) -> float:
        """Nats per sample on the held-out notes; leaves the model in eval mode."""
        loss = held_out_loss(self.model, self.data, self.source, self.test, crop=self.crop)
        self.model.eval()
        return loss


# ---- export -----------------------------------------------------------------------------


def _networks(config: WaveNetConfig) -> dict[str, Network]:
    """block: the compiled sample loop (onnx_blocks.py), `BLOCK` samples a call."""
    history = ("batch", len(config.dilations), config.history_size, config.channels)
    return {
        "block": Network(
            "wavenet-block",
            {
                "history": history,
                "previous": ("batch",),
                "pitch": ("batch",),
                "timbre": ("batch", config.timbre_size),
                "phase": ("batch", BLOCK, 2),
                "uniform": ("batch", BLOCK),
                "temperature": ("batch",),
            },
            {
                "audio": ("batch", BLOCK),
                "classes": ("batch", BLOCK),
                "history_out": history,
                "previous_out": ("batch",),
            },
            config,
            "block.onnx",
            "wavenet.safetensors",
        ),
    }


def _parameters(
    model: WaveNet, trained: WaveNetTrained, instruments: tuple[str, ...], loudness: np.ndarray
) -> dict[str, Any]:
    """The family's constants; the pitch range, timbre and loudness tables come from the
    data and the weights."""
    config = model.config
    return {
        "sample_rate": config.sample_rate,
        "block": BLOCK,
        "silence_class": SILENCE,
        "note_seconds": 1.0,
        "pitch_range": list(trained.pitch_range),
        "default_temperature": 1.0,
        "instruments": list(instruments),
        # one row per instrument; the network takes any vector, e.g. a mix of rows
        "timbre_table": model.timbre_table.weight.detach().numpy().round(6).tolist(),
        # the source's amplitude per block of each instrument's first second (mean over
        # its notes): the note is held `hold_seconds`, then released
        "loudness_table": np.asarray(loudness).round(4).tolist(),
        "hold_seconds": HOLD_SECONDS,
    }


def export_wavenet(
    model: WaveNet,
    folder: Path,
    trained: WaveNetTrained,
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
    layers, c = len(config.dilations), config.channels
    card = ModelCard(
        id=model_id,
        name="Note WaveNet (16 kHz)",
        family="wavenet",
        modality="audio",
        description=(
            f"WaveNet ({parameter_count(model):,} parameters, {layers} gated dilated layers "
            f"of {c} channels, kernel {config.kernel_size}, receptive field "
            f"{config.receptive_field} samples) over 8-bit mu-law audio at "
            f"{config.sample_rate} Hz, conditioned on pitch, a timbre vector and a source "
            f"signal (loudness x the phase of f0); trained on {len(instruments)} General "
            f"MIDI instruments rendered with FluidSynth, {trained.steps:,} steps in "
            f"{trained.minutes:.0f} min on CPU. Held-out loss {trained.loss:.3f} nats/sample."
        ),
        networks=_networks(config),
        parameters=_parameters(model, trained, instruments, loudness),
        metrics={
            "held_out_nats_per_sample": round(trained.loss, 4),
            "held_out_bits_per_sample": round(trained.loss / math.log(2), 4),
            "training_steps": trained.steps,
            "training_minutes": round(trained.minutes, 1),
            "onnx_torch_agreeing_samples": agreeing,
        },
        origin=Origin(DATA_LICENCE, diff),
    )
    write_manifest(folder, card)


def build(
    out: Path,
    run: Run,
    data: NotesData | None = None,
    config: WaveNetConfig | None = None,
    batch_size: int = 8,
    crop: int = CROP,
) -> Path:
    """Render (or load) the notes under run.work (or take `data`), train, write checkpoints
    to run.work and the bundled model to `out`."""
    run.work.mkdir(parents=True, exist_ok=True)
    data = data if data is not None else load_or_build(run.work / "notes.npz")
    config = config or WaveNetConfig(instruments=len(data.instruments))
    tic = time.perf_counter()
    source = source_features(data.audio, data.pitch, SAMPLE_RATE)
    log.info("source features of %d notes in %.1f s", len(source), time.perf_counter() - tic)
    loop = LoopSettings(MODEL_ID, log_every=50, checkpoint_every=500)
    outcome = train(
        lambda rngs: WaveNetTraining(data, source, config, rngs, batch_size, crop=crop), run, loop
    )
    loss = outcome.recipe.held_out_loss()
    pitch_range = (int(data.pitch.min()), int(data.pitch.max()))
    trained = WaveNetTrained(outcome.steps, outcome.minutes, loss, pitch_range)
    model = outcome.recipe.model
    export_wavenet(model, out, trained, data.instruments, loudness_table(data, source))
    log.info("held-out %.4f nats/sample; exported %s", loss, out)
    return out
