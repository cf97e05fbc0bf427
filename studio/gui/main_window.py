"""The studio window: model browser, one tab per panel, menus, status bar, settings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from studio.core.catalog import Catalog
from studio.core.errors import StudioError
from studio.core.provenance import Provenance
from studio.core.requests import ImageRequest
from studio.core.results import ImageResult
from studio.core.style_request import StyleRequest
from studio.engine.runtime import DeviceSettings, ModelRuntime
from studio.engine.scheduler import Engine
from studio.gui.audio_panel import AudioPanel
from studio.gui.image_panel import ImagePanel
from studio.gui.model_browser import ModelBrowser
from studio.gui.settings_dialog import SettingsDialog
from studio.gui.style_panel import StylePanel
from studio.gui.text_panel import TextPanel
from studio.media.audio import AUDIO_FORMATS, read_audio
from studio.media.image import FORMATS, read_provenance, upscale, write_image
from studio.media.text import TEXT_SUFFIXES, read_text

OPEN_FILTER = "Images, texts and sounds (*.png *.webp *.jpg *.jpeg *.txt *.md *.wav *.flac)"
EXPORT_FILTERS = "PNG (*.png);;WebP (*.webp);;JPEG (*.jpg)"
TEXT_EXPORT_FILTERS = "Markdown (*.md);;Text (*.txt)"
AUDIO_EXPORT_FILTERS = "FLAC (*.flac);;WAV (*.wav)"


class MainWindow(QMainWindow):
    def __init__(
        self, catalog: Catalog, settings: QSettings, runtime: ModelRuntime | None = None
    ) -> None:
        super().__init__()
        self.setWindowTitle("Latent Studio")
        self.setAcceptDrops(True)
        self.settings = settings
        self.engine = Engine()
        self.runtime = runtime or ModelRuntime(catalog)
        self.runtime.settings = DeviceSettings(
            str(settings.value("compute/device", "auto")),
            int(str(settings.value("compute/threads", 0))) or None,
        )
        self.undo = QUndoStack(self)
        self.error_box: QMessageBox | None = None  # the last error shown (kept for tests)

        self.browser = ModelBrowser(catalog)
        dock = QDockWidget("Models")
        dock.setObjectName("models-dock")
        dock.setWidget(self.browser)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.models_dock = dock

        self.image_panel = ImagePanel(self.engine, self.runtime, self.undo)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.image_panel, "Image")
        self.audio_panel = AudioPanel(self.engine, self.runtime)
        self.tabs.addTab(self.audio_panel, "Audio")
        self.text_panel = TextPanel(self.engine, self.runtime)
        self.tabs.addTab(self.text_panel, "Text")
        self.style_panel = StylePanel(self.engine, self.runtime, lambda: self.image_panel.result)
        self.tabs.addTab(self.style_panel, "Style")
        self.setCentralWidget(self.tabs)

        self.device_label = QLabel("No model loaded")
        self.statusBar().addPermanentWidget(self.device_label)

        self.browser.modelChosen.connect(self.choose_model)
        for panel in (self.text_panel, self.audio_panel, self.style_panel):
            panel.failed.connect(self.show_error)
            panel.status.connect(self.device_label.setText)
        self.image_panel.modelChanged.connect(self._model_changed)
        self.image_panel.status.connect(self.device_label.setText)
        self.image_panel.failed.connect(self.show_error)
        self.image_panel.rendered.connect(self._autosave)
        self._build_menus()
        self._restore()

    # -- menus ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        def action(menu, text: str, slot, shortcut=None) -> QAction:
            act = menu.addAction(text)
            act.triggered.connect(slot)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Open…", self._open_dialog, QKeySequence.StandardKey.Open)
        action(file_menu, "&Export…", self._export_dialog, "Ctrl+E")
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = self.menuBar().addMenu("&Edit")
        undo = self.undo.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addAction(undo)
        edit.addAction(redo)
        edit.addSeparator()
        action(edit, "&Copy image", self.copy_image, QKeySequence.StandardKey.Copy)
        edit.addSeparator()
        action(edit, "&Settings…", self._settings_dialog, QKeySequence.StandardKey.Preferences)

        view = self.menuBar().addMenu("&View")
        self.fullscreen_action = action(view, "&Full-screen canvas", self.toggle_full_screen, "F11")
        self.fullscreen_action.setCheckable(True)

    # -- models -----------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 780)
            self.resizeDocks([self.models_dock], [260], Qt.Orientation.Horizontal)
        ids = [m for m in self.browser.model_ids() if self._modality(m) == "image"]
        last = str(self.settings.value("models/last", ""))
        first = last if last in ids else (ids[0] if ids else None)
        if first is not None:
            self.image_panel.set_model(first, self._saved_state(first))
            self.undo.clear()  # opening the app is not an edit

    def _modality(self, model_id: str) -> str:
        try:
            return self.runtime.catalog.get(model_id).modality
        except StudioError:
            return "image"

    def choose_model(self, model_id: str) -> None:
        """A model picked in the browser opens in the panel of what it makes."""
        panels: dict[str, TextPanel | AudioPanel | StylePanel] = {
            "text": self.text_panel,
            "audio": self.audio_panel,
            "style": self.style_panel,
        }
        panel = panels.get(self._modality(model_id))
        if panel is not None:
            panel.set_model(model_id)
            self.tabs.setCurrentWidget(panel)
            self.browser.select(model_id)
            return
        self.image_panel.set_model(model_id)
        self.tabs.setCurrentWidget(self.image_panel)

    def _saved_state(self, model_id: str) -> ImageRequest | None:
        """The point the user left `model_id` at last time (autosaved), if still valid."""
        try:
            saved = ImageRequest.from_dict(json.loads(str(self.settings.value("state/image"))))
        except (StudioError, ValueError, TypeError):
            return None
        return saved if saved.model_id == model_id else None

    def _autosave(self, result: ImageResult) -> None:
        self.settings.setValue("state/image", json.dumps(result.request.to_dict()))

    def _model_changed(self, model_id: str) -> None:
        self.browser.select(model_id)
        self.settings.setValue("models/last", model_id)

    # -- files ------------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        folder = str(self.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open", folder, OPEN_FILTER)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> bool:
        """Restore the settings stored in an exported image; a picture without them is encoded
        by the current model when it can; a text file restores the Text panel. False (and a
        message) otherwise."""
        if path.suffix.lower() in TEXT_SUFFIXES:
            return self.open_text(path)
        if path.suffix.lower() in AUDIO_FORMATS:
            return self.open_audio(path)
        try:
            provenance = read_provenance(path)
        except StudioError as exc:
            self.show_error(path.name, str(exc))
            return False
        if provenance is None:
            info = self.image_panel.info
            if info is not None and info.can_encode:
                return self.image_panel.encode_file(path)  # a picture of the user's own
            self.show_error(
                path.name,
                "this image carries no Latent Studio settings; to start from it, choose a "
                "model that can encode pictures (VAE or flow) and drop it again",
            )
            return False
        self.settings.setValue("files/last_dir", str(path.parent))
        self.restore(provenance)
        return True

    def open_text(self, path: Path) -> bool:
        """An exported text restores its settings and text; any other text becomes the prompt."""
        try:
            text, provenance = read_text(path)
        except StudioError as exc:
            self.show_error(path.name, str(exc))
            return False
        self.settings.setValue("files/last_dir", str(path.parent))
        self.tabs.setCurrentWidget(self.text_panel)
        if provenance is None:
            self.text_panel.prompt.setPlainText(text)
        else:
            self.text_panel.restore(text, provenance)
        return True

    def open_audio(self, path: Path) -> bool:
        """An exported note restores its settings and shows its samples."""
        try:
            audio, rate, provenance = read_audio(path)
        except StudioError as exc:
            self.show_error(path.name, str(exc))
            return False
        if provenance is None:
            self.show_error(path.name, "this sound carries no Latent Studio settings")
            return False
        self.settings.setValue("files/last_dir", str(path.parent))
        self.tabs.setCurrentWidget(self.audio_panel)
        self.audio_panel.restore(audio, rate, provenance)
        return True

    def restore(self, provenance: Provenance) -> None:
        if isinstance(provenance.request, StyleRequest):
            self.tabs.setCurrentWidget(self.style_panel)
            missing = self.style_panel.restore(provenance)
            if missing:
                self.show_error("Style settings restored", f"a source picture is {missing}")
            return
        if not isinstance(provenance.request, ImageRequest):
            return
        self.image_panel.set_model(provenance.request.model_id, provenance.request)
        self.image_panel.export_scale.setValue(provenance.upscale)
        self.tabs.setCurrentWidget(self.image_panel)

    def _export_dialog(self) -> None:
        if self.tabs.currentWidget() is self.audio_panel:
            result = self.audio_panel.result
            if result is None:
                self.show_error("Export", "nothing has been generated yet")
                return
            request = result.request
            name = f"{request.model_id}-{request.pitch}-seed{request.seed}.flac"
            path = self._ask_save_path("Export sound", name, AUDIO_EXPORT_FILTERS)
            if path is not None:
                self.export_audio_to(path, overwrite=True)
            return
        if self.tabs.currentWidget() is self.style_panel:
            path = self._ask_save_path("Export picture", "stylized.png", EXPORT_FILTERS)
            if path is not None:
                self.export_style_to(path, overwrite=True)
            return
        if self.tabs.currentWidget() is self.text_panel:
            variation = self.text_panel.current_variation
            if variation is None:
                self.show_error("Export", "nothing has been generated yet")
                return
            request = variation.request
            path = self._ask_save_path(
                "Export text", f"{request.model_id}-seed{request.seed}.md", TEXT_EXPORT_FILTERS
            )
            if path is not None:
                self.export_text_to(path, overwrite=True)
            return
        state = self.image_panel.state
        if self.image_panel.result is None or state is None:
            self.show_error("Export", "nothing has been rendered yet")
            return
        path = self._ask_save_path(
            "Export image", f"{state.model_id}-seed{state.seed}.png", EXPORT_FILTERS
        )
        if path is not None:
            self.export_to(path, overwrite=True)

    def _ask_save_path(self, title: str, name: str, filters: str) -> Path | None:
        """The file the user picks (the dialog already asked before replacing one)."""
        folder = Path(str(self.settings.value("files/last_dir", str(Path.home()))))
        path, _ = QFileDialog.getSaveFileName(self, title, str(folder / name), filters)
        return Path(path) if path else None

    def export_audio_to(self, path: Path, overwrite: bool = False) -> bool:
        if path.suffix.lower() not in AUDIO_FORMATS:
            path = path.with_suffix(".flac")
        return self._export(path, lambda: self.audio_panel.export_to(path, overwrite))

    def export_style_to(self, path: Path, overwrite: bool = False) -> bool:
        if path.suffix.lower() not in FORMATS:
            path = path.with_suffix(".png")
        return self._export(path, lambda: self.style_panel.export_to(path, overwrite))

    def export_text_to(self, path: Path, overwrite: bool = False) -> bool:
        if path.suffix.lower() not in TEXT_SUFFIXES:
            path = path.with_suffix(".md")
        return self._export(path, lambda: self.text_panel.export_to(path, overwrite))

    def export_to(self, path: Path, overwrite: bool = False) -> bool:
        result = self.image_panel.result
        if result is None:
            return False
        if path.suffix.lower() not in FORMATS:
            path = path.with_suffix(".png")
        factor = self.image_panel.export_scale.value()
        provenance = dataclasses.replace(result.provenance, upscale=factor)
        pixels = upscale(result.pixels, factor, smooth=self.image_panel.smooth.isChecked())
        return self._export(path, lambda: write_image(path, pixels, provenance, overwrite))

    def _export(self, path: Path, write: Callable[[], object]) -> bool:
        try:
            write()
        except StudioError as exc:
            self.show_error("Export", str(exc))
            return False
        self.settings.setValue("files/last_dir", str(path.parent))
        self.statusBar().showMessage(f"Exported {path}", 5000)
        return True

    def copy_image(self) -> None:
        image = self.image_panel.current_image()
        if image is not None:
            QGuiApplication.clipboard().setImage(image)
            self.statusBar().showMessage("Image copied", 3000)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        suffixes = (*FORMATS, *TEXT_SUFFIXES, *AUDIO_FORMATS)
        if (
            urls
            and urls[0].isLocalFile()
            and Path(urls[0].toLocalFile()).suffix.lower() in suffixes
        ):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.open_file(Path(event.mimeData().urls()[0].toLocalFile()))

    # -- settings, errors, view -------------------------------------------------------------
    def _settings_dialog(self) -> None:
        dialog = SettingsDialog(self.runtime.settings, self)
        if dialog.exec():
            self.apply_device_settings(dialog.chosen())

    def apply_device_settings(self, chosen: DeviceSettings) -> None:
        self.runtime.settings = chosen
        self.settings.setValue("compute/device", chosen.device)
        self.settings.setValue("compute/threads", chosen.threads or 0)
        self.image_panel.rerender()

    def show_error(self, subject: str, reason: str) -> None:
        self.statusBar().showMessage(f"{subject}: {reason}", 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Latent Studio", f"{subject}", parent=self)
        box.setInformativeText(reason)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # non-blocking: the window stays usable behind it
        self.error_box = box

    def toggle_full_screen(self) -> None:
        full = not self.isFullScreen()
        self.models_dock.setVisible(not full)
        self.image_panel.controls.setVisible(not full)
        self.menuBar().setVisible(not full)
        self.statusBar().setVisible(not full)
        self.showFullScreen() if full else self.showNormal()
        self.fullscreen_action.setChecked(full)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        self.engine.shutdown()
        super().closeEvent(event)
