"""Launch -> window shown -> first picture painted, in a fresh process; is torch loaded?

QT_QPA_PLATFORM=offscreen python benchmarks/startup.py
"""

from __future__ import annotations

import time

START = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from studio.core.catalog import Catalog  # noqa: E402
from studio.gui.main_window import MainWindow  # noqa: E402


def main() -> None:
    app = QApplication(sys.argv[:1])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Catalog(), settings)
    window.show()
    app.processEvents()
    shown = time.perf_counter() - START
    torch_at_show = "torch" in sys.modules
    times: dict[str, float] = {}

    def painted() -> None:
        times.setdefault("painted", time.perf_counter() - START)
        QTimer.singleShot(0, app.quit)

    window.image_panel.canvas.painted.connect(painted)
    QTimer.singleShot(30_000, app.quit)
    app.exec()
    print(
        f"window shown {shown:.2f} s after launch (budget 2.5 s); torch imported: {torch_at_show}"
    )
    print(
        f"first picture painted {times.get('painted', float('nan')):.2f} s after launch; "
        f"torch imported: {'torch' in sys.modules}"
    )
    window.close()


if __name__ == "__main__":
    main()
