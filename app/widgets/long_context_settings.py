"""Settings for long conversations: the context lengths with what each costs on this GPU, the reasoning
budgets by effort, and what a chat that outgrows the context does until it chooses itself."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from app import long_context_words
from app import settings as keys

BUDGET_MAX = 131072


class LongContextFields(QObject):
    """Rows added to the dialog's forms; ``values()`` joins the dialog's."""

    def __init__(self, context: QComboBox, form: QFormLayout, parent: QWidget) -> None:
        super().__init__(parent)
        self.context = context
        # the lengths' words are long: the box wraps to the form's width instead of widening the dialog
        self.context.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.context.setMinimumContentsLength(28)
        self._fill_context(None)
        self.context.setToolTip(
            self.tr(
                "Longer context remembers more of the conversation and uses more GPU memory; past what the "
                "GPU holds, experts move to RAM and answers slow down."
            )
        )
        row = QWidget(parent)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        self.budgets: dict[str, QSpinBox] = {}
        for effort, label in (
            ("low", self.tr("Low")),
            ("medium", self.tr("Medium")),
            ("high", self.tr("High")),
        ):
            box = QSpinBox(row)
            box.setRange(0, BUDGET_MAX)
            box.setSingleStep(1024)
            box.setSpecialValueText(self.tr("No limit"))
            box.setAccessibleName(self.tr("Reasoning budget at %1 effort").replace("%1", label))
            line.addWidget(QLabel(label, row))
            line.addWidget(box, 1)
            self.budgets[effort] = box
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
        choices = {c["context_length"]: c for c in (model or {}).get("context_choices") or ()}
        auto = (model or {}).get("context_max") if (model or {}).get("context_auto") else None
        self.context.clear()
        self.context.addItem(long_context_words.automatic(auto), 0)
        for length in keys.CONTEXT_LENGTHS:
            self.context.addItem(long_context_words.context_choice(length, choices.get(length)), length)

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
