"""Which torch build to install for this machine, and from where. Pure decisions, printable reasons.

The CUDA table below is the whole policy; installer/README.md shows it as a table for people.
Standard library only: this runs on the system Python before the venv exists.
"""

from __future__ import annotations

import configparser
import os
import platform
import re
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from installer.gpu import Detection, Gpu

PYTORCH_INDEX = "https://download.pytorch.org/whl"
PROJECT_TORCH_FLOOR = "2.4"  # pyproject.toml: torch>=2.4
PROBE_TIMEOUT_S = 5.0

_MAXWELL_TO_HOPPER = ((5, 0), (6, 0), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0))
_TURING_TO_BLACKWELL = ((7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0))


@dataclass(frozen=True)
class CudaBuild:
    """One PyTorch CUDA index. ``sass``: its wheels' kernels (one for X.y also runs on X.z, z >= y)."""

    tag: str
    cuda: str
    min_driver_linux: str  # CUDA toolkit release notes, table "Toolkit Driver Version", GA release
    min_driver_windows: str
    sass: tuple[tuple[int, int], ...]  # Linux x86_64 and Windows x86_64 wheels
    sass_aarch64: tuple[tuple[int, int], ...]  # Linux aarch64 (sbsa) wheels; () when the index has none
    torch_floor: str  # the first release on this index with these kernels
    newest_torch: str  # the last release published on this index (for messages)
    max_python: tuple[int, int] | None = None  # the newest Python the index has wheels for, when it stopped


# Newest first; the first build that the driver runs, that has kernels for the GPU and wheels for this
# Python wins. Sources: PyTorch's release support matrices (RELEASE.md; RFCs pytorch#157517, #172663,
# #190355): 2.8 removed Maxwell/Pascal from cu128, 2.11 removed Volta; 2.12 stopped publishing cu128.
CUDA_BUILDS: tuple[CudaBuild, ...] = (
    CudaBuild(
        "cu130",
        "13.0",
        "580.65.06",
        "580.88",
        _TURING_TO_BLACKWELL,
        ((8, 0), (9, 0), (10, 0), (11, 0), (12, 0)),
        "2.9",
        "2.14",
    ),
    CudaBuild(
        "cu128",
        "12.8",
        "570.26",
        "570.65",
        _TURING_TO_BLACKWELL,
        ((8, 0), (9, 0), (10, 0), (12, 0)),
        "2.7",
        "2.11",
    ),
    CudaBuild("cu126", "12.6", "560.28.03", "560.76", _MAXWELL_TO_HOPPER, ((8, 0), (9, 0)), "2.6", "2.14"),
    CudaBuild(
        "cu124", "12.4", "550.54.14", "551.61", _MAXWELL_TO_HOPPER, (), PROJECT_TORCH_FLOOR, "2.6.0", (3, 13)
    ),
    CudaBuild(
        "cu118", "11.8", "520.61.05", "520.06", _MAXWELL_TO_HOPPER, (), PROJECT_TORCH_FLOOR, "2.7.1", (3, 13)
    ),
)
BUILDS_BY_TAG = {build.tag: build for build in CUDA_BUILDS}
# CUDA 12.x minor version compatibility: any 12.x runtime on these drivers (Linux, Windows), minus PTX JIT.
MINOR_COMPAT_12X = {"linux": "525.60.13", "windows": "528.33"}
OLDEST_SUPPORTED_CC = (5, 0)  # Maxwell; Kepler's last driver (R470) is older than any build needs anyway
VARIANTS = ("auto", "cpu", *BUILDS_BY_TAG)
_OS_NAMES = {"linux": "Linux", "windows": "Windows", "darwin": "macOS"}


@dataclass(frozen=True)
class System:
    os: str  # "linux" | "windows" | "darwin"
    machine: str  # "x86_64" | "aarch64" (Linux, Windows) | "arm64" (macOS)
    python: tuple[int, int]
    tegra: bool = False  # NVIDIA Jetson: its CUDA stack needs NVIDIA's own torch wheels

    def describe(self) -> str:
        return f"{_OS_NAMES.get(self.os, self.os)} {self.machine}, Python {self.python[0]}.{self.python[1]}"


def normalize_os(name: str) -> str:
    name = name.lower()
    if name.startswith("win"):
        return "windows"
    if name in ("darwin", "macos", "mac"):
        return "darwin"
    return name


def normalize_machine(machine: str, os_name: str) -> str:
    machine = machine.lower()
    if machine in ("amd64", "x64", "x86_64", "x86-64"):
        return "x86_64"
    if machine in ("arm64", "aarch64", "armv8", "arm64e"):
        return "arm64" if os_name == "darwin" else "aarch64"
    return machine


def current_system(os_name: str | None = None, machine: str | None = None) -> System:
    os_name = normalize_os(os_name or sys.platform)
    return System(
        os=os_name,
        machine=normalize_machine(machine or platform.machine(), os_name),
        python=sys.version_info[:2],
        tegra=os_name == "linux" and Path("/etc/nv_tegra_release").exists(),
    )


@dataclass
class TorchPlan:
    """variant: "cpu", "mps" (macOS) or a CUDA tag such as "cu128"."""

    variant: str
    reason: str
    notes: list[str] = field(default_factory=list)
    gpu: Gpu | None = None

    @property
    def build(self) -> CudaBuild | None:
        return BUILDS_BY_TAG.get(self.variant)


class PlanError(Exception):
    """No torch build can be installed on this machine; the message says why."""


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0]))


def driver_ok(build: CudaBuild, driver: str, os_name: str) -> bool:
    minimum = build.min_driver_windows if os_name == "windows" else build.min_driver_linux
    return _version_tuple(driver) >= _version_tuple(minimum)


def min_driver(build: CudaBuild, os_name: str) -> str:
    return build.min_driver_windows if os_name == "windows" else build.min_driver_linux


def has_kernels(build: CudaBuild, cc: tuple[int, int] | None, machine: str) -> bool:
    sass = build.sass_aarch64 if machine == "aarch64" else build.sass
    if cc is None:  # unknown GPU (very old nvidia-smi): only the builds that still cover Maxwell..Hopper
        return (5, 0) in sass
    return any(major == cc[0] and minor <= cc[1] for major, minor in sass)


def primary_gpu(gpus: list[Gpu]) -> Gpu:
    """The GPU to build for: the most memory, then the newest architecture."""
    return max(gpus, key=lambda gpu: (gpu.memory_mib or 0, gpu.compute_cap or (0, 0)))


def _cc_text(cc: tuple[int, int] | None) -> str:
    return f"{cc[0]}.{cc[1]}" if cc else "unknown"


def choose(system: System, detection: Detection, forced: str = "auto") -> TorchPlan:
    """Decide the torch variant. Raises PlanError where no torch build exists for the machine."""
    if system.os == "darwin":
        if system.machine != "arm64":
            raise PlanError(
                "PyTorch publishes no macOS Intel builds after torch 2.2, and Gossamer needs torch "
                f">= {PROJECT_TORCH_FLOOR}: use a Mac with Apple silicon, Linux or Windows."
            )
        return TorchPlan(
            "mps", "macOS on Apple silicon: PyPI's torch, which uses the GPU through Metal (MPS)."
        )
    if forced != "auto":
        if forced not in VARIANTS:
            raise PlanError(f"unknown torch variant {forced!r}: choose one of {', '.join(VARIANTS)}")
        return TorchPlan(forced, f"{forced} build, as asked for with --torch {forced}.")
    if detection.status != "ok":
        reasons = {
            "absent": "No NVIDIA GPU found (no nvidia-smi): CPU build.",
            "no-devices": "nvidia-smi found no NVIDIA GPU: CPU build.",
            "driver-error": (
                f"nvidia-smi could not talk to the NVIDIA driver ({detection.message}): CPU build "
                "for now. Fix the driver (after installing or updating it, reboot; on Linux check "
                "that its kernel module loaded, e.g. with Secure Boot), then run the set-up again "
                "to get a CUDA build."
            ),
            "unreadable": f"{detection.message}: CPU build.",
        }
        return TorchPlan("cpu", reasons[detection.status])
    gpu = primary_gpu(detection.gpus)
    plan = _choose_cuda(system, gpu)
    others = [other for other in detection.gpus if other is not gpu]
    for other in others:
        if plan.build is not None and not has_kernels(plan.build, other.compute_cap, system.machine):
            plan.notes.append(
                f"{other.name} (compute capability {_cc_text(other.compute_cap)}) has no kernels "
                f"in the {plan.variant} build and will not be used."
            )
        elif plan.build is not None:
            plan.notes.append(f"Also found {other.describe()}.")
    return plan


def _choose_cuda(system: System, gpu: Gpu) -> TorchPlan:
    what = gpu.describe()
    if system.tegra:
        return TorchPlan(
            "cpu",
            f"{what} on NVIDIA Jetson: PyTorch's CUDA wheels do not run on Jetson; CPU build. "
            "Install NVIDIA's JetPack torch wheel into the venv to use the GPU.",
            gpu=gpu,
        )
    if system.os == "windows" and system.machine != "x86_64":
        return TorchPlan(
            "cpu", f"{what}: PyTorch has no CUDA builds for Windows on {system.machine}; CPU build.", gpu=gpu
        )
    if gpu.compute_cap is not None and gpu.compute_cap < OLDEST_SUPPORTED_CC:
        return TorchPlan(
            "cpu",
            f"{what}: current PyTorch CUDA builds need compute capability "
            f"{_cc_text(OLDEST_SUPPORTED_CC)} or newer; CPU build.",
            gpu=gpu,
        )
    skipped: list[str] = []
    for build in CUDA_BUILDS:
        if system.machine == "aarch64" and not build.sass_aarch64:
            continue
        if build.max_python and system.python > build.max_python:
            skipped.append(f"{build.tag} has no wheels for Python {system.python[0]}.{system.python[1]}")
            continue
        if not has_kernels(build, gpu.compute_cap, system.machine):
            skipped.append(f"{build.tag} has no kernels for compute capability {_cc_text(gpu.compute_cap)}")
            continue
        if not driver_ok(build, gpu.driver, system.os):
            skipped.append(
                f"{build.tag} (CUDA {build.cuda}) needs driver {min_driver(build, system.os)} or newer"
            )
            continue
        plan = TorchPlan(
            build.tag,
            f"{what}: CUDA {build.cuda} build ({build.tag}), the newest PyTorch CUDA "
            f"build that driver {gpu.driver} runs (it needs {min_driver(build, system.os)}+ on "
            f"{_OS_NAMES.get(system.os, system.os)}) with kernels for this GPU.",
            gpu=gpu,
        )
        if skipped:
            plan.notes.append("Newer builds skipped: " + "; ".join(skipped) + ".")
        if any("needs driver" in text for text in skipped):
            plan.notes.append("Update the NVIDIA driver and run the set-up again for a newer torch.")
        if (
            build.cuda.startswith("11.")
            and _version_tuple(gpu.driver) >= _version_tuple(MINOR_COMPAT_12X.get(system.os, "999"))
            and has_kernels(BUILDS_BY_TAG["cu126"], gpu.compute_cap, system.machine)
        ):
            plan.notes.append(
                "CUDA 12.x builds may also run on this driver through CUDA minor version "
                "compatibility: --torch cu126 to try one."
            )
        return plan
    why = "; ".join(skipped) or f"no CUDA builds for {system.machine}"
    return TorchPlan(
        "cpu",
        f"{what}: no PyTorch CUDA build fits ({why}); CPU build. Update the NVIDIA driver "
        "(570 or newer), then run the set-up again.",
        gpu=gpu,
    )


# --- where the chosen build comes from -----------------------------------------------------------------


@dataclass(frozen=True)
class TorchSource:
    """One way to get the planned build: ``pip install REQUIREMENT [--index-url URL]``."""

    requirement: str
    index_url: str | None = None
    isolated: bool = False  # ignore find-links and extra indexes from pip's config for this install
    note: str = ""
    probe: str | None = None  # install from here only if this URL answers within PROBE_TIMEOUT_S
    # Only when nothing before it was tried: after a real pip failure (say, no network for torch's
    # dependencies) a several-GB download is the wrong answer.
    last_resort: bool = False


def sources(plan: TorchPlan, system: System, find_links: list[str]) -> list[TorchSource]:
    """Where to get the plan's build, best first; the installer uses the first whose probe passes."""
    if plan.build is not None:
        build = plan.build
        return [
            TorchSource(
                f"torch>={build.torch_floor}",
                f"{PYTORCH_INDEX}/{build.tag}",
                isolated=True,
                note=f"PyTorch's {build.tag} index (newest release there: {build.newest_torch})",
            )
        ]
    floor = f"torch>={PROJECT_TORCH_FLOOR}"
    if plan.variant == "mps" or not (system.os == "linux" and system.machine == "x86_64"):
        # PyPI's torch is the CPU build on Windows and Linux aarch64, and the Metal build on macOS.
        return [TorchSource(floor, note="PyPI's default torch, a CPU-only build here")]
    local = local_cpu_wheels(find_links, system)
    found: list[TorchSource] = []
    if local:
        version, path = local[0]
        found.append(
            TorchSource(f"torch=={version}", note=f"the CPU build pip's find-links provide ({path})")
        )
    cpu_index = f"{PYTORCH_INDEX}/cpu"
    found.append(
        TorchSource(
            floor,
            cpu_index,
            isolated=True,
            probe=f"{cpu_index}/torch/",
            note="PyTorch's CPU index (about 200 MB)",
        )
    )
    found.append(
        TorchSource(
            floor,
            note="PyPI's default torch: on Linux x86_64 it bundles CUDA libraries "
            "(several GB) but runs on the CPU too; used only when PyTorch's CPU index can't "
            "be reached and nothing else was tried",
            last_resort=True,
        )
    )
    return found


_WHEEL = re.compile(r"^torch-(?P<version>[^-]+\+cpu)-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def local_cpu_wheels(find_links: list[str], system: System) -> list[tuple[str, Path]]:
    """``torch-X+cpu`` wheels in local find-links folders that fit this Python and machine, newest first."""
    python_tag = f"cp{system.python[0]}{system.python[1]}"
    platform_words = {"linux": "linux", "windows": "win"}.get(system.os, system.os)
    machine = {"x86_64": ("x86_64", "amd64")}.get(system.machine, (system.machine,))
    found = []
    for entry in find_links:
        entry = entry.removeprefix("file://")
        if "://" in entry:
            continue
        path = Path(entry)
        candidates = path.glob("torch-*+cpu-*.whl") if path.is_dir() else [path]
        for wheel in candidates:
            match = _WHEEL.match(wheel.name)
            if not match or python_tag not in match["py"].split("."):
                continue
            plat = match["plat"]
            new_enough = _version_tuple(match["version"]) >= _version_tuple(PROJECT_TORCH_FLOOR)
            if platform_words in plat and plat.endswith(machine) and new_enough:
                found.append((match["version"], wheel))
    return sorted(found, key=lambda item: _version_tuple(item[0]), reverse=True)


def pip_find_links(environ: dict[str, str] | None = None, venv: Path | None = None) -> list[str]:
    """pip's find-links as pip itself would read them (env var, then config files; the last one wins)."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("PIP_FIND_LINKS", "").strip():
        return environ["PIP_FIND_LINKS"].split()
    value: list[str] = []
    for config_file in _pip_config_files(environ, venv):
        parser = configparser.RawConfigParser()
        try:
            parser.read(config_file, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if parser.has_option(section, "find-links"):
                value = parser.get(section, "find-links").split()
    return value


def _pip_config_files(environ: dict[str, str], venv: Path | None) -> list[Path]:
    # pip/_internal/configuration.py: global, then user, then site, then PIP_CONFIG_FILE override each other.
    explicit = environ.get("PIP_CONFIG_FILE")
    if explicit == os.devnull:
        return []
    files: list[Path] = []
    if sys.platform.startswith("win"):
        files.append(Path(environ.get("PROGRAMDATA", r"C:\ProgramData")) / "pip" / "pip.ini")
        appdata = environ.get("APPDATA")
        if appdata:
            files.append(Path(appdata) / "pip" / "pip.ini")
    else:
        xdg_dirs = environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
        files += [Path(folder) / "pip" / "pip.conf" for folder in reversed(xdg_dirs) if folder]
        files.append(Path("/etc/pip.conf"))
        home = Path(environ.get("HOME", "~")).expanduser()
        files.append(home / ".pip" / "pip.conf")
        files.append(Path(environ.get("XDG_CONFIG_HOME", home / ".config")) / "pip" / "pip.conf")
    if venv is not None:
        files.append(venv / ("pip.ini" if sys.platform.startswith("win") else "pip.conf"))
    if explicit:
        files.append(Path(explicit))
    return [path for path in files if path.is_file()]


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether ``url`` answers within ``timeout`` s; a thread also bounds DNS look-ups (no timeout there)."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as reply:
                answer.append(reply.status < 400)
        except Exception:  # noqa: BLE001  (any failure means "not reachable": the caller tries the next source)
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def installed_matches(variant: str, installed_version: str | None) -> bool:
    """Whether an installed torch (``2.13.0+cpu``) serves the plan: CUDA plans need their own build."""
    if installed_version is None:
        return False
    if _version_tuple(installed_version) < _version_tuple(PROJECT_TORCH_FLOOR):
        return False
    if variant in BUILDS_BY_TAG:
        return installed_version.endswith("+" + variant)
    return True  # every torch build runs on the CPU


# --- Triton on Windows -------------------------------------------------------------------------------------
# The engine's GPU kernels are Triton (engine/kernels); without it every step runs the slower PyTorch path.
# torch's CUDA wheels bring Triton along on Linux x86_64; on Windows the community build `triton-windows`
# (PyPI, same `triton` import name) must be installed beside them, and its minor version must be the one
# torch was built against (triton-windows's README: "Triton 3.6 only works with PyTorch >= 2.10", and so on
# down; pin below the next minor so a new Triton cannot break an installed torch).
# The oldest torch of each pairing, newest first.
TRITON_FOR_TORCH: tuple[tuple[tuple[int, int], str], ...] = (
    ((2, 14), "3.8"),
    ((2, 12), "3.7"),
    ((2, 10), "3.6"),
    ((2, 9), "3.5"),
    ((2, 8), "3.4"),
    ((2, 7), "3.3"),
    ((2, 6), "3.2"),
    ((2, 5), "3.1"),
    ((2, 4), "3.0"),
)


def triton_requirement(plan: TorchPlan, system: System, torch_version: str | None) -> str | None:
    """The pip requirement for Triton beside this torch, or None where none is needed or possible: on Windows
    x86_64 with a CUDA build, ``triton-windows`` of the minor version paired with ``torch_version``
    (``2.11.0+cu128`` -> ``triton-windows>=3.6,<3.7``); a torch newer than the table takes the newest
    pairing."""
    if plan.build is None or system.os != "windows" or system.machine != "x86_64" or not torch_version:
        return None
    torch_minor = _version_tuple(torch_version.split("+")[0])[:2]
    for oldest_torch, triton in TRITON_FOR_TORCH:
        if torch_minor >= oldest_torch:
            major, minor = (int(part) for part in triton.split("."))
            return f"triton-windows>={major}.{minor},<{major}.{minor + 1}"
    return None  # older than the project's torch floor: never installed
