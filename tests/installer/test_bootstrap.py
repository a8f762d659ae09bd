"""The bootstrap's command line, its stamp, its dry run, and its fast path into the app or pytest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from installer import bootstrap, stamp
from tests.installer.conftest import DATA, REPO, run_script

posix_only = pytest.mark.skipif(os.name != "posix", reason="the fake venv python is a shell script")


def test_test_passes_unknown_options_and_everything_after_the_separator_to_pytest():
    """Our own options are ours; pytest's, positionals, and all after "--" go through in order."""
    args = bootstrap.parse_args(["test", "-k", "plan", "--dry-run", "tests/installer", "--", "--force", "-x"])
    assert args.command == "test" and args.dry_run and not args.force
    assert args.passthrough == ["-k", "plan", "tests/installer", "--force", "-x"]


def test_run_passes_app_arguments():
    """Arguments after "--" reach the app untouched."""
    args = bootstrap.parse_args(["run", "--torch", "cpu", "--", "--model", "/models/gpt-oss-20b"])
    assert (args.torch, args.passthrough) == ("cpu", ["--model", "/models/gpt-oss-20b"])


def test_no_abbreviations_so_pytest_options_are_not_swallowed():
    """ "--fo" is not taken for "--force" (pytest options must pass through whole)."""
    assert bootstrap.parse_args(["test", "--fo"]).passthrough == ["--fo"]


@pytest.mark.parametrize(
    "argv",
    [["setup", "-k", "x"], ["bogus"], [], ["run", "--platform", "windows"], ["test", "--torch", "cu999"]],
)
def test_bad_arguments_exit_with_usage(argv: list[str]):
    """setup takes no extra arguments, commands are checked, and --platform needs --dry-run."""
    with pytest.raises(SystemExit) as raised:
        bootstrap.parse_args(argv)
    assert raised.value.code == 2


def test_default_venv_is_the_repositorys():
    """The README's commands set up ./.venv in the repository; a relative --venv is made absolute."""
    assert bootstrap.parse_args(["run"]).venv == REPO / ".venv"
    assert bootstrap.parse_args(["run", "--venv", "v2"]).venv == Path.cwd() / "v2"


def test_venv_python_per_os(tmp_path: Path):
    """Windows venvs keep python.exe in Scripts, the others in bin."""
    assert bootstrap.venv_python(tmp_path, "windows") == tmp_path / "Scripts" / "python.exe"
    assert bootstrap.venv_python(tmp_path, "linux") == tmp_path / "bin" / "python"


# --- the stamp ------------------------------------------------------------------------------------------


def _repo(tmp_path: Path, text: str = "[project]\nname = 'x'\n") -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def test_stamp_round_trip_is_current(tmp_path: Path):
    """What was written is current for the same project, extras and torch build."""
    repo = _repo(tmp_path)
    state = stamp.desired(repo, ["test"], "cpu")
    stamp.write(tmp_path, state, torch="2.13.0+cpu")
    assert stamp.outdated(stamp.read(tmp_path), state) is None


def test_stamp_run_is_covered_by_a_test_setup(tmp_path: Path):
    """A venv set up for the tests (with the test extra) also serves `run`, but not the other way round."""
    repo = _repo(tmp_path)
    with_test = stamp.desired(repo, ["test"], "cpu")
    without = stamp.desired(repo, [], "cpu")
    assert stamp.outdated(with_test, without) is None
    assert "test" in stamp.outdated(without, with_test)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("pyproject", "pyproject.toml changed"),
        ("torch", "the torch build changes from cpu to cu128"),
        ("rules", "install steps changed"),
    ],
)
def test_stamp_notices_changes(tmp_path: Path, change: str, expected: str):
    """A changed pyproject.toml, torch plan or bootstrap version means setting up again."""
    repo = _repo(tmp_path)
    old = stamp.desired(repo, [], "cpu")
    if change == "pyproject":
        _repo(tmp_path, "[project]\nname = 'x'\ndependencies = ['numpy']\n")
    new = stamp.desired(repo, [], "cu128" if change == "torch" else "cpu")
    if change == "rules":
        old["rules"] = stamp.RULES_VERSION - 1
    assert expected in stamp.outdated(old, new)


def test_missing_or_corrupt_stamp_means_not_set_up(tmp_path: Path):
    """No stamp, or one that isn't JSON, is treated as a fresh venv."""
    assert stamp.read(tmp_path) is None
    (tmp_path / stamp.STAMP_NAME).write_text("{not json")
    assert stamp.read(tmp_path) is None
    assert stamp.outdated(None, stamp.desired(_repo(tmp_path), [], "cpu")) == "not set up yet"


# --- dry runs (the real script, as a user runs it) ------------------------------------------------------


def test_dry_run_for_an_rtx_5090_on_windows_prints_the_cu128_plan(tmp_path: Path):
    """The plan, its reason and the exact pip commands are printed, and nothing is created."""
    venv = tmp_path / "venv"
    result = run_script(
        "installer/bootstrap.py",
        "test",
        "--dry-run",
        "--platform",
        "windows",
        "--nvidia-smi-output",
        str(DATA / "rtx5090-windows-576.csv"),
        "--venv",
        str(venv),
        "-k",
        "plan",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "torch: cu128: NVIDIA GeForce RTX 5090" in out
    assert "pip install 'torch>=2.7' --index-url https://download.pytorch.org/whl/cu128" in out
    assert "PIP_FIND_LINKS=' '" in out  # the local +cpu wheel must not win over the CUDA index
    assert str(venv / "Scripts" / "python.exe") in out
    assert "-m pytest -k plan" in out and "QT_QPA_PLATFORM=offscreen" in out
    assert "pip install 'triton-windows>=X.Y,<X.Y+1'" in out  # paired with the torch pip picks
    assert not venv.exists()


def test_dry_run_on_this_cpu_machine_never_plans_pypis_cuda_torch_first(tmp_path: Path):
    """Without a GPU the first choice is a +cpu build (a local wheel or PyTorch's CPU index)."""
    result = run_script(
        "installer/bootstrap.py", "run", "--dry-run", "--nvidia-smi", "none", "--venv", str(tmp_path / "venv")
    )
    assert result.returncode == 0, result.stderr
    first = next(line for line in result.stdout.splitlines() if "pip install" in line and "torch" in line)
    assert "+cpu" in first or "whl/cpu" in first
    assert "No NVIDIA GPU found" in result.stdout


def test_dry_run_for_a_failing_driver_explains_the_cpu_choice(tmp_path: Path):
    """The driver error is reported with what to do, and the CPU build is planned."""
    result = run_script(
        "installer/bootstrap.py",
        "setup",
        "--dry-run",
        "--venv",
        str(tmp_path / "v"),
        env={"GOSSAMER_NVIDIA_SMI_OUTPUT": str(DATA / "driver-failed-linux.txt")},
    )
    assert result.returncode == 0
    assert "torch: cpu: nvidia-smi could not talk to the NVIDIA driver" in result.stdout


def test_intel_mac_is_an_error_not_a_traceback(tmp_path: Path):
    """No torch for the machine: one clear line and exit code 1."""
    result = run_script(
        "installer/bootstrap.py",
        "setup",
        "--dry-run",
        "--platform",
        "darwin",
        "--machine",
        "x86_64",
        "--venv",
        str(tmp_path / "v"),
    )
    assert result.returncode == 1 and "error: PyTorch publishes no macOS Intel builds" in result.stdout
    assert "Traceback" not in result.stderr


# --- the fast path: a current stamp goes straight to the app or pytest -----------------------------------


def _current_venv(python: Path, extras: list[str]) -> Path:
    venv = python.parent.parent
    stamp.write(venv, stamp.desired(REPO, extras, "cpu"), torch="2.13.0+cpu")
    return venv


@posix_only
def test_test_with_a_current_stamp_runs_pytest_offscreen_with_the_arguments(fake_python: Path):
    """No pip, no venv creation: pytest runs at once, offscreen, and its exit code comes back."""
    venv = _current_venv(fake_python, ["test"])
    result = run_script(
        "installer/bootstrap.py",
        "test",
        "--venv",
        str(venv),
        "--torch",
        "cpu",
        "-x",
        "--",
        "-k",
        "stamp and not slow",
    )
    assert result.returncode == 7, result.stdout + result.stderr  # the fake python's exit code
    assert "set-up is current" in result.stdout and "pip install" not in result.stdout
    called = (fake_python.parent.parent.parent / "called.txt").read_text().splitlines()
    assert called == ["-m", "pytest", "-x", "-k", "stamp and not slow", "QT_QPA_PLATFORM=offscreen"]


@posix_only
def test_run_with_a_current_stamp_starts_the_app(fake_python: Path):
    """`run` execs `python -m app` with the app's arguments."""
    venv = _current_venv(fake_python, [])
    result = run_script(
        "installer/bootstrap.py", "run", "--venv", str(venv), "--torch", "cpu", "--", "--model", "/m"
    )
    assert result.returncode == 7
    called = (fake_python.parent.parent.parent / "called.txt").read_text().splitlines()
    assert called[:4] == ["-m", "app", "--model", "/m"]


@posix_only
def test_a_stamp_without_the_test_extra_is_not_enough_for_test(fake_python: Path):
    """`test` after only `run` was set up installs the extra: the dry run says why."""
    venv = _current_venv(fake_python, [])
    result = run_script("installer/bootstrap.py", "test", "--dry-run", "--venv", str(venv), "--torch", "cpu")
    assert "the extra test is not installed yet" in result.stdout
    assert "pip install -e" in result.stdout and "[test]" in result.stdout


@posix_only
def test_a_changed_torch_plan_sets_up_again(fake_python: Path):
    """A stamp for the CPU build does not serve a cu126 plan."""
    venv = _current_venv(fake_python, ["test"])
    result = run_script(
        "installer/bootstrap.py", "test", "--dry-run", "--venv", str(venv), "--torch", "cu126"
    )
    assert "the torch build changes from cpu to cu126" in result.stdout
    assert "--index-url https://download.pytorch.org/whl/cu126" in result.stdout


# --- the Linux libraries Qt needs ----------------------------------------------------------------------


@pytest.fixture
def missing_egl(monkeypatch: pytest.MonkeyPatch):
    """Pretend libEGL is missing and desktop-file-validate too, on Linux."""
    monkeypatch.setattr(bootstrap.sys, "platform", "linux")
    monkeypatch.setattr(
        bootstrap.system_deps, "needed_packages", lambda purpose: (["libegl1"], ["desktop-file-utils"])
    )


def test_not_root_prints_the_exact_apt_command_and_stops(missing_egl, monkeypatch: pytest.MonkeyPatch):
    """Without root (or apt-get) the set-up stops before any download, with the line to run."""
    monkeypatch.setattr(bootstrap.system_deps, "can_install", lambda: False)
    with pytest.raises(bootstrap.SetupError) as raised:
        bootstrap.check_system_libraries("test", None, dry_run=False)
    assert "sudo apt-get install -y -q --no-install-recommends libegl1 desktop-file-utils" in str(
        raised.value
    )


def test_root_installs_the_missing_packages(missing_egl, monkeypatch: pytest.MonkeyPatch):
    """As root with apt-get, the missing packages are installed in one go."""
    installed: list[list[str]] = []
    monkeypatch.setattr(bootstrap.system_deps, "can_install", lambda: True)
    monkeypatch.setattr(
        bootstrap.system_deps, "apt_install", lambda packages, log=print: installed.append(packages) or True
    )
    bootstrap.check_system_libraries("test", None, dry_run=False)
    assert installed == [["libegl1", "desktop-file-utils"]]


def test_only_optional_tools_missing_is_a_note_not_a_stop(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """desktop-file-utils alone missing, without root: the tests still run (that one skips)."""
    monkeypatch.setattr(bootstrap.sys, "platform", "linux")
    monkeypatch.setattr(
        bootstrap.system_deps, "needed_packages", lambda purpose: ([], ["desktop-file-utils"])
    )
    monkeypatch.setattr(bootstrap.system_deps, "can_install", lambda: False)
    bootstrap.check_system_libraries("test", None, dry_run=False)
    assert "desktop-file-utils" in capsys.readouterr().out


def test_installed_qt_is_checked_with_ldd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """After the set-up, ldd's missing sonames in the venv's PySide6 map to packages to install."""
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    plugin = site / "PySide6" / "Qt" / "plugins" / "platforms" / "libqoffscreen.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"")
    monkeypatch.setattr(bootstrap.sys, "platform", "linux")
    monkeypatch.setattr(
        bootstrap.system_deps, "ldd_missing", lambda files: ["libxkbcommon.so.0"] if plugin in files else []
    )
    monkeypatch.setattr(bootstrap.system_deps, "missing_tools", lambda tools: [])
    monkeypatch.setattr(bootstrap.system_deps, "can_install", lambda: False)
    with pytest.raises(bootstrap.SetupError, match="libxkbcommon0"):
        bootstrap.check_system_libraries("test", tmp_path, dry_run=False)


def test_run_names_missing_x11_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """On X11, `run` says which packages Qt's xcb plugin lacks (it does not stop: Wayland may still work)."""
    plugin = tmp_path / "lib/python3.11/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"")
    monkeypatch.setattr(bootstrap.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(bootstrap.system_deps, "ldd_missing", lambda files: ["libxcb-cursor.so.0"])
    bootstrap.hint_display_libraries(tmp_path)
    assert "sudo apt-get install -y -q --no-install-recommends libxcb-cursor0" in capsys.readouterr().out


@posix_only
def test_run_after_test_keeps_the_test_extra(fake_python: Path):
    """Setting up for `run` in a venv set up for `test` installs (and stamps) the test extra too."""
    venv = _current_venv(fake_python, ["test"])
    (venv / stamp.STAMP_NAME).write_text((venv / stamp.STAMP_NAME).read_text().replace('"cpu"', '"cu126"'))
    result = run_script("installer/bootstrap.py", "run", "--dry-run", "--venv", str(venv), "--torch", "cpu")
    assert "the torch build changes from cu126 to cpu" in result.stdout
    assert "[test]" in result.stdout


def test_a_failed_local_wheel_never_falls_through_to_pypis_cuda_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The local +cpu install failing (no network for its dependencies, say) is an error, not a 3 GB download."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    system = bootstrap.torch_plan.System("linux", "x86_64", (3, 11))
    plan = bootstrap.torch_plan.TorchPlan("cpu", "test")
    ran: list[list[str]] = []
    monkeypatch.setattr(bootstrap, "installed_torch", lambda python: None)
    monkeypatch.setattr(bootstrap.torch_plan, "pip_find_links", lambda venv=None: [str(wheels)])
    monkeypatch.setattr(bootstrap.torch_plan, "reachable", lambda url, timeout=5.0: False)
    monkeypatch.setattr(bootstrap, "_run", lambda command, env=None, check=True: ran.append(command) or 1)
    with pytest.raises(bootstrap.SetupError):
        bootstrap.install_torch(tmp_path / "python", plan, system, tmp_path, None)
    assert [command[-1] for command in ran] == ["torch==2.13.0+cpu"]


def test_pypi_torch_is_the_last_resort_when_nothing_else_could_be_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """No local wheel and PyTorch's CPU index unreachable: PyPI's torch is installed, with a warning."""
    system = bootstrap.torch_plan.System("linux", "x86_64", (3, 11))
    plan = bootstrap.torch_plan.TorchPlan("cpu", "test")
    ran: list[list[str]] = []
    monkeypatch.setattr(bootstrap, "installed_torch", lambda python: None)
    monkeypatch.setattr(bootstrap.torch_plan, "pip_find_links", lambda venv=None: [])
    monkeypatch.setattr(bootstrap.torch_plan, "reachable", lambda url, timeout=5.0: False)
    monkeypatch.setattr(bootstrap, "_run", lambda command, env=None, check=True: ran.append(command) or 0)
    bootstrap.install_torch(tmp_path / "python", plan, system, tmp_path, None)
    assert [command[-1] for command in ran] == ["torch>=2.4"]


@pytest.mark.parametrize("pip_exit", [0, 1])
def test_windows_cuda_installs_triton_windows_paired_with_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, pip_exit: int
):
    """After a CUDA torch on Windows, triton-windows of the paired version is installed; pip failing is a
    warning (the app runs on the PyTorch path and says so), never a failed set-up."""
    system = bootstrap.torch_plan.System("windows", "x86_64", (3, 12))
    ran: list[list[str]] = []
    monkeypatch.setattr(bootstrap, "installed_torch", lambda python: "2.11.0+cu128")
    monkeypatch.setattr(
        bootstrap, "_run", lambda command, env=None, check=True: ran.append(command) or pip_exit
    )
    bootstrap.install_triton(tmp_path / "python", bootstrap.torch_plan.TorchPlan("cu128", "test"), system)
    assert ran == [[str(tmp_path / "python"), "-m", "pip", "install", "triton-windows>=3.6,<3.7"]]
    assert ("warning: Triton could not be installed" in capsys.readouterr().out) == bool(pip_exit)
    ran.clear()
    bootstrap.install_triton(tmp_path / "python", bootstrap.torch_plan.TorchPlan("cpu", "test"), system)
    assert ran == []
