"""Download one catalog entry into its folder: one layout, resumable, every file hashed as it lands."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from engine.errors import DownloadError, UnsupportedModelError, VerificationError
from engine.hub import layout as layouts
from engine.hub.catalog import CatalogEntry
from engine.hub.fsutil import existing_ancestor, fsync_dir, human_bytes, read_json
from engine.hub.hashing import FileHasher
from engine.hub.manifest import FileRecord, Manifest, read_manifest, write_manifest
from engine.hub.progress import ProgressCallback, ProgressTracker
from engine.hub.remote import HubClient, RemoteFile, RemoteRepo, part_paths
from engine.hub.status import VERIFIED, inspect, matches


def download_model(
    folder: Path,
    entry: CatalogEntry,
    hub: HubClient,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> Manifest:
    """Fetch what is missing and return the verified manifest; the caller holds the model's lock.

    Raises VerificationError naming the files whose bytes did not match (their bytes are deleted, so
    the next download fetches them again), DownloadError for the network, the server or the disk.
    """
    old = read_manifest(folder)
    if old is not None and old.source != "hub":
        raise DownloadError(
            f"{entry.name} is a model you imported, not a download; remove it first or "
            "download under another name."
        )
    local = inspect(folder)
    if (
        old is not None
        and local is not None
        and local.status == VERIFIED
        and old.repo == entry.repo
        and (old.revision == entry.revision or not entry.pinned)
    ):
        return old  # done before; a branch is not followed up (remove and download again to update)

    remote = hub.repo_info(entry.repo, entry.revision, cancel)
    choice = layouts.select_files([f.path for f in remote.files])
    if choice is None:
        raise UnsupportedModelError(
            f"{entry.repo} has no gpt-oss checkpoint: neither config.json with model-*.safetensors "
            "nor original/config.json with original/model.safetensors."
        )
    layout, paths = choice
    files = [remote.file(p) for p in paths]
    unhashed = [f.path for f in files if f.sha256 is None and f.git_sha1 is None]
    if unhashed:
        raise DownloadError(
            f"The Hub gave no hash for {', '.join(unhashed)} in {entry.repo}, so they could "
            "not be verified; try again later."
        )

    manifest = _plan(folder, entry, remote, layout, files, old)
    _check_disk(folder, entry.name, manifest, files)
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder, manifest)

    tracker = ProgressTracker(entry.name, "download", manifest.total_bytes, len(files), progress)
    bad = []
    for record, remote_file in zip(manifest.files, files, strict=True):
        tracker.start_file(record.path)
        if record.verified:
            tracker.skip(record.size)
        elif _fetch(folder, remote, remote_file, record, hub, tracker, cancel):
            write_manifest(folder, manifest)
            if record.path == layouts.config_path(paths):
                config = layouts.read_config(folder / record.path)
                layouts.check_config(config, layout, f"{entry.repo} ({record.path})")
        else:
            bad.append(record.path)
        tracker.finish_file()

    if bad:
        manifest.corrupt = bad
        write_manifest(folder, manifest)
        raise VerificationError(
            f"{entry.name}: {', '.join(bad)} did not match the sha256 the Hub published, so the bytes were "
            "thrown away. Download again to fetch them anew; if it keeps happening, check the disk and RAM."
        )
    manifest.mark_verified()
    write_manifest(folder, manifest)
    return manifest


def _plan(
    folder: Path,
    entry: CatalogEntry,
    remote: RemoteRepo,
    layout: str,
    files: list[RemoteFile],
    old: Manifest | None,
) -> Manifest:
    """The new manifest: files verified last time with the same expected bytes stay verified."""
    records = []
    for f in files:
        record = FileRecord(f.path, f.size, f.sha256, f.git_sha1)
        before = old.file(f.path) if old is not None else None
        if (
            before is not None
            and before.verified
            and before.size == f.size
            and (f.sha256 is None or before.sha256 == f.sha256)
            and before.git_sha1 == f.git_sha1
            and _size(folder / f.path) == f.size
        ):
            record.sha256, record.verified = before.sha256, True
            record.mtime_ns, record.inode = before.mtime_ns, before.inode
        records.append(record)
    if old is not None:  # files of another revision or layout that this one does not have
        keep = {f.path for f in files}
        for stale in (r.path for r in old.files if r.path not in keep):
            for path in (folder / stale, *part_paths(folder / stale)):
                path.unlink(missing_ok=True)
    return Manifest(entry.name, "hub", layout, records, entry.repo, remote.commit)


def _check_disk(folder: Path, name: str, manifest: Manifest, files: list[RemoteFile]) -> None:
    need = 0
    for record, f in zip(manifest.files, files, strict=True):
        if record.verified:
            continue
        part, sidecar = part_paths(folder / f.path)
        kept = _size(part) or 0
        side = read_json(sidecar)
        if not (isinstance(side, dict) and side.get("sha256") == f.sha256 and side.get("size") == f.size):
            kept = 0
        need += max(f.size - kept, 0)
    where = existing_ancestor(folder)
    free = shutil.disk_usage(where).free
    if need > free:
        raise DownloadError(
            f"Not enough disk space to download {name}: it needs {human_bytes(need)} more and {where} has "
            f"{human_bytes(free)} free. Free {human_bytes(need - free)} or move the models folder to a "
            "bigger disk, then download again."
        )


def _fetch(
    folder: Path,
    remote: RemoteRepo,
    f: RemoteFile,
    record: FileRecord,
    hub: HubClient,
    tracker: ProgressTracker,
    cancel: threading.Event | None,
) -> bool:
    """Bring one file into place; True when its bytes matched. Wrong bytes are deleted."""
    dest = folder / f.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    part, sidecar = part_paths(dest)
    if _size(dest) is not None:  # renamed into place, but the manifest was not updated (a crash)
        hasher = FileHasher(f.size if f.git_sha1 else None)
        hasher.feed_file(dest, tracker.advance, cancel)
        if matches(record, hasher):
            record.sha256, record.verified = hasher.sha256(), True
            record.note_facts(dest)
            return True
        dest.unlink()
        tracker.rewind(f.size)
    hasher = hub.fetch_file(remote.repo, remote.commit, f, dest, tracker, cancel)
    if not matches(record, hasher):
        part.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        return False
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(part, dest)
    fsync_dir(dest.parent)
    sidecar.unlink(missing_ok=True)
    record.sha256, record.verified = hasher.sha256(), True
    record.note_facts(dest)
    return True


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
