"""Settings: where the model runs, how answers are sampled, and how the app looks and speaks."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import formatting
from app import settings as keys
from app.settings import Settings
from app.widgets.long_context_settings import LongContextFields
from app.widgets.local_api_panel import LocalApiPanel

ENGINE_KEYS = (keys.DEVICE, keys.VRAM_BUDGET_GB, keys.CONTEXT_LENGTH, keys.CUDA_GRAPHS)


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent=None, *, gpu: bool | None = None) -> None:
        """``gpu``: whether this computer has a CUDA GPU (None: not known yet); without one the GPU's
        settings are shown but cannot be changed."""
        super().__init__(parent)
        self.setObjectName("SettingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        self.setMinimumWidth(520)
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        tabs = QTabWidget(self)
        layout.addWidget(tabs)

        # Model
        engine = QWidget(tabs)
        form = self._form(engine)
        self.device = QComboBox(engine)
        for value, label in (
            ("auto", self.tr("Automatic (GPU when there is one)")),
            ("cuda", self.tr("GPU (CUDA)")),
            ("cpu", self.tr("CPU only")),
        ):
            self.device.addItem(label, value)
        form.addRow(self.tr("&Device:"), self.device)
        self.vram = QDoubleSpinBox(engine)
        self.vram.setRange(0, 1024)
        self.vram.setDecimals(1)
        self.vram.setSingleStep(0.5)
        self.vram.setSuffix(" GB")
        self.vram.setSpecialValueText(self.tr("Automatic"))
        self.vram.setToolTip(
            self.tr("How much GPU memory Gossamer may use. Experts that do not fit stay in RAM.")
        )
        form.addRow(self.tr("&VRAM budget:"), self.vram)
        if gpu is False:
            self.vram.setEnabled(False)
            # without a GPU there is nothing to step: no empty arrow column beside "Automatic"
            self.vram.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            self.vram.setToolTip(
                self.tr("No CUDA GPU was found on this computer, so the model runs on the CPU and uses RAM.")
            )
        self.context = QComboBox(engine)
        for length in keys.CONTEXT_LENGTHS:
            self.context.addItem(self.tr("%1 tokens").replace("%1", formatting.count(length)), length)
        self.context.setToolTip(
            self.tr("Longer context remembers more of the conversation and uses more memory.")
        )
        form.addRow(self.tr("&Context length:"), self.context)
        self.cuda_graphs = QCheckBox(self.tr("Use CUDA &graphs (faster answers on NVIDIA GPUs)"), engine)
        self.cuda_graphs.setToolTip(
            self.tr("Turn off only if answers on the GPU go wrong; Gossamer checks the graphs itself.")
        )
        form.addRow("", self.cuda_graphs)
        note = QLabel(self.tr("Changes here reload the model."), engine)
        note.setObjectName("MutedLabel")
        form.addRow("", note)
        tabs.addTab(engine, self.tr("Model"))

        # Answers
        answers = QWidget(tabs)
        form = self._form(answers)
        self.temperature = QDoubleSpinBox(answers)
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.temperature.setToolTip(self.tr("0 always picks the likeliest word; gpt-oss is tuned for 1.0."))
        form.addRow(self.tr("&Temperature:"), self.temperature)
        self.top_p = QDoubleSpinBox(answers)
        self.top_p.setRange(0.05, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setDecimals(2)
        form.addRow(self.tr("Top-&p:"), self.top_p)
        self.top_k = QSpinBox(answers)
        self.top_k.setRange(*keys.TOP_K_RANGE)
        self.top_k.setSingleStep(10)
        self.top_k.setSpecialValueText(self.tr("Off"))  # shown for 0
        self.top_k.setToolTip(
            self.tr(
                "Pick each word from only this many of the likeliest (40 is a common choice).\n"
                "Off: temperature and top-p alone decide, as gpt-oss is tuned for."
            )
        )
        form.addRow(self.tr("Top-&k:"), self.top_k)
        self.max_tokens = QSpinBox(answers)
        self.max_tokens.setRange(16, 131072)
        self.max_tokens.setSingleStep(256)
        self.max_tokens.setGroupSeparatorShown(True)
        self.max_tokens.setToolTip(self.tr("The longest answer, thinking included, in tokens."))
        form.addRow(self.tr("&Max tokens:"), self.max_tokens)
        self.default_effort = QComboBox(answers)
        for value, label in (
            ("low", self.tr("Low")),
            ("medium", self.tr("Medium")),
            ("high", self.tr("High")),
        ):
            self.default_effort.addItem(label, value)
        form.addRow(self.tr("Reasoning for &new chats:"), self.default_effort)
        self.instructions = QPlainTextEdit(answers)
        self.instructions.setPlaceholderText(self.tr("For example: Answer briefly. Use metric units."))
        self.instructions.setMinimumHeight(110)
        self.instructions.setAccessibleName(self.tr("System instructions"))
        form.addRow(self.tr("&System instructions:"), self.instructions)
        self.long_context = LongContextFields(self.context, form, answers)  # budgets, a full chat, lengths
        tabs.addTab(answers, self.tr("Answers"))

        # Appearance
        look = QWidget(tabs)
        form = self._form(look)
        self.theme = QComboBox(look)
        for value, label in (
            ("system", self.tr("Same as the system")),
            ("light", self.tr("Light")),
            ("dark", self.tr("Dark")),
        ):
            self.theme.addItem(label, value)
        form.addRow(self.tr("T&heme:"), self.theme)
        self.language = QComboBox(look)
        for value, label in (("system", self.tr("Same as the system")), ("en", "English"), ("ko", "한국어")):
            self.language.addItem(label, value)
        form.addRow(self.tr("&Language:"), self.language)
        language_note = QLabel(self.tr("A new language shows after Gossamer restarts."), look)
        language_note.setObjectName("MutedLabel")
        form.addRow("", language_note)
        tabs.addTab(look, self.tr("Appearance"))
        self.api_page = LocalApiPanel(settings, getattr(parent, "local_api", None), tabs)
        tabs.addTab(self.api_page, self.tr("Local API"))

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._load()

    def _form(self, page: QWidget) -> QFormLayout:
        form = QFormLayout(page)
        form.setContentsMargins(14, 16, 14, 10)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        return form

    def _load(self) -> None:
        get = self.settings.get
        _select(self.device, get(keys.DEVICE))
        self.vram.setValue(get(keys.VRAM_BUDGET_GB))
        _select(self.context, get(keys.CONTEXT_LENGTH), nearest=True)
        self.cuda_graphs.setChecked(get(keys.CUDA_GRAPHS))
        self.temperature.setValue(get(keys.TEMPERATURE))
        self.top_p.setValue(get(keys.TOP_P))
        self.top_k.setValue(get(keys.TOP_K))
        self.max_tokens.setValue(get(keys.MAX_TOKENS))
        _select(self.default_effort, get(keys.DEFAULT_EFFORT))
        self.instructions.setPlainText(get(keys.SYSTEM_INSTRUCTIONS))
        _select(self.theme, get(keys.THEME))
        _select(self.language, get(keys.LANGUAGE))
        self.long_context.load(self.settings)

    def values(self) -> dict:
        return {
            keys.DEVICE: self.device.currentData(),
            keys.VRAM_BUDGET_GB: round(self.vram.value(), 1),
            keys.CONTEXT_LENGTH: self.context.currentData(),
            keys.CUDA_GRAPHS: self.cuda_graphs.isChecked(),
            keys.TEMPERATURE: round(self.temperature.value(), 2),
            keys.TOP_P: round(self.top_p.value(), 2),
            keys.TOP_K: self.top_k.value(),
            keys.MAX_TOKENS: self.max_tokens.value(),
            keys.DEFAULT_EFFORT: self.default_effort.currentData(),
            keys.SYSTEM_INSTRUCTIONS: self.instructions.toPlainText().strip(),
            keys.THEME: self.theme.currentData(),
            keys.LANGUAGE: self.language.currentData(),
            **self.long_context.values(),
            **self.api_page.values(),
        }

    def save(self) -> set[str]:
        """Write the values; returns the keys that changed."""
        changed = set()
        for key, value in self.values().items():
            if self.settings.get(key) != value:
                self.settings.set(key, value)
                changed.add(key)
        self.settings.sync()
        return changed


def _select(box: QComboBox, value, nearest: bool = False) -> None:
    index = box.findData(value)
    if index < 0 and nearest and box.count():
        index = min(range(box.count()), key=lambda i: abs(box.itemData(i) - value))
    box.setCurrentIndex(max(index, 0))
