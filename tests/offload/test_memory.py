"""Sizes with units: parsing what people write, printing binary units."""

from __future__ import annotations

import pytest

from engine.placement.memory import GiB, MiB, format_gib, format_size, parse_size


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12GiB", 12 * GiB),
        ("12 GiB", 12 * GiB),
        ("12gib", 12 * GiB),
        ("12GB", 12 * 10**9),
        ("12000MB", 12 * 10**9),
        ("8G", 8 * GiB),
        ("512M", 512 * MiB),
        ("1.5GiB", 3 * GiB // 2),
        ("1024", 1024),
        (" 7 ", 7),
        ("2TB", 2 * 10**12),
        ("0", 0),
        (".5G", GiB // 2),
        (4096, 4096),
        ("100kb", 100_000),
        ("100K", 102400),
        ("5bytes", 5),
    ],
)
def test_parse_size(text, expected):
    """Binary and decimal units, single letters binary, bare numbers bytes."""
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "GiB", "12XB", "-1GiB", "12 G i B", "1e3", "nan", True, -5, "1,5GB"])
def test_parse_size_rejects(text):
    """Anything else is a ValueError that shows the accepted forms."""
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    "nbytes, text",
    [
        (12 * GiB, "12.0 GiB"),
        (int(11.84 * GiB), "11.8 GiB"),
        (512 * MiB, "512 MiB"),
        (1536, "1.5 KiB"),
        (10, "10 B"),
        (-2 * GiB, "-2.0 GiB"),
        (150 * GiB, "150 GiB"),
    ],
)
def test_format_size(nbytes, text):
    """Printed in the largest binary unit that keeps the number at least 1."""
    assert format_size(nbytes) == text


def test_format_round_trip():
    """What format_size prints parses back to about the same number."""
    for n in (3 * GiB + 123, 700 * MiB, 12345):
        assert abs(parse_size(format_size(n, digits=3).replace(" ", "")) - n) / n < 1e-3
    assert format_gib(GiB // 4) == "0.25 GiB"
