"""Install Gossamer for one user (or system-wide) on Linux, or remove it again.

    python3 installer/linux/install.py [--prefix ~/.local] [--link] [--no-venv] [--desktop-shortcut]
    python3 installer/linux/install.py --uninstall [--prefix ~/.local] [--remove-models | --keep-models]

Puts the app in PREFIX/lib/gossamer (a copy, or with --link a link to this checkout) with its venv set up
by installer/bootstrap.py, a launcher PREFIX/bin/gossamer, a desktop entry and the icon. A manifest of what
it wrote lets --uninstall remove exactly that; downloaded models stay unless the user asks.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP_ID = "gossamer"
# What a user's install needs from the checkout: the packages, their resources, and what pip reads.
PAYLOAD = ["app", "engine", "installer", "resources", "pyproject.toml", "README.md", "LICENSE"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".venv", ".pytest_cache")
MANIFEST = Path("share") / APP_ID / "install-manifest.json"
# Folders the desktop looks in without being told ($XDG_DATA_DIRS' default and the per-user one).
STANDARD_DATA_DIRS = [Path("/usr/local/share"), Path("/usr/share")]


def log(message: str) -> None:
    print(f"install: {message}", flush=True)


def default_prefix() -> Path:
    return Path.home() / ".local"


def user_data_dir() -> Path:
    """engine.paths.user_data_dir() without platformdirs: GOSSAMER_DATA_DIR, else $XDG_DATA_HOME/Gossamer."""
    override = os.environ.get("GOSSAMER_DATA_DIR")
    if override:
        return Path(override)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "Gossamer"


def desktop_dir() -> Path:
    """The user's desktop folder (XDG user-dirs), for the optional desktop shortcut."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "user-dirs.dirs"
    if config.is_file():
        for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("XDG_DESKTOP_DIR="):
                value = line.split("=", 1)[1].strip().strip('"')
                return Path(value.replace("$HOME", str(Path.home())))
    return Path.home() / "Desktop"


# --- desktop entry ---------------------------------------------------------------------------------------

_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_quote(argument: str) -> str:
    """One Exec= argument, quoted as the desktop entry spec asks (quoting rule, then string escapes)."""
    argument = argument.replace("%", "%%")
    if _RESERVED & set(argument):
        argument = '"' + "".join("\\" + c if c in '"`$\\' else c for c in argument) + '"'
    return argument.replace("\\", "\\\\")


def string_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def icon_value(prefix: Path, svg: Path) -> str:
    """The theme name where the desktop looks for icons by itself; a full path for other prefixes."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    searched = [
        data_home,
        *(Path(p) for p in os.environ.get("XDG_DATA_DIRS", "").split(":") if p),
        *STANDARD_DATA_DIRS,
    ]
    share = (prefix / "share").resolve()
    return APP_ID if any(share == folder.resolve() for folder in searched) else str(svg)


def desktop_entry(launcher: Path, icon: str) -> str:
    template = (REPO / "installer" / "linux" / "gossamer.desktop.in").read_text(encoding="utf-8")
    return (
        template.replace("@EXEC@", exec_quote(str(launcher)))
        .replace("@TRYEXEC@", string_escape(str(launcher)))
        .replace("@ICON@", string_escape(icon))
    )


def launcher_script(app_dir: Path) -> str:
    quoted = shlex.quote(str(app_dir))
    return f"""#!/bin/sh
# Gossamer's launcher, written by installer/linux/install.py; removed by gossamer-uninstall.
app_dir={quoted}
if [ -x "$app_dir/.venv/bin/python" ]; then
    exec "$app_dir/.venv/bin/python" -m app "$@"
fi
# No venv yet (installed with --no-venv, or it was removed): set it up first, then start.
exec python3 "$app_dir/installer/bootstrap.py" run -- "$@"
"""


def uninstaller_script(app_dir: Path, prefix: Path) -> str:
    script, prefix_q = (
        shlex.quote(str(app_dir / "installer" / "linux" / "install.py")),
        shlex.quote(str(prefix)),
    )
    return f"""#!/bin/sh
# Removes what installer/linux/install.py installed; downloaded models stay unless you ask.
exec python3 {script} --uninstall --prefix {prefix_q} "$@"
"""


# --- install ---------------------------------------------------------------------------------------------


class Recorder:
    """Writes files and folders under the prefix and remembers them for the manifest."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.created_dirs: list[str] = []

    def mkdir(self, folder: Path) -> None:
        missing = []
        for parent in [folder, *folder.parents]:
            if parent.exists():
                break
            missing.append(parent)
        folder.mkdir(parents=True, exist_ok=True)
        self.created_dirs += [str(path) for path in reversed(missing)]

    def write(self, path: Path, text: str, executable: bool = False) -> None:
        self.mkdir(path.parent)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755 if executable else 0o644)
        self.files.append(str(path))

    def copy(self, source: Path, path: Path) -> None:
        self.mkdir(path.parent)
        shutil.copyfile(source, path)
        path.chmod(0o644)
        self.files.append(str(path))


def place_app(app_dir: Path, link: bool, recorder: Recorder) -> None:
    if app_dir.is_symlink():
        app_dir.unlink()
    if link:
        recorder.mkdir(app_dir.parent)
        if app_dir.exists():
            shutil.rmtree(app_dir)
        app_dir.symlink_to(REPO, target_is_directory=True)
        return
    recorder.mkdir(app_dir)
    for child in app_dir.iterdir():  # an update: replace everything but the venv (torch is big)
        if child.name != ".venv":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for name in PAYLOAD:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, app_dir / name, ignore=IGNORED)
        elif source.is_file():
            shutil.copy2(source, app_dir / name)


def install(args: argparse.Namespace) -> int:
    prefix = args.prefix.expanduser().absolute()
    app_dir = prefix / "lib" / APP_ID
    launcher = prefix / "bin" / APP_ID
    svg = prefix / "share/icons/hicolor/scalable/apps" / f"{APP_ID}.svg"
    png = prefix / "share/icons/hicolor/256x256/apps" / f"{APP_ID}.png"
    entry = prefix / "share/applications" / f"{APP_ID}.desktop"
    if args.dry_run:
        for path in (app_dir, launcher, prefix / "bin" / f"{APP_ID}-uninstall", svg, png, entry):
            log(f"would write {path}")
        if not args.no_venv:
            log("would set up the venv: " + shlex.join(bootstrap_command(app_dir, args)))
        return 0
    recorder = Recorder()
    log(f"{'linking' if args.link else 'copying'} the app to {app_dir}")
    place_app(app_dir, args.link, recorder)
    if not args.no_venv:
        log("setting up its venv (the first time this downloads torch: minutes)")
        code = subprocess.run(bootstrap_command(app_dir, args), check=False).returncode
        if code:
            log(f"the set-up failed (exit code {code}); the launcher will try again at first start")
    recorder.write(launcher, launcher_script(app_dir), executable=True)
    recorder.write(
        prefix / "bin" / f"{APP_ID}-uninstall", uninstaller_script(app_dir, prefix), executable=True
    )
    icons = REPO / "resources" / "icons"
    recorder.copy(icons / "gossamer.svg", svg)
    recorder.copy(icons / "gossamer.png", png)
    text = desktop_entry(launcher, icon_value(prefix, svg))
    recorder.write(entry, text)
    if args.desktop_shortcut:
        shortcut = desktop_dir() / f"{APP_ID}.desktop"
        recorder.write(shortcut, text, executable=True)  # desktops launch only executable entries
        best_effort(["gio", "set", str(shortcut), "metadata::trusted", "true"])
    # No update-desktop-database: it only indexes MimeType=, which Gossamer's entry has none of.
    manifest = {
        "version": 1,
        "prefix": str(prefix),
        "app_dir": str(app_dir),
        "linked": args.link,
        "files": recorder.files,
        "created_dirs": recorder.created_dirs,
    }
    recorder.mkdir((prefix / MANIFEST).parent)
    (prefix / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log(f"installed; start Gossamer from the applications menu or with {launcher}")
    if str(launcher.parent) not in os.environ.get("PATH", "").split(os.pathsep):
        log(f"note: {launcher.parent} is not on PATH")
    log(f"to remove it: {prefix / 'bin' / (APP_ID + '-uninstall')}")
    return 0


def bootstrap_command(app_dir: Path, args: argparse.Namespace) -> list[str]:
    return [sys.executable, str(app_dir / "installer" / "bootstrap.py"), "setup", "--torch", args.torch]


def best_effort(command: list[str]) -> None:
    if shutil.which(command[0]):
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- uninstall -------------------------------------------------------------------------------------------


def uninstall(args: argparse.Namespace) -> int:
    prefix = args.prefix.expanduser().absolute()
    manifest_path = prefix / MANIFEST
    if not manifest_path.is_file():
        log(f"no Gossamer installation found in {prefix} (no {manifest_path})")
        return 1
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    app_dir = Path(manifest["app_dir"])
    if app_dir.is_symlink():
        app_dir.unlink()
    elif app_dir.is_dir():
        shutil.rmtree(app_dir)  # the app and its venv
    for name in manifest["files"]:
        Path(name).unlink(missing_ok=True)
    manifest_path.unlink()
    for name in sorted(manifest["created_dirs"] + [str(manifest_path.parent)], key=len, reverse=True):
        try:
            Path(name).rmdir()  # only folders the install created, and only when empty
        except OSError:
            pass
    log(f"removed Gossamer from {prefix}")
    handle_models(args)
    return 0


def handle_models(args: argparse.Namespace) -> None:
    models = user_data_dir() / "models"
    if not models.is_dir():
        return
    remove = args.models == "remove"
    if args.models is None and sys.stdin.isatty():
        answer = input(f"Also delete the downloaded models in {models}? [y/N] ")
        remove = answer.strip().lower() in ("y", "yes")
    if remove:
        shutil.rmtree(models)
        log(f"deleted the downloaded models in {models}")
    else:
        log(f"kept the downloaded models in {models} (delete that folder to free the space)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--prefix", type=Path, default=default_prefix(), help="where to install (~/.local)")
    parser.add_argument("--uninstall", action="store_true", help="remove what an install put under --prefix")
    parser.add_argument("--link", action="store_true", help="link PREFIX/lib/gossamer to this checkout")
    parser.add_argument(
        "--no-venv",
        action="store_true",
        help="don't set up the venv now (the launcher does it at first start)",
    )
    parser.add_argument(
        "--torch", default="auto", help="torch build for the set-up (see bootstrap.py --help)"
    )
    parser.add_argument("--desktop-shortcut", action="store_true", help="also put a shortcut on the desktop")
    parser.add_argument("--dry-run", action="store_true", help="say what would be installed; change nothing")
    models = parser.add_mutually_exclusive_group()
    models.add_argument(
        "--remove-models",
        dest="models",
        action="store_const",
        const="remove",
        help="with --uninstall: also delete the downloaded models",
    )
    models.add_argument(
        "--keep-models",
        dest="models",
        action="store_const",
        const="keep",
        help="with --uninstall: keep them without asking (the default when not on a terminal)",
    )
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        log("this installer is for Linux; on Windows use installer/windows/gossamer.iss")
        return 1
    return uninstall(args) if args.uninstall else install(args)


if __name__ == "__main__":
    sys.exit(main())
