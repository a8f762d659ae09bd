"""Reading nvidia-smi: the query, the plain table of old drivers, errors, and the real subprocess path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from installer import gpu
from tests.installer.conftest import DATA


@pytest.mark.parametrize(
    ("recording", "name", "driver", "cc", "memory"),
    [
        ("rtx5090-windows-576.csv", "NVIDIA GeForce RTX 5090", "576.02", (12, 0), 32607),
        ("rtx5070ti-linux-570.csv", "NVIDIA GeForce RTX 5070 Ti", "570.86.16", (12, 0), 16303),
        ("rtx4080-linux-535.csv", "NVIDIA GeForce RTX 4080", "535.183.01", (8, 9), 16376),
        ("rtx4080-linux-535-table.txt", "NVIDIA GeForce RTX 4080", "535.183.01", (8, 9), 16376),
        ("rtx5090-windows-576-table.txt", "NVIDIA GeForce RTX 5090", "576.02", (12, 0), 32607),
        ("gtx1080-windows-581.csv", "NVIDIA GeForce GTX 1080", "581.57", (6, 1), 8192),
        ("laptop-rtx4070-windows-566.csv", "NVIDIA GeForce RTX 4070 Laptop GPU", "566.36", (8, 9), 8188),
        ("h100-linux-580-real.csv", "NVIDIA H100 80GB HBM3", "580.159.04", (9, 0), 81559),
        ("h100-linux-580-real-table.txt", "NVIDIA H100 80GB HBM3", "580.159.04", (9, 0), 81559),
    ],
)
def test_one_gpu_recordings_parse(recording: str, name: str, driver: str, cc: tuple[int, int], memory: int):
    """Each recording of one GPU gives its name, driver, compute capability and memory."""
    detection = gpu.classify((DATA / recording).read_text())
    assert detection.status == "ok"
    assert detection.gpus == [gpu.Gpu(name, driver, cc, memory)]


def test_old_table_with_a_cut_name_leaves_the_compute_capability_unknown():
    """R470's table cuts long names ("NVIDIA GeForce ..."): the driver and memory still come through."""
    detection = gpu.classify((DATA / "gtx1080-linux-470-table.txt").read_text())
    assert detection.status == "ok"
    [card] = detection.gpus
    assert (card.driver, card.compute_cap, card.memory_mib) == ("470.256.02", None, 8117)


def test_two_gpus_are_both_listed():
    """A machine with two NVIDIA GPUs yields two entries, in nvidia-smi's order."""
    detection = gpu.classify((DATA / "two-gpus-linux-575.csv").read_text())
    assert [card.name for card in detection.gpus] == ["NVIDIA GeForce RTX 5090", "NVIDIA GeForce GTX 1080 Ti"]


@pytest.mark.parametrize(
    ("recording", "status"),
    [
        ("driver-failed-linux.txt", "driver-error"),
        ("no-gpu-linux.txt", "no-devices"),
        ("gtx1080-linux-470-query.txt", "unreadable"),
    ],
)
def test_failures_are_classified(recording: str, status: str):
    """The driver failing, no GPU, and an unanswerable query each get their own status."""
    assert gpu.classify((DATA / recording).read_text()).status == status


@pytest.mark.parametrize(
    ("name", "cc"),
    [
        ("NVIDIA GeForce RTX 5060 Ti", (12, 0)),
        ("NVIDIA GeForce RTX 4090", (8, 9)),
        ("NVIDIA GeForce RTX 3060", (8, 6)),
        ("NVIDIA GeForce GTX 1660 SUPER", (7, 5)),
        ("NVIDIA GeForce GTX 1080 Ti", (6, 1)),
        ("NVIDIA GeForce GTX 950M", (5, 0)),
        ("NVIDIA GeForce GTX 970", (5, 2)),
        ("Tesla K80", (3, 5)),
        ("NVIDIA H100 80GB HBM3", (9, 0)),
        ("NVIDIA A100-SXM4-80GB", (8, 0)),
        ("NVIDIA RTX A6000", (8, 6)),
        ("Some Future GPU", None),
    ],
)
def test_compute_capability_from_the_name(name: str, cc: tuple[int, int] | None):
    """Old drivers can't report compute_cap; the product name gives it for known families."""
    assert gpu.compute_cap_from_name(name) == cc


def test_recorded_output_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    """GOSSAMER_NVIDIA_SMI_OUTPUT makes detect() read a recording instead of running nvidia-smi."""
    monkeypatch.setenv(gpu.NVIDIA_SMI_OUTPUT_ENV, str(DATA / "rtx5080-linux-570.csv"))
    assert gpu.detect().gpus[0].name == "NVIDIA GeForce RTX 5080"


def test_no_nvidia_smi_means_absent(monkeypatch: pytest.MonkeyPatch):
    """Without nvidia-smi the detection says so rather than failing."""
    monkeypatch.delenv(gpu.NVIDIA_SMI_OUTPUT_ENV, raising=False)
    assert gpu.detect(nvidia_smi="none").status == "absent"
    assert gpu.detect(nvidia_smi="/nonexistent/nvidia-smi").status == "absent"


def _fake_nvidia_smi(tmp_path: Path, query_output: str, table_output: str, query_code: int = 0) -> Path:
    script = tmp_path / "nvidia-smi"
    (tmp_path / "query.txt").write_text(query_output)
    (tmp_path / "table.txt").write_text(table_output)
    script.write_text(
        "#!/bin/sh\n"
        f'if [ $# -gt 0 ]; then cat "{tmp_path}/query.txt"; exit {query_code}; fi\n'
        f'cat "{tmp_path}/table.txt"\n'
    )
    script.chmod(0o755)
    return script


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
def test_old_driver_falls_back_from_the_query_to_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A driver that rejects compute_cap (exit 2) is asked again without arguments, and its table read."""
    monkeypatch.delenv(gpu.NVIDIA_SMI_OUTPUT_ENV, raising=False)
    fake = _fake_nvidia_smi(
        tmp_path,
        (DATA / "gtx1080-linux-470-query.txt").read_text(),
        (DATA / "gtx1080-linux-470-table.txt").read_text(),
        query_code=2,
    )
    detection = gpu.detect(nvidia_smi=str(fake))
    assert detection.status == "ok"
    assert detection.gpus[0].driver == "470.256.02"
    assert detection.source == str(fake)


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
def test_the_query_is_used_when_it_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A current driver answers the query, and the table is never asked for."""
    monkeypatch.delenv(gpu.NVIDIA_SMI_OUTPUT_ENV, raising=False)
    fake = _fake_nvidia_smi(tmp_path, (DATA / "rtx5090-linux-575.csv").read_text(), "not a table")
    detection = gpu.detect(nvidia_smi=str(fake))
    assert detection.gpus[0].compute_cap == (12, 0)
    assert "--query-gpu=name,driver_version,compute_cap,memory.total" in detection.source


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
def test_driver_failure_from_a_real_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """nvidia-smi exiting 9 with "couldn't communicate with the NVIDIA driver" is a driver error."""
    monkeypatch.delenv(gpu.NVIDIA_SMI_OUTPUT_ENV, raising=False)
    failure = (DATA / "driver-failed-linux.txt").read_text()
    fake = _fake_nvidia_smi(tmp_path, failure, failure, query_code=9)
    assert gpu.detect(nvidia_smi=str(fake)).status == "driver-error"


def test_gpu_description_is_plain_ascii():
    """Messages go to consoles in legacy code pages (Windows): keep them ASCII."""
    text = gpu.Gpu("NVIDIA GeForce RTX 5090", "576.02", (12, 0), 32607).describe()
    assert text.isascii() and "12.0" in text and "32 GiB" in text
