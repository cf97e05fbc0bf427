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
