"""The bar above the conversation: its title, the model picker and the conversation actions menu."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from app.widgets.model_picker import ModelPicker
from app.widgets.popup_menu import PopupMenu


class ChatHeader(QFrame):
    models_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(20, 8, 12, 8)
        layout.setSpacing(8)
        self.title_label = QLabel(self)
        self.title_label.setObjectName("ChatTitle")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title_label, 1)
        self.model_button = ModelPicker(self)
        self.model_button.manage_requested.connect(self.models_requested)
        layout.addWidget(self.model_button)
        self.menu_button = QToolButton(self)
        self.menu_button.setObjectName("MenuButton")
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip(self.tr("Conversation actions"))
        self.menu_button.setAccessibleName(self.tr("Conversation actions"))
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.conversation_menu = PopupMenu(self.menu_button)
        self.menu_button.setMenu(self.conversation_menu)
        layout.addWidget(self.menu_button)
