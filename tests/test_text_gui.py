"""The Text panel in the window, driven through real widgets; waits on signals, never sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QTextCursor

from studio.core.text_request import TextRequest
from studio.engine.run import run_to_completion
from studio.gui.main_window import MainWindow
from studio.gui.text_panel import index_of_utf16, visible
from studio.media.text import read_text

TIMEOUT = 10_000


@pytest.fixture
def window(open_window, tiny_gan_folder: Path, tiny_gpt_folder: Path) -> MainWindow:
    return open_window(tiny_gan_folder, tiny_gpt_folder)


def generate(qtbot, window: MainWindow, **settings) -> None:
    panel = window.text_panel
    panel.prompt.setPlainText(settings.pop("prompt", "In the"))
    panel.max_tokens.setValue(settings.pop("max_tokens", 40))
    for name, value in settings.items():
        getattr(panel, name).setValue(value)
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT):
        panel.generate_button.click()


def test_choosing_a_text_model_opens_the_text_panel(qtbot, window: MainWindow) -> None:
    window.browser.modelChosen.emit("tiny-gpt")
    assert window.tabs.currentWidget() is window.text_panel
    assert window.text_panel.model_box.currentData() == "tiny-gpt"
    assert window.image_panel.state.model_id == "tiny-gan"  # the Image panel is untouched


def test_text_streams_into_the_output_and_joins_the_history(qtbot, window: MainWindow) -> None:
    panel = window.text_panel
    generate(qtbot, window, seed=5, temperature=0.9)
    request = panel.request
    assert request == TextRequest("tiny-gpt", "In the", 5, 40, 0.9, top_p=0.95)  # model's top-p
    expected = run_to_completion(window.runtime.text_job(request))
    assert panel.shown_text == expected.text
    assert panel.output.toPlainText() == visible(expected.text)
    assert len(panel.history) == 1 and not panel.history[0].stopped
    assert "tokens/s" in panel.speed.text() and "CPUExecutionProvider" in panel.speed.text()


def test_stop_keeps_the_partial_text_as_a_variation(qtbot, window: MainWindow) -> None:
    panel = window.text_panel
    panel.prompt.setPlainText("Stop me")
    panel.max_tokens.setValue(8000)
    panel.use_cache.setChecked(False)  # slow enough to stop in the middle
    panel.generate_button.click()
    # waitUntil, not waitSignal: a Python slot on a signal crossing threads at a token a
    # millisecond, disconnected with calls still queued, crashes PySide6 now and then
    qtbot.waitUntil(lambda: panel.shown_text != "Stop me", timeout=TIMEOUT)
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT) as finished:
        panel.stop_button.click()
    variation = finished.args[0]
    assert variation.stopped and 0 < variation.provenance.request.max_tokens < 8000
    assert not panel.stop_button.isEnabled()


def test_resample_from_here_keeps_the_text_before_the_cursor(qtbot, window: MainWindow) -> None:
    panel = window.text_panel
    generate(qtbot, window, seed=1, temperature=1.0)
    cursor = panel.output.textCursor()
    cursor.setPosition(len("In the") + 10)
    panel.output.setTextCursor(cursor)
    kept = panel.shown_text[: len("In the") + 10]
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT):
        panel.resample_button.click()
    assert panel.request is not None and panel.request.prompt == kept
    assert panel.request.seed == 2
    assert panel.shown_text.startswith(kept)
    assert len(panel.history) == 2
    # flipping back through the history restores the first variation and its settings
    panel.history_list.setCurrentRow(0)
    assert panel.seed.value() == 1 and panel.prompt.toPlainText() == "In the"
    panel.output.moveCursor(QTextCursor.MoveOperation.End)


def test_export_and_reopen_restore_text_and_settings(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    panel = window.text_panel
    generate(qtbot, window, seed=8, temperature=0.6, top_k=20)
    shown = panel.shown_text
    path = tmp_path / "variation.md"
    assert window.export_to(path, panel=window.text_panel)
    text, provenance = read_text(path)
    assert text == shown and provenance.request.top_k == 20
    panel.seed.setValue(99)
    panel.prompt.setPlainText("something else")
    assert window.open_file(path)
    assert panel.seed.value() == 8 and panel.top_k.value() == 20
    assert panel.prompt.toPlainText() == "In the" and panel.shown_text == shown
    assert window.tabs.currentWidget() is panel


def test_a_plain_text_file_becomes_the_prompt(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "draft.txt"
    path.write_text("My own beginning", encoding="utf-8")
    assert window.open_file(path)
    assert window.text_panel.prompt.toPlainText() == "My own beginning"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    assert not window.open_file(bad)
    assert "not UTF-8" in window.error_box.informativeText()


def test_view_positions_map_back_to_the_text() -> None:
    text = "a\x07b😀c\nd"
    assert visible(text) == "a\u2407b😀c\nd"
    assert index_of_utf16(text, 3) == 3  # after "a", bell, "b"
    assert index_of_utf16(text, 5) == 4  # the emoji is two UTF-16 units
    assert index_of_utf16(text, 99) == len(text)


def test_progress_from_a_fast_worker_coalesces_and_precedes_the_result(qtbot) -> None:
    import threading

    from studio.engine.scheduler import CancelToken, Ticket
    from studio.gui.bridge import EngineBridge

    bridge = EngineBridge(coalesce_progress=True)
    seen: list[object] = []
    bridge.progress.connect(lambda _t, p: seen.append(p))
    bridge.result.connect(lambda _t, r: seen.append(("result", r)))
    ticket = Ticket(1, "batch", CancelToken())

    def worker() -> None:
        for step in range(5000):
            bridge.on_progress(ticket, step)
        bridge.on_result(ticket, "done")

    thread = threading.Thread(target=worker)
    with qtbot.waitSignal(bridge.result, timeout=TIMEOUT):
        thread.start()
    thread.join()
    assert seen[-1] == ("result", "done") and seen[-2] == 4999
    assert len(seen) < 5000 and seen[:-1] == sorted(seen[:-1])
