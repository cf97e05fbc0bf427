"""The studio window: model browser, one tab per modality's panel, menus, status bar,
settings. It talks to panels only through the panel protocol (studio/gui/panel.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

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
    QMenu,
    QMessageBox,
    QTabWidget,
)

from studio.core.catalog import Catalog
from studio.core.errors import StudioError
from studio.core.modalities import MODALITIES, OPEN_SUFFIXES, modality_of
from studio.core.provenance import Provenance
from studio.engine.runtime import DeviceSettings, ModelRuntime
from studio.engine.scheduler import Engine
from studio.gui.audio_panel import AudioPanel
from studio.gui.image_panel import ImagePanel
from studio.gui.model_browser import ModelBrowser
from studio.gui.panel import Panel, PanelContext
from studio.gui.panels import PANELS
from studio.gui.settings_dialog import SettingsDialog
from studio.gui.style_panel import StylePanel
from studio.gui.text_panel import TextPanel
from studio.media.opened import open_media

OPEN_FILTER = f"Pictures, texts and sounds ({' '.join('*' + s for s in OPEN_SUFFIXES)})"


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
        self.device_label = QLabel("No model loaded")
        self.statusBar().addPermanentWidget(self.device_label)

        context = PanelContext(self.engine, self.runtime, self.undo, self._result_of)
        self.tabs = QTabWidget()
        self.panels: dict[str, Panel] = {}
        for name, row in MODALITIES.items():
            panel = PANELS[name](context)
            panel.failed.connect(self.show_error)
            panel.status.connect(self.device_label.setText)
            panel.modelChanged.connect(lambda model_id, m=name: self._model_changed(m, model_id))
            self.panels[name] = panel
            self.tabs.addTab(panel, row.title)
        self.setCentralWidget(self.tabs)
        self.browser.modelChosen.connect(self.choose_model)
        self._build_menus()
        self.tabs.currentChanged.connect(self._panel_shown)
        self._restore()

    # Named views of the panels, for scripts and tests (the window itself never needs them).
    @property
    def image_panel(self) -> ImagePanel:
        return cast(ImagePanel, self.panels["image"])

    @property
    def audio_panel(self) -> AudioPanel:
        return cast(AudioPanel, self.panels["audio"])

    @property
    def text_panel(self) -> TextPanel:
        return cast(TextPanel, self.panels["text"])

    @property
    def style_panel(self) -> StylePanel:
        return cast(StylePanel, self.panels["style"])

    @property
    def panel(self) -> Panel:
        """The panel shown now."""
        return cast(Panel, self.tabs.currentWidget())

    def _result_of(self, modality: str) -> Any:
        panel = self.panels.get(modality)
        return None if panel is None else panel.current_result()

    # -- menus ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        def action(menu: QMenu, text: str, slot, shortcut=None) -> QAction:  # type: ignore[no-untyped-def]
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

        self.panel_menus: dict[str, QMenu] = {}
        for name, panel in self.panels.items():
            menu = self.menuBar().addMenu(MODALITIES[name].title)
            for panel_action in panel.menu_actions():
                menu.addAction(panel_action)
            menu.menuAction().setVisible(False)
            self.panel_menus[name] = menu
        self._panel_shown()

    def _panel_shown(self, *_: object) -> None:
        """Only the shown panel's own menu is in the menu bar."""
        for name, menu in self.panel_menus.items():
            menu.menuAction().setVisible(self.panels[name] is self.panel and not menu.isEmpty())

    # -- models -----------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 780)
            self.resizeDocks([self.models_dock], [260], Qt.Orientation.Horizontal)
        for name, panel in self.panels.items():
            panel.load_states(str(self.settings.value(f"state/{name}", "")))
        image = self.panels["image"]
        ids = [m for m in self.browser.model_ids() if self._modality(m) == "image"]
        last = str(self.settings.value("models/last", ""))
        first = last if last in ids else (ids[0] if ids else None)
        if first is not None:
            image.set_model(first)
            self.undo.clear()  # opening the app is not an edit

    def _modality(self, model_id: str) -> str:
        try:
            return self.runtime.catalog.get(model_id).modality
        except StudioError:
            return "image"

    def choose_model(self, model_id: str) -> None:
        """A model picked in the browser opens in the panel of what it makes."""
        panel = self.panels.get(self._modality(model_id))
        if panel is None:
            return
        panel.set_model(model_id)
        self.tabs.setCurrentWidget(panel)
        self.browser.select(model_id)

    def _model_changed(self, modality: str, model_id: str) -> None:
        self.browser.select(model_id)
        if modality == "image":  # the model the app opens with
            self.settings.setValue("models/last", model_id)
        self._save_states()

    def _save_states(self) -> None:
        for name, panel in self.panels.items():
            self.settings.setValue(f"state/{name}", panel.saved_states())

    # -- files ------------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        folder = str(self.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open", folder, OPEN_FILTER)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> bool:
        """A file with settings inside restores them in the panel of their modality; one
        without goes to the shown panel if it takes such files (e.g. a picture to encode),
        else to the first panel that does. False (and a message) when nothing can use it."""
        try:
            opened = open_media(path)
        except StudioError as exc:
            self.show_error(path.name, str(exc))
            return False
        if opened.provenance is None:
            return self._open_plain(path, opened.modality, opened.payload)
        self.settings.setValue("files/last_dir", str(path.parent))
        return self.restore(opened.provenance, opened.payload, path.name)

    def _open_plain(self, path: Path, modality: str, payload: Any) -> bool:
        suffix = path.suffix.lower()
        panel = self.panel if suffix in self.panel.row.suffixes else self.panels[modality]
        if not panel.open_plain(path, payload):
            return False
        self.settings.setValue("files/last_dir", str(path.parent))
        self.tabs.setCurrentWidget(panel)
        return True

    def restore(self, provenance: Provenance, payload: Any = None, subject: str = "") -> bool:
        """Show the settings of a result in the panel of its modality."""
        panel = self.panels[modality_of(provenance.request).name]
        self.tabs.setCurrentWidget(panel)
        try:
            warnings = panel.restore(provenance, payload)
        except StudioError as exc:
            self.show_error(subject or "Open", str(exc))
            return False
        if warnings:
            self.show_error(f"{subject or 'Settings'} restored", "; ".join(warnings))
        return True

    def _export_dialog(self) -> None:
        panel = self.panel
        if not panel.has_result():
            self.show_error("Export", "nothing has been made yet")
            return
        folder = Path(str(self.settings.value("files/last_dir", str(Path.home()))))
        path, _ = QFileDialog.getSaveFileName(
            self, "Export", str(folder / panel.suggested_name()), panel.row.file_filter
        )
        if path:
            self.export_to(Path(path), overwrite=True)  # the dialog asked before replacing

    def export_to(self, path: Path, overwrite: bool = False, panel: Panel | None = None) -> bool:
        """Export the shown (or given) panel's result; a suffix it does not write becomes its
        default one. False (and a message) on failure."""
        panel = panel or self.panel
        path = path.with_suffix(panel.row.export_path_suffix(path.suffix))
        try:
            panel.export(path, overwrite)
        except StudioError as exc:
            self.show_error("Export", str(exc))
            return False
        self.settings.setValue("files/last_dir", str(path.parent))
        self.statusBar().showMessage(f"Exported {path}", 5000)
        return True

    def copy_image(self) -> None:
        image = self.panel.current_image()
        if image is not None:
            QGuiApplication.clipboard().setImage(image)
            self.statusBar().showMessage("Image copied", 3000)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if (
            urls
            and urls[0].isLocalFile()
            and Path(urls[0].toLocalFile()).suffix.lower() in OPEN_SUFFIXES
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
        for panel in self.panels.values():
            panel.rerender()

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
        for panel in self.panels.values():
            panel.set_controls_visible(not full)
        self.menuBar().setVisible(not full)
        self.statusBar().setVisible(not full)
        self.showFullScreen() if full else self.showNormal()
        self.fullscreen_action.setChecked(full)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self._save_states()
        self.settings.sync()
        self.engine.shutdown()
        super().closeEvent(event)
