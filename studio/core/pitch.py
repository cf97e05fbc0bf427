"""Pitch as musicians and the WaveNet's local conditioning see it (numpy only)."""

from __future__ import annotations

import numpy as np

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def midi_to_hz(note: float | np.ndarray) -> np.ndarray:
    """Equal temperament, A4 (MIDI 69) = 440 Hz."""
    return 440.0 * 2.0 ** ((np.asarray(note, np.float64) - 69.0) / 12.0)


def note_name(note: int) -> str:
    """MIDI 60 -> 'C4'."""
    return f"{NOTE_NAMES[note % 12]}{note // 12 - 1}"


def phase_features(
    pitch: np.ndarray, start: np.ndarray, length: int, sample_rate: int = 16_000
) -> np.ndarray:
    """Local conditioning: pitch (B,) MIDI notes and start (B,) sample indices since the note
    began -> (B, length, 2) float32: sin and cos of 2 pi f0 t / sample_rate. float64 inside,
    so the phase stays exact over long notes."""
    f0 = midi_to_hz(pitch)  # (B,)
    t = np.asarray(start, np.float64)[:, None] + np.arange(length)  # (B, T)
    phase = np.mod(2 * np.pi * f0[:, None] * t / sample_rate, 2 * np.pi)
    return np.stack([np.sin(phase), np.cos(phase)], axis=-1).astype(np.float32)


def estimate_f0(
    audio: np.ndarray,
    sample_rate: int = 16_000,
    low: float = 50.0,
    high: float = 1000.0,
    threshold: float = 0.15,
) -> float | None:
    """Fundamental frequency (Hz) of a steady stretch of sound by YIN (de Cheveigné and
    Kawahara 2002): the first lag whose cumulative-mean-normalised difference dips below
    `threshold` (0.15: the paper's, for clean sound), refined by a parabola; None when nothing
    is periodic enough (noise, silence)."""
    x = np.asarray(audio, np.float64)
    longest = int(sample_rate / low)
    if len(x) < 2 * longest or np.abs(x).max() < 1e-3:
        return None
    window = len(x) - longest
    energy = np.cumsum(np.concatenate([[0.0], x**2]))
    lags = np.arange(1, longest + 1)
    # d(tau) = sum (x_t - x_{t+tau})^2 over the window, via energies and a correlation
    correlation = np.array([x[:window] @ x[tau : tau + window] for tau in lags])
    d = energy[window] + (energy[lags + window] - energy[lags]) - 2 * correlation
    cmnd = d * lags / np.maximum(np.cumsum(d), 1e-12)
    shortest = int(sample_rate / high)
    below = np.flatnonzero(cmnd[shortest:] < threshold)
    if len(below) == 0:
        return None
    i = shortest + below[0]
    while i + 1 < len(cmnd) and cmnd[i + 1] < cmnd[i]:
        i += 1  # walk down to the bottom of the dip
    if 0 < i < len(cmnd) - 1:
        a, b, c = cmnd[i - 1], cmnd[i], cmnd[i + 1]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c != 0 else 0.0
    else:
        shift = 0.0
    return float(sample_rate / (lags[i] + shift))


def harmonic_f0(
    audio: np.ndarray, sample_rate: int = 16_000, low: float = 50.0, high: float = 1000.0
) -> float | None:
    """Fundamental frequency (Hz) by subharmonic summation (Hermes 1988): the candidate, on a
    grid of 5 cents, whose first eight harmonics hold the most spectral magnitude, harmonic h
    weighted 0.84^(h-1). It hears a pitch through noise that defeats YIN's periodicity test
    (a noisy WaveNet note), but says nothing about how clean the tone is; None for silence."""
    x = np.asarray(audio, np.float64)
    if len(x) < sample_rate // 20 or np.abs(x).max() < 1e-3:
        return None
    size = 1 << int(np.ceil(np.log2(4 * len(x))))  # zero-padded: 2 Hz bins or finer
    magnitude = np.abs(np.fft.rfft(x * np.hanning(len(x)), size))
    bins = np.fft.rfftfreq(size, 1 / sample_rate)
    candidates = low * 2 ** (np.arange(0, 1200 * np.log2(high / low), 5) / 1200)
    score = np.zeros(len(candidates))
    for h in range(1, 9):
        score += 0.84 ** (h - 1) * np.interp(h * candidates, bins, magnitude, right=0.0)
    return float(candidates[np.argmax(score)])


def cents(f0: float, note: float) -> float:
    """How far `f0` is from MIDI `note`, in cents (100 per semitone)."""
    return float(1200 * np.log2(f0 / midi_to_hz(note)))
