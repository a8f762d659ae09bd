"""The Debian/Ubuntu libraries PySide6's Qt needs on Linux: find the missing ones, install them or say how.

``python3 installer/system_deps.py [--install] [--for test|run]`` does it by hand (and in .ci/run).
Standard library only: this runs on the system Python before the venv exists.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# What PySide6-Essentials 6.12 needs to draw offscreen (the tests): ldd on its offscreen platform plugin,
# image-format plugins and Qt{Core,Gui,Widgets,Test,Svg,Network,DBus,OpenGL} in a fresh
# `debootstrap --variant=minbase bookworm` found exactly these sonames missing, and a QWidget then
# rendered offscreen once these packages were installed.
OFFSCREEN_LIBRARIES = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libfontconfig.so.1": "libfontconfig1",  # brings fontconfig-config and a font (fonts-dejavu-core)
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",  # Ubuntu 24.04 calls it libglib2.0-0t64; apt takes the old name
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",  # QtNetwork
}
# What the tests use beyond Qt: the desktop entry is checked with desktop-file-validate.
TEST_TOOLS = {"desktop-file-validate": "desktop-file-utils"}
# Fonts the tests draw with, by a language fontconfig must cover: the Korean interface needs Hangul glyphs.
TEST_FONTS = {"ko": "fonts-noto-cjk"}
# Sonames whose package name does not follow Debian's library naming rule (see package_for).
_EXCEPTIONS = {
    "libz.so.1": "zlib1g",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    **OFFSCREEN_LIBRARIES,
}


def package_for(soname: str) -> str:
    """Debian package of a library: policy 8.1 names ``libfoo.so.6`` libfoo6, ``libfoo-1.so.3`` libfoo-1-3."""
    if soname in _EXCEPTIONS:
        return _EXCEPTIONS[soname]
    match = re.fullmatch(r"(lib[\w+.-]+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if not match:
        return soname
    name, major = match.group(1).lower().replace("_", "-"), match.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def _ldconfig() -> str | None:
    return shutil.which("ldconfig") or next(
        (path for path in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if Path(path).exists()), None
    )


def known_libraries() -> set[str] | None:
    """Sonames the dynamic linker's cache knows, or None where there is no ldconfig to ask."""
    ldconfig = _ldconfig()
    if ldconfig is None:
        return None
    result = subprocess.run([ldconfig, "-p"], check=False, capture_output=True, text=True, errors="replace")
    return {line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()}


def missing_libraries(sonames: list[str]) -> list[str]:
    known = known_libraries()
    if known is None:  # no ldconfig: look in the usual folders
        folders = [Path(p) for p in ("/lib", "/usr/lib", "/lib64", "/usr/lib64")]
        folders += [sub for folder in folders if folder.is_dir() for sub in folder.glob("*-linux-gnu*")]
        return [name for name in sonames if not any((folder / name).exists() for folder in folders)]
    return [name for name in sonames if name not in known]


def ldd_missing(files: list[Path]) -> list[str]:
    """Sonames that ``ldd`` cannot resolve for any of ``files`` (their whole dependency tree)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    missing: set[str] = set()
    for path in files:
        result = subprocess.run(
            [ldd, str(path)], check=False, capture_output=True, text=True, errors="replace"
        )
        missing.update(re.findall(r"^\s*(\S+)\s+=>\s+not found", result.stdout, flags=re.MULTILINE))
    return sorted(missing)


def pyside_files(site_packages: Path) -> list[Path]:
    """The PySide6 files that the tests load: the offscreen plugin, Qt's core libraries, their bindings."""
    root = site_packages / "PySide6"
    names = (
        ["Qt/plugins/platforms/libqoffscreen.so"]
        + [
            f"Qt/lib/libQt6{module}.so.6"
            for module in ("Core", "Gui", "Widgets", "Test", "Svg", "Network", "DBus")
        ]
        + [f"Qt{module}.abi3.so" for module in ("Core", "Gui", "Widgets", "Test", "Svg")]
    )
    return [root / name for name in names if (root / name).exists()]


def missing_tools(tools: dict[str, str]) -> list[str]:
    return [package for tool, package in tools.items() if shutil.which(tool) is None]


def missing_fonts(fonts: dict[str, str]) -> list[str]:
    """Packages of the fonts for languages no installed font covers (asks fontconfig's fc-list)."""
    fc_list = shutil.which("fc-list")
    missing = []
    for language, package in fonts.items():
        found = ""
        if fc_list:
            result = subprocess.run([fc_list, f":lang={language}", "family"], check=False,
                                    capture_output=True, text=True, errors="replace")
            found = result.stdout.strip()
        if not found:
            missing.append(package)
    return missing


def apt_command(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]


def can_install() -> bool:
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and bool(shutil.which("apt-get"))
    )


def apt_install(packages: list[str], log=print) -> bool:
    """Install with apt-get as root; ``apt-get update`` only when the package lists don't know a name."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log("$ " + " ".join(apt_command(packages)))
    if subprocess.run(apt_command(packages), check=False, env=env, stdout=subprocess.DEVNULL).returncode == 0:
        return True
    log("$ apt-get update -q")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env, stdout=subprocess.DEVNULL)
    return (
        subprocess.run(apt_command(packages), check=False, env=env, stdout=subprocess.DEVNULL).returncode == 0
    )


def needed_packages(purpose: str) -> tuple[list[str], list[str]]:
    """(packages Qt can't do without, packages of optional test tools) that are missing now."""
    required = sorted({OFFSCREEN_LIBRARIES[name] for name in missing_libraries(list(OFFSCREEN_LIBRARIES))})
    optional = missing_tools(TEST_TOOLS) + missing_fonts(TEST_FONTS) if purpose == "test" else []
    return required, optional


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="install what is missing (root, apt-get)")
    parser.add_argument("--for", dest="purpose", choices=("test", "run"), default="test")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("system_deps: nothing to do outside Linux")
        return 0
    required, optional = needed_packages(args.purpose)
    packages = required + optional
    if not packages:
        print("system_deps: the libraries Qt needs and the test tools are installed")
        return 0
    if args.install and can_install():
        if apt_install(packages):
            return 0
        print("system_deps: apt-get failed to install: " + " ".join(packages), file=sys.stderr)
        return 1
    print("system_deps: missing; install them with:\n    sudo " + " ".join(apt_command(packages)))
    return 1 if required else 0


if __name__ == "__main__":
    sys.exit(main())
