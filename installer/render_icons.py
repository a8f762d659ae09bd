"""Render resources/icons/gossamer.svg to the PNG (Linux, Qt) and the ICO (Windows installer, shortcuts).

    python3 installer/render_icons.py    # needs rsvg-convert (Debian: librsvg2-bin)

Run it after changing the SVG and commit all three files; nothing renders icons at install time.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
PNG_SIZE = 256
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)  # Explorer, taskbar and shortcut sizes at 100%..250%


def render(svg: Path, size: int, out: Path) -> bytes:
    subprocess.run(["rsvg-convert", "-w", str(size), "-h", str(size), str(svg), "-o", str(out)], check=True)
    return out.read_bytes()


def ico_from_pngs(images: dict[int, bytes]) -> bytes:
    """An ICO holding PNG images (Windows Vista and later read those): ICONDIR, entries, then the data."""
    header = struct.pack("<HHH", 0, 1, len(images))
    entries, blobs = b"", b""
    offset = 6 + 16 * len(images)
    for size, data in sorted(images.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return header + entries + blobs


def main() -> int:
    if shutil.which("rsvg-convert") is None:
        print("render_icons: needs rsvg-convert (apt-get install librsvg2-bin)", file=sys.stderr)
        return 1
    svg = ICONS / "gossamer.svg"
    with tempfile.TemporaryDirectory() as scratch:
        render(svg, PNG_SIZE, ICONS / "gossamer.png")
        images = {size: render(svg, size, Path(scratch) / f"{size}.png") for size in ICO_SIZES}
    (ICONS / "gossamer.ico").write_bytes(ico_from_pngs(images))
    print(f"render_icons: wrote {ICONS / 'gossamer.png'} and {ICONS / 'gossamer.ico'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
