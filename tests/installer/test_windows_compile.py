"""installer/windows/compile.py: finding ISCC and wine, reading ISCC's output, and the real compile.

The real compile runs where wine (with 32-bit support) and ISCC.exe are found, as on a machine set up as
installer/README.md says; elsewhere (CI: no wine) it is skipped, saying what is missing.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installer.conftest import DATA, REPO

# installer/windows holds scripts, not a package: load compile.py by path (registered, for its dataclass).
_spec = importlib.util.spec_from_file_location(
    "gossamer_windows_compile", REPO / "installer/windows/compile.py"
)
iscc = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = iscc
_spec.loader.exec_module(iscc)

FIRST_COMPILE = DATA / "iscc-6.3.1-first-compile.log"  # the first compile ever, before the hint was fixed
RECORDED_REPO = Path("/work/main")  # where that compile ran (Z:\work\main under wine)


def test_reads_a_real_compile_output():
    """ISCC 6.3.1's own output: its one hint, every packed file, and the setup it wrote."""
    result = iscc.parse_output(FIRST_COMPILE.read_text(), 0, windows=False)
    assert result.ran and result.ok and not result.errors
    assert result.warnings == ["Warning: Line 148, Column 3: [Hint] Variable 'RESULTCODE' never used"]
    assert result.setup == Path("/tmp/isout/GossamerSetup-0.1.0.exe")
    packed = iscc.packed_relative(result, RECORDED_REPO, windows=False)
    assert len(packed) == 126
    assert {
        "app/__main__.py",
        "engine/session.py",  # the layout of that day (before engine/runtime/)
        "installer/bootstrap.py",
        "pyproject.toml",
        "README.md",
    } <= set(packed)
    assert {"resources/icons/gossamer.ico", "resources/o200k_base.tiktoken"} <= set(packed)
    assert iscc.not_to_pack(packed) == []


def test_reads_a_failed_compile():
    """An error line and "Compile aborted." make a failure even if a stale success line were around."""
    text = (
        f"{iscc.BANNER}\r\nParsing [Setup] section, line 44\r\n"
        'Error on line 44 in Z:\\tmp\\broken.iss: Unrecognized [Setup] section directive "BogusDirective"\r\n'
        "Compile aborted.\r\n"
    )
    result = iscc.parse_output(text, 2, windows=False)
    assert result.ran and not result.ok and result.setup is None
    assert result.errors[0].startswith("Error on line 44") and result.errors[1] == "Compile aborted."


def test_silent_wine_without_32_bit_support_is_not_a_compile():
    """64-bit-only wine exits 0 printing nothing for the 32-bit ISCC.exe: that must not pass."""
    result = iscc.parse_output("", 0, windows=False)
    assert not result.ran and not result.ok


def test_flags_what_the_setup_must_not_carry():
    """The venv, caches, tests, build output and model weights are refused; the sources are not."""
    packed = [
        "app/main_window.py",
        "resources/styles/app.qss",
        ".venv/Scripts/python.exe",
        "app/__pycache__/store.cpython-311.pyc",
        "tests/app/test_store.py",
        "gossamer.egg-info/PKG-INFO",
        "models/gpt-oss-20b/model.safetensors",
    ]
    assert iscc.not_to_pack(packed) == packed[2:]


def test_paths_on_wines_z_drive():
    """Z: is the Unix root in every wine prefix; back and forth."""
    assert iscc.windows_path(Path("/work/main/installer/windows/gossamer.iss"), windows=False) == (
        "Z:\\work\\main\\installer\\windows\\gossamer.iss"
    )
    assert iscc.posix_path("Z:\\tmp\\out\\GossamerSetup-0.1.0.exe", windows=False) == Path(
        "/tmp/out/GossamerSetup-0.1.0.exe"
    )


def test_iscc_from_the_environment_variable(tmp_path: Path):
    """$ISCC names ISCC.exe or its folder; a wrong $ISCC finds nothing rather than some other ISCC."""
    (tmp_path / "ISCC.exe").write_bytes(b"MZ")
    assert iscc.find_iscc({"ISCC": str(tmp_path), "PATH": ""}, ask_npm=False) == tmp_path / "ISCC.exe"
    assert iscc.find_iscc({"ISCC": str(tmp_path / "ISCC.exe"), "PATH": ""}, ask_npm=False) == (
        tmp_path / "ISCC.exe"
    )
    assert iscc.find_iscc({"ISCC": str(tmp_path / "nothing"), "PATH": str(tmp_path)}, ask_npm=False) is None


def test_iscc_from_npms_global_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`npm install -g innosetup-compiler` puts ISCC.exe in <npm root -g>/innosetup-compiler/bin."""
    bin_dir = tmp_path / "node_modules" / "innosetup-compiler" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "ISCC.exe").write_bytes(b"MZ")
    monkeypatch.setattr(iscc, "npm_global_root", lambda env: tmp_path / "node_modules")
    monkeypatch.setattr(iscc, "REPO", tmp_path / "elsewhere")
    assert iscc.find_iscc({"PATH": ""}) == bin_dir / "ISCC.exe"


def test_missing_tools_say_how_to_get_them():
    """Each missing tool is named with the command that provides it; Windows needs no wine."""
    missing = iscc.missing_tools(None, None, {}, windows=False)
    assert len(missing) == 2
    assert "npm install -g innosetup-compiler@6.3.1" in missing[0]
    assert "wine32:i386" in missing[1]
    assert iscc.missing_tools(Path("ISCC.exe"), None, {}, windows=True) == []


def test_the_command_exits_2_when_tools_are_missing(tmp_path: Path):
    """Without ISCC or wine the command says what is missing and exits 2 (not a compile failure)."""
    from tests.installer.conftest import run_script

    result = run_script(
        "installer/windows/compile.py", env={"ISCC": str(tmp_path / "none"), "PATH": str(tmp_path)}
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "missing Inno Setup's compiler" in result.stdout


def test_git_export_holds_the_commits_files_only(tmp_path: Path):
    """--git REV compiles `git archive REV`: exactly the commit's files, nothing untracked or ignored."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    commit = iscc.export_commit("HEAD", tmp_path)
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "-r", "--name-only", commit],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    exported = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    assert exported == sorted(listed)
    assert "installer/windows/gossamer.iss" in exported and not (tmp_path / ".venv").exists()


def tools_or_skip() -> tuple[Path, str | None]:
    wine = iscc.find_wine()
    if wine is None and sys.platform != "win32":
        pytest.skip("no wine to run ISCC.exe (CI does not install it; see installer/README.md)")
    found = iscc.find_iscc()
    if found is None:
        pytest.skip(f"no ISCC.exe: set ISCC or `npm install -g innosetup-compiler@{iscc.ISCC_VERSION}`")
    return found, wine


@pytest.mark.slow
@pytest.mark.parametrize("bundled_python", [False, True], ids=["plain", "bundled-python"])
def test_the_script_compiles_cleanly(tmp_path: Path, bundled_python: bool):
    """ISCC compiles gossamer.iss with no warning, into a setup that packs the sources and nothing else."""
    found, wine = tools_or_skip()
    defines = {}
    if bundled_python:  # /DPythonInstaller: any file does for the compile; ISCC only packs it
        defines["PythonInstaller"] = str(tmp_path / "python-3.12.10-amd64.exe")
        (tmp_path / "python-3.12.10-amd64.exe").write_bytes(b"MZ" + bytes(4096))
    result = iscc.run_iscc(found, wine, output_dir=tmp_path / "out", defines=defines, timeout=600)
    if not result.ran:
        pytest.skip(iscc.WINE32_HINT)
    assert result.ok, result.output
    assert "Compiler engine version: Inno Setup 6." in result.output
    assert result.warnings == [], result.output
    setup = tmp_path / "out" / "GossamerSetup-0.1.0.exe"
    assert result.setup == setup and setup.read_bytes()[:2] == b"MZ"
    assert setup.stat().st_size > 1_000_000  # 3.1 MB at the first compile (installer/README.md)
    packed = iscc.packed_relative(result)
    assert iscc.not_to_pack(packed) == []
    tracked = {
        "app/__main__.py",
        "engine/session.py",  # the layout of that day (before engine/runtime/)
        "installer/bootstrap.py",
        "pyproject.toml",
        "README.md",
        "LICENSE",
    }
    assert tracked | {"resources/icons/gossamer.ico", "resources/o200k_base.tiktoken"} <= set(packed)
    assert not any(path.startswith(("tests/", "docs/", "benchmarks/")) for path in packed)
    bundled = [path for path in packed if path.endswith("python-3.12.10-amd64.exe")]
    assert len(bundled) == int(bundled_python)
