"""The window's bottom line: what the engine is doing, speed, context used, and where the model runs (the
device and placement of a local model; the server a remote one's conversation is sent to)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from app import formatting, model_facts

DEVICE_SHARE = 0.55  # of the bar's width, at most, for where the model runs


class StatusBar(QStatusBar):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("StatusBar")
        self.setSizeGripEnabled(False)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("StatusState")
        self.busy = QProgressBar(self)
        self.busy.setObjectName("StatusBusy")
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(90)
        self.busy.setFixedHeight(6)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.busy.setAccessibleName(self.tr("Working"))
        self.speed_label = QLabel(self)
        self.speed_label.setObjectName("StatusSpeed")
        self.speed_label.setToolTip(self.tr("Decoding speed of the last answer"))
        self.context_label = QLabel(self)
        self.context_label.setObjectName("StatusContext")
        self.context_label.setToolTip(self.tr("Tokens of the context window in use"))
        self.device_label = QLabel(self)
        self.device_label.setObjectName("StatusDevice")
        self.device_label.setToolTip(self.tr("Where the model's weights are"))
        self._device_short = self._device_text = ""
        self.addWidget(self.state_label)
        self.addWidget(self.busy)
        for label in (self.speed_label, self.context_label, self.device_label):
            self.addPermanentWidget(label)
        self.set_state(self.tr("No model loaded"))

    def set_state(self, text: str, *, busy: bool = False) -> None:
        self.state_label.setText(text)
        self.busy.setVisible(busy)

    def set_speed(self, tokens_per_s: float | None) -> None:
        self.speed_label.setText(
            self.tr("%1 tok/s").replace("%1", formatting.decimal(tokens_per_s))
            if tokens_per_s
            else ""
        )

    def set_chat_speed(self, messages: list) -> None:
        """The decoding speed of a chat's newest answer; nothing for a chat with no answer yet (a new one)."""
        speed = next(
            (m.usage.get("decode_tok_s") for m in reversed(messages) if m.role == "assistant" and m.usage),
            None,
        )
        self.set_speed(speed)

    def set_chat_context(self, messages: list, maximum: int | None) -> None:
        """The context a chat used when it was last answered (its newest answer's usage) out of what the
        loaded model holds: a chat opened from the sidebar shows how full it is before the next turn."""
        used = next(
            (
                m.usage["context_used"]
                for m in reversed(messages)
                if m.role == "assistant" and m.usage.get("context_used")
            ),
            0,
        )
        self.set_context(used, maximum)

    def set_context(self, used: int | None, maximum: int | None) -> None:
        if not maximum:
            self.context_label.setText("")
            return
        self.context_label.setText(
            self.tr("Context %1 / %2")
            .replace("%1", formatting.count(used or 0))
            .replace("%2", formatting.count(maximum))
        )

    def set_device(self, facts: dict | None) -> None:
        """Where the model runs (the engine's Transformer.facts(); None: no model), worded in the user's
        language: a short line on the bar, elided when the window is narrow, and every fact in the tooltip."""
        self._device_short = model_facts.short(facts) if facts else ""
        self._device_text = model_facts.full(facts) if facts else ""
        self.device_label.setToolTip(self._device_text or self.tr("Where the model's weights are"))
        self._elide_device()

    def set_remote(self, server: str, url: str, model: str, context_length: int | None) -> None:
        """Where a model on a server runs: the server's name, and that the conversation goes there."""
        self._device_short = model_facts.remote_short(server)
        self._device_text = model_facts.remote_full(server, url, model, context_length)
        self.device_label.setToolTip(self._device_text)
        self._elide_device()

    def device_text(self) -> str:
        """Every fact, as the tooltip shows them ("" without a model)."""
        return self._device_text

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide_device()

    def _elide_device(self) -> None:
        room = max(160, int(self.width() * DEVICE_SHARE))
        metrics = self.device_label.fontMetrics()
        self.device_label.setText(metrics.elidedText(self._device_short, Qt.TextElideMode.ElideRight, room))
