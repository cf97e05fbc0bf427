"""The window, driven through real widgets with qtbot; waits on signals, never sleeps."""

from __future__ import annotations

import shutil
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import DeviceSettings, ModelRuntime
from studio.gui.main_window import MainWindow

TIMEOUT = 10_000


class CountingRuntime(ModelRuntime):
    """Counts the jobs the engine actually runs."""

    jobs = 0

    def image_job(self, request: ImageRequest):
        self.jobs += 1
        return (yield from super().image_job(request))


@pytest.fixture
def models(tmp_path: Path, tiny_gan_folder: Path) -> Path:
    root = tmp_path / "models"
    shutil.copytree(tiny_gan_folder, root / "tiny-gan")
    return root


@pytest.fixture
def window(qtbot, models: Path, tmp_path: Path) -> Generator[MainWindow, None, None]:
    catalog = Catalog([(models, "user")])
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(catalog, settings, CountingRuntime(catalog))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.image_panel.result is not None, timeout=TIMEOUT)
    yield win
    win.close()


def open_added_model(qtbot, window: MainWindow, models: Path, folder: Path) -> None:
    """Copy a model folder into the window's models directory, rescan, and open it."""
    shutil.copytree(folder, models / folder.name)
    window.browser.set_catalog(Catalog([(models, "user")]))
    window.runtime.catalog = Catalog([(models, "user")])
    with qtbot.waitSignal(window.image_panel.rendered, timeout=TIMEOUT):
        window.image_panel.set_model(folder.name)


def direct_render(win: MainWindow, state: ImageRequest) -> np.ndarray:
    return run_to_completion(win.runtime.image_job(state)).pixels


def test_window_opens_on_the_first_model_with_its_card(window: MainWindow) -> None:
    panel = window.image_panel
    assert panel.state == ImageRequest("tiny-gan")
    assert "Tiny GAN" in window.browser.card.text()
    assert (
        "onnx" in window.device_label.text()
        and "CPUExecutionProvider" in window.device_label.text()
    )
    assert panel.result is not None and panel.result.pixels.shape == (8, 8, 3)


def test_slider_move_changes_the_picture(qtbot, window: MainWindow) -> None:
    panel = window.image_panel
    before = panel.result.pixels.copy()
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.sliders.slider("PC1").setValue(250)
    assert panel.state.offset_map == {"PC1": 2.5}
    assert not np.array_equal(before, panel.result.pixels)


def test_burst_of_slider_moves_ends_on_the_final_value_without_backlog(
    qtbot, window: MainWindow
) -> None:
    panel = window.image_panel
    runtime = window.runtime
    assert isinstance(runtime, CountingRuntime)
    jobs_before = runtime.jobs
    slider = panel.sliders.slider("PC2")
    for value in range(-150, -50):  # 100 moves, as fast as the event loop delivers them
        slider.setValue(value)
    jobs_after_burst = runtime.jobs
    final = ImageRequest("tiny-gan", offsets=(("PC2", -0.51),))
    assert panel.state == final
    qtbot.waitUntil(
        lambda: panel.result is not None and panel.result.request == final, timeout=TIMEOUT
    )
    assert window.engine.wait_idle(10)
    np.testing.assert_array_equal(panel.result.pixels, direct_render(window, final))
    # No backlog: once the burst is over, at most the running job and the newest one run.
    assert runtime.jobs - jobs_after_burst <= 2
    assert runtime.jobs - jobs_before < 50  # a queue would have run all 100


def test_export_then_open_restores_the_same_state(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    panel = window.image_panel
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.edit(seed=77, offsets=(("PC1", 1.25), ("PC3", -0.5)), truncation=0.8, text="t")
    exported_state, exported_pixels = panel.state, panel.result.pixels.copy()
    panel.export_scale.setValue(4)
    path = tmp_path / "out.png"
    assert window.export_to(path)
    assert not window.export_to(path)  # never overwrites silently
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.edit(seed=3, offsets=(), truncation=None, text="t")
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        assert window.open_file(path)
    assert panel.state == exported_state
    assert panel.sliders.rows["PC1"].value() == 1.25
    assert panel.seed.value() == 77 and panel.truncate.isChecked()
    np.testing.assert_array_equal(panel.result.pixels, exported_pixels)


def test_undo_redo_of_seed_and_a_merged_slider_drag(qtbot, window: MainWindow) -> None:
    panel, undo = window.image_panel, window.undo
    panel.step_seed(+1)
    panel.step_seed(+1)
    assert panel.state.seed == 2
    slider = panel.sliders.slider("PC1")
    slider.sliderPressed.emit()
    for value in (10, 20, 30, 40):
        slider.setValue(value)
    slider.sliderReleased.emit()
    assert panel.state.offset_map == {"PC1": 0.4}
    undo.undo()  # the whole drag is one step
    assert panel.state.offset_map == {} and slider.value() == 0
    undo.undo()
    assert panel.state.seed == 1 and panel.seed.value() == 1
    undo.redo()
    undo.redo()
    assert panel.state.seed == 2 and panel.state.offset_map == {"PC1": 0.4}
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        undo.undo()
    assert panel.result.request == panel.state


def test_seed_navigation_and_grid_pick(qtbot, window: MainWindow) -> None:
    panel = window.image_panel
    panel.step_seed(+1)
    panel.step_seed(+1)
    panel.step_seed(-1)
    assert panel.state.seed == 1
    panel.random_seed()
    random_seed = panel.state.seed
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.grid_button.setChecked(True)
    assert panel.result.pixels.shape == (32, 32, 3)  # 4x4 cells of 8 px
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.pick_cell(1, 2)
    assert panel.state.seed == random_seed + 6 and panel.state.grid == (1, 1)
    assert not panel.grid_button.isChecked()


def test_failing_model_shows_an_error_and_the_window_stays_usable(
    qtbot, window: MainWindow, models: Path
) -> None:
    broken = models / "broken-gan"
    shutil.copytree(models / "tiny-gan", broken)
    manifest = (broken / "manifest.toml").read_text().replace('"tiny-gan"', '"broken-gan"')
    manifest = manifest.replace("Tiny GAN (untrained)", "Broken GAN")
    (broken / "manifest.toml").write_text(manifest)
    (broken / "generator.onnx").write_bytes(b"not an onnx file")
    window.browser.set_catalog(Catalog([(models, "user")]))
    window.runtime.catalog = Catalog([(models, "user")])
    panel = window.image_panel
    with qtbot.waitSignal(panel.failed, timeout=TIMEOUT) as failure:
        panel.set_model("broken-gan")
    name, reason = failure.args
    assert name == "Broken GAN" and "sha256" in reason
    assert window.error_box is not None and window.error_box.isVisible()
    assert "Broken GAN" in window.error_box.text()
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.set_model("tiny-gan")
    assert panel.result.request.model_id == "tiny-gan"


def test_device_settings_apply_without_restart(qtbot, window: MainWindow) -> None:
    panel = window.image_panel
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        window.apply_device_settings(DeviceSettings("gpu", 1))
    assert window.runtime.settings == DeviceSettings("gpu", 1)
    if panel.result.fallback:  # no GPU here: the fallback is shown, not silent
        assert "⚠" in window.device_label.text()
    assert window.settings.value("compute/device") == "gpu"


def test_last_model_and_geometry_are_remembered(window: MainWindow) -> None:
    window.close()
    assert window.settings.value("models/last") == "tiny-gan"
    assert window.settings.value("window/geometry") is not None


def test_signal_emission_keeps_python_refcounts_intact(qtbot) -> None:
    """PySide6 6.12.0 drops a reference to the bool emit() returns: on Python 3.11 the app
    aborts after a few thousand slider moves. Guards the pinned version."""
    import sys

    from PySide6.QtWidgets import QSlider

    slider = QSlider()
    qtbot.addWidget(slider)
    slider.valueChanged.connect(lambda _: None)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for value in range(1000):
        slider.setValue(value % 100)
        slider.valueChanged.emit(value)
    after = sys.getrefcount(True), sys.getrefcount(None)
    assert abs(after[0] - before[0]) < 10 and abs(after[1] - before[1]) < 10


def test_the_window_paints_without_importing_torch() -> None:
    """ONNX Runtime is the default backend; torch (~1 s to import) must stay unloaded."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).parents[1]
    result = subprocess.run(  # the tree under test, not whatever copy of studio is installed
        [sys.executable, str(repo / "benchmarks" / "startup.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert result.stdout.count("torch imported: False") == 2, result.stdout


def test_the_last_point_is_restored_at_the_next_start(
    qtbot, window: MainWindow, models: Path
) -> None:
    panel = window.image_panel
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.edit(seed=12, offsets=(("PC2", -1.0),), text="t")
    window.close()
    catalog = Catalog([(models, "user")])
    again = MainWindow(catalog, window.settings, ModelRuntime(catalog))
    qtbot.addWidget(again)
    assert again.image_panel.state == ImageRequest("tiny-gan", seed=12, offsets=(("PC2", -1.0),))
    assert again.undo.count() == 0  # opening the app is not an edit
    again.close()


def test_copy_full_screen_and_files_without_settings(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    from PySide6.QtGui import QGuiApplication

    from studio.media.image import write_image

    window.copy_image()
    assert QGuiApplication.clipboard().image().size() == window.image_panel.current_image().size()
    window.toggle_full_screen()
    assert not window.image_panel.controls.isVisible() and not window.models_dock.isVisible()
    window.toggle_full_screen()
    assert window.image_panel.controls.isVisible()
    plain = write_image(tmp_path / "plain.png", np.zeros((4, 4, 3), np.uint8))
    assert not window.open_file(plain)
    assert "no Latent Studio settings" in window.error_box.informativeText()
    assert window.image_panel.state == ImageRequest("tiny-gan")  # nothing lost


def test_dropping_a_picture_on_a_flow_encodes_it_and_sliders_start_there(
    qtbot, window: MainWindow, models: Path, tiny_flow_folder: Path, tmp_path: Path
) -> None:
    from PIL import Image

    open_added_model(qtbot, window, models, tiny_flow_folder)
    panel = window.image_panel
    assert panel.encode_button.isEnabled()
    mine = np.random.default_rng(5).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(mine).save(tmp_path / "mine.png")
    with qtbot.waitSignals([panel.pictureEncoded, panel.rendered], timeout=TIMEOUT):
        assert window.open_file(tmp_path / "mine.png")  # no settings inside: encode it
    assert panel.state.latent is not None and panel.encoded.isVisible()
    assert "exact" in panel.encoded.summary.text()
    np.testing.assert_array_equal(panel.result.pixels, panel.encoded_result.reconstruction)
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT):
        panel.sliders.slider("PC1").setValue(100)
    assert panel.state.latent is not None and panel.state.offset_map == {"PC1": 1.0}
    window.undo.undo()
    window.undo.undo()
    assert panel.state.latent is None  # back before the encoding


def test_a_gan_offers_no_encoding(window: MainWindow, tmp_path: Path) -> None:
    from PIL import Image

    assert not window.image_panel.encode_button.isEnabled()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "plain.png")
    assert not window.open_file(tmp_path / "plain.png")
    assert "VAE or flow" in window.error_box.informativeText()


def test_stopping_a_sampler_keeps_an_exportable_preview(
    qtbot,
    window: MainWindow,
    models: Path,
    tiny_ddpm_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from studio.cli import main
    from studio.media.image import read_image

    open_added_model(qtbot, window, models, tiny_ddpm_folder)
    panel = window.image_panel
    assert panel.sampler_box.isVisible() and panel.progress_box.isVisible()
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddpm"))  # 1000 steps
    assert panel.state.sampler == "ddpm"
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=TIMEOUT)  # a step is done
    with qtbot.waitSignal(panel.stopped, timeout=TIMEOUT) as stopped:
        panel.stop()
    step = stopped.args[0].provenance.preview_step
    assert 1 <= step < 1000 and panel.result is stopped.args[0]
    panel.export_scale.setValue(1)
    assert window.export_to(tmp_path / "preview.png")
    pixels, provenance = read_image(tmp_path / "preview.png")
    assert provenance.preview_step == step and provenance.request.sampler == "ddpm"
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(models))
    assert (
        main(
            [
                "generate",
                "--from",
                str(tmp_path / "preview.png"),
                "--out",
                str(tmp_path / "again.png"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(read_image(tmp_path / "again.png")[0], pixels)
