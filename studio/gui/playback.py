"""Playing a note through `sounddevice` (PortAudio), when there is somewhere to play it.

sounddevice is imported on first use: it needs the PortAudio library, and a server has no
output device at all. Either way `Player.available` is False and `Player.reason` says why,
so the panel can say it once and keep everything else working.
"""

from __future__ import annotations

import numpy as np


class Player:
    def __init__(self) -> None:
        self.reason: str | None = None
        self._sd = None
        try:
            import sounddevice
        except OSError as exc:  # the PortAudio library is missing
            self.reason = f"playback is off: PortAudio is not available ({exc})"
            return
        self._errors = (sounddevice.PortAudioError, ValueError)
        try:
            sounddevice.query_devices(kind="output")
        except self._errors as exc:  # no default output device
            self.reason = f"playback is off: no audio output device ({exc})"
            return
        self._sd = sounddevice

    @property
    def available(self) -> bool:
        return self._sd is not None

    def play(self, audio: np.ndarray, sample_rate: int, loop: bool = False) -> str | None:
        """Start playing; None, or why it could not."""
        if self._sd is None:
            return self.reason
        try:
            self._sd.play(audio, sample_rate, loop=loop)
        except self._errors as exc:  # a device can vanish between query and play
            return f"could not play: {exc}"
        return None

    def stop(self) -> None:
        if self._sd is not None:
            self._sd.stop()
