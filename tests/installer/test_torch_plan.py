"""Which torch build each recorded machine gets, and where the installer takes it from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from installer import gpu, torch_plan
from installer.torch_plan import System
from tests.installer.conftest import DATA, REPO

LINUX = System("linux", "x86_64", (3, 11))
WINDOWS = System("windows", "x86_64", (3, 11))


def plan_for(recording: str, system: System) -> torch_plan.TorchPlan:
    return torch_plan.choose(system, gpu.classify((DATA / recording).read_text()))


@pytest.mark.parametrize(
    ("recording", "system", "variant"),
    [
        # RTX 50 (Blackwell, sm_120) needs CUDA 12.8+: cu128 on 570-579 drivers, cu130 from 580.
        ("rtx5090-windows-576.csv", WINDOWS, "cu128"),
        ("rtx5090-windows-576-table.txt", WINDOWS, "cu128"),
        ("rtx5090-linux-575.csv", LINUX, "cu128"),
        ("rtx5080-windows-572.csv", WINDOWS, "cu128"),
        ("rtx5080-linux-570.csv", LINUX, "cu128"),
        ("rtx5070ti-windows-581.csv", WINDOWS, "cu130"),
        ("rtx5070ti-linux-570.csv", LINUX, "cu128"),
        ("rtx5060ti-windows-576.csv", WINDOWS, "cu128"),
        ("rtx5060ti-linux-580.csv", LINUX, "cu130"),
        # Older drivers get the newest build they run.
        ("rtx4080-linux-535.csv", LINUX, "cu118"),
        ("rtx4080-linux-535-table.txt", LINUX, "cu118"),
        ("rtx4080-windows-537.csv", WINDOWS, "cu118"),
        ("laptop-rtx4070-windows-566.csv", WINDOWS, "cu126"),
        # Pascal left cu128/cu130: cu126 is its newest build.
        ("gtx1080-windows-581.csv", WINDOWS, "cu126"),
        ("gtx1080-linux-550.csv", LINUX, "cu124"),
        ("gtx1080-linux-470-table.txt", LINUX, "cpu"),
        ("two-gpus-linux-575.csv", LINUX, "cu128"),
        # Recorded on a real H100 machine whose own torch is 2.11.0+cu130 and sees compute capability (9, 0).
        ("h100-linux-580-real.csv", LINUX, "cu130"),
        ("h100-linux-580-real-table.txt", LINUX, "cu130"),
        ("no-gpu-linux.txt", LINUX, "cpu"),
        ("driver-failed-linux.txt", LINUX, "cpu"),
    ],
)
def test_recorded_machines_get_the_right_build(recording: str, system: System, variant: str):
    """Each recorded nvidia-smi output, on its OS, picks the build in the README's table."""
    plan = plan_for(recording, system)
    assert plan.variant == variant, plan.reason
    assert plan.reason.isascii() and all(note.isascii() for note in plan.notes)


def test_the_same_driver_number_means_different_things_on_windows_and_linux():
    """Minimums differ per OS: 570.50 runs CUDA 12.8 on Linux (570.26+), not on Windows (570.65+)."""
    card = gpu.Detection("ok", [gpu.Gpu("NVIDIA GeForce RTX 5090", "570.50", (12, 0), 32607)])
    assert torch_plan.choose(LINUX, card).variant == "cu128"
    assert torch_plan.choose(WINDOWS, card).variant == "cpu"


def test_blackwell_with_a_pre_570_driver_gets_cpu_and_is_told_to_update():
    """sm_120 has kernels only in cu128+, which need 570+: an older driver means CPU and a clear message."""
    card = gpu.Detection("ok", [gpu.Gpu("NVIDIA GeForce RTX 5090", "566.36", (12, 0), 32607)])
    plan = torch_plan.choose(WINDOWS, card)
    assert plan.variant == "cpu"
    assert (
        "Update the NVIDIA driver" in plan.reason and "cu128 (CUDA 12.8) needs driver 570.65" in plan.reason
    )


def test_the_reason_names_the_gpu_driver_and_build():
    """The plan says what it chose and why, in words a user can act on."""
    plan = plan_for("rtx5090-windows-576.csv", WINDOWS)
    assert "RTX 5090" in plan.reason and "576.02" in plan.reason and "CUDA 12.8" in plan.reason
    assert any("cu130" in note and "580.88" in note for note in plan.notes)


def test_the_second_gpu_without_kernels_is_named():
    """With a 5090 and a 1080 Ti, the cu128 build serves the 5090 and the note says the 1080 Ti sits idle."""
    plan = plan_for("two-gpus-linux-575.csv", LINUX)
    assert plan.gpu is not None and plan.gpu.name.endswith("RTX 5090")
    assert any("1080 Ti" in note and "will not be used" in note for note in plan.notes)


def test_driver_failure_says_how_to_recover():
    """nvidia-smi failing means CPU now, with the fix and a re-run suggested."""
    plan = plan_for("driver-failed-linux.txt", LINUX)
    assert plan.variant == "cpu" and "driver" in plan.reason and "run the set-up again" in plan.reason


def test_kepler_is_too_old():
    """Compute capability below 5.0 gets the CPU build with the reason."""
    card = gpu.Detection("ok", [gpu.Gpu("Tesla K80", "470.256.02", (3, 7), 11441)])
    plan = torch_plan.choose(LINUX, card)
    assert plan.variant == "cpu" and "5.0 or newer" in plan.reason


def test_python_314_skips_indexes_without_its_wheels():
    """cu118's last torch has no Python 3.14 wheels: a 535 driver on 3.14 then leaves only the CPU build."""
    plan = plan_for("rtx4080-linux-535.csv", System("linux", "x86_64", (3, 14)))
    assert plan.variant == "cpu" and "no wheels for Python 3.14" in plan.reason


def test_linux_aarch64_with_a_gh200_uses_the_sbsa_wheels():
    """Linux aarch64 has CUDA wheels from cu126 on; a GH200 (9.0) with a 570 driver gets cu128."""
    assert plan_for("gh200-linux-aarch64-570.csv", System("linux", "aarch64", (3, 11))).variant == "cu128"


def test_linux_aarch64_without_gpu_gets_pypi_cpu_torch():
    """PyPI's aarch64 torch is the CPU build: no special index."""
    system = System("linux", "aarch64", (3, 11))
    plan = torch_plan.choose(system, gpu.Detection("absent"))
    [source] = torch_plan.sources(plan, system, [])
    assert (plan.variant, source.index_url, source.requirement) == ("cpu", None, "torch>=2.4")


def test_jetson_is_sent_to_nvidia_wheels():
    """Jetson's CUDA stack needs NVIDIA's own torch: CPU build from here, with the hint."""
    system = System("linux", "aarch64", (3, 11), tegra=True)
    card = gpu.Detection("ok", [gpu.Gpu("Orin (nvgpu)", "540.4.0", (8, 7), None)])
    plan = torch_plan.choose(system, card)
    assert plan.variant == "cpu" and "JetPack" in plan.reason


def test_macos_apple_silicon_uses_pypi_and_intel_is_refused():
    """macOS arm64 takes PyPI's torch (MPS); Intel Macs have no torch >= 2.4 at all."""
    plan = torch_plan.choose(System("darwin", "arm64", (3, 12)), gpu.Detection("absent"))
    assert plan.variant == "mps"
    with pytest.raises(torch_plan.PlanError, match="Intel"):
        torch_plan.choose(System("darwin", "x86_64", (3, 12)), gpu.Detection("absent"))


def test_windows_on_arm_gets_cpu():
    """No CUDA builds exist for Windows on Arm."""
    card = gpu.Detection("ok", [gpu.Gpu("NVIDIA GeForce RTX 5090", "581.57", (12, 0), 32607)])
    assert torch_plan.choose(System("windows", "aarch64", (3, 12)), card).variant == "cpu"


def test_forced_variant_wins_and_unknown_is_refused():
    """--torch overrides the detection; a variant we don't know is an error."""
    assert torch_plan.choose(LINUX, gpu.Detection("absent"), "cu126").variant == "cu126"
    with pytest.raises(torch_plan.PlanError):
        torch_plan.choose(LINUX, gpu.Detection("absent"), "cu999")


def test_cuda_source_uses_the_pytorch_index_and_ignores_local_wheels():
    """A CUDA plan installs from its own index with find-links cleared (a local +cpu wheel would win)."""
    plan = plan_for("rtx5090-linux-575.csv", LINUX)
    [source] = torch_plan.sources(plan, LINUX, ["/opt/wheels"])
    assert source.index_url == "https://download.pytorch.org/whl/cu128"
    assert source.requirement == "torch>=2.7" and source.isolated


def _wheel_dir(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_cpu_on_linux_prefers_a_local_cpu_wheel(tmp_path: Path):
    """With a +cpu wheel on find-links it is pinned exactly, so pip can't take PyPI's CUDA build instead."""
    folder = _wheel_dir(
        tmp_path,
        "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torch-2.12.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torch-2.14.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl",
        "torch-2.14.0+cpu-cp311-cp311-manylinux_2_28_aarch64.whl",
    )
    plan = torch_plan.choose(LINUX, gpu.Detection("absent"))
    sources = torch_plan.sources(plan, LINUX, [f"file://{folder}"])
    assert sources[0].requirement == "torch==2.13.0+cpu" and sources[0].index_url is None
    assert sources[1].index_url == "https://download.pytorch.org/whl/cpu" and sources[1].probe
    assert sources[2].index_url is None and "several GB" in sources[2].note


def test_cpu_on_linux_without_local_wheel_tries_the_cpu_index_first(tmp_path: Path):
    """No local wheel: PyTorch's CPU index (probed), then PyPI as the last resort."""
    plan = torch_plan.choose(LINUX, gpu.Detection("absent"))
    sources = torch_plan.sources(plan, LINUX, [str(tmp_path), "https://example.invalid/wheels"])
    assert [source.index_url for source in sources] == ["https://download.pytorch.org/whl/cpu", None]


def test_cpu_on_windows_is_plain_pypi():
    """PyPI's Windows torch is the CPU build already."""
    plan = torch_plan.choose(WINDOWS, gpu.Detection("absent"))
    assert [(s.requirement, s.index_url) for s in torch_plan.sources(plan, WINDOWS, [])] == [
        ("torch>=2.4", None)
    ]


def test_pip_find_links_follows_pips_precedence(tmp_path: Path):
    """The environment beats config files; PIP_CONFIG_FILE beats /etc/pip.conf; [install] beats [global]."""
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nfind-links = /from/global\n[install]\nfind-links = /from/install /also\n")
    env = {"PIP_CONFIG_FILE": str(config), "HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    assert torch_plan.pip_find_links(env) == ["/from/install", "/also"]
    assert torch_plan.pip_find_links({**env, "PIP_FIND_LINKS": "/env/a /env/b"}) == ["/env/a", "/env/b"]


def test_unreachable_probe_is_false_quickly():
    """An address that can't answer is reported unreachable within the timeout, without raising."""
    assert torch_plan.reachable("http://127.0.0.1:9/torch/", timeout=2.0) is False


@pytest.mark.parametrize(
    ("variant", "installed", "ok"),
    [
        ("cpu", "2.13.0+cpu", True),
        ("cpu", "2.9.1", True),
        ("cpu", None, False),
        ("cpu", "2.3.1", False),
        ("cu128", "2.11.0+cu128", True),
        ("cu128", "2.13.0+cpu", False),
        ("cu130", "2.11.0+cu128", False),
    ],
)
def test_installed_torch_is_kept_only_when_it_serves_the_plan(variant: str, installed: str | None, ok: bool):
    """Any torch runs on the CPU; a CUDA plan needs exactly its build."""
    assert torch_plan.installed_matches(variant, installed) is ok


def test_an_old_build_mentions_minor_version_compatibility():
    """A 535 driver gets cu118 by the table, and the hint that a CUDA 12.x build may run too."""
    plan = plan_for("rtx4080-linux-535.csv", LINUX)
    assert any("--torch cu126" in note for note in plan.notes)


def test_the_readme_table_is_the_code_table():
    """installer/README.md's table shows exactly CUDA_BUILDS' tags and driver minimums, in order."""
    readme = (REPO / "installer" / "README.md").read_text()
    rows = [line.split("|")[1:4] for line in readme.splitlines() if re.match(r"\| cu\d+ \|", line)]
    expected = [
        [build.tag, build.min_driver_linux, build.min_driver_windows] for build in torch_plan.CUDA_BUILDS
    ]
    assert [[cell.strip() for cell in row] for row in rows] == expected


@pytest.mark.parametrize(
    ("torch_version", "requirement"),
    [
        ("2.11.0+cu128", "triton-windows>=3.6,<3.7"),
        ("2.10.1+cu130", "triton-windows>=3.6,<3.7"),
        ("2.9.0+cu126", "triton-windows>=3.5,<3.6"),
        ("2.7.1+cu128", "triton-windows>=3.3,<3.4"),
        ("2.13.0+cu130", "triton-windows>=3.7,<3.8"),
        ("2.16.0+cu130", "triton-windows>=3.8,<3.9"),  # newer than the table: the newest pairing
    ],
)
def test_windows_cuda_torch_gets_the_paired_triton_windows(torch_version, requirement):
    """A CUDA torch on Windows x86_64 takes triton-windows of the minor version it was built against,
    pinned below the next minor."""
    plan = torch_plan.TorchPlan("cu128", "test")
    assert (
        torch_plan.triton_requirement(plan, System("windows", "x86_64", (3, 12)), torch_version)
        == requirement
    )


@pytest.mark.parametrize(
    ("variant", "os_name", "machine"),
    [("cpu", "windows", "x86_64"), ("cu128", "linux", "x86_64"), ("cu128", "windows", "aarch64")],
)
def test_no_triton_windows_off_windows_cuda(variant, os_name, machine):
    """The CPU build, Linux (torch's CUDA wheels bring Triton) and Windows on Arm get no triton-windows."""
    plan = torch_plan.TorchPlan(variant, "test")
    assert torch_plan.triton_requirement(plan, System(os_name, machine, (3, 12)), "2.11.0+cu128") is None
