"""The Inno Setup script, checked by reading it (Inno Setup itself does not run here)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PureWindowsPath

import pytest

from tests.installer.conftest import REPO

ISS = REPO / "installer" / "windows" / "gossamer.iss"


def sections(text: str) -> dict[str, list[str]]:
    """Section name -> its lines, without comments and preprocessor lines."""
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if re.fullmatch(r"\[\w+\]", stripped):
            current = stripped[1:-1]
            found[current] = []
        elif current and stripped and not stripped.startswith((";", "#")):
            found[current].append(stripped)
    return found


def entry(line: str) -> dict[str, str]:
    """An entry line such as `Source: "app\\*"; DestDir: "{app}"` as a dict ("" inside quotes is one ")."""
    parameters: dict[str, str] = {}
    for match in re.finditer(r'\s*(\w+):\s*("(?:[^"]|"")*"|[^;]*)\s*(?:;|$)', line):
        key, value = match.group(1), match.group(2).strip()
        if value.startswith('"'):
            value = value[1:-1].replace('""', '"')
        parameters[key] = value
    return parameters


@pytest.fixture(scope="module")
def iss() -> dict[str, list[str]]:
    return sections(ISS.read_text(encoding="utf-8"))


def setup_values(iss: dict[str, list[str]]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in iss["Setup"])


def test_all_sections_are_there(iss: dict[str, list[str]]):
    """Setup, the shortcut task, files, icons, the launch, the clean-up and the code are present."""
    assert {"Setup", "Tasks", "Files", "Icons", "Run", "UninstallDelete", "Code"} <= set(iss)


def test_setup_directives(iss: dict[str, list[str]]):
    """Per-user, 64-bit, a stable GUID, the version of pyproject.toml, and the icon."""
    values = setup_values(iss)
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", values["AppId"])
    assert values["PrivilegesRequired"] == "lowest" and values["DefaultDirName"] == r"{autopf}\{#AppName}"
    assert values["ArchitecturesAllowed"] == values["ArchitecturesInstallIn64BitMode"] == "x64compatible"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f'#define AppVersion "{version}"' in ISS.read_text(encoding="utf-8")
    assert values["SourceDir"] == r"..\.."


def test_every_source_file_exists(iss: dict[str, list[str]]):
    """Each [Files] Source (relative to SourceDir, the repository root) matches something in the repo."""
    source_dir = (ISS.parent / PureWindowsPath(setup_values(iss)["SourceDir"]).as_posix()).resolve()
    assert source_dir == REPO
    sources = [entry(line)["Source"] for line in iss["Files"] if not entry(line)["Source"].startswith("{#")]
    assert sources
    for source in sources:
        pattern = PureWindowsPath(source).as_posix()
        assert list(source_dir.glob(pattern)), f"{source} matches nothing"
    icon = PureWindowsPath(setup_values(iss)["SetupIconFile"]).as_posix()
    assert (source_dir / icon).is_file()


def test_everything_the_bootstrap_needs_is_shipped(iss: dict[str, list[str]]):
    """pip install -e . needs pyproject.toml and the readme it names; the bootstrap needs installer/."""
    destinations = {entry(line)["Source"] for line in iss["Files"]}
    assert {
        r"app\*",
        r"engine\*",
        r"installer\*",
        r"resources\*",
        "pyproject.toml",
        "README.md",
    } <= destinations


def test_shortcuts_start_the_venv_and_the_desktop_one_is_optional(iss: dict[str, list[str]]):
    """Start menu and (only with the task) desktop shortcuts run the venv's pythonw -m app."""
    icons = [entry(line) for line in iss["Icons"]]
    app_icons = [icon for icon in icons if icon.get("Parameters") == "-m app"]
    assert {icon["Name"] for icon in app_icons} == {r"{group}\{#AppName}", r"{autodesktop}\{#AppName}"}
    for icon in app_icons:
        assert icon["Filename"] == r"{app}\.venv\Scripts\pythonw.exe"
        assert icon["IconFilename"] == r"{app}\resources\icons\gossamer.ico"
    desktop = next(icon for icon in app_icons if icon["Name"].startswith("{autodesktop}"))
    assert desktop["Tasks"].strip() == "desktopicon"
    task = entry(iss["Tasks"][0])
    assert task["Name"] == "desktopicon" and "unchecked" in task["Flags"]
    assert any("bootstrap.py" in icon.get("Parameters", "") for icon in icons)  # the repair shortcut


def test_uninstall_removes_the_venv_and_asks_about_models(iss: dict[str, list[str]]):
    """The venv made after install is deleted; models only after a Yes, never in silent mode."""
    deleted = {entry(line)["Name"] for line in iss["UninstallDelete"]}
    assert r"{app}\.venv" in deleted and r"{app}\gossamer.egg-info" in deleted
    code = "\n".join(iss["Code"])
    assert r"ExpandConstant('{localappdata}\Gossamer\Gossamer')" in code
    assert "GetEnv('GOSSAMER_DATA_DIR')" in code and "'models'" in code
    ask = code[code.index("procedure CurUninstallStepChanged") :]
    assert ask.index("UninstallSilent()") < ask.index("MsgBox(") < ask.index("DelTree(")
    assert "MB_DEFBUTTON2" in ask  # "No" (keep the models) is the default button


def test_models_path_matches_platformdirs_on_windows(monkeypatch: pytest.MonkeyPatch):
    """engine.paths' platformdirs.user_data_dir("Gossamer", "Gossamer"): LOCALAPPDATA\\Gossamer\\Gossamer."""
    windows = pytest.importorskip("platformdirs.windows")
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\ada\AppData\Local")
    monkeypatch.setattr(windows, "get_win_folder", lambda csidl: r"C:\Users\ada\AppData\Local", raising=False)
    folder = windows.Windows(appname="Gossamer", appauthor="Gossamer").user_data_dir
    assert PureWindowsPath(folder.replace("/", "\\")) == PureWindowsPath(
        r"C:\Users\ada\AppData\Local\Gossamer\Gossamer"
    )


def test_code_runs_the_bootstrap_and_checks_python():
    """The post-install step runs bootstrap.py setup with the Python found via PEP 514, or explains."""
    code = ISS.read_text(encoding="utf-8")
    assert "Software\\Python\\PythonCore\\" in code and "'3.11'" in code
    assert "installer\\bootstrap.py') + '\" setup'" in code
    assert "ssPostInstall" in code and "python.org" in code
    begins = len(re.findall(r"\bbegin\b", code))
    assert begins == len(re.findall(r"\bend;", code)) + len(re.findall(r"\bend\b(?!;)", code)) - len(
        re.findall(r"\bend\.", code)
    )  # every begin has its end (the compiler checks the rest)


def test_bundled_python_is_optional():
    """Without /DPythonInstaller the script needs no file outside the repository."""
    text = ISS.read_text(encoding="utf-8")
    assert "#ifdef PythonInstaller" in text and "Flags: dontcopy" in text
    assert "ExtractTemporaryFile('python-installer.exe')" in text
    assert Path(REPO / "resources" / "icons" / "gossamer.ico").is_file()
