"""Open the window, render, move a few sliders, and save a screenshot of the whole window.

xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshot.py docs/screenshot.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio.core.catalog import Catalog
from studio.gui.app import apply_palette
from studio.gui.main_window import MainWindow


def main(out: Path, dark: bool = True) -> None:
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if dark:
        from studio.gui.app import dark_palette

        app.setPalette(dark_palette())
    else:
        apply_palette(app)
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Catalog(), settings)
    window.resize(1280, 800)
    window.show()
    panel = window.image_panel
    steps = iter(
        [
            lambda: panel.edit(seed=1, text="seed"),
            lambda: panel.sliders.slider("PC2").setValue(80),
            lambda: panel.grid_button.setChecked(True),
            lambda: (window.grab().save(str(out)), app.quit()),
        ]
    )

    def next_step(*_: object) -> None:
        QTimer.singleShot(300, lambda: next(steps)())

    panel.rendered.connect(next_step)
    app.exec()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshot.png"))
