"""The conversation: one MessageWidget per row of the chat model, in a centred column that scrolls.

It follows the model's signals: rows inserted and removed add and drop widgets, a data change refreshes
only that row's widget. While the user is at the bottom, new text keeps the view at the bottom. Switching a
message's version keeps that message where it was on screen; an editor opens scrolled fully into view.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app import context_store
from app.chat_model import ChatModel
from app.widgets.context_note import ContextNote
from app.widgets.message_widget import MessageWidget

COLUMN_WIDTH = 820
STICK_DISTANCE = 48  # pixels from the bottom that still count as "at the bottom"
ANCHOR_MS = 300  # how long a switched message is held in place while the rows below it are laid out
EDITOR_MARGIN = 16  # pixels kept around an editor scrolled into view


class ChatView(QScrollArea):
    regenerate_requested = Signal(int)  # row
    continue_requested = Signal(int)  # row
    edit_submitted = Signal(int, str)  # row, new text
    continue_reasoning_requested = Signal(int)  # row (app/long_context.py)
    summary_edited = Signal(int, str)  # row, the summary as rewritten
    version_requested = Signal(int, int)  # row, step (-1: the version before, 1: the one after)

    def __init__(self, model: ChatModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatView")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName(self.tr("Conversation"))
        self.model = model
        self.busy = False

        canvas = QWidget(self)
        canvas.setObjectName("ChatCanvas")
        outer = QHBoxLayout(canvas)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addStretch(1)
        self.column = QWidget(canvas)
        self.column.setObjectName("ChatColumn")
        self.column.setMaximumWidth(COLUMN_WIDTH)
        self.column_layout = QVBoxLayout(self.column)
        self.column_layout.setContentsMargins(0, 0, 0, 0)
        self.column_layout.setSpacing(22)
        self.empty_label = QLabel(self.column)
        self.empty_label.setObjectName("EmptyChat")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.column_layout.addWidget(self.empty_label)
        self.column_layout.addStretch(1)
        outer.addWidget(self.column, 100)
        outer.addStretch(1)
        self.setWidget(canvas)

        self._widgets: list[MessageWidget] = []
        self._stick = True
        # The row of a message whose version was switched, and its top in the viewport: the new version's
        # widget replaces the old one there, and is held at the same place.
        self._anchor: tuple[int, int] | None = None
        self._anchor_timer = QTimer(self, singleShot=True, interval=ANCHOR_MS)
        self._anchor_timer.timeout.connect(self._release_anchor)
        scrollbar = self.verticalScrollBar()
        scrollbar.valueChanged.connect(self._on_scrolled)
        scrollbar.rangeChanged.connect(self._on_range_changed)
        self._clock = QTimer(self, interval=500)  # live "Thinking… 4 s" timers
        self._clock.timeout.connect(self._tick)

        model.modelReset.connect(self._rebuild)
        model.rowsInserted.connect(self._on_rows_inserted)
        model.rowsRemoved.connect(self._on_rows_removed)
        model.dataChanged.connect(self._on_data_changed)
        self.set_empty_text()
        self._rebuild()

    def set_empty_text(self, title: str | None = None, subtitle: str | None = None) -> None:
        title = title or self.tr("What can I help with?")
        subtitle = subtitle or self.tr("gpt-oss runs on this computer. Nothing you write leaves it.")
        self.empty_label.setText(
            f"<div style='font-size:20pt; font-weight:600'>{title}</div>"
            f"<div style='margin-top:8px'>{subtitle}</div>"
        )

    def message_widgets(self) -> list[MessageWidget]:
        return list(self._widgets)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._refresh_all()

    # model signals
    def _rebuild(self) -> None:
        for widget in self._widgets:
            self._drop(widget)
        self._widgets = []
        for row in range(self.model.rowCount()):
            self._insert_widget(row)
        self._refresh_all()
        self._stick = True
        self._update_empty()
        QTimer.singleShot(0, self.scroll_to_bottom)

    def _on_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            self._insert_widget(row)
        self._refresh_all()
        self._stick = self._anchor is None  # a new message follows the bottom; another version stays put
        self._update_empty()

    def _on_rows_removed(self, _parent: QModelIndex, first: int, last: int) -> None:
        for widget in self._widgets[first : last + 1]:
            self._drop(widget)
        del self._widgets[first : last + 1]
        self._refresh_all()
        self._update_empty()

    def _on_data_changed(self, top: QModelIndex, bottom: QModelIndex, _roles=()) -> None:
        for row in range(top.row(), bottom.row() + 1):
            self._refresh(row)
        self._update_clock()

    # widgets
    def _drop(self, widget: MessageWidget) -> None:
        """Take a message off the page now. Hidden first: deleteLater waits for the event loop, and inside
        a context menu's own loop (right-click on another chat) it would be drawn under the new chat."""
        self.column_layout.removeWidget(widget)
        widget.hide()
        widget.deleteLater()

    def _hold_position(self) -> None:
        """The user opened or closed a Thinking section: keep what is under the mouse where it is, rather
        than following the bottom as the height changes."""
        self._stick = False

    def _insert_widget(self, row: int) -> None:
        message = self.model.message(row)
        if context_store.note_kind(message) is not None:  # where the prompt starts (a full context)
            widget = ContextNote(self.column)
            edited = self.summary_edited
            widget.summary_edited.connect(lambda text, w=widget: self._emit_text(w, edited, text))
        else:
            widget = MessageWidget(message.role, self.column)
            widget.continue_reasoning_requested.connect(
                lambda w=widget: self._emit_for(w, self.continue_reasoning_requested)
            )
            widget.edit_started.connect(lambda w=widget: self._show_editor(w))
            widget.version_requested.connect(lambda step, w=widget: self._emit_version(w, step))
        widget.regenerate_requested.connect(lambda w=widget: self._emit_for(w, self.regenerate_requested))
        widget.continue_requested.connect(lambda w=widget: self._emit_for(w, self.continue_requested))
        widget.edit_submitted.connect(lambda text, w=widget: self._emit_edit(w, text))
        thinking = getattr(widget, "thinking", None)
        if thinking is not None:
            thinking.header.clicked.connect(self._hold_position)
        self._widgets.insert(row, widget)
        self.column_layout.insertWidget(row + 1, widget)  # after the empty-state label

    def _emit_for(self, widget: MessageWidget, signal) -> None:
        if widget in self._widgets:
            signal.emit(self._widgets.index(widget))

    def _emit_text(self, widget, signal, text: str) -> None:
        if widget in self._widgets:
            signal.emit(self._widgets.index(widget), text)

    def _emit_edit(self, widget: MessageWidget, text: str) -> None:
        if widget in self._widgets:
            self.edit_submitted.emit(self._widgets.index(widget), text)

    def _emit_version(self, widget: MessageWidget, step: int) -> None:
        if widget not in self._widgets:
            return
        row = self._widgets.index(widget)
        self._anchor = (row, self._top(widget) - self.verticalScrollBar().value())
        self._stick = False
        self.version_requested.emit(row, step)
        QTimer.singleShot(0, self._hold_anchor)
        self._anchor_timer.start()

    def _top(self, widget: MessageWidget) -> int:
        return widget.mapTo(self.widget(), QPoint(0, 0)).y()

    def _hold_anchor(self) -> None:
        if self._anchor is not None and self._anchor[0] < len(self._widgets):
            row, top = self._anchor
            self.verticalScrollBar().setValue(self._top(self._widgets[row]) - top)

    def _release_anchor(self) -> None:
        self._hold_anchor()
        self._anchor = None
        self._on_scrolled(self.verticalScrollBar().value())

    def _show_editor(self, widget: MessageWidget) -> None:
        """Scroll the editor that just opened, with its buttons, fully into view once it is laid out."""
        self._stick = False

        def show() -> None:
            if widget in self._widgets and widget.editing:
                self.ensureWidgetVisible(widget.bubble, 0, EDITOR_MARGIN)

        QTimer.singleShot(0, show)

    def edit_again(self, row: int, text: str) -> None:
        """Open the editor of the message at ``row`` again with ``text`` (an edit that could not be sent)."""
        if 0 <= row < len(self._widgets):
            self._widgets[row].start_edit(text)

    def _refresh(self, row: int) -> None:
        if 0 <= row < len(self._widgets):
            last = row == len(self._widgets) - 1
            self._widgets[row].refresh(
                self.model.message(row), self.model.live(row), last=last, busy=self.busy
            )

    def _refresh_all(self) -> None:
        for row in range(len(self._widgets)):
            self._refresh(row)
        self._update_clock()

    def _update_empty(self) -> None:
        self.empty_label.setVisible(not self._widgets)

    def _update_clock(self) -> None:
        streaming = any(self.model.live(row) is not None for row in range(self.model.rowCount()))
        if streaming and not self._clock.isActive():
            self._clock.start()
        elif not streaming:
            self._clock.stop()

    def _tick(self) -> None:
        for row in range(self.model.rowCount()):
            live = self.model.live(row)
            if live is not None and live.phase in ("waiting", "analysis"):
                self.model.touch_live(row)

    # scrolling
    def _on_scrolled(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - STICK_DISTANCE

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._anchor is not None:
            self._hold_anchor()
        elif self._stick:
            self.verticalScrollBar().setValue(maximum)

    def scroll_to_bottom(self) -> None:
        self._stick = True
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def is_at_bottom(self) -> bool:
        return self._stick
