"""Qt's own words that Qt's Korean translation (qtbase_ko, loaded by app.i18n) leaves in English.

The file dialog's "Look in:" and "Files of type:" labels are missing from qtbase_ko, so a Korean folder
picker was half English. They are listed here under Qt's own context so lupdate keeps them in our .ts,
translated; Qt asks its own translator first and falls back to ours for these.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

QT_GAPS = (
    QT_TRANSLATE_NOOP("QFileDialog", "&Look in:"),
    QT_TRANSLATE_NOOP("QFileDialog", "Files of &type:"),
)
