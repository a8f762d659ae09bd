"""Compile installer/windows/gossamer.iss with Inno Setup's ISCC.exe: natively on Windows, under wine elsewhere.

    python3 installer/windows/compile.py                      # -> dist/GossamerSetup-<version>.exe
    python3 installer/windows/compile.py --output DIR --define PythonInstaller=/path/python-3.12.10-amd64.exe
    python3 installer/windows/compile.py --git HEAD          # a commit's files only, not the working tree

The script packs app/, engine/, installer/, resources/, pyproject.toml, README.md and LICENSE as they are
on disk, uncommitted edits and untracked files included; --git REV compiles a `git archive` of that commit
instead (the setup still goes to this checkout's dist/ unless --output says otherwise).

ISCC.exe comes from $ISCC (the file or its folder), an npm install of the innosetup-compiler package
(`npm install -g innosetup-compiler@6.3.1` bundles ISCC.exe and its files; a node_modules folder here or
npm's global one), or PATH. Elsewhere than Windows it runs under wine ($WINE, else `wine` on PATH), which
must run 32-bit programs (Debian: `dpkg --add-architecture i386 && apt-get update && apt-get install
wine wine32:i386`), in its own prefix (~/.cache/gossamer/wine-iscc unless $WINEPREFIX is set).

Prints the compiler's warnings and errors, what the setup packs (per top-level folder) and the setup's size.
Exit status: 0 compiled with no warning; 1 the compile failed, warned (unless --allow-warnings) or packed
something it must not (a venv, caches, tests, models); 2 ISCC.exe or wine is missing or cannot run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

REPO = Path(__file__).resolve().parents[2]
ISS = REPO / "installer" / "windows" / "gossamer.iss"
NPM_PACKAGE = "innosetup-compiler"
ISCC_VERSION = "6.3.1"  # the version this script was compiled with (docs: installer/README.md)
BANNER = "Inno Setup 6 Command-Line Compiler"
SUCCESS = "Successful compile"
# Never in the setup: what the set-up makes on the user's machine, caches, tests, and model weights.
NOT_PACKED_DIRS = {
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    ".git",
    "tests",
    "dist",
}
NOT_PACKED_SUFFIXES = {".pyc", ".safetensors", ".gguf", ".egg-info"}
WINE32_HINT = (
    "wine could not run ISCC.exe, a 32-bit Windows program: install 32-bit wine "
    "(Debian/Ubuntu: dpkg --add-architecture i386 && apt-get update && apt-get install wine32:i386)"
)


def log(message: str) -> None:
    print(f"compile: {message}", flush=True)


# --- finding the tools -----------------------------------------------------------------------------------


def npm_global_root(env: dict[str, str]) -> Path | None:
    """`npm root -g`, or None without npm (or when it fails)."""
    npm = shutil.which("npm", path=env.get("PATH"))
    if npm is None:
        return None
    try:
        out = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=30, env=env, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    root = out.stdout.strip()
    return Path(root) if out.returncode == 0 and root else None


def iscc_candidates(env: dict[str, str]) -> list[Path]:
    """Where ISCC.exe may be, in order: $ISCC, the npm package (here, then npm's global root), PATH."""
    candidates: list[Path] = []
    if env.get("ISCC"):
        given = Path(env["ISCC"]).expanduser()
        candidates.append(given / "ISCC.exe" if given.is_dir() else given)
    for modules in (REPO / "node_modules", REPO / "installer" / "windows" / "node_modules"):
        candidates.append(modules / NPM_PACKAGE / "bin" / "ISCC.exe")
    for name in ("ISCC.exe", "iscc.exe", "ISCC", "iscc"):
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            candidates.append(Path(found))
    return candidates


def find_iscc(env: dict[str, str] | None = None, *, ask_npm: bool = True) -> Path | None:
    """The first ISCC.exe that exists (asking npm for its global root only when nothing else matched)."""
    env = dict(os.environ if env is None else env)
    if env.get("ISCC"):  # named explicitly: that one or none, never a different one found elsewhere
        return next((path for path in iscc_candidates(env)[:1] if path.is_file()), None)
    for path in iscc_candidates(env):
        if path.is_file():
            return path
    root = npm_global_root(env) if ask_npm else None
    if root is not None and (root / NPM_PACKAGE / "bin" / "ISCC.exe").is_file():
        return root / NPM_PACKAGE / "bin" / "ISCC.exe"
    return None


def find_wine(env: dict[str, str] | None = None) -> str | None:
    """$WINE or `wine` on PATH; not needed (None) on Windows."""
    env = dict(os.environ if env is None else env)
    if env.get("WINE"):
        return shutil.which(env["WINE"], path=env.get("PATH"))
    return shutil.which("wine", path=env.get("PATH"))


def missing_tools(
    iscc: Path | None, wine: str | None, env: dict[str, str] | None = None, *, windows: bool | None = None
) -> list[str]:
    """What is missing, each with how to get it; empty when the compile can run."""
    env = dict(os.environ if env is None else env)
    windows = sys.platform == "win32" if windows is None else windows
    missing = []
    if iscc is None:
        where = f"$ISCC={env['ISCC']} is no ISCC.exe" if env.get("ISCC") else "no ISCC.exe found"
        missing.append(
            f"Inno Setup's compiler: {where} (set ISCC to ISCC.exe or its folder, or "
            f"`npm install -g {NPM_PACKAGE}@{ISCC_VERSION}`, or install Inno Setup and put ISCC on PATH)"
        )
    if wine is None and not windows:
        where = f"$WINE={env['WINE']} is not a program" if env.get("WINE") else "no `wine` on PATH"
        missing.append(
            f"wine, to run ISCC.exe here: {where} (Debian/Ubuntu: dpkg --add-architecture i386 && "
            "apt-get update && apt-get install wine wine32:i386)"
        )
    return missing


# --- running ISCC ----------------------------------------------------------------------------------------


def windows_path(path: Path, *, windows: bool | None = None) -> str:
    """The path as ISCC sees it: as is on Windows, else on wine's Z: drive (the Unix root in every prefix)."""
    windows = sys.platform == "win32" if windows is None else windows
    if windows:
        return str(Path(path).resolve())
    return "Z:" + str(PurePosixPath(Path(path).resolve())).replace("/", "\\")


def posix_path(path: str, *, windows: bool | None = None) -> Path:
    """Back from windows_path(): Z:\\a\\b -> /a/b."""
    windows = sys.platform == "win32" if windows is None else windows
    if windows:
        return Path(path)
    pure = PureWindowsPath(path)
    if pure.drive.upper() == "Z:":
        return Path("/", *pure.parts[1:])
    return Path(path)


def wine_environment(env: dict[str, str]) -> dict[str, str]:
    """Quiet, headless wine in its own prefix (made on first use, about 15 s), no Mono/Gecko prompts."""
    env = dict(env)
    env.setdefault("WINEDEBUG", "-all")
    env.setdefault("WINEDLLOVERRIDES", "mscoree=;mshtml=")
    if not env.get("WINEPREFIX"):
        cache = Path(env.get("XDG_CACHE_HOME") or Path(env.get("HOME") or Path.home()) / ".cache")
        env["WINEPREFIX"] = str(cache / "gossamer" / "wine-iscc")
    Path(env["WINEPREFIX"]).parent.mkdir(parents=True, exist_ok=True)
    return env


@dataclass
class Compile:
    """What one ISCC run said: its exit status, its output, and what that output means."""

    returncode: int
    output: str
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    packed: list[str] = field(default_factory=list)  # as ISCC names them (Windows paths)
    setup: Path | None = None  # the setup .exe, when the compile succeeded

    @property
    def ran(self) -> bool:
        """ISCC itself started (under wine without 32-bit support it silently does not)."""
        return BANNER in self.output

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and SUCCESS in self.output and self.setup is not None and not self.errors


def parse_output(text: str, returncode: int = 0, *, windows: bool | None = None) -> Compile:
    """Read ISCC's console output: warnings (hints included), errors, the files it packed, the setup."""
    result = Compile(returncode=returncode, output=text)
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("Warning:"):
            result.warnings.append(stripped)
        elif stripped.startswith(("Error on line", "Error:")) or stripped == "Compile aborted.":
            result.errors.append(stripped)
        elif stripped.startswith("Compressing: "):
            result.packed.append(stripped[len("Compressing: ") :])
        elif stripped.startswith(SUCCESS) and index + 1 < len(lines) and lines[index + 1].strip():
            result.setup = posix_path(lines[index + 1].strip(), windows=windows)
    return result


def packed_relative(result: Compile, root: Path = REPO, *, windows: bool | None = None) -> list[str]:
    """The packed files under root as POSIX paths relative to it; others (a bundled Python) absolute."""
    relative = []
    for name in result.packed:
        path = posix_path(name, windows=windows)
        try:
            relative.append(path.relative_to(root).as_posix())
        except ValueError:
            relative.append(path.as_posix())
    return relative


def not_to_pack(paths: list[str]) -> list[str]:
    """Packed paths that must not be in the setup: the venv, caches, tests, build output, model weights."""
    bad = []
    for path in paths:
        parts = PurePosixPath(path.replace("\\", "/")).parts
        if any(part in NOT_PACKED_DIRS or part.endswith(".egg-info") for part in parts) or any(
            path.endswith(suffix) for suffix in NOT_PACKED_SUFFIXES
        ):
            bad.append(path)
    return bad


def run_iscc(
    iscc: Path,
    wine: str | None,
    *,
    iss: Path = ISS,
    output_dir: Path | None = None,
    defines: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    windows: bool | None = None,
) -> Compile:
    """Run ISCC on the script; its output goes through a file (wineserver outlives wine and holds pipes)."""
    windows = sys.platform == "win32" if windows is None else windows
    env = dict(os.environ if env is None else env)
    command = [str(iscc)] if windows else [wine or "wine", str(iscc)]
    if not windows:
        env = wine_environment(env)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        command.append("/O" + windows_path(output_dir, windows=windows))
    for name, value in (defines or {}).items():
        if value and (Path(value).is_absolute() or Path(value).exists()):
            value = windows_path(Path(value), windows=windows)
        command.append(f"/D{name}={value}" if value else f"/D{name}")
    command.append(windows_path(iss, windows=windows))
    with tempfile.TemporaryFile() as out:
        try:
            completed = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=iss.parent,
                timeout=timeout,
                check=False,
            )
            returncode = completed.returncode
        except subprocess.TimeoutExpired:
            returncode = 124
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace").replace("\r\n", "\n")
    if returncode == 124:
        text += f"\n(compile: stopped after {timeout:.0f} s)"
    return parse_output(text, returncode, windows=windows)


# --- the command -----------------------------------------------------------------------------------------


def export_commit(revision: str, dest: Path, repo: Path = REPO) -> str:
    """`git archive` of one commit unpacked into dest; returns the commit's full hash."""
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True, check=True
    ).stdout
    with tempfile.TemporaryFile() as tar_file:
        tar_file.write(archive)
        tar_file.seek(0)
        with tarfile.open(fileobj=tar_file) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4+
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest)
    return commit


def summary(result: Compile, root: Path = REPO, *, windows: bool | None = None) -> list[str]:
    """Lines for the user: packed files per top-level folder, the setup and its size."""
    packed = packed_relative(result, root, windows=windows)
    folders = Counter(
        f"outside ({Path(path).name})" if Path(path).is_absolute() else path.split("/", 1)[0]
        for path in packed
    )
    lines = [
        f"packed {len(packed)} files: "
        + ", ".join(f"{name} {count}" for name, count in sorted(folders.items()))
    ]
    if result.setup is not None and result.setup.is_file():
        size = result.setup.stat().st_size
        lines.append(f"setup: {result.setup} ({size:,} bytes, {size / 2**20:.1f} MiB)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument(
        "--output", type=Path, help="folder for the setup .exe (default: the script's, dist/)"
    )
    parser.add_argument(
        "--define",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="an ISCC /D define, e.g. PythonInstaller=python-3.12.10-amd64.exe (a path becomes a Windows path)",
    )
    parser.add_argument(
        "--git", metavar="REV", help="compile this commit's files (git archive), not the tree"
    )
    parser.add_argument("--allow-warnings", action="store_true", help="exit 0 even when the compiler warned")
    parser.add_argument("--list", action="store_true", help="print every packed file")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before giving up (default 600)")
    args = parser.parse_args(argv)

    iscc, wine = find_iscc(), find_wine()
    missing = missing_tools(iscc, wine)
    if missing:
        for line in missing:
            log(f"missing {line}")
        return 2
    assert iscc is not None
    log(f"ISCC: {iscc}" + ("" if sys.platform == "win32" else f" under {wine}"))
    defines = dict(item.split("=", 1) if "=" in item else (item, "") for item in args.define)
    with tempfile.TemporaryDirectory(prefix="gossamer-iss-") as scratch:
        root, output = REPO, args.output
        if args.git:
            root = Path(scratch)
            try:
                commit = export_commit(args.git, root)
            except (OSError, subprocess.CalledProcessError) as error:
                reason = (getattr(error, "stderr", "") or str(error)).strip()
                log(f"cannot export {args.git} with git archive: {reason}")
                return 1
            log(f"compiling commit {commit[:12]} (git archive), not the working tree")
            output = output or REPO / "dist"
        iss = root / ISS.relative_to(REPO)
        result = run_iscc(iscc, wine, iss=iss, output_dir=output, defines=defines, timeout=args.timeout)
        return report(result, root, args)


def report(result: Compile, root: Path, args: argparse.Namespace) -> int:
    """Say what the compile did; the exit status for main()."""
    if result.returncode == 124:
        print(result.output.rstrip(), file=sys.stderr)
        log(f"ISCC did not finish in {args.timeout:.0f} s")
        return 1
    if not result.ran:
        print(result.output.rstrip(), file=sys.stderr)
        log(
            WINE32_HINT
            if sys.platform != "win32"
            else f"ISCC did not start (exit status {result.returncode})"
        )
        return 2
    for line in result.warnings + result.errors:
        log(line)
    if not result.ok:
        print(result.output.rstrip(), file=sys.stderr)
        log(f"the compile failed (ISCC exit status {result.returncode})")
        return 1
    if args.list:
        for path in packed_relative(result, root):
            print(f"  {path}")
    for line in summary(result, root):
        log(line)
    bad = not_to_pack(packed_relative(result, root))
    if bad:
        log("packed what the setup must not carry: " + ", ".join(bad))
        return 1
    if result.warnings and not args.allow_warnings:
        log(f"{len(result.warnings)} warning(s): fix them in {ISS.relative_to(REPO)} (or --allow-warnings)")
        return 1
    log("compiled with no warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
