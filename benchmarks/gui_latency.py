"""Slider -> painted frame latency, and the longest GUI event-loop stall under load.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py [--model gan-emoji-32]

1. Latency: set a direction slider to a new value, then run the event loop until the canvas
   has painted the result; p50/p99 over many moves (each one a fresh latent).
2. Stall: a 1 ms heartbeat timer runs while another timer drags a slider every 4 ms for a few
   seconds (the engine renders continuously); the longest gap between heartbeats is the
   worst time the window could not respond.
3. With --text MODEL: both again while the Text panel streams MODEL's tokens in the batch
   lane, to show that text generation leaves the window and the Image panel responsive.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio.core.catalog import Catalog
from studio.gui.main_window import MainWindow


class PaintCounter:
    """Counts canvas paints; waits by processing events, so nothing is connected per wait."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        self.app, self.count = app, 0
        window.image_panel.canvas.painted.connect(self._painted)

    def _painted(self) -> None:
        self.count += 1

    def wait(self, timeout_s: float = 10.0) -> None:
        target, deadline = self.count + 1, time.perf_counter() + timeout_s
        while self.count < target and time.perf_counter() < deadline:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)


def slider_latency(paints: PaintCounter, window: MainWindow, moves: int) -> list[float]:
    slider = window.image_panel.sliders.slider("PC1")
    times = []
    for k in range(moves + 10):
        start = time.perf_counter()
        slider.setValue(-250 + (k * 7) % 500)
        paints.wait()
        if k >= 10:
            times.append((time.perf_counter() - start) * 1000)
    return times


def event_loop_stall(paints: PaintCounter, window: MainWindow, seconds: float) -> tuple[float, int]:
    slider = window.image_panel.sliders.slider("PC2")
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    mover = QTimer()
    mover.setInterval(4)
    step = iter(range(10**9))
    mover.timeout.connect(lambda: slider.setValue(-250 + (next(step) * 3) % 500))
    painted_before = paints.count
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    heartbeat.start()
    mover.start()
    loop.exec()
    heartbeat.stop()
    mover.stop()
    gaps = np.diff(np.asarray(beats)) * 1000
    return float(gaps.max()), paints.count - painted_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="gan-emoji-32")
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--text", metavar="MODEL", help="also measure while MODEL streams text")
    args = parser.parse_args()
    app = QApplication([])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("models/last", args.model)
    window = MainWindow(Catalog(), settings)
    window.resize(1200, 800)
    window.show()
    paints = PaintCounter(app, window)
    paints.wait(30)
    times = np.asarray(slider_latency(paints, window, args.moves))
    p50, p99 = np.percentile(times, [50, 99])
    print(f"model {args.model} on {window.device_label.text()}")
    print(
        f"slider -> painted frame: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {args.moves} moves "
        f"(budget p50 <= 15 ms: {15 / p50:.1f}x headroom; p99 <= 40 ms: {40 / p99:.1f}x)"
    )
    stall, frames = event_loop_stall(paints, window, args.seconds)
    print(
        f"longest event-loop stall while rendering continuously: {stall:.1f} ms "
        f"({frames} frames painted in {args.seconds:.0f} s; budget 50 ms)"
    )
    if args.text:
        streaming_text(app, window, paints, args)
    window.close()


def streaming_text(
    app: QApplication, window: MainWindow, paints: PaintCounter, args: argparse.Namespace
) -> None:
    text = window.text_panel
    text.set_model(args.text)
    text.max_tokens.setValue(8000)
    text.generate()
    while not text.completion:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    times = np.asarray(slider_latency(paints, window, args.moves // 3))
    stall, frames = event_loop_stall(paints, window, args.seconds)
    streamed = len(text.completion.encode())
    text.stop()
    p50, p99 = np.percentile(times, [50, 99])
    print(
        f"while {args.text} streams ({streamed} bytes so far): slider -> frame p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms; longest stall {stall:.1f} ms ({frames} frames)"
    )


if __name__ == "__main__":
    main()
