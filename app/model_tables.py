"""The model manager's two tables as Qt models: models on this computer, and models to download."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app import formatting

ObjectRole = Qt.ItemDataRole.UserRole + 1


def tr(text: str) -> str:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.translate("ModelTables", text)


def status_text(status: str) -> str:
    return {
        "verified": tr("Verified"),
        "incomplete": tr("Incomplete"),
        "corrupt": tr("Corrupt"),
        "unverified": tr("Not verified"),
    }.get(status, status)


def fit_text(fit) -> str:
    if fit is None:
        return tr("Unknown")
    return {
        "gpu": tr("Fits the GPU"),
        "partial": tr("GPU + RAM"),
        "cpu": tr("CPU only"),
        "none": tr("Does not fit"),
    }.get(fit.verdict, fit.verdict)


class LocalModelsModel(QAbstractTableModel):
    COLUMNS = ("name", "size", "status", "source")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list = []
        self.loaded_path: str | None = None

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (tr("Name"), tr("Size"), tr("Status"), tr("Source"))[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        model = self._rows[index.row()]
        column = self.COLUMNS[index.column()]
        if role == ObjectRole:
            return model
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "name":
                loaded = self.loaded_path is not None and str(model.path) == self.loaded_path
                return model.name + ("  " + tr("(loaded)") if loaded else "")
            if column == "size":
                if model.total_bytes and model.size_bytes < model.total_bytes:
                    return f"{formatting.size(model.size_bytes)} / {formatting.size(model.total_bytes)}"
                return formatting.size(model.size_bytes)
            if column == "status":
                return status_text(model.status)
            if column == "source":
                return {"hub": tr("Downloaded"), "import": tr("Imported"), "in_place": tr("Folder")}.get(
                    model.source, model.source)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [str(model.path)]
            if model.repo:
                lines.append(f"{model.repo} @ {(model.revision or '')[:12]}")
            lines += list(model.problems)
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole and column == "status" and model.status in ("corrupt",):
            from app import theme
            from PySide6.QtGui import QColor

            return QColor(theme.current().danger)
        return None

    def set_models(self, models: list, loaded_path: str | None) -> None:
        self.beginResetModel()
        self._rows = list(models)
        self.loaded_path = loaded_path
        self.endResetModel()

    def model_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def models(self) -> list:
        return list(self._rows)


class CatalogModel(QAbstractTableModel):
    COLUMNS = ("name", "size", "fit", "description")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list = []  # (CatalogEntry, FitEstimate | None)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (tr("Model"), tr("Download"), tr("On this computer"), tr("About"))[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry, fit = self._rows[index.row()]
        column = self.COLUMNS[index.column()]
        if role == ObjectRole:
            return entry
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "name":
                return entry.name
            if column == "size":
                return formatting.size(entry.download_bytes) if entry.download_bytes else tr("Unknown")
            if column == "fit":
                return fit_text(fit)
            if column == "description":
                return entry.description or entry.repo
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [f"{entry.repo} @ {entry.revision[:12]}"]
            if fit is not None:
                parts.append(fit.reason)
            return "\n".join(parts)
        return None

    def set_entries(self, entries: list) -> None:
        self.beginResetModel()
        self._rows = list(entries)
        self.endResetModel()

    def entry_at(self, row: int):
        return self._rows[row][0] if 0 <= row < len(self._rows) else None

    def fit_at(self, row: int):
        return self._rows[row][1] if 0 <= row < len(self._rows) else None
