"""Light and dark themes: a color palette, the Fusion style, fonts, and resources/styles/app.qss filled in.

The stylesheet is one template with ``@name`` placeholders so both themes share every rule; the colors
live here because widgets that draw documents (Markdown, code) need them too (``current()``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from engine.paths import RESOURCES_DIR

STYLESHEET = RESOURCES_DIR / "styles" / "app.qss"
ICONS_DIR = RESOURCES_DIR / "icons"

# First installed family wins; CJK families follow as fallbacks so Korean never shows as boxes.
UI_FAMILIES = (
    "Inter",
    "Segoe UI Variable Text",
    "Segoe UI",
    "SF Pro Text",
    "Helvetica Neue",
    "Noto Sans",
    "Cantarell",
    "Ubuntu",
    "DejaVu Sans",
)
MONO_FAMILIES = (
    "JetBrains Mono",
    "Cascadia Mono",
    "Cascadia Code",
    "Consolas",
    "SF Mono",
    "Menlo",
    "Noto Sans Mono",
    "DejaVu Sans Mono",
    "Liberation Mono",
)
KOREAN_FAMILIES = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "NanumGothic",
    "Source Han Sans K",
    "Source Han Sans KR",
    "UnDotum",
    "Baekmuk Gulim",
)


@dataclass(frozen=True)
class Palette:
    name: str
    window: str
    sidebar: str
    surface: str
    raised: str
    hover: str
    selected: str
    border: str
    text: str
    muted: str
    faint: str
    accent: str
    accent_hover: str
    accent_text: str
    user_bubble: str
    code_bg: str
    code_header: str
    thinking_bg: str
    danger: str
    danger_bg: str
    warning_bg: str
    success: str
    link: str
    selection: str


LIGHT = Palette(
    name="light",
    window="#ffffff",
    sidebar="#f6f6f8",
    surface="#ffffff",
    raised="#ffffff",
    hover="#ececf1",
    selected="#e4e4ec",
    border="#e2e2e8",
    text="#1b1c1f",
    muted="#6b6f7a",
    faint="#9a9ea8",
    accent="#5046e5",
    accent_hover="#4338ca",
    accent_text="#ffffff",
    user_bubble="#f1f1f5",
    code_bg="#f6f7f9",
    code_header="#eceef2",
    thinking_bg="#f8f8fa",
    danger="#c62828",
    danger_bg="#fdecec",
    warning_bg="#fff7e0",
    success="#16803c",
    link="#4338ca",
    selection="#dcdcfb",
)
DARK = Palette(
    name="dark",
    window="#1d1e21",
    sidebar="#161719",
    surface="#26272b",
    raised="#2b2c31",
    hover="#2f3035",
    selected="#393a41",
    border="#35363c",
    text="#e8e8ec",
    muted="#a0a3ad",
    faint="#74777f",
    accent="#7c74ff",
    accent_hover="#918aff",
    accent_text="#ffffff",
    user_bubble="#2c2d33",
    code_bg="#141517",
    code_header="#202125",
    thinking_bg="#222327",
    danger="#ff6b6b",
    danger_bg="#3a2224",
    warning_bg="#3a3322",
    success="#4ade80",
    link="#a5a0ff",
    selection="#3f3c7a",
)

_current: Palette = LIGHT


def current() -> Palette:
    return _current


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown
    return scheme == Qt.ColorScheme.Dark


def resolve(setting: str) -> Palette:
    """``setting`` is "light", "dark" or "system" (follow the desktop; light when it does not say)."""
    if setting == "dark" or (setting == "system" and system_is_dark()):
        return DARK
    return LIGHT


def installed(candidates: tuple[str, ...]) -> list[str]:
    families = set(QFontDatabase.families())
    return [family for family in candidates if family in families]


def ui_font(point_size: float = 10.5) -> QFont:
    font = QFont(QGuiApplication.font())
    families = installed(UI_FAMILIES)[:1] or [font.family()]
    font.setFamilies(families + installed(KOREAN_FAMILIES))
    font.setPointSizeF(point_size)
    return font


def mono_font(point_size: float = 10.0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    families = installed(MONO_FAMILIES)[:1] or [font.family()]
    font.setFamilies(families + installed(KOREAN_FAMILIES))
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSizeF(point_size)
    return font


def stylesheet(palette: Palette) -> str:
    template = STYLESHEET.read_text(encoding="utf-8")
    # @icons: the folder of the arrows drawn in each theme's colors (arrow-down-@name.svg)
    values = {**asdict(palette), "icons": ICONS_DIR.as_posix()}
    return re.sub(r"@([a-z_]+)", lambda match: values.get(match.group(1), match.group(0)), template)


def qpalette(palette: Palette) -> QPalette:
    result = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, palette.window),
        (roles.WindowText, palette.text),
        (roles.Base, palette.surface),
        (roles.AlternateBase, palette.sidebar),
        (roles.Text, palette.text),
        (roles.Button, palette.raised),
        (roles.ButtonText, palette.text),
        (roles.Highlight, palette.selection),
        (roles.HighlightedText, palette.text),
        (roles.ToolTipBase, palette.raised),
        (roles.ToolTipText, palette.text),
        (roles.PlaceholderText, palette.faint),
        (roles.Link, palette.link),
        (roles.LinkVisited, palette.link),
        (roles.BrightText, palette.danger),
        (roles.Mid, palette.border),
        (roles.Midlight, palette.hover),
        (roles.Dark, palette.border),
        (roles.Light, palette.raised),
        (roles.Shadow, palette.border),
    ):
        result.setColor(role, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        result.setColor(disabled, role, QColor(palette.faint))
    return result


def apply(app: QApplication, setting: str) -> Palette:
    """Style the whole application; widgets see a PaletteChange and re-color their documents."""
    global _current
    palette = resolve(setting)
    _current = palette
    app.setStyle("Fusion")
    app.setFont(ui_font())
    app.setPalette(qpalette(palette))
    app.setStyleSheet(stylesheet(palette))
    return palette
