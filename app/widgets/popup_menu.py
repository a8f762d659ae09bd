"""A menu that paints every pixel of its window itself, whatever the style sheet or the desktop.

A menu is a window of its own. See-through pixels in it (a translucent background, the corners a rounded
border leaves) are shown as they are only with a compositor; without one (Xvfb, a plain X session, remote
desktops) they come out black. So the menu is opaque, its background filled before the style draws on it,
and the style sheet gives menus square corners. A style sheet applied later (a theme change) polishes the
menu again and may reset these, hence ``event``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QMenu


class PopupMenu(QMenu):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._make_opaque()

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange, QEvent.Type.Show):
            self._make_opaque()
        return handled

    def _make_opaque(self) -> None:
        if self.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground):
            self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground, False)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, False)
        if not self.autoFillBackground():
            self.setAutoFillBackground(True)
