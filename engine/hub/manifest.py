"""``manifest.json``: what a model folder should hold, and whether its bytes were checked.

Written atomically next to the weights (or, for a folder registered in place, in the model's entry under
the models folder). A model is usable only when the manifest says every file was verified.
"""

from __future__ import annotations

import os
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
    # The file as it was when its bytes were hashed: a change of any of these (a byte written in place moves
    # the mtime; a copy over it changes the inode) means the bytes must be hashed again before they are used.
    mtime_ns: int | None = None
    inode: int | None = None  # None where the OS has none (st_ino 0)

    def note_facts(self, path: Path) -> None:
        """Record the file's mtime and inode now, as it was just hashed."""
        info = os.stat(path)
        self.mtime_ns, self.inode = info.st_mtime_ns, info.st_ino or None

    def facts_match(self, info: os.stat_result) -> bool:
        """The file is as it was when hashed: same size, mtime and inode (False when none were recorded)."""
        return (
            self.mtime_ns is not None
            and info.st_size == self.size
            and info.st_mtime_ns == self.mtime_ns
            and (info.st_ino or None) == self.inode
        )


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
        known = set(FileRecord.__dataclass_fields__)
        files = data.get("files", [])
        data["files"] = [FileRecord(**{k: v for k, v in f.items() if k in known}) for f in files]
        return cls(**data)


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, or None when it has none or it is not one we can read."""
    data = read_json(folder / MANIFEST_NAME)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        return Manifest.from_json(data)
    except (TypeError, KeyError, AttributeError):
        return None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    atomic_write_json(folder / MANIFEST_NAME, manifest.to_json())
