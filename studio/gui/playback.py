"""Playing a note through `sounddevice` (PortAudio), when there is somewhere to play it.

sounddevice is imported on first use, not at launch (importing it and asking PortAudio for
the output device costs ~0.1 s): it needs the PortAudio library, and a server has no output
device at all. Either way `Player.available` is False and `Player.reason` says why, so the
panel can say it once and keep everything else working.
"""

from __future__ import annotations

import numpy as np


class Player:
    def __init__(self) -> None:
        self._reason: str | None = None
        self._sd = None
        self._probed = False

    def _probe(self) -> None:
        if self._probed:
            return
        self._probed = True
        try:
            import sounddevice
        except OSError as exc:  # the PortAudio library is missing
            self._reason = f"playback is off: PortAudio is not available ({exc})"
            return
        self._errors = (sounddevice.PortAudioError, ValueError)
        try:
            sounddevice.query_devices(kind="output")
        except self._errors as exc:  # no default output device
            self._reason = f"playback is off: no audio output device ({exc})"
            return
        self._sd = sounddevice

    @property
    def available(self) -> bool:
        self._probe()
        return self._sd is not None

    @property
    def reason(self) -> str | None:
        """Why playback is off, or None."""
        self._probe()
        return self._reason

    def play(self, audio: np.ndarray, sample_rate: int, loop: bool = False) -> str | None:
        """Start playing; None, or why it could not."""
        self._probe()
        if self._sd is None:
            return self._reason
        try:
            self._sd.play(audio, sample_rate, loop=loop)
        except self._errors as exc:  # a device can vanish between query and play
            return f"could not play: {exc}"
        return None

    def stop(self) -> None:
        if self._probed and self._sd is not None:
            self._sd.stop()
