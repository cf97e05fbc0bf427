"""The window checked by what a user sees: the pixels that reached the window's backing store,
the values the widgets show. Drives real widgets and real events with qtbot; waits on signals,
never sleeps (STYLE.md rule 10).

What is on screen is read back with `QScreen.grabWindow`, which on the offscreen platform
returns the window's backing store: the pixels the last paint really left there, not a fresh
render as `QWidget.grab` would make.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QObject, QPoint, QPointF, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import (
    QApplication,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.core.results import ImageResult
from studio.engine.run import run_to_completion
from studio.gui.canvas import Canvas
from studio.gui.image_panel import ImagePanel
from studio.gui.main_window import MainWindow
from studio.gui.text_panel import visible

TIMEOUT = 10_000
REPO = Path(__file__).resolve().parents[1]


# -- reading the screen ------------------------------------------------------------------------
def on_screen(widget: QWidget) -> np.ndarray:
    """(H, W, 3) uint8: what the window's backing store holds where `widget` is."""
    window = widget.window()
    image = window.screen().grabWindow(window.winId()).toImage()
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    whole = rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3)
    origin = widget.mapTo(window, QPoint(0, 0))
    return whole[
        origin.y() : origin.y() + widget.height(), origin.x() : origin.x() + widget.width()
    ].copy()


def canvas_picture(canvas: Canvas, height: int, width: int) -> np.ndarray:
    """The picture the canvas shows, read back at `height` x `width`. Every screen pixel of a
    scaled pixel must have one colour, but for the pixels on its edges (Qt's scaling may put
    an edge one screen pixel either way); the picture must fill the canvas's target rect."""
    shown = on_screen(canvas)
    rect = canvas.target_rect()
    assert rect.width() >= width and rect.height() >= height, "nothing drawn, or drawn too small"
    drawn = shown[rect.y() : rect.y() + rect.height(), rect.x() : rect.x() + rect.width()]
    rows = np.arange(rect.height()) * height // rect.height()  # the cell of each screen row
    cols = np.arange(rect.width()) * width // rect.width()
    centre_rows = (2 * np.arange(height) + 1) * rect.height() // (2 * height)
    centre_cols = (2 * np.arange(width) + 1) * rect.width() // (2 * width)
    picture = drawn[np.ix_(centre_rows, centre_cols)]
    inner_rows = (rows == np.roll(rows, 1)) & (rows == np.roll(rows, -1))
    inner_cols = (cols == np.roll(cols, 1)) & (cols == np.roll(cols, -1))
    wrong = (drawn != picture[np.ix_(rows, cols)]).any(-1) & np.outer(inner_rows, inner_cols)
    assert not wrong.any(), f"{wrong.sum()} screen pixels differ from their pixel's colour"
    return picture


def assert_canvas_shows(canvas: Canvas, pixels: np.ndarray) -> None:
    np.testing.assert_array_equal(canvas_picture(canvas, *pixels.shape[:2]), pixels)


def render(window: MainWindow, request: ImageRequest) -> np.ndarray:
    """The picture of `request`, made afresh outside the GUI."""
    return run_to_completion(window.runtime.image_job(request)).pixels


def button(parent: QWidget, text: str) -> QToolButton:
    (found,) = [b for b in parent.findChildren(QToolButton) if b.text() == text]
    return found


def drop_file(widget: QWidget, path: Path) -> None:
    """Drag `path` over `widget` and drop it there, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    point = QPointF(widget.width() / 2, widget.height() / 2)
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), f"the window refuses to take {path.name}"
    QApplication.sendEvent(widget, QDropEvent(point, Qt.DropAction.CopyAction, mime, buttons, keys))


def handle_centre(slider: QSlider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    control = QStyle.ComplexControl.CC_Slider
    part = QStyle.SubControl.SC_SliderHandle
    return slider.style().subControlRect(control, option, part, slider).center()


def x_of(slider: QSlider, value: int) -> int:
    """The x at which the handle's centre sits for `value`."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    style, control = slider.style(), QStyle.ComplexControl.CC_Slider
    groove = style.subControlRect(control, option, QStyle.SubControl.SC_SliderGroove, slider)
    handle = style.subControlRect(control, option, QStyle.SubControl.SC_SliderHandle, slider)
    span = groove.width() - handle.width()
    offset = QStyle.sliderPositionFromValue(slider.minimum(), slider.maximum(), value, span)
    return groove.x() + offset + handle.width() // 2


class Screen(QObject):
    """Watches an Image panel: `shown(request)` once a result of `request` was rendered and
    then painted on the canvas (the paint that follows a result shows that result)."""

    shown = Signal(object)

    def __init__(self, panel: ImagePanel) -> None:
        super().__init__()
        self.panel = panel
        self._rendered: ImageRequest | None = None
        self.painted: list[ImageRequest] = []
        panel.rendered.connect(self._on_rendered)
        panel.canvas.painted.connect(self._on_painted)

    def _on_rendered(self, result: ImageResult) -> None:
        self._rendered = result.request

    def _on_painted(self) -> None:
        if self._rendered is not None:
            self.painted.append(self._rendered)
            self.shown.emit(self._rendered)
            self._rendered = None

    @contextlib.contextmanager
    def showing(self, qtbot, request: ImageRequest) -> Iterator[None]:
        """Runs the block, then waits until the picture of `request` has been painted."""
        self.painted.clear()
        yield
        if request not in self.painted:
            with qtbot.waitSignal(
                self.shown, timeout=TIMEOUT, check_params_cb=lambda shown: shown == request
            ):
                pass


# -- fixtures -----------------------------------------------------------------------------------
def new_window(qtbot, models: Path, settings_file: Path) -> MainWindow:
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    window = MainWindow(Catalog([(models, "user")]), settings)
    qtbot.addWidget(window)
    return window


def copy_models(root: Path, *folders: Path) -> Path:
    for folder in folders:
        shutil.copytree(folder, root / folder.name)
    return root


def show(qtbot, window: MainWindow) -> Screen:
    """Show a new window; returns once its first picture is on the canvas."""
    screen = Screen(window.image_panel)
    with screen.showing(qtbot, window.image_panel.state):
        window.show()
    return screen


@pytest.fixture
def gan_window(qtbot, tmp_path: Path, tiny_gan_folder: Path) -> Iterator[tuple[MainWindow, Screen]]:
    """A shown window over the tiny GAN, its first picture on the canvas."""
    window = new_window(qtbot, copy_models(tmp_path / "models", tiny_gan_folder), tmp_path / "s")
    yield window, show(qtbot, window)
    window.close()


# -- the picture --------------------------------------------------------------------------------
def test_the_first_picture_is_painted_at_start(
    qtbot, tmp_path: Path, tiny_gan_folder: Path
) -> None:
    window = new_window(qtbot, copy_models(tmp_path / "models", tiny_gan_folder), tmp_path / "s")
    panel = window.image_panel
    assert panel.state == ImageRequest("tiny-gan")  # asked for before the window is shown
    show(qtbot, window)
    expected = render(window, ImageRequest("tiny-gan"))
    np.testing.assert_array_equal(panel.result.pixels, expected)
    assert_canvas_shows(panel.canvas, expected)
    # drawn crisp and large: whole screen pixels per model pixel, most of the canvas
    rect = panel.canvas.target_rect()
    assert rect.width() == rect.height() and rect.width() % 8 == 0
    assert rect.width() >= min(panel.canvas.width(), panel.canvas.height()) - 8
    window.close()


def test_each_new_picture_reaches_the_canvas(qtbot, gan_window: tuple[MainWindow, Screen]) -> None:
    window, screen = gan_window
    panel = window.image_panel
    first = panel.result.pixels.copy()
    assert_canvas_shows(panel.canvas, first)
    seed_one = ImageRequest("tiny-gan", seed=1)
    with screen.showing(qtbot, seed_one):
        qtbot.mouseClick(button(panel, "▶"), Qt.MouseButton.LeftButton)
    pixels = render(window, seed_one)
    assert not np.array_equal(pixels, first)
    np.testing.assert_array_equal(panel.result.pixels, pixels)
    assert_canvas_shows(panel.canvas, pixels)
    grid = ImageRequest("tiny-gan", seed=1, grid=(4, 4))
    with screen.showing(qtbot, grid):
        qtbot.mouseClick(panel.grid_button, Qt.MouseButton.LeftButton)
    grid_pixels = render(window, grid)
    assert grid_pixels.shape == (32, 32, 3)
    assert_canvas_shows(panel.canvas, grid_pixels)
    with screen.showing(qtbot, seed_one):
        window.undo.undo()  # back to the single picture of seed 1
    assert_canvas_shows(panel.canvas, pixels)


# -- a slider drag ------------------------------------------------------------------------------
def test_a_slider_drag_ends_on_the_picture_of_its_final_value_in_one_undo_step(
    qtbot, gan_window: tuple[MainWindow, Screen]
) -> None:
    window, screen = gan_window
    panel, undo = window.image_panel, window.undo
    slider = panel.sliders.slider("PC1")
    assert slider.isVisible() and slider.width() > 100
    before, steps_before = panel.state, undo.count()
    start = handle_centre(slider)
    left = Qt.MouseButton.LeftButton
    with qtbot.waitSignal(panel.sliders.dragStarted, timeout=TIMEOUT):
        qtbot.mousePress(slider, left, pos=start)
    for value in (40, 90, 160, 230, 180):  # right, further, then back a little
        qtbot.mouseMove(slider, QPoint(x_of(slider, value), start.y()))
    final = slider.value()
    assert 150 <= final <= 210, "the handle follows the mouse"
    final_request = ImageRequest("tiny-gan", offsets=(("PC1", final / 100),))
    finished = qtbot.waitSignal(panel.sliders.dragFinished, timeout=TIMEOUT)
    with screen.showing(qtbot, final_request), finished:
        qtbot.mouseRelease(slider, left, pos=QPoint(x_of(slider, final), start.y()))
    assert slider.value() == final
    assert panel.state == final_request
    assert panel.sliders.rows["PC1"].spin.value() == pytest.approx(final / 100)
    expected = render(window, final_request)
    np.testing.assert_array_equal(panel.result.pixels, expected)
    assert_canvas_shows(panel.canvas, expected)
    assert undo.count() == steps_before + 1  # the whole drag is one step
    with screen.showing(qtbot, before):
        undo.undo()
    assert panel.state == before and slider.value() == 0
    assert_canvas_shows(panel.canvas, render(window, before))


# -- files dropped on the window -------------------------------------------------------------
def test_dropping_an_exported_picture_restores_its_model_seed_and_sliders(
    qtbot, tmp_path: Path, tiny_gan_folder: Path, tiny_vae_folder: Path
) -> None:
    from studio.media.image import read_image

    models = copy_models(tmp_path / "models", tiny_gan_folder, tiny_vae_folder)
    window = new_window(qtbot, models, tmp_path / "s")
    panel = window.image_panel
    screen = show(qtbot, window)
    offsets = (("PC1", 1.25), ("PC3", -0.5))
    exported = replace(window.runtime.default_request("tiny-vae"), seed=77, offsets=offsets)
    with screen.showing(qtbot, exported):
        panel.set_model("tiny-vae", exported)
    panel.export_scale.setValue(2)
    path = tmp_path / "exported.png"
    assert window.export_to(path)
    with screen.showing(qtbot, ImageRequest("tiny-gan")):
        window.choose_model("tiny-gan")
    panel.export_scale.setValue(5)
    with screen.showing(qtbot, exported):
        drop_file(panel.canvas, path)
    assert panel.state == exported
    assert panel.seed.value() == 77
    assert panel.sliders.slider("PC1").value() == 125
    assert panel.sliders.slider("PC3").value() == -50
    assert panel.sliders.slider("PC2").value() == 0
    assert panel.export_scale.value() == 2
    assert "Tiny VAE" in window.browser.card.text()
    expected = render(window, exported)
    np.testing.assert_array_equal(read_image(path)[0][::2, ::2], expected)
    assert_canvas_shows(panel.canvas, expected)
    window.close()


def test_dropping_a_text_export_restores_its_settings_and_shows_its_text(
    qtbot, open_window, tiny_gan_folder: Path, tiny_gpt_folder: Path, tmp_path: Path
) -> None:
    window = open_window(tiny_gan_folder, tiny_gpt_folder)
    panel = window.text_panel
    window.choose_model("tiny-gpt")
    panel.prompt.setPlainText("In the")
    panel.max_tokens.setValue(30)
    panel.seed.setValue(8)
    panel.temperature.setValue(0.6)
    panel.top_k.setValue(20)
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT):
        panel.generate_button.click()
    exported, text = panel.request, panel.shown_text
    path = tmp_path / "verse.md"
    assert window.export_to(path, panel=panel)
    panel.prompt.setPlainText("something else")
    panel.seed.setValue(99)
    panel.top_k.setValue(3)
    panel.temperature.setValue(1.5)
    panel.output.clear()
    window.tabs.setCurrentWidget(window.image_panel)  # dropped on the picture
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT):
        drop_file(window.image_panel.canvas, path)
    assert window.tabs.currentWidget() is panel
    assert panel.current_request() == exported
    assert (panel.seed.value(), panel.top_k.value()) == (8, 20)
    assert panel.temperature.value() == pytest.approx(0.6)
    assert panel.prompt.toPlainText() == "In the"
    assert panel.output.toPlainText() == visible(text)


def test_dropping_an_audio_export_restores_its_settings_and_shows_its_note(
    qtbot, open_window, tiny_gan_folder: Path, tiny_wavenet_folder: Path, tmp_path: Path
) -> None:
    from studio.media.audio import read_audio

    window = open_window(tiny_gan_folder, tiny_wavenet_folder)
    panel = window.audio_panel
    window.choose_model("tiny-wavenet")
    panel.instrument_a.setCurrentText("Piano")
    panel.instrument_b.setCurrentText("Flute")
    panel.morph.setValue(25)
    panel.pitch.setValue(64)
    panel.seconds.setValue(0.1)
    panel.seed.setValue(3)
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT) as rendered:
        panel.generate_button.click()
    exported = rendered.args[0].request
    path = tmp_path / "note.wav"
    assert window.export_to(path, panel=panel)
    samples, _, _ = read_audio(path)
    panel.morph.setValue(90)
    panel.pitch.setValue(50)
    panel.seed.setValue(11)
    panel.waveform.set_audio(samples[:0])
    window.tabs.setCurrentWidget(window.image_panel)
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        drop_file(window.image_panel.canvas, path)
    assert window.tabs.currentWidget() is panel
    assert panel.current_request() == exported
    assert (panel.morph.value(), panel.pitch.value(), panel.seed.value()) == (25, 64, 3)
    np.testing.assert_array_equal(panel.waveform.audio, samples)
    assert len(samples) == round(0.1 * panel.result.sample_rate)


# -- what the window remembers ------------------------------------------------------------------
def test_each_model_keeps_its_seed_and_sliders_across_switches_and_restarts(
    qtbot, tmp_path: Path, tiny_gan_folder: Path, tiny_vae_folder: Path
) -> None:
    models = copy_models(tmp_path / "models", tiny_gan_folder, tiny_vae_folder)
    window = new_window(qtbot, models, tmp_path / "s")
    panel = window.image_panel
    screen = show(qtbot, window)
    next_seed = button(panel, "▶")
    gan = ImageRequest("tiny-gan", seed=2, offsets=(("PC1", 1.5),))
    with screen.showing(qtbot, gan):
        qtbot.mouseClick(next_seed, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(next_seed, Qt.MouseButton.LeftButton)
        panel.sliders.slider("PC1").setValue(150)
    assert panel.state == gan
    vae_default = window.runtime.default_request("tiny-vae")
    with screen.showing(qtbot, vae_default):
        window.browser.modelChosen.emit("tiny-vae")
    assert panel.state == vae_default  # a model shown for the first time starts at 0
    assert panel.seed.value() == 0 and panel.sliders.slider("PC1").value() == 0
    vae = replace(vae_default, seed=1, offsets=(("PC2", -0.7),))
    with screen.showing(qtbot, vae):
        qtbot.mouseClick(next_seed, Qt.MouseButton.LeftButton)
        panel.sliders.slider("PC2").setValue(-70)
    with screen.showing(qtbot, gan):
        window.browser.modelChosen.emit("tiny-gan")
    assert panel.state == gan
    assert panel.seed.value() == 2 and panel.sliders.slider("PC1").value() == 150
    assert_canvas_shows(panel.canvas, render(window, gan))
    with screen.showing(qtbot, vae):
        window.browser.modelChosen.emit("tiny-vae")
    vae = replace(vae, offsets=(("PC2", -0.7), ("PC3", 0.4)))
    with screen.showing(qtbot, vae):  # an edit after the last switch is kept too
        panel.sliders.slider("PC3").setValue(40)
    window.close()

    again = new_window(qtbot, models, tmp_path / "s")  # the same settings file, read anew
    shown = again.image_panel
    assert shown.state == vae  # the last model, where it was left
    screen = show(qtbot, again)
    assert shown.seed.value() == 1 and shown.sliders.slider("PC2").value() == -70
    assert shown.sliders.slider("PC3").value() == 40
    assert_canvas_shows(shown.canvas, render(again, vae))
    with screen.showing(qtbot, gan):
        again.browser.modelChosen.emit("tiny-gan")
    assert shown.state == gan
    assert shown.seed.value() == 2 and shown.sliders.slider("PC1").value() == 150
    assert_canvas_shows(shown.canvas, render(again, gan))
    again.close()


# The offscreen platform's default virtual screen is 800 x 800, smaller than the window's
# minimum size, so restoreGeometry() moves and shrinks a restored window to fit it: neither
# size nor position could be checked there. Two fresh processes on an offscreen screen large
# enough (the platform's configfile option) check both, and the restart is a real one.
GEOMETRY_SCRIPT = """
import sys
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from studio.core.catalog import Catalog
from studio.gui.main_window import MainWindow

models, ini, move = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "move"
app = QApplication([])
window = MainWindow(Catalog([(models, "user")]), QSettings(ini, QSettings.Format.IniFormat))
window.show()
assert QTest.qWaitForWindowExposed(window)
if move:
    window.move(123, 77)
    window.resize(1400, 760)
print(window.x(), window.y(), window.width(), window.height())
window.close()
"""


def test_the_window_reopens_at_the_size_and_place_it_was_closed(
    tmp_path: Path, tiny_gan_folder: Path
) -> None:
    models = copy_models(tmp_path / "models", tiny_gan_folder)
    screen = {"name": "big", "x": 0, "y": 0, "width": 2560, "height": 1600}
    screen.update(logicalDpi=96, logicalBaseDpi=96, dpr=1)
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"synchronousWindowSystemEvents": True, "screens": [screen]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    env["PYTHONPATH"] = str(REPO)  # the tree under test, not an installed copy

    def run(mode: str) -> tuple[int, ...]:
        args = [sys.executable, "-c", GEOMETRY_SCRIPT, str(models), str(tmp_path / "s"), mode]
        done = subprocess.run(
            args, capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=True
        )
        return tuple(int(v) for v in done.stdout.split()[-4:])

    first = run("fresh")
    assert first[2:] != (1400, 760) and first[:2] != (123, 77)  # the test means something
    assert run("move") == (123, 77, 1400, 760)
    assert run("look") == (123, 77, 1400, 760)
