"""Find NVIDIA GPUs and their driver with nvidia-smi, or read a recorded nvidia-smi output (tests, support).

Standard library only: this runs on the system Python before the venv exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

QUERY_ARGS = ["--query-gpu=name,driver_version,compute_cap,memory.total", "--format=csv,noheader"]
NVIDIA_SMI_ENV = "GOSSAMER_NVIDIA_SMI"  # path of the nvidia-smi to run ("none": behave as if absent)
NVIDIA_SMI_OUTPUT_ENV = "GOSSAMER_NVIDIA_SMI_OUTPUT"  # file with a recorded nvidia-smi output
TIMEOUT_S = 20  # nvidia-smi can take seconds while the driver wakes a GPU from a deep power state

# Where drivers put nvidia-smi when it is not on PATH: old Windows drivers, WSL.
_EXTRA_LOCATIONS = [
    r"C:\Windows\System32\nvidia-smi.exe",
    r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe",
    "/usr/lib/wsl/lib/nvidia-smi",
]

# Compute capability by product name, for nvidia-smi too old to answer the compute_cap query
# (https://developer.nvidia.com/cuda-gpus). First match wins, so the specific patterns come first.
_CC_BY_NAME: list[tuple[str, tuple[int, int]]] = [
    (r"RTX PRO \d+ Blackwell|RTX 50\d\d", (12, 0)),
    (r"\bGB10\b", (12, 1)),
    (r"\bB[12]00\b|\bGB[23]00\b", (10, 0)),
    (r"\bH[12]00\b|\bGH200\b", (9, 0)),
    (r"RTX 40\d\d|RTX \d000 Ada|\bL4\b|\bL40S?\b", (8, 9)),
    (r"\bA100\b|\bA30\b", (8, 0)),
    (r"RTX 30\d\d|RTX A\d+|\bA10G?\b|\bA40\b|\bA16\b|\bA2\b", (8, 6)),
    (r"RTX 20\d\d|GTX 16\d\d|TITAN RTX|Quadro RTX|\bT4\b|\bT\d00\b", (7, 5)),
    (r"\bV100\b|TITAN V\b", (7, 0)),
    (r"GTX 10\d\d|TITAN Xp|\bP40\b|\bP4\b|Quadro P\d+|MX[12]\d0", (6, 1)),
    (r"\bP100\b", (6, 0)),
    (r"GTX 750|GTX 745|GTX 950M|GTX 960M", (5, 0)),
    (r"GTX 9\d\d|GTX TITAN X|\bM40\b|\bM60\b|Quadro M\d+", (5, 2)),
    (r"GTX 7\d\d|GTX 6\d\d|GTX TITAN|\bK\d+\b", (3, 5)),
]


@dataclass(frozen=True)
class Gpu:
    name: str
    driver: str  # "576.02" (Windows) or "570.133.07" (Linux)
    compute_cap: tuple[int, int] | None  # None: unknown (old nvidia-smi and a name we don't know)
    memory_mib: int | None

    def describe(self) -> str:
        cc = (
            f"compute capability {self.compute_cap[0]}.{self.compute_cap[1]}"
            if self.compute_cap
            else ("compute capability unknown")
        )
        memory = f", {self.memory_mib / 1024:.0f} GiB" if self.memory_mib else ""
        return f"{self.name} ({cc}{memory}, driver {self.driver})"


@dataclass
class Detection:
    """What nvidia-smi said; status: "ok", "absent", "no-devices", "driver-error" or "unreadable"."""

    status: str
    gpus: list[Gpu] = field(default_factory=list)
    message: str = ""
    source: str = ""  # what was read: the command line or the recording's path


def compute_cap_from_name(name: str) -> tuple[int, int] | None:
    for pattern, cc in _CC_BY_NAME:
        if re.search(pattern, name, flags=re.IGNORECASE):
            return cc
    return None


def _parse_cc(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _parse_mib(text: str) -> int | None:
    match = re.search(r"(\d+)\s*MiB", text)
    return int(match.group(1)) if match else None


def parse_query_csv(text: str) -> list[Gpu]:
    """Lines of ``name, driver_version, compute_cap, memory.total`` as the query prints them."""
    gpus = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 4 or not re.fullmatch(r"\d+(\.\d+)+", parts[1]):
            continue
        name, driver, cc_text, memory = parts
        cc = _parse_cc(cc_text) or compute_cap_from_name(name)
        gpus.append(Gpu(name, driver, cc, _parse_mib(memory)))
    return gpus


# "|   0  NVIDIA GeForce RTX 4080        Off |   00000000:01:00.0  On |   N/A |" and the WDDM/TCC form
_TABLE_GPU = re.compile(r"^\|\s+(\d+)\s+(.+?)\s+(On|Off|WDDM|TCC|MCDM)\s+\|")
_TABLE_MEMORY = re.compile(r"(\d+)MiB\s*/\s*(\d+)MiB")


def parse_table(text: str) -> list[Gpu]:
    """The plain ``nvidia-smi`` table: the fallback for drivers whose query lacks ``compute_cap``."""
    driver_match = re.search(r"Driver Version:\s*([\d.]+)", text)
    if not driver_match:
        return []
    driver = driver_match.group(1)
    gpus: list[Gpu] = []
    pending_name: str | None = None
    for line in text.splitlines():
        gpu_match = _TABLE_GPU.match(line)
        if gpu_match:
            pending_name = gpu_match.group(2).strip()
            continue
        memory_match = _TABLE_MEMORY.search(line)
        if pending_name is not None and memory_match:
            # Old tables cut long names ("NVIDIA GeForce ..."): then the compute capability stays unknown.
            name = pending_name.rstrip(". ").strip() if pending_name.endswith("...") else pending_name
            gpus.append(Gpu(name, driver, compute_cap_from_name(name), int(memory_match.group(2))))
            pending_name = None
    return gpus


def classify(text: str, source: str = "") -> Detection:
    """Turn any nvidia-smi output (query CSV, plain table, or an error) into a Detection."""
    if "couldn't communicate with the NVIDIA driver" in text or "NVIDIA-SMI has failed" in text:
        return Detection("driver-error", message=text.strip().splitlines()[0], source=source)
    if "No devices were found" in text:
        return Detection("no-devices", message="nvidia-smi found no NVIDIA GPU", source=source)
    gpus = parse_query_csv(text) or parse_table(text)
    if gpus:
        return Detection("ok", gpus, source=source)
    first_line = text.strip().splitlines()[0] if text.strip() else "(no output)"
    return Detection("unreadable", message=f"could not read nvidia-smi's output: {first_line}", source=source)


def find_nvidia_smi(explicit: str | None = None) -> str | None:
    explicit = explicit or os.environ.get(NVIDIA_SMI_ENV)
    if explicit:
        return None if explicit == "none" or not Path(explicit).exists() else explicit
    found = shutil.which("nvidia-smi")
    if found:
        return found
    return next((path for path in _EXTRA_LOCATIONS if Path(path).is_file()), None)


def _run(command: list[str]) -> tuple[int, str]:
    try:
        result = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=TIMEOUT_S, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return 1, f"NVIDIA-SMI has failed: {error}"
    return result.returncode, (result.stdout or "") + (result.stderr or "")


def detect(nvidia_smi: str | None = None, recorded_output: str | Path | None = None) -> Detection:
    """Ask nvidia-smi (or read a recording). The query first; the plain table when the driver is too old."""
    recorded_output = recorded_output or os.environ.get(NVIDIA_SMI_OUTPUT_ENV)
    if recorded_output:
        path = Path(recorded_output)
        return classify(path.read_text(encoding="utf-8", errors="replace"), source=str(path))
    executable = find_nvidia_smi(nvidia_smi)
    if executable is None:
        return Detection("absent", message="nvidia-smi was not found (no NVIDIA driver installed)")
    command = [executable, *QUERY_ARGS]
    _, output = _run(command)
    detection = classify(output, source=" ".join(command))
    if detection.status in ("ok", "driver-error", "no-devices"):
        return detection
    # Drivers before R510 reject the compute_cap field: fall back to the plain table.
    _, output = _run([executable])
    return classify(output, source=executable)
