"""Before a model loads: are its bytes still the ones that were verified?

A verified model's manifest records, with each file's hash, the file's size, mtime and inode as they were
when hashed. Loading compares those with the files now (one ``stat`` each): a file whose facts changed (a
byte written in place, a copy over it) is hashed again before use. A mismatch marks the model corrupt and
refuses the load with what to do; a match records the new facts, so the next load is quick again.

A folder outside the models folder has no manifest: it loads as before, with one note that its files are
unverified.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.errors import ModelInUseError, VerificationError
from engine.hub import catalog as cat
from engine.hub.fsutil import FileLock
from engine.hub.hashing import FileHasher
from engine.hub.layout import config_path
from engine.hub.manifest import FileRecord, Manifest, read_manifest, write_manifest
from engine.hub.progress import ProgressCallback, ProgressTracker
from engine.hub.status import files_base, matches
from engine.hub.store import LOCKS_DIR, default_root


@dataclass(frozen=True)
class LoadCheck:
    name: str | None  # the model's name in the models folder; None for a folder outside it
    verified: bool  # every file's bytes are the ones hashed (now or before)
    rehashed: tuple[str, ...] = ()  # files hashed again because they changed since they were verified
    note: str | None = None  # one sentence for the user (a folder outside the models folder), else None


def check_before_load(
    path: str | Path,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    root: str | Path | None = None,
) -> LoadCheck:
    """Check the model folder ``path`` before it loads; raises VerificationError when its bytes changed.

    ``root``: the models folder (default: the user's). ``progress`` is told about any re-hash (phase
    "verify"); ``cancel`` stops it (engine.hub.Cancelled). A model already marked corrupt is refused too.
    """
    root = Path(root) if root is not None else default_root()
    found = _find(Path(path), root)
    if found is None:
        return LoadCheck(
            None,
            False,
            note=f"{Path(path)} is not in the models folder, so its files are unverified: nothing checked "
            "that they are the published bytes. Import it in Models to verify it.",
        )
    folder, manifest = found
    if manifest.corrupt:
        raise _corrupt(
            folder.name, manifest, manifest.corrupt, "did not match the verified hash when last checked"
        )
    base = files_base(folder, manifest)
    stale = [r for r in manifest.files if r.verified and not _unchanged(r, base)]
    if not stale:
        return LoadCheck(folder.name, manifest.verified)
    lock = FileLock(root / LOCKS_DIR / f"{cat.check_name(folder.name)}.lock")
    if not lock.acquire(exclusive=True, blocking=False):
        raise ModelInUseError(
            f"{folder.name} is being downloaded or checked by another window or process; wait for it to "
            "finish, then load it."
        )
    try:
        manifest = read_manifest(folder) or manifest  # as it is now that we hold the lock
        stale = [r for r in manifest.files if r.verified and not _unchanged(r, base)]
        bad = _rehash(folder.name, base, stale, progress, cancel)
        if bad:
            manifest.corrupt, manifest.verified_at = bad, None
            for record in manifest.files:
                record.verified = record.verified and record.path not in bad
            write_manifest(folder, manifest)
            raise _corrupt(
                folder.name, manifest, bad, "changed after verification and no longer match the verified hash"
            )
        write_manifest(folder, manifest)  # the new facts: the next load is quick again
    finally:
        lock.release()
    return LoadCheck(folder.name, manifest.verified, tuple(r.path for r in stale))


def _find(path: Path, root: Path) -> tuple[Path, Manifest] | None:
    """The models-folder entry whose model is ``path`` (its folder, or the folder it loads from)."""
    try:
        target = path.expanduser().resolve()
    except OSError:
        return None
    if not root.is_dir():
        return None
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        manifest = read_manifest(folder)
        if manifest is None or not manifest.files:
            continue
        base = files_base(folder, manifest)
        try:
            loads_from = base / PurePosixPath(config_path([r.path for r in manifest.files])).parent
        except StopIteration:  # a manifest without a config: not a model that loads
            continue
        if target in {_resolved(base), _resolved(loads_from), _resolved(folder)}:
            return folder, manifest
    return None


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _unchanged(record: FileRecord, base: Path) -> bool:
    try:
        info = os.stat(base / record.path)
    except OSError:
        return True  # missing: not a change of bytes; the loader names the missing file
    return record.facts_match(info)


def _rehash(
    name: str,
    base: Path,
    records: list[FileRecord],
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> list[str]:
    """Hash ``records`` again; those that match get their new facts, the rest are returned."""
    tracker = ProgressTracker(name, "verify", sum(r.size for r in records), len(records), progress)
    bad = []
    for record in records:
        tracker.start_file(record.path)
        path = base / record.path
        hasher = FileHasher(record.size if record.git_sha1 else None)
        if os.stat(path).st_size == record.size:
            hasher.feed_file(path, tracker.advance, cancel)
        if os.stat(path).st_size == record.size and matches(record, hasher):
            record.note_facts(path)
        else:
            bad.append(record.path)
        tracker.finish_file()
    return bad


def _corrupt(name: str, manifest: Manifest, bad: list[str], what: str) -> VerificationError:
    if manifest.source == "hub":
        then = (
            f"Download it again to replace them: `python -m engine models download {name}`, or Download in "
            "the app's Models."
        )
    else:
        then = "Import it again from a good copy (Models, or `python -m engine models import`)."
    return VerificationError(f"{name} is corrupt: {', '.join(bad)} {what}, so it was not loaded. {then}")
