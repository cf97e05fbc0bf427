"""Models grouped by modality and family, with a card describing the selected one."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QVBoxLayout,
    QWidget,
)

from studio.core.catalog import Catalog, CatalogEntry
from studio.core.manifest import Manifest

ID_ROLE = Qt.ItemDataRole.UserRole


def card_html(manifest: Manifest, source: str) -> str:
    origin = manifest.origin
    rows = [
        ("Family", manifest.family),
        ("Modality", manifest.modality),
        ("Size", f"{manifest.size_bytes / 1e6:.1f} MB"),
        ("Backends", ", ".join(manifest.backends)),
        ("Source", source),
        ("Data", str(origin.get("data", "not stated"))),
        ("Licence", str(origin.get("licence", "not stated"))),
        ("Rebuild", str(origin.get("train", "—"))),
    ]
    table = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows
    )
    return (
        f"<h3>{html.escape(manifest.name)}</h3><p><code>{html.escape(manifest.id)}</code></p>"
        f"<p>{html.escape(manifest.description)}</p><table cellspacing=4>{table}</table>"
    )


class ModelBrowser(QWidget):
    modelChosen = Signal(str)  # model id

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.card = QLabel()
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.card, 1)
        self.tree.currentItemChanged.connect(self._current_changed)
        self._entries: dict[str, CatalogEntry] = {}
        self.set_catalog(catalog)

    def set_catalog(self, catalog: Catalog) -> None:
        self.tree.clear()
        self._entries.clear()
        groups: dict[tuple[str, ...], QTreeWidgetItem] = {}

        def group(*path: str) -> QTreeWidgetItem:
            if path not in groups:
                parent = group(*path[:-1]) if len(path) > 1 else self.tree.invisibleRootItem()
                item = QTreeWidgetItem(parent, [path[-1]])
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.setExpanded(True)
                groups[path] = item
            return groups[path]

        for entry in catalog.entries:
            if entry.manifest is None:
                item = QTreeWidgetItem(group("Problems"), [f"⚠ {entry.folder.name}"])
                item.setToolTip(0, str(entry.error))
                item.setData(0, ID_ROLE, None)
                self._entries[f"broken:{entry.folder}"] = entry
                item.setData(0, ID_ROLE + 1, f"broken:{entry.folder}")
                continue
            m = entry.manifest
            item = QTreeWidgetItem(group(m.modality.title(), m.family.upper()), [m.name])
            item.setData(0, ID_ROLE, m.id)
            item.setData(0, ID_ROLE + 1, m.id)
            item.setToolTip(0, m.id)
            self._entries[m.id] = entry
        for item in groups.values():
            item.setExpanded(True)

    def select(self, model_id: str) -> bool:
        """Highlight `model_id` without emitting modelChosen; False if it is not listed."""
        for item in self._items():
            if item.data(0, ID_ROLE) == model_id:
                self.tree.blockSignals(True)
                self.tree.setCurrentItem(item)
                self.tree.blockSignals(False)
                self._show_card(model_id)
                return True
        return False

    def model_ids(self) -> list[str]:
        return [i.data(0, ID_ROLE) for i in self._items() if i.data(0, ID_ROLE)]

    def _items(self) -> list[QTreeWidgetItem]:
        found = []
        iterator = QTreeWidgetItemIterator(self.tree)
        while (item := iterator.value()) is not None:
            found.append(item)
            iterator += 1
        return found

    def _current_changed(self, item: QTreeWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        key = item.data(0, ID_ROLE + 1)
        if key is None:
            return
        self._show_card(key)
        model_id = item.data(0, ID_ROLE)
        if model_id:
            self.modelChosen.emit(model_id)

    def _show_card(self, key: str) -> None:
        entry = self._entries[key]
        if entry.manifest is None:
            self.card.setText(
                f"<h3>Cannot load {html.escape(entry.folder.name)}</h3>"
                f"<p>{html.escape(str(entry.error))}</p>"
            )
        else:
            self.card.setText(card_html(entry.manifest, entry.source))
