"""Open the window, drive it a little, and save a screenshot of the whole window.

xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshot.py docs/screenshot.png
... scripts/screenshot.py docs/encode.png --model flow-emoji-32 --encode picture.png
... scripts/screenshot.py docs/text.png --text gpt-kjv
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio.core.catalog import Catalog
from studio.gui.app import dark_palette
from studio.gui.main_window import MainWindow
from studio.gui.style_panel import GALLERY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="gan-emoji-32")
    parser.add_argument("--encode", type=Path, help="a picture to encode (VAE, flow)")
    parser.add_argument("--text", metavar="MODEL", help="show the Text panel streaming MODEL")
    parser.add_argument("--audio", metavar="MODEL", help="show the Audio panel with a morph")
    parser.add_argument(
        "--stylize", nargs=2, type=Path, metavar=("CONTENT", "STYLE"), help="the Style panel"
    )
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("models/last", args.model)
    window = MainWindow(Catalog(), settings)
    window.resize(1280, 800)
    window.show()
    if args.text is not None:
        shoot_text(app, window, args.text, args.out)
        return
    if args.audio is not None:
        shoot_audio(app, window, args.audio, args.out)
        return
    if args.stylize is not None:
        shoot_style(app, window, *args.stylize, args.out)
        return
    panel = window.image_panel
    actions: list[Callable[[], object]] = [lambda: panel.edit(seed=1, text="seed")]
    if args.encode is not None:
        actions += [
            lambda: window.open_file(args.encode),
            lambda: panel.sliders.slider("PC2").setValue(60),
        ]
    else:
        if "PC2" in panel.sliders.rows:
            actions.append(lambda: panel.sliders.slider("PC2").setValue(80))
        actions.append(lambda: panel.grid_button.setChecked(True))
    actions.append(lambda: (window.grab().save(str(args.out)), app.quit()))
    steps = iter(actions)

    def next_step(*_: object) -> None:
        QTimer.singleShot(300, lambda: next(steps)())

    panel.rendered.connect(next_step)
    app.exec()


def shoot_text(app: QApplication, window: MainWindow, model_id: str, out: Path) -> None:
    """Two variations, then a third caught mid-stream."""
    panel = window.text_panel
    window.choose_model(model_id)
    panel.max_tokens.setValue(400)
    runs = iter([0, 1])

    def next_run(*_: object) -> None:
        seed = next(runs, None)
        if seed is None:
            panel.seed.setValue(2)
            panel.generate()
            QTimer.singleShot(700, lambda: (window.grab().save(str(out)), app.quit()))
            return
        panel.seed.setValue(seed)
        panel.generate()

    panel.finished.connect(lambda *_: QTimer.singleShot(200, next_run))
    QTimer.singleShot(300, next_run)
    app.exec()


def shoot_audio(app: QApplication, window: MainWindow, model_id: str, out: Path) -> None:
    """A note morphed between four instruments on the XY pad, its waveform and spectrogram."""
    panel = window.audio_panel
    window.choose_model(model_id)
    panel.instrument_a.setCurrentText("Flute")
    panel.instrument_b.setCurrentText("Violin")
    panel.instrument_c.setCurrentText("Church Organ")
    panel.instrument_d.setCurrentText("Clarinet")
    panel.morph.setValue(30)
    panel.morph_y.setValue(25)
    panel.pitch.setValue(60)
    panel.rendered.connect(
        lambda *_: QTimer.singleShot(300, lambda: (window.grab().save(str(out)), app.quit()))
    )
    QTimer.singleShot(300, panel.generate)
    app.exec()


def shoot_style(app: QApplication, window: MainWindow, content: Path, style: Path, out: Path):
    """A photo in the style of a picture by the fast method (AdaIN), a second style blended in
    a little, side by side."""
    panel = window.style_panel
    window.tabs.setCurrentWidget(panel)
    panel.set_model("adain-style")
    panel.side.setValue(512)
    panel.strength.setValue(85)
    panel.blend_weight.setValue(25)
    panel.set_content(content)
    panel.set_style(style)
    panel.set_blend(sorted(GALLERY.glob("mosaic-*.png"))[0])
    shots = []

    def shoot(*_: object) -> None:
        shots.append(1)
        if len(shots) == 1:  # the last setting's render: wait a moment for a stale one
            QTimer.singleShot(1500, lambda: (window.grab().save(str(out)), app.quit()))

    panel.rendered.connect(shoot)
    app.exec()


if __name__ == "__main__":
    main()
