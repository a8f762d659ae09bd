"""``manifest.json``: what a model folder should hold, and whether its bytes were checked.

Written atomically next to the weights (or, for a folder registered in place, in the model's entry under
the models folder). A model is usable only when the manifest says every file was verified.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.hub.fsutil import atomic_write_json, read_json

MANIFEST_NAME = "manifest.json"
FORMAT = 1


@dataclass
class FileRecord:
    path: str  # relative to the model's folder, "/"-separated, as in the repo
    size: int
    sha256: str | None = None  # the Hub's lfs.sha256, or what we computed (small files, imports)
    git_sha1: str | None = None  # the Hub's git blob id, for small files kept in git rather than LFS
    verified: bool = False  # these bytes were hashed and matched


@dataclass
class Manifest:
    name: str
    source: str  # "hub" (downloaded) | "import" (copied in) | "in_place" (registered folder)
    layout: str  # "hf" | "original"
    files: list[FileRecord]
    repo: str | None = None  # "openai/gpt-oss-20b"
    revision: str | None = None  # the commit the files came from
    location: str | None = None  # absolute folder of an in-place model; None: the entry's own folder
    verified_at: str | None = None  # UTC time of the last verification that found every file right
    corrupt: list[str] = field(default_factory=list)  # files whose bytes did not match, last time checked
    format: int = FORMAT

    @property
    def verified(self) -> bool:
        return self.verified_at is not None and not self.corrupt and all(f.verified for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> FileRecord | None:
        return next((f for f in self.files if f.path == path), None)

    def mark_verified(self) -> None:
        self.corrupt = []
        self.verified_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def to_json(self) -> dict:
        data = asdict(self)
        return {"format": data.pop("format"), **data}

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        data = dict(data)
        data["files"] = [FileRecord(**f) for f in data.get("files", [])]
        return cls(**data)


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, or None when it has none or it is not one we can read."""
    data = read_json(folder / MANIFEST_NAME)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        return Manifest.from_json(data)
    except (TypeError, KeyError):
        return None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    atomic_write_json(folder / MANIFEST_NAME, manifest.to_json())
