"""Bring a model folder from disk into the store: checked like a download, copied or used in place."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

from engine.errors import DownloadError
from engine.hub.fsutil import DISK_FULL_ERRNOS, existing_ancestor, fsync_dir, human_bytes
from engine.hub.hashing import CHUNK_BYTES, FileHasher
from engine.hub.layout import detect_local
from engine.hub.manifest import FileRecord, Manifest, write_manifest
from engine.hub.progress import Cancelled, ProgressCallback, ProgressTracker


def import_model(
    src: Path,
    folder: Path,
    name: str,
    copy: bool,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> Manifest:
    """Copy (or register in place) the gpt-oss model in ``src`` as ``folder``; returns its verified manifest.

    A copy is staged in a hidden sibling folder and renamed into place at the end, so a cancel, a full
    disk or a crash leaves no half model behind. In place, the manifest lives in ``folder`` and points at
    ``src``; nothing is written into ``src``.
    """
    src = src.resolve()
    layout, files = detect_local(src)
    sizes = {path: (src / path).stat().st_size for path in files}
    total = sum(sizes.values())
    tracker = ProgressTracker(name, "copy" if copy else "verify", total, len(files), progress)
    records = []
    if not copy:
        for path in files:
            tracker.start_file(path)
            hasher = FileHasher()
            hasher.feed_file(src / path, tracker.advance, cancel)
            records.append(FileRecord(path, sizes[path], hasher.sha256(), verified=True))
            records[-1].note_facts(src / path)
            tracker.finish_file()
        manifest = Manifest(name, "in_place", layout, records, location=str(src))
        manifest.mark_verified()
        write_manifest(folder, manifest)
        return manifest

    free = shutil.disk_usage(existing_ancestor(folder.parent)).free
    if total > free:
        raise DownloadError(
            f"Not enough disk space to copy {src}: it needs {human_bytes(total)} and "
            f"{human_bytes(free)} is free. Free some space, or import it in place."
        )
    staging = folder.parent / f".import-{name}-{uuid.uuid4().hex[:8]}"
    try:
        for path in files:
            tracker.start_file(path)
            hasher = _copy(src / path, staging / path, tracker, cancel)
            records.append(FileRecord(path, sizes[path], hasher.sha256(), verified=True))
            tracker.finish_file()
        for record in records:  # the rename into place keeps mtime and inode (a sibling folder: one disk)
            record.note_facts(staging / record.path)
        manifest = Manifest(name, "import", layout, records)
        manifest.mark_verified()
        write_manifest(staging, manifest)
        os.replace(staging, folder)
        fsync_dir(folder.parent)
    except OSError as error:
        if error.errno in DISK_FULL_ERRNOS:
            raise DownloadError(
                f"The disk filled up while copying {src} ({error.strerror}); nothing was "
                "kept. Free some space and import again."
            ) from error
        raise DownloadError(f"Copying {src} failed: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _copy(src: Path, dest: Path, tracker: ProgressTracker, cancel: threading.Event | None) -> FileHasher:
    """Copy one file, hashing the bytes as they pass (the copy is verified without a second read)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    hasher = FileHasher()
    with open(src, "rb", buffering=0) as fin, open(dest, "wb") as fout:
        while chunk := fin.read(CHUNK_BYTES):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"Import stopped; nothing was kept of {src.parent}.")
            fout.write(chunk)
            hasher.update(chunk)
            tracker.advance(len(chunk))
        fout.flush()
        os.fsync(fout.fileno())
    return hasher
