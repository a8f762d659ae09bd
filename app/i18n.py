"""The interface language: English in the source (plurals in gossamer_en.qm), Korean in gossamer_ko.qm.

The language is the setting when it names one, else the system's; Qt's own strings (standard buttons,
file dialogs) come from Qt's translations shipped with PySide6.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from engine.paths import RESOURCES_DIR

TRANSLATIONS_DIR = RESOURCES_DIR / "translations"
SUPPORTED = ("en", "ko")

_installed: list[QTranslator] = []


def choose(setting: str, system: QLocale | None = None) -> str:
    """ "en" or "ko" for a setting of "system" | "en" | "ko"."""
    if setting in SUPPORTED:
        return setting
    system = system or QLocale.system()
    return "ko" if system.language() == QLocale.Language.Korean else "en"


def install(setting: str) -> str:
    """Load the translators for the chosen language into the running application; returns the language."""
    app = QCoreApplication.instance()
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    language = choose(setting)
    # Numbers and dates: Korean with the Korean interface, else the user's own regional formats.
    system = QLocale.system()
    if system.language() == QLocale.Language.C:
        # LANG=C (or unset) says nothing about regional formats, and Qt's C locale prints 16384 without
        # grouping: read numbers as English speakers do (16,384).
        system = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    korean = language == "ko" and system.language() != QLocale.Language.Korean
    QLocale.setDefault(QLocale(QLocale.Language.Korean, QLocale.Country.SouthKorea) if korean else system)
    ours = QTranslator(app)  # for English: only the plural forms ("1 token", "2 tokens")
    if ours.load(str(TRANSLATIONS_DIR / f"gossamer_{language}.qm")):
        app.installTranslator(ours)
        _installed.append(ours)
    if language == "en":
        return language
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _installed.append(qt)
    return language
