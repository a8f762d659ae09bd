"""The model manager's two tables as Qt models: models on this computer, and models to download."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt

from app import formatting, model_facts

translate = QCoreApplication.translate

ObjectRole = Qt.ItemDataRole.UserRole + 1


def status_text(status: str) -> str:
    return {
        "verified": translate("ModelTables", "Verified"),
        "incomplete": translate("ModelTables", "Incomplete"),
        "corrupt": translate("ModelTables", "Corrupt"),
        "unverified": translate("ModelTables", "Not verified"),
    }.get(status, status)


def fit_text(fit) -> str:
    if fit is None:
        return translate("ModelTables", "Unknown")
    return {
        "gpu": translate("ModelTables", "Fits the GPU"),
        "partial": translate("ModelTables", "GPU + RAM"),
        "cpu": translate("ModelTables", "CPU only"),
        "none": translate("ModelTables", "Does not fit"),
    }.get(fit.verdict, fit.verdict)


class _RowsTable(QAbstractTableModel):
    """A read-only table over a list of rows; subclasses name their columns and headers."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list = []

    def headers(self) -> tuple[str, ...]:
        raise NotImplementedError

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        return None


class LocalModelsModel(_RowsTable):
    COLUMNS = ("name", "size", "status", "fit", "source")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._fits: dict = {}
        self.loaded_path: str | None = None

    def headers(self) -> tuple[str, ...]:
        return (
            translate("ModelTables", "Name"),
            translate("ModelTables", "Size"),
            translate("ModelTables", "Status"),
            translate("ModelTables", "Runs on"),
            translate("ModelTables", "Source"),
        )

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
                return model.name + ("  " + translate("ModelTables", "(loaded)") if loaded else "")
            if column == "size":
                if model.total_bytes and model.size_bytes < model.total_bytes:
                    return f"{formatting.size(model.size_bytes)} / {formatting.size(model.total_bytes)}"
                return formatting.size(model.size_bytes)
            if column == "status":
                return status_text(model.status)
            if column == "fit":
                return fit_text(self._fits.get(model.path))
            if column == "source":
                return {
                    "hub": translate("ModelTables", "Downloaded"),
                    "import": translate("ModelTables", "Imported"),
                    "in_place": translate("ModelTables", "Folder"),
                }.get(model.source, model.source)
        if role == Qt.ItemDataRole.ToolTipRole:
            fit = self._fits.get(model.path)
            if column == "fit" and fit is not None:
                return model_facts.fit_estimate(fit)
            lines = [str(model.path)]
            if model.repo:
                lines.append(f"{model.repo} @ {(model.revision or '')[:12]}")
            lines += list(model.problems)
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole and column == "status" and model.status in ("corrupt",):
            from PySide6.QtGui import QColor

            from app import theme

            return QColor(theme.current().danger)
        return None

    def set_models(self, models: list, loaded_path: str | None, fits: dict | None = None) -> None:
        self.beginResetModel()
        self._rows = list(models)
        self.loaded_path = loaded_path
        if fits is not None:
            self._fits = dict(fits)
        self.endResetModel()

    def model_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def models(self) -> list:
        return list(self._rows)


class CatalogModel(_RowsTable):
    COLUMNS = ("name", "size", "fit", "description")  # rows: (CatalogEntry, FitEstimate | None)

    def headers(self) -> tuple[str, ...]:
        return (
            translate("ModelTables", "Model"),
            translate("ModelTables", "Download"),
            translate("ModelTables", "Runs on"),
            translate("ModelTables", "About"),
        )

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
                return (
                    formatting.size(entry.download_bytes)
                    if entry.download_bytes
                    else translate("ModelTables", "Unknown")
                )
            if column == "fit":
                return fit_text(fit)
            if column == "description":
                return model_facts.catalog_description(entry) or entry.repo
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [f"{entry.repo} @ {entry.revision[:12]}"]
            if fit is not None:
                parts.append(model_facts.fit_estimate(fit))
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
