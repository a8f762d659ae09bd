"""The icon files, the Linux system-library check, and the CI script that runs the README's command."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from xml.etree import ElementTree

import pytest

from installer import system_deps
from tests.installer.conftest import REPO

ICONS = REPO / "resources" / "icons"
README_TEST_COMMAND = "python3 installer/bootstrap.py test"


def test_svg_icon_is_square_and_self_contained():
    """The SVG parses, is square, and references no outside file (themes copy it alone)."""
    root = ElementTree.parse(ICONS / "gossamer.svg").getroot()
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    assert width == height
    text = (ICONS / "gossamer.svg").read_text()
    assert "xlink:href" not in text and "<image" not in text


def test_png_icon_is_256_square_rgba():
    """The PNG is the 256x256 size the hicolor theme and Qt use."""
    data = (ICONS / "gossamer.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, color_type = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, color_type) == (256, 256, 8, 6)


def test_ico_holds_every_size_windows_asks_for():
    """The ICO has 16 to 256 px images, each a PNG whose size matches its directory entry."""
    data = (ICONS / "gossamer.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for index in range(count):
        side, _, _, _, _, _, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * index : 22 + 16 * index]
        )
        image = data[offset : offset + length]
        assert image[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">I", image[16:20])[0] == (side or 256)
        sizes.append(side or 256)
    assert {16, 32, 48, 256} <= set(sizes)


@pytest.mark.skipif(
    shutil.which("rsvg-convert") is None, reason="rsvg-convert (librsvg2-bin) renders the SVG"
)
def test_png_is_the_render_of_the_svg(tmp_path):
    """The committed PNG is what installer/render_icons.py makes from the SVG now (re-run it after edits)."""
    out = tmp_path / "icon.png"
    subprocess.run(
        ["rsvg-convert", "-w", "256", "-h", "256", str(ICONS / "gossamer.svg"), "-o", str(out)], check=True
    )
    assert out.read_bytes() == (ICONS / "gossamer.png").read_bytes()


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libEGL.so.1", "libegl1"),
        ("libxkbcommon.so.0", "libxkbcommon0"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libgssapi_krb5.so.2", "libgssapi-krb5-2"),
        ("libz.so.1", "zlib1g"),
    ],
)
def test_library_to_debian_package(soname: str, package: str):
    """Sonames map to Debian packages by table or by the library naming policy."""
    assert system_deps.package_for(soname) == package


@pytest.mark.skipif(not os.path.exists("/etc/debian_version"), reason="checks a Debian system")
def test_this_machine_has_what_qt_needs_offscreen():
    """After `bootstrap.py test` (or .ci/run) set it up, no library Qt needs is missing."""
    assert system_deps.missing_libraries(list(system_deps.OFFSCREEN_LIBRARIES)) == []


def test_ldd_reports_missing_libraries(tmp_path):
    """ldd's "not found" lines become the sonames to install (a library linked to one deleted after)."""
    if shutil.which("cc") is None or shutil.which("ldd") is None:
        pytest.skip("needs a C compiler and ldd")
    (tmp_path / "stub.c").write_text("int gossamer_stub(void) { return 0; }\n")
    stub, library = tmp_path / "libgossamerstub.so", tmp_path / "libgossamerneeds.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(stub), str(tmp_path / "stub.c")], check=True)
    subprocess.run(
        [
            "cc",
            "-shared",
            "-fPIC",
            "-o",
            str(library),
            str(tmp_path / "stub.c"),
            "-Wl,--no-as-needed",
            f"-L{tmp_path}",
            "-lgossamerstub",
        ],
        check=True,
    )
    stub.unlink()
    assert system_deps.ldd_missing([library]) == ["libgossamerstub.so"]


def test_ci_script_runs_exactly_the_readme_command():
    """.ci/run is executable bash, installs the system packages, runs the README's test command."""
    script = REPO / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert f"{README_TEST_COMMAND} 2>&1 | tee" in text and "installer/system_deps.py --install" in text
    assert '"$code" -eq 5' in text and "PIPESTATUS[0]" in text
    if shutil.which("bash"):
        assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


def test_readme_has_the_two_commands():
    """The quick start's commands are the ones the bootstrap implements."""
    readme = (REPO / "README.md").read_text()
    assert "python3 installer/bootstrap.py run" in readme and README_TEST_COMMAND in readme
