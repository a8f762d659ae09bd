"""The models one can download: gpt-oss-20b and -120b pinned to a commit, plus Hub repos the user adds.

User-added entries persist in ``catalog.json`` in the models folder (written atomically).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from engine.errors import DownloadError
from engine.hub.fsutil import atomic_write_json, read_json

CATALOG_NAME = "catalog.json"

_REPO_SPEC = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[^\s@]+))?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class CatalogEntry:
    name: str  # folder name under the models folder, and what commands take
    repo: str  # "openai/gpt-oss-20b"
    revision: str  # a commit (pinned) or a branch/tag (resolved to a commit at download)
    download_bytes: int | None  # the weights to fetch in the chosen layout; None until known
    expert_bytes: int | None = None  # MXFP4 experts (can live in RAM); None until known
    builtin: bool = False
    description: str = ""

    @property
    def non_expert_bytes(self) -> int | None:
        if self.download_bytes is None or self.expert_bytes is None:
            return None
        return self.download_bytes - self.expert_bytes

    @property
    def pinned(self) -> bool:
        return bool(_COMMIT.fullmatch(self.revision))


# Sizes: the shards of the Hugging Face layout at these commits (gpt-oss facts sheet); expert bytes from
# the configs: layers x experts x 13,236,480 bytes (MXFP4 blocks and scales plus bf16 biases).
BUILTIN: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "gpt-oss-20b",
        "openai/gpt-oss-20b",
        "6cee5e81ee83917806bbde320786a8fb61efebee",
        13_761_316_904,
        10_165_616_640,
        True,
        "21B parameters, 3.6B active; runs on a 16 GB GPU, or with experts in RAM on less",
    ),
    CatalogEntry(
        "gpt-oss-120b",
        "openai/gpt-oss-120b",
        "b5c939de8f754692c1647ca79fbf85e8c1e70f8a",
        65_248_893_184,
        60_993_699_840,
        True,
        "117B parameters, 5.1B active; needs an 80 GB GPU, or experts in a lot of RAM",
    ),
)


def parse_repo_spec(spec: str) -> tuple[str, str] | None:
    """'owner/name[@revision]' -> (repo, revision) with 'main' by default; None if it is not one."""
    match = _REPO_SPEC.fullmatch(spec.strip())
    if match is None:
        return None
    return match["repo"], match["revision"] or "main"


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise DownloadError(
            f"{name!r} cannot name a model: use letters, digits, '.', '-' and '_' (up to 100)."
        )
    return name


def default_name(repo: str, taken: set[str]) -> str:
    """'someone/gpt-oss-20b-fine' -> 'gpt-oss-20b-fine', or 'someone--gpt-oss-20b-fine' if that is taken."""
    owner, name = (re.sub(r"[^A-Za-z0-9._-]+", "-", part).strip("-.") or "model" for part in repo.split("/"))
    for candidate in (name, f"{owner}--{name}"):
        if candidate not in taken:
            return check_name(candidate)
    number = 2
    while f"{owner}--{name}-{number}" in taken:
        number += 1
    return check_name(f"{owner}--{name}-{number}")


def load_user_entries(root: Path) -> list[CatalogEntry]:
    data = read_json(root / CATALOG_NAME)
    entries = []
    for item in (data or {}).get("models", []) if isinstance(data, dict) else []:
        try:
            entries.append(CatalogEntry(**{**item, "builtin": False}))
        except TypeError:
            continue  # an entry written by a newer version; keep reading the rest
    return entries


def save_user_entries(root: Path, entries: list[CatalogEntry]) -> None:
    items = [{k: v for k, v in asdict(e).items() if k != "builtin"} for e in entries if not e.builtin]
    atomic_write_json(root / CATALOG_NAME, {"format": 1, "models": items})


def with_sizes(entry: CatalogEntry, download_bytes: int, expert_bytes: int | None) -> CatalogEntry:
    return replace(entry, download_bytes=download_bytes, expert_bytes=expert_bytes)
