"""What a model folder holds and whether it can be trusted: a cheap look (sizes) and a full check (hashes)."""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.hub.hashing import FileHasher
from engine.hub.layout import config_path
from engine.hub.manifest import MANIFEST_NAME, FileRecord, Manifest, read_manifest
from engine.hub.progress import ProgressTracker

VERIFIED = "verified"  # every file hashed and matched, and still the right size
INCOMPLETE = "incomplete"  # a download that has not finished (or files gone missing)
CORRUPT = "corrupt"  # a file failed its hash, or changed size since it was verified
UNVERIFIED = "unverified"  # all files there, not yet hashed (e.g. a crash just before the last check)


@dataclass(frozen=True)
class LocalModel:
    name: str
    path: Path  # the folder to load: it holds config.json
    folder: Path  # the model's own folder under the models folder (holds manifest.json)
    layout: str | None  # "hf" | "original"; None while unknown
    size_bytes: int  # on disk now, partial downloads included
    total_bytes: int | None  # the complete model, when known
    status: str  # VERIFIED | INCOMPLETE | CORRUPT | UNVERIFIED
    source: str  # "hub" | "import" | "in_place"
    repo: str | None
    revision: str | None
    problems: tuple[str, ...] = ()  # one line per file that is missing, the wrong size or corrupt

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED


def files_base(folder: Path, manifest: Manifest) -> Path:
    return Path(manifest.location) if manifest.location else folder


def inspect(folder: Path) -> LocalModel | None:
    """The model in ``folder`` from its manifest and file sizes alone (no hashing, no network)."""
    manifest = read_manifest(folder)
    on_disk = _folder_bytes(folder)
    if manifest is None:
        if on_disk == 0:
            return None
        return LocalModel(
            folder.name,
            folder,
            folder,
            None,
            on_disk,
            None,
            INCOMPLETE,
            "hub",
            None,
            None,
            (f"no readable {MANIFEST_NAME}",),
        )
    base = files_base(folder, manifest)
    problems, missing, wrong, changed = [], False, False, False
    for record in manifest.files:
        info = _stat(base / record.path)
        if info is None:
            missing = True
            if manifest.verified or record.verified:
                problems.append(f"{record.path}: missing")
        elif info.st_size != record.size:
            wrong = True
            problems.append(f"{record.path}: {info.st_size} bytes, expected {record.size}")
        elif record.verified and record.mtime_ns is not None and not record.facts_match(info):
            changed = True
            problems.append(f"{record.path}: changed since it was verified (hashed again before it loads)")
    problems += [f"{path}: does not match its hash" for path in manifest.corrupt]
    if manifest.corrupt or wrong:
        status = CORRUPT
    elif missing:
        status = INCOMPLETE
    elif manifest.verified and not changed:
        status = VERIFIED
    else:
        status = UNVERIFIED
    if manifest.location:
        on_disk = sum(_size(base / r.path) or 0 for r in manifest.files)
    path = base / PurePosixPath(config_path([r.path for r in manifest.files])).parent
    return LocalModel(
        manifest.name,
        path,
        folder,
        manifest.layout,
        on_disk,
        manifest.total_bytes,
        status,
        manifest.source,
        manifest.repo,
        manifest.revision,
        tuple(problems),
    )


def check_files(
    manifest: Manifest,
    base: Path,
    full: bool,
    tracker: ProgressTracker,
    cancel: threading.Event | None = None,
) -> list[str]:
    """The files that are missing, the wrong size or (``full``) fail their hash; marks the rest verified."""
    bad = []
    for record in manifest.files:
        tracker.start_file(record.path)
        path = base / record.path
        if _size(path) != record.size:
            bad.append(record.path)
            tracker.skip(record.size)
        elif full:
            hasher = FileHasher(record.size if record.git_sha1 else None)
            hasher.feed_file(path, tracker.advance, cancel)
            if matches(record, hasher):
                record.verified = True
                record.sha256 = hasher.sha256()
                record.note_facts(path)
            else:
                bad.append(record.path)
        else:
            tracker.skip(record.size)
        tracker.finish_file()
    return bad


def matches(expected: FileRecord, hasher: FileHasher) -> bool:
    """The bytes match every hash on record, and at least one was on record."""
    if expected.sha256 is None and expected.git_sha1 is None:
        return False
    if expected.sha256 is not None and hasher.sha256() != expected.sha256:
        return False
    return expected.git_sha1 is None or hasher.git_sha1() == expected.git_sha1


def _size(path: Path) -> int | None:
    info = _stat(path)
    return None if info is None else info.st_size


def _stat(path: Path) -> os.stat_result | None:
    """The file's stat, or None when it is missing or not a regular file."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
