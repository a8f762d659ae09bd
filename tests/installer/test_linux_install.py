"""The Linux installer: into a temporary prefix and out again, its desktop entry, launcher and models."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installer.conftest import REPO, run_script

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux installer")
# installer/linux holds scripts, not a package: load install.py by path for its helpers.
_spec = importlib.util.spec_from_file_location("gossamer_linux_install", REPO / "installer/linux/install.py")
install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install)


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A home of our own, so the default prefix (~/.local) and the data folder are the test's."""
    folder = tmp_path / "home"
    folder.mkdir()
    return {
        "HOME": str(folder),
        "XDG_DATA_HOME": "",
        "XDG_CONFIG_HOME": "",
        "XDG_DATA_DIRS": "",
        "GOSSAMER_DATA_DIR": str(tmp_path / "data"),
    }


def install_into(prefix: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    result = run_script("installer/linux/install.py", "--prefix", str(prefix), "--no-venv", *extra, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_install_writes_app_launcher_entry_icons_and_manifest(tmp_path: Path, home: dict[str, str]):
    """Everything lands under the prefix, and the manifest lists each file it wrote."""
    prefix = tmp_path / "my prefix"  # a space, as in real home folders
    install_into(prefix, home)
    app_dir = prefix / "lib" / "gossamer"
    for part in (
        "engine/paths.py",
        "installer/bootstrap.py",
        "resources/o200k_base.tiktoken",
        "pyproject.toml",
    ):
        assert (app_dir / part).is_file(), part
    assert not list(app_dir.rglob("__pycache__")) and not (app_dir / ".venv").exists()
    launcher = prefix / "bin" / "gossamer"
    assert os.access(launcher, os.X_OK) and os.access(prefix / "bin" / "gossamer-uninstall", os.X_OK)
    assert (prefix / "share/icons/hicolor/scalable/apps/gossamer.svg").read_bytes() == (
        REPO / "resources/icons/gossamer.svg"
    ).read_bytes()
    png = (prefix / "share/icons/hicolor/256x256/apps/gossamer.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 256
    manifest = json.loads((prefix / "share/gossamer/install-manifest.json").read_text())
    assert str(prefix / "share/applications/gossamer.desktop") in manifest["files"]
    assert manifest["app_dir"] == str(app_dir) and not manifest["linked"]


def _entry(prefix: Path) -> dict[str, str]:
    lines = (prefix / "share/applications/gossamer.desktop").read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def test_desktop_entry_fields(tmp_path: Path, home: dict[str, str]):
    """Exec quotes a path with a space; a prefix outside the icon theme's folders gets a full icon path."""
    prefix = tmp_path / "my prefix"
    install_into(prefix, home)
    entry = _entry(prefix)
    assert entry["Exec"] == f'"{prefix}/bin/gossamer"'
    assert entry["TryExec"] == f"{prefix}/bin/gossamer"
    assert entry["Icon"] == f"{prefix}/share/icons/hicolor/scalable/apps/gossamer.svg"
    assert (entry["Type"], entry["Name"], entry["StartupWMClass"], entry["Terminal"]) == (
        "Application",
        "Gossamer",
        "Gossamer",
        "false",
    )
    assert entry["Categories"].endswith(";")


def test_default_prefix_is_local_and_uses_the_theme_icon_name(home: dict[str, str]):
    """~/.local is searched by desktops by default, so the entry names the icon "gossamer"."""
    result = run_script("installer/linux/install.py", "--no-venv", env=home)
    assert result.returncode == 0, result.stderr
    prefix = Path(home["HOME"]) / ".local"
    assert _entry(prefix)["Icon"] == "gossamer"
    assert (prefix / "bin" / "gossamer").exists()


@pytest.fixture
def validator() -> str:
    found = shutil.which("desktop-file-validate")
    if found is None:
        pytest.skip(
            "desktop-file-validate is missing (Debian: apt-get install desktop-file-utils; "
            "`bootstrap.py test` and .ci/run install it when run as root)"
        )
    return found


@pytest.mark.parametrize("prefix_name", ["plain", "with space", "odd$name%50"])
def test_desktop_entry_passes_desktop_file_validate(
    tmp_path: Path, home: dict[str, str], validator: str, prefix_name: str
):
    """freedesktop's own checker accepts the entry, also for prefixes that need quoting and escapes."""
    prefix = tmp_path / prefix_name
    install_into(prefix, home)
    result = subprocess.run(
        [validator, str(prefix / "share/applications/gossamer.desktop")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "quoted"),
    [
        ("/opt/gossamer/bin/gossamer", "/opt/gossamer/bin/gossamer"),
        ("/home/a b/bin/gossamer", '"/home/a b/bin/gossamer"'),
        ("/x/$HOME`/g", '"/x/\\\\$HOME\\\\`/g"'),
        ("/x/100%/g", "/x/100%%/g"),
    ],
)
def test_exec_quoting_follows_the_spec(path: str, quoted: str):
    """Reserved characters: double quotes, backslash-escaped $ and `, then string escaping doubles them."""
    assert install.exec_quote(path) == quoted


def test_launcher_starts_the_venvs_python(tmp_path: Path, home: dict[str, str], fake_python: Path):
    """PREFIX/bin/gossamer runs `python -m app ARGS` from the app's venv."""
    prefix = tmp_path / "p"
    install_into(prefix, home)
    venv = prefix / "lib" / "gossamer" / ".venv"
    shutil.copytree(fake_python.parent.parent, venv)
    launcher = str(prefix / "bin" / "gossamer")
    code = subprocess.run([launcher, "--model", "/m x"], check=False, env={**os.environ, **home}).returncode
    assert code == 7  # the fake python's exit code came back through exec
    called = (fake_python.parent.parent.parent / "called.txt").read_text().splitlines()
    assert called[:4] == ["-m", "app", "--model", "/m x"]


def test_without_venv_the_launcher_falls_back_to_the_bootstrap(tmp_path: Path, home: dict[str, str]):
    """Installed with --no-venv, the first start sets up through bootstrap.py run."""
    prefix = tmp_path / "p"
    install_into(prefix, home)
    script = (prefix / "bin" / "gossamer").read_text()
    assert f"app_dir={prefix}/lib/gossamer\n" in script and 'installer/bootstrap.py" run --' in script
    assert subprocess.run(["sh", "-n", str(prefix / "bin" / "gossamer")], check=False).returncode == 0


def _models(home: dict[str, str]) -> Path:
    models = Path(home["GOSSAMER_DATA_DIR"]) / "models" / "gpt-oss-20b"
    models.mkdir(parents=True)
    (models / "model.safetensors").write_bytes(b"weights")
    return models.parent


def test_uninstall_removes_what_it_installed_and_keeps_models(tmp_path: Path, home: dict[str, str]):
    """Every installed file and folder goes; other files in the prefix and the models stay."""
    prefix = tmp_path / "prefix"
    (prefix / "share" / "applications").mkdir(parents=True)
    (prefix / "share" / "applications" / "other.desktop").write_text("[Desktop Entry]\n")
    models = _models(home)
    install_into(prefix, home)
    result = run_script("installer/linux/install.py", "--uninstall", "--prefix", str(prefix), env=home)
    assert result.returncode == 0, result.stdout + result.stderr
    left = sorted(str(path.relative_to(prefix)) for path in prefix.rglob("*"))
    assert left == ["share", "share/applications", "share/applications/other.desktop"]
    assert (models / "gpt-oss-20b" / "model.safetensors").exists()
    assert "kept the downloaded models" in result.stdout


def test_uninstall_script_with_remove_models_deletes_them(tmp_path: Path, home: dict[str, str]):
    """gossamer-uninstall --remove-models also deletes the models folder, and the prefix it made."""
    prefix = tmp_path / "prefix"
    models = _models(home)
    install_into(prefix, home)
    result = subprocess.run(
        [str(prefix / "bin" / "gossamer-uninstall"), "--remove-models"],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **home},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not models.exists() and not prefix.exists()


def test_uninstall_asks_on_a_terminal(tmp_path: Path, home: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """Attached to a terminal and given no flag, the user is asked; "y" deletes the models."""
    models = _models(home)
    for key, value in home.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    answers = iter(["y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    install.handle_models(install.argparse.Namespace(models=None))
    assert not models.exists()


def test_reinstall_keeps_the_venv_and_link_mode_points_at_the_checkout(tmp_path: Path, home: dict[str, str]):
    """An update replaces the app files but not its venv; --link installs a link to this checkout."""
    prefix = tmp_path / "p"
    install_into(prefix, home)
    app_dir = prefix / "lib" / "gossamer"
    (app_dir / ".venv").mkdir()
    (app_dir / ".venv" / "marker").write_text("torch")
    (app_dir / "stale.py").write_text("")
    install_into(prefix, home)
    assert (app_dir / ".venv" / "marker").exists() and not (app_dir / "stale.py").exists()
    linked = tmp_path / "linked"
    install_into(linked, home, "--link")
    assert (linked / "lib" / "gossamer").resolve() == REPO
    run_script("installer/linux/install.py", "--uninstall", "--prefix", str(linked), env=home)
    assert REPO.exists() and not (linked / "lib" / "gossamer").exists()


def test_uninstall_without_an_install_says_so(tmp_path: Path, home: dict[str, str]):
    """No manifest: nothing is touched and the exit code is 1."""
    result = run_script("installer/linux/install.py", "--uninstall", "--prefix", str(tmp_path), env=home)
    assert result.returncode == 1 and "no Gossamer installation found" in result.stdout


def test_dry_run_writes_nothing(tmp_path: Path, home: dict[str, str]):
    """--dry-run lists the paths and the bootstrap command only."""
    result = run_script("installer/linux/install.py", "--prefix", str(tmp_path / "p"), "--dry-run", env=home)
    assert result.returncode == 0 and "bootstrap.py setup --torch auto" in result.stdout
    assert not (tmp_path / "p").exists()


def test_desktop_shortcut_is_executable_and_removed_again(tmp_path: Path, home: dict[str, str]):
    """--desktop-shortcut puts an executable copy of the entry on the desktop; uninstall removes it."""
    prefix = tmp_path / "p"
    install_into(prefix, home, "--desktop-shortcut")
    shortcut = Path(home["HOME"]) / "Desktop" / "gossamer.desktop"
    assert os.access(shortcut, os.X_OK)
    run_script("installer/linux/install.py", "--uninstall", "--prefix", str(prefix), env=home)
    assert not shortcut.exists()
