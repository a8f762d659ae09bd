"""Numbers as people read them: sizes, durations, speeds, relative dates (translatable).

Every number goes through QLocale, so it is grouped and pointed the way the user's regional formats say
(16,384 and 13.8 in English; 16.384 and 13,8 in German), as i18n.install set the default locale.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QDate, QLocale

translate = QCoreApplication.translate


def size(num_bytes: float) -> str:
    """Decimal units, as disks and downloads are labelled: 13.8 GB."""
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            if unit == "B":
                return f"{count(value)} B"
            return f"{_locale().toString(value, 'f', 1 if value < 100 else 0)} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def memory(num_bytes: float) -> str:
    """GPU memory and RAM: binary units labelled GB, as graphics cards and the VRAM budget setting are ("16 GB"
    cards hold 16 GiB), the number in the locale's format: 11.7 GB."""
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            break
        value /= 1024
    if unit == "B":
        return f"{count(value)} B"
    return f"{_locale().toString(value, 'f', 1 if abs(value) < 100 else 0)} {unit}"


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return translate("Formatting", "%n s", "seconds", seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return translate("Formatting", "%1 min %2 s").replace("%1", str(minutes)).replace("%2", str(seconds))
    hours, minutes = divmod(minutes, 60)
    return translate("Formatting", "%1 h %2 min").replace("%1", str(hours)).replace("%2", str(minutes))


def speed(bytes_per_s: float) -> str:
    return translate("Formatting", "%1/s").replace("%1", size(bytes_per_s))


def decimal(value: float, decimals: int = 1) -> str:
    """A number with ``decimals`` digits after the point, the locale's point and grouping: 1,234.5."""
    return _locale().toString(float(value), "f", decimals)


def count(number: int) -> str:
    return _locale().toString(int(number))


def relative_date(timestamp: float, now: float | None = None) -> str:
    now = time.time() if now is None else now
    local_now, local = time.localtime(now), time.localtime(timestamp)
    days = time.mktime(local_now[:3] + (0, 0, 0, 0, 0, -1)) - time.mktime(local[:3] + (0, 0, 0, 0, 0, -1))
    days = round(days / 86400)
    if days <= 0:
        return translate("Formatting", "Today")
    if days == 1:
        return translate("Formatting", "Yesterday")
    if days < 7:
        return translate("Formatting", "Previous 7 days")
    if days < 30:
        return translate("Formatting", "Previous 30 days")
    return _locale().toString(QDate(local.tm_year, local.tm_mon, 1), "MMMM yyyy")


def _locale() -> QLocale:
    """The default locale, except Qt's C locale (LANG=C or unset), which prints 16384 without grouping:
    numbers then read as in English, 16,384 (as app.i18n.install sets it)."""
    locale = QLocale()
    if locale.language() == QLocale.Language.C:
        return QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    return locale
