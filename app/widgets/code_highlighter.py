"""Light syntax colouring for code blocks: comments, strings, numbers and common keywords.

Not a parser: a few regular expressions that read well for the languages answers use most.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat

from app import theme

_KEYWORDS = (
    "and as assert async await break case catch class const continue def default del do elif else enum "
    "except export extends false False final finally fn for from func function if impl import in interface "
    "is let loop match mod mut new nil None not null or package pass private protected pub public raise "
    "return self static struct super switch this throw true True try type typeof use var void where while "
    "with yield"
).split()
_RULES = [
    ("keyword", re.compile(r"\b(?:" + "|".join(map(re.escape, _KEYWORDS)) + r")\b")),
    ("number", re.compile(r"\b(?:0x[0-9a-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)\b")),
    ("string", re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`")),
    ("comment", re.compile(r"(?:#|//|--(?=\s)).*$")),
]
_LIGHT = {"keyword": "#7c3aed", "number": "#b45309", "string": "#15803d", "comment": "#8a8f98"}
_DARK = {"keyword": "#c4a7ff", "number": "#fbbf77", "string": "#86efac", "comment": "#7d828c"}
_NO_HASH_COMMENTS = {
    "c",
    "cpp",
    "c++",
    "java",
    "javascript",
    "js",
    "ts",
    "typescript",
    "rust",
    "go",
    "swift",
    "kotlin",
    "css",
    "json",
    "jsx",
    "tsx",
    "csharp",
    "cs",
    "dart",
    "scala",
}


class CodeHighlighter(QSyntaxHighlighter):
    def __init__(self, document, language: str = "") -> None:
        super().__init__(document)
        self.language = language.lower()
        self._formats: dict[str, QTextCharFormat] = {}
        self.update_colors()

    def update_colors(self) -> None:
        colors = _DARK if theme.current().name == "dark" else _LIGHT
        for name, color in colors.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(color))
            if name == "keyword":
                fmt.setFontWeight(QFont.Weight.DemiBold)
            if name == "comment":
                fmt.setFontItalic(True)
            self._formats[name] = fmt
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        if len(text) > 2000:
            return  # minified or generated lines: not worth the time
        taken = [False] * len(text)
        # strings and comments first so keywords inside them are left alone
        for name in ("string", "comment", "number", "keyword"):
            pattern = dict(_RULES)[name]
            for match in pattern.finditer(text):
                start, end = match.span()
                if name == "comment" and (
                    (match.group(0).startswith("#") and self.language in _NO_HASH_COMMENTS)
                    or (match.group(0).startswith("//") and self.language in {"python", "py", "sh", "bash"})
                ):
                    continue
                if any(taken[start:end]):
                    continue
                self.setFormat(start, end - start, self._formats[name])
                for i in range(start, end):
                    taken[i] = True
