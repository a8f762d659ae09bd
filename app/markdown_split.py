"""Cut Markdown into prose and fenced-code segments, so a streaming answer re-renders only its tail.

Cuts depend only on the text before them, so as an answer grows every segment but the last stays
exactly the same and its widget is never rebuilt. Long prose is cut at blank lines once a segment
passes ``PROSE_LIMIT`` characters, which caps what one re-render costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROSE_LIMIT = 1200  # characters of prose before the next blank line starts a new segment
HARD_LIMIT = 6000  # a paragraph without blank lines is cut at a line end past this

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")


@dataclass(frozen=True)
class Segment:
    start: int  # offset in the text
    kind: str  # "prose" | "code"
    text: str  # prose: Markdown source; code: the code without its fences
    language: str = ""
    closed: bool = True  # code: the closing fence has arrived


def restart_index(segments: list[Segment], text: str, offset: int = 0) -> int:
    """How many leading segments of ``split(text)`` stay the same however ``text`` grows.

    The last one may still change; so may the one before it when the last is code whose fence line is
    not complete yet ("```" might still become "```Hello```", which is prose).
    """
    keep = len(segments) - 1
    if keep > 0 and segments[-1].kind == "code" and "\n" not in text[segments[-1].start - offset :]:
        keep -= 1
    return max(keep, 0)


def split(text: str, offset: int = 0) -> list[Segment]:
    segments: list[Segment] = []
    lines = text.splitlines(keepends=True)
    position = 0
    prose_start, prose_len = 0, 0
    i = 0

    def flush_prose(end: int) -> None:
        nonlocal prose_len
        if end > prose_start and text[prose_start:end].strip():
            segments.append(Segment(offset + prose_start, "prose", text[prose_start:end]))
        prose_len = 0

    while i < len(lines):
        line = lines[i]
        match = _FENCE.match(line.rstrip("\r\n"))
        if match:
            flush_prose(position)
            fence, language = match.group(1), match.group(2)
            start = position
            position += len(line)
            i += 1
            body: list[str] = []
            closed = False
            while i < len(lines):
                inner = lines[i]
                stripped = inner.strip()
                if (
                    stripped.startswith(fence[0] * len(fence))
                    and set(stripped) == {fence[0]}
                    and (inner.endswith("\n") or i == len(lines) - 1)
                ):
                    closed = True
                    position += len(inner)
                    i += 1
                    break
                body.append(inner)
                position += len(inner)
                i += 1
            code = "".join(body)
            if code.endswith("\n"):
                code = code[:-1]
            segments.append(Segment(offset + start, "code", code, language, closed))
            prose_start = position
            continue
        position += len(line)
        prose_len += len(line)
        i += 1
        blank = not line.strip() and line.endswith("\n")
        if (blank and prose_len >= PROSE_LIMIT) or (prose_len >= HARD_LIMIT and line.endswith("\n")):
            flush_prose(position)
            prose_start = position
    flush_prose(len(text))
    return segments
