"""Set up Gossamer (a venv with the right torch, then ``pip install -e .``) and launch the app or the tests.

    python3 installer/bootstrap.py run   [options] [-- app arguments]
    python3 installer/bootstrap.py test  [options] [pytest arguments]
    python3 installer/bootstrap.py setup [options]

Runs on the system Python (3.11+, standard library only), on Linux, Windows and macOS. A stamp in the venv
records what was installed; when nothing changed a second run goes straight to the app or the tests.
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # noqa: UP036  (the system Python may be older: say so plainly)
    sys.exit(f"Gossamer needs Python 3.11 or newer; this is {sys.version.split()[0]} ({sys.executable}).")

import argparse
import os
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from installer import gpu, stamp, system_deps, torch_plan  # (after REPO joined sys.path)

WINDOWS = sys.platform.startswith("win")
TORCH_ENV = "GOSSAMER_TORCH"  # the same as --torch
REFERENCE_MODEL = "gpt-oss==0.0.9"


class SetupError(Exception):
    """The set-up cannot go on; the message says what to do."""


def log(message: str) -> None:
    print(f"bootstrap: {message}", flush=True)


def show(command: list[str], env: dict[str, str] | None = None) -> str:
    prefix = "".join(f"{key}={shlex.quote(value)} " for key, value in (env or {}).items())
    return prefix + (subprocess.list2cmdline(command) if WINDOWS else shlex.join(command))


def venv_python(venv: Path, os_name: str | None = None) -> Path:
    windows = os_name == "windows" if os_name else WINDOWS
    return venv / "Scripts" / "python.exe" if windows else venv / "bin" / "python"


# --- arguments -----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 installer/bootstrap.py", allow_abbrev=False, description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = {
        "run": "set up, then start the app (extra arguments go to the app)",
        "test": "set up with the test extra, then run pytest (extra arguments go to pytest)",
        "setup": "set up only (installers call this)",
    }
    for name, help_text in helps.items():
        command = sub.add_parser(name, help=help_text, allow_abbrev=False, description=help_text)
        command.add_argument(
            "--dry-run",
            action="store_true",
            help="print what would be installed and run, and why; change nothing",
        )
        command.add_argument("--force", action="store_true", help="set up again even if the stamp is current")
        command.add_argument(
            "--venv",
            type=lambda text: Path(text).absolute(),
            default=REPO / ".venv",
            help="the venv (default: .venv in the repository)",
        )
        command.add_argument(
            "--torch",
            choices=torch_plan.VARIANTS,
            default=os.environ.get(TORCH_ENV, "auto"),
            help=f"torch build; auto picks by GPU and driver (env {TORCH_ENV})",
        )
        command.add_argument(
            "--nvidia-smi",
            metavar="PATH",
            help=f"the nvidia-smi to ask, 'none' for none (env {gpu.NVIDIA_SMI_ENV})",
        )
        command.add_argument(
            "--nvidia-smi-output",
            metavar="FILE",
            help=f"read a recorded nvidia-smi output instead of running it (env {gpu.NVIDIA_SMI_OUTPUT_ENV})",
        )
        command.add_argument(
            "--platform",
            choices=("linux", "windows", "darwin"),
            help="plan for another OS (with --dry-run only)",
        )
        command.add_argument("--machine", help="plan for another CPU, e.g. aarch64 (with --dry-run only)")
        command.add_argument(
            "--skip-system-deps", action="store_true", help="don't check the Linux libraries Qt needs"
        )
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Our options; for run/test everything else (and all after ``--``) goes on to the app or pytest."""
    head, tail = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = build_parser()
    args, unknown = parser.parse_known_args(head)
    if unknown and args.command == "setup":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if (args.platform or args.machine) and not args.dry_run:
        parser.error("--platform and --machine plan for another machine: use them with --dry-run")
    args.passthrough = unknown + tail
    return args


# --- steps ---------------------------------------------------------------------------------------------


def _run(command: list[str], env_extra: dict[str, str] | None = None, check: bool = True) -> int:
    log("$ " + show(command, env_extra))
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(env_extra or {})}
    code = subprocess.run(command, check=False, env=env).returncode
    if code and check:
        raise SetupError(f"this command failed (exit code {code}): {show(command)}")
    return code


def create_venv(venv: Path) -> None:
    command = [sys.executable, "-m", "venv", *(["--clear"] if venv.exists() else []), str(venv)]
    log("$ " + show(command))
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode == 0:
        return
    output = result.stdout + result.stderr
    if "ensurepip" in output and sys.platform.startswith("linux"):
        package = f"python{sys.version_info[0]}.{sys.version_info[1]}-venv"
        if system_deps.can_install() and system_deps.apt_install([package], log=log):
            _run(command)
            return
        raise SetupError(
            f"Python's venv module is missing its pip; install it with:\n"
            f"    sudo apt-get install {package}\nthen run this again."
        )
    raise SetupError(f"could not create the venv at {venv}:\n{output.strip()}")


def installed_torch(python: Path) -> str | None:
    code = (
        "import importlib.metadata as m\ntry: print(m.version('torch'))\nexcept m.PackageNotFoundError: pass"
    )
    result = subprocess.run([str(python), "-c", code], check=False, capture_output=True, text=True)
    return result.stdout.strip() or None


def install_torch(
    python: Path,
    plan: torch_plan.TorchPlan,
    system: torch_plan.System,
    venv: Path,
    previous_variant: str | None,
) -> None:
    current = installed_torch(python)
    if current and previous_variant not in (None, plan.variant):
        _run([str(python), "-m", "pip", "uninstall", "-y", "torch"])
        current = None
    if torch_plan.installed_matches(plan.variant, current):
        log(f"torch {current} is already installed and serves the {plan.variant} plan")
        return
    if current:  # a torch of another build (a CUDA one when the plan changed): replace it
        _run([str(python), "-m", "pip", "uninstall", "-y", "torch"])
    candidates = torch_plan.sources(plan, system, torch_plan.pip_find_links(venv=venv))
    tried = False
    for source in candidates:
        if source.last_resort and tried:
            break
        if source.probe and not torch_plan.reachable(source.probe):
            timeout = f"{torch_plan.PROBE_TIMEOUT_S:.0f} s"
            log(f"{source.probe} did not answer within {timeout}; skipping {source.note}")
            continue
        log(f"torch from {source.note}")
        if source.last_resort:
            log("warning: " + source.note)
        tried = True
        if _run(pip_torch_command(python, source), _isolation(source), check=False) == 0:
            return
        log("that failed")
    raise SetupError("could not install torch (see pip's messages above)")


def install_triton(
    python: Path, plan: torch_plan.TorchPlan, system: torch_plan.System, dry_run: bool = False
) -> None:
    """Windows with a CUDA torch: triton-windows paired with the torch installed (its GPU kernels). A failure
    is a warning, not an error: the app still runs, on the slower PyTorch path, and says so."""
    if plan.build is None or system.os != "windows":
        return
    if dry_run:
        log(
            "would run (after torch, paired with its version: torch 2.10 and 2.11 take 3.6, 2.9 takes 3.5, "
            "...): " + show([str(python), "-m", "pip", "install", "triton-windows>=X.Y,<X.Y+1"])
        )
        return
    requirement = torch_plan.triton_requirement(plan, system, installed_torch(python))
    if requirement is None:
        return
    log(f"Triton for the GPU kernels: {requirement}")
    if _run([str(python), "-m", "pip", "install", requirement], check=False) != 0:
        log(
            "warning: Triton could not be installed; Gossamer will run on the GPU without its fast kernels "
            "(the status bar says so). Run the set-up again to retry."
        )


def pip_torch_command(python: Path, source: torch_plan.TorchSource) -> list[str]:
    index = ["--index-url", source.index_url] if source.index_url else []
    return [str(python), "-m", "pip", "install", source.requirement, *index]


def _isolation(source: torch_plan.TorchSource) -> dict[str, str]:
    # A blank (not empty) value clears the setting: pip ignores empty variables. Without this a local
    # torch-X+cpu wheel on find-links would outrank an older +cuXXX release from the chosen index.
    return {"PIP_FIND_LINKS": " ", "PIP_EXTRA_INDEX_URL": " "} if source.isolated else {}


def reference_command(python: Path) -> list[str]:
    """OpenAI's reference gpt-oss model, a test oracle for our logits. Its package declares Python 3.12 and
    pulls a server stack (docker, fastapi, ...) that its plain-PyTorch model does not use, so it is
    installed alone; the model itself runs on 3.11 with the torch already here."""
    return [str(python), "-m", "pip", "install", "--no-deps", "--ignore-requires-python", REFERENCE_MODEL]


def project_spec(extras: list[str]) -> str:
    return f"{REPO}[{','.join(extras)}]" if extras else str(REPO)


def report_torch(python: Path) -> str:
    code = (
        "import torch\nif torch.version.cuda is None: print(torch.__version__, '(no CUDA)')\n"
        "elif torch.cuda.is_available(): print(torch.__version__, 'on', torch.cuda.get_device_name(0))\n"
        "else: print(torch.__version__, 'but torch.cuda.is_available() is False: check the driver')"
    )
    result = subprocess.run([str(python), "-c", code], check=False, capture_output=True, text=True)
    return result.stdout.strip() or (
        "torch does not import: " + result.stderr.strip().splitlines()[-1]
        if result.stderr.strip()
        else "torch does not import"
    )


def check_system_libraries(purpose: str, venv: Path | None, dry_run: bool) -> None:
    """Linux: the libraries Qt needs (for tests also desktop-file-validate); install as root, else explain."""
    if not sys.platform.startswith("linux"):
        return
    if venv is None:
        required, optional = system_deps.needed_packages(purpose)
    else:
        site = next(iter(sorted(venv.glob("lib/python*/site-packages"))), None)
        missing = system_deps.ldd_missing(system_deps.pyside_files(site)) if site else []
        required = sorted({system_deps.package_for(name) for name in missing})
        optional = system_deps.missing_tools(system_deps.TEST_TOOLS) if purpose == "test" else []
    packages = required + optional
    if not packages:
        return
    command = system_deps.apt_command(packages)
    if dry_run:
        verb = "would run" if system_deps.can_install() else "would ask you to run"
        log(f"{verb}: {'' if system_deps.can_install() else 'sudo '}{show(command)}")
        return
    if system_deps.can_install():
        if system_deps.apt_install(packages, log=log) or not required:
            return
        raise SetupError("apt-get could not install what Qt needs: " + " ".join(required))
    if required:
        raise SetupError(
            "Qt needs libraries this system lacks; install them, then run this again:\n"
            f"    sudo {show(command)}"
        )
    log(f"optional test tools are missing (their tests will be skipped); to add them: sudo {show(command)}")


def hint_display_libraries(venv: Path) -> None:
    """Linux with X11: name the packages Qt's xcb plugin lacks (libxcb-cursor0, often), before Qt fails."""
    if (
        not sys.platform.startswith("linux")
        or not os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
    ):
        return
    plugins = sorted(venv.glob("lib/python*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so"))
    missing = system_deps.ldd_missing(plugins[:1])
    if missing:
        packages = sorted({system_deps.package_for(name) for name in missing})
        log(
            "Qt's X11 plugin lacks " + ", ".join(missing) + "; if the window does not open, run:\n"
            f"    sudo {show(system_deps.apt_command(packages))}"
        )


# --- the set-up ----------------------------------------------------------------------------------------


def plan_for(args: argparse.Namespace) -> tuple[torch_plan.System, torch_plan.TorchPlan]:
    system = torch_plan.current_system(args.platform, args.machine)
    detection = gpu.detect(args.nvidia_smi, args.nvidia_smi_output)
    try:
        plan = torch_plan.choose(system, detection, args.torch)
    except torch_plan.PlanError as error:
        raise SetupError(str(error)) from error
    log(f"machine: {system.describe()}; GPUs: " + (", ".join(g.describe() for g in detection.gpus) or "none"))
    log(f"torch: {plan.variant}: {plan.reason}")
    for note in plan.notes:
        log(f"note: {note}")
    return system, plan


def setup(args: argparse.Namespace, extras: list[str]) -> None:
    system, plan = plan_for(args)
    venv, python = args.venv, venv_python(args.venv)
    previous = stamp.read(venv) if python.exists() else None
    if previous:  # keep what an earlier set-up installed (`run` after `test` keeps pytest up to date)
        extras = sorted(set(extras) | set(previous.get("extras", [])))
    state = stamp.desired(REPO, extras, plan.variant)
    why = "--force" if args.force else stamp.outdated(previous, state)
    if why is None:
        log(f"set-up is current ({venv}); nothing to install")
        return
    if args.dry_run:
        dry_run(args, system, plan, extras, why)
        return
    log(f"setting up {venv}: {why}")
    if args.command == "test" and not args.skip_system_deps:
        check_system_libraries("test", None, dry_run=False)  # before the long downloads, not after
    if not python.exists():
        create_venv(venv)
    install_torch(python, plan, system, venv, previous.get("torch_variant") if previous else None)
    install_triton(python, plan, system)
    _run([str(python), "-m", "pip", "install", "-e", project_spec(extras)])
    if "test" in extras:
        _run(reference_command(python))
    torch_report = report_torch(python)
    log(f"installed torch: {torch_report}")
    stamp.write(venv, state, torch=torch_report, python=sys.version.split()[0])


def dry_run(
    args: argparse.Namespace,
    system: torch_plan.System,
    plan: torch_plan.TorchPlan,
    extras: list[str],
    why: str,
) -> None:
    venv, python = args.venv, venv_python(args.venv, system.os)
    log(f"dry run: would set up {venv} ({why}); nothing is changed")
    if args.command == "test" and not args.skip_system_deps and system.os == "linux" and not args.platform:
        check_system_libraries("test", None, dry_run=True)
    if not python.exists():
        log("would run: " + show([sys.executable, "-m", "venv", str(venv)]))
    candidates = torch_plan.sources(plan, system, torch_plan.pip_find_links(venv=venv))
    for number, source in enumerate(candidates):
        condition = (
            f" (if {source.probe} answers within {torch_plan.PROBE_TIMEOUT_S:.0f} s)" if source.probe else ""
        )
        verb = "would run" if number == 0 else "else would run"
        log(f"{verb}{condition}: " + show(pip_torch_command(python, source), _isolation(source)))
        log(f"    torch from {source.note}")
    install_triton(python, plan, system, dry_run=True)
    log("would run: " + show([str(python), "-m", "pip", "install", "-e", project_spec(extras)]))
    if "test" in extras:
        log("would run: " + show(reference_command(python)))


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a Windows console in a legacy code page
    args = parse_args(sys.argv[1:] if argv is None else argv)
    extras = ["test"] if args.command == "test" else []
    try:
        setup(args, extras)
    except SetupError as error:
        log(f"error: {error}")
        return 1
    python = venv_python(args.venv)
    if args.command == "setup":
        return 0
    if args.command == "test":
        command = [str(python), "-m", "pytest", *args.passthrough]
        env = {"QT_QPA_PLATFORM": "offscreen"}
        if not args.skip_system_deps and not args.dry_run:
            try:  # every time, not only at set-up: ldd on the installed Qt is quick
                check_system_libraries("test", args.venv, dry_run=False)
            except SetupError as error:
                log(f"error: {error}")
                return 1
        if args.dry_run:
            log("would run: " + show(command, env))
            return 0
        log("$ " + show(command, env))
        return subprocess.run(command, check=False, cwd=REPO, env={**os.environ, **env}).returncode
    command = [str(python), "-m", "app", *args.passthrough]
    if not args.dry_run and not args.skip_system_deps:
        hint_display_libraries(args.venv)
    if args.dry_run:
        log("would run: " + show(command))
        return 0
    log("$ " + show(command))
    if WINDOWS:  # Windows has no exec: the child's exit code becomes ours
        return subprocess.run(command, check=False).returncode
    os.execv(str(python), command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
