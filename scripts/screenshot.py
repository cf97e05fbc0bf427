"""Open the window, drive it a little, and save a screenshot of the whole window.

xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshot.py docs/screenshot.png
... scripts/screenshot.py docs/encode.png --model flow-emoji-32 --encode picture.png
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="gan-emoji-32")
    parser.add_argument("--encode", type=Path, help="a picture to encode (VAE, flow)")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("models/last", args.model)
    window = MainWindow(Catalog(), settings)
    window.resize(1280, 800)
    window.show()
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


if __name__ == "__main__":
    main()
