"""The header's model button: a menu of the models to switch to, the loaded one checked, and "Manage models…".

The menu is built each time it opens from a plain list of ``app.model_choices.ModelChoice`` (the window
supplies it), so models that appear later (a download, a server) show without the picker knowing them.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolButton, QWidget

from app.model_choices import ModelChoice
from app.widgets.popup_menu import PopupMenu

SHORT_DETAIL = 24  # characters: a longer detail (a folder's path) goes to the tooltip only


class ModelPicker(QToolButton):
    choice_selected = Signal(object)  # ModelChoice
    manage_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelButton")
        self.setToolTip(self.tr("Choose the model to chat with"))
        self.setAccessibleName(self.tr("Model"))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.menu_ = PopupMenu(self)
        self.menu_.setObjectName("ModelMenu")
        self.menu_.setToolTipsVisible(True)
        self.menu_.aboutToShow.connect(self.rebuild)
        self.setMenu(self.menu_)
        self._choices: Callable[[], list[ModelChoice]] = list
        self._current: Callable[[], str | None] = lambda: None

    def set_source(self, choices: Callable[[], list[ModelChoice]], current: Callable[[], str | None]) -> None:
        """Where the list comes from: ``choices()`` when the menu opens; ``current()``: the key of the model
        loaded (or loading), checked in the list."""
        self._choices, self._current = choices, current

    def rebuild(self) -> None:
        menu = self.menu_
        menu.clear()
        choices = self._choices()
        current = self._current()
        titles = {
            "library": self.tr("Models folder"),
            "folder": self.tr("Other folders"),
            "remote": self.tr("Servers"),
        }
        kind = None
        for choice in choices:
            if choice.kind != kind:
                if kind is not None:
                    menu.addSeparator()
                kind = choice.kind
                title = menu.addAction(titles.get(kind, kind))  # QMenu.addSection shows no text in Fusion
                title.setEnabled(False)
            menu.addAction(self._action(choice, checked=choice.key == current))
        if not choices:
            empty = menu.addAction(self.tr("No models on this computer yet"))
            empty.setEnabled(False)
        menu.addSeparator()
        manage = menu.addAction(self.tr("Manage models…"))
        manage.setObjectName("ManageModels")
        manage.triggered.connect(self.manage_requested)

    def _action(self, choice: ModelChoice, *, checked: bool) -> QAction:
        text = choice.label.replace("&", "&&")
        if choice.detail and len(choice.detail) <= SHORT_DETAIL:
            text += "\t" + choice.detail
        action = QAction(text, self.menu_)
        action.setCheckable(True)
        action.setChecked(checked)
        action.setToolTip(choice.detail or choice.label)
        action.setData(choice)
        action.triggered.connect(lambda _checked=False, c=choice: self._chosen(c, checked))
        return action

    def _chosen(self, choice: ModelChoice, was_current: bool) -> None:
        if not was_current:  # choosing the loaded model again changes nothing
            self.choice_selected.emit(choice)

    def actions_shown(self) -> list[QAction]:
        """The menu's model entries as the user sees them when it opens (for tests and accessibility)."""
        self.rebuild()
        return [a for a in self.menu_.actions() if isinstance(a.data(), ModelChoice)]

    def manage_action(self) -> QAction:
        return next(a for a in self.menu_.actions() if a.objectName() == "ManageModels")
