"""Settings for long conversations: the context lengths with what each costs on this GPU, the reasoning
budgets by effort, and what a chat that outgrows the context does until it chooses itself."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QGridLayout, QLabel, QSpinBox, QWidget

from app import long_context_words
from app import settings as keys

BUDGET_MAX = 131072


class LongContextFields(QObject):
    """Rows added to the dialog's forms; ``values()`` joins the dialog's."""

    def __init__(self, context: QComboBox, form: QFormLayout, parent: QWidget) -> None:
        super().__init__(parent)
        self.context = context
        self._choices: dict[int, dict] = {}
        # the chosen length's plan in full, beneath the box (its items carry the short form)
        self.context_words = QLabel(context.parentWidget())
        self.context_words.setObjectName("MutedLabel")
        self.context_words.setWordWrap(True)
        engine_form = context.parentWidget().layout()
        if isinstance(engine_form, QFormLayout):
            row, _role = engine_form.getWidgetPosition(context)
            engine_form.insertRow(row + 1, "", self.context_words)
        self.context.currentIndexChanged.connect(self._show_context_words)
        self._fill_context(None)
        self.context.setToolTip(
            self.tr(
                "Longer context remembers more of the conversation and uses more GPU memory; past what the "
                "GPU holds, experts move to RAM and answers slow down."
            )
        )
        row = QWidget(parent)
        grid = QGridLayout(row)
        grid.setContentsMargins(0, 0, 0, 0)
        self.budgets: dict[str, QSpinBox] = {}
        for line, (effort, label) in enumerate(
            (("low", self.tr("Low")), ("medium", self.tr("Medium")), ("high", self.tr("High")))
        ):
            box = QSpinBox(row)
            box.setRange(0, BUDGET_MAX)
            box.setSingleStep(1024)
            box.setSpecialValueText(self.tr("No limit"))
            box.setSuffix(self.tr(" tokens"))
            box.setGroupSeparatorShown(True)  # 32,768 as Max tokens shows its number
            box.setAccessibleName(self.tr("Reasoning budget at %1 effort").replace("%1", label))
            grid.addWidget(QLabel(label, row), line, 0)
            grid.addWidget(box, line, 1)
            self.budgets[effort] = box
        grid.setColumnStretch(1, 1)
        row.setToolTip(
            self.tr(
                "Tokens of reasoning before the model must answer; a quarter of Max tokens is always kept "
                "for the answer. A reasoning loop is cut either way; Continue reasoning on the answer lets "
                "it think on."
            )
        )
        form.addRow(self.tr("Reasoning &budget:"), row)
        self.overflow = QComboBox(parent)
        for value, label in (
            ("ask", self.tr("Ask, once per chat")),
            ("drop", self.tr("Drop the oldest turns")),
            ("summarize", self.tr("Summarise the oldest turns")),
            ("stop", self.tr("Stop")),
        ):
            self.overflow.addItem(label, value)
        self.overflow.setToolTip(
            self.tr("What a chat does when it outgrows the context, until you choose for that chat.")
        )
        form.addRow(self.tr("When a chat is &full:"), self.overflow)

    def set_model(self, model: dict | None) -> None:
        """Word each length with its plan on the loaded model's GPU (the worker's ``model_loaded`` info)."""
        selected = self.context.currentData()
        self._fill_context(model)
        index = self.context.findData(selected)
        self.context.setCurrentIndex(max(index, 0))

    def _fill_context(self, model: dict | None) -> None:
        self._choices = {c["context_length"]: c for c in (model or {}).get("context_choices") or ()}
        auto = (model or {}).get("context_max") if (model or {}).get("context_auto") else None
        self.context.clear()
        self.context.addItem(long_context_words.automatic(auto), 0)
        for length in keys.CONTEXT_LENGTHS:
            choice = self._choices.get(length)
            self.context.addItem(long_context_words.context_item(length, choice), length)
            self.context.setItemData(
                self.context.count() - 1,
                long_context_words.context_choice(length, choice),
                Qt.ItemDataRole.ToolTipRole,
            )
        self._show_context_words()

    def _show_context_words(self) -> None:
        length = self.context.currentData()
        choice = self._choices.get(length) if length else None
        self.context_words.setText(long_context_words.context_plan(choice) if choice else "")
        self.context_words.setVisible(choice is not None)

    def load(self, settings: keys.Settings) -> None:
        for effort, box in self.budgets.items():
            box.setValue(settings.get(keys.REASONING_BUDGETS[effort]))
        self.overflow.setCurrentIndex(max(self.overflow.findData(settings.get(keys.OVERFLOW)), 0))
        index = self.context.findData(settings.get(keys.CONTEXT_LENGTH))
        if index >= 0:
            self.context.setCurrentIndex(index)

    def values(self) -> dict:
        values = {keys.REASONING_BUDGETS[effort]: box.value() for effort, box in self.budgets.items()}
        return values | {keys.OVERFLOW: self.overflow.currentData()}
