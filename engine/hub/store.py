"""``ModelStore``: the models folder. Catalog, list, download, verify, remove, import, move.

Nothing here touches the network except ``download``; listing, verifying, removing and importing work
with no connection at all, and nothing global is changed that would make later code reach out.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from engine.config import ModelConfig
from engine.errors import (
    DownloadError,
    EngineError,
    ModelFilesError,
    ModelInUseError,
    UnsupportedModelError,
    VerificationError,
)
from engine.hub import catalog as cat
from engine.hub import in_use
from engine.hub.catalog import CatalogEntry
from engine.hub.download import download_model
from engine.hub.fit import (
    FitEstimate,
    config_from_json,
    estimate_fit,
    expert_bytes_from_config,
    probe_machine,
)
from engine.hub.fsutil import (
    DISK_FULL_ERRNOS,
    FileLock,
    atomic_write_json,
    existing_ancestor,
    human_bytes,
    read_json,
)
from engine.hub.importer import import_model
from engine.hub.layout import HF, read_config
from engine.hub.manifest import read_manifest, write_manifest
from engine.hub.progress import ProgressCallback, ProgressTracker
from engine.hub.remote import HubClient
from engine.hub.status import LocalModel, check_files, files_base, inspect
from engine.paths import user_config_dir, user_data_dir
from engine.placement.plan import PRESETS

ROOT_SETTING = "models-root.json"  # in user_config_dir(): where move_root put the models
LOCKS_DIR = ".locks"


def default_root() -> Path:
    """The models folder: where ``move_root`` last put it, else ``user_data_dir()/models``."""
    saved = read_json(user_config_dir() / ROOT_SETTING)
    if isinstance(saved, dict) and isinstance(saved.get("root"), str):
        return Path(saved["root"])
    return user_data_dir() / "models"


class ModelStore:
    def __init__(
        self,
        root: Path | str | None = None,
        *,
        token: str | bool | None = None,
        retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 30.0,
    ):
        self.root = Path(root) if root is not None else default_root()
        self.hub = HubClient(token=token, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s)

    # ---- catalog -------------------------------------------------------------------------------------
    def catalog(self) -> list[CatalogEntry]:
        """The pinned gpt-oss models, then the Hub repos the user added."""
        return [*cat.BUILTIN, *cat.load_user_entries(self.root)]

    def entry(self, name: str) -> CatalogEntry:
        for entry in self.catalog():
            if entry.name == name:
                return entry
        raise DownloadError(
            f"No model named {name!r} in the catalog; pick one of "
            f"{', '.join(e.name for e in self.catalog())} or give a Hub repo as owner/name."
        )

    def add_repo(self, spec: str, name: str | None = None) -> CatalogEntry:
        """Add a Hub repo ('owner/name[@revision]') to the catalog; no network until it is downloaded."""
        parsed = cat.parse_repo_spec(spec)
        if parsed is None:
            raise DownloadError(f"{spec!r} is not a Hub repo; write it as owner/name or owner/name@revision.")
        repo, revision = parsed
        entries = self.catalog()
        for existing in entries:
            if existing.repo == repo and existing.revision == revision and name in (None, existing.name):
                return existing
        taken = {e.name for e in entries} | {p.name for p in self._folders()}
        if name is not None and cat.check_name(name) in taken:
            raise DownloadError(f"There is already a model named {name}; choose another name.")
        entry = CatalogEntry(name or cat.default_name(repo, taken), repo, revision, None)
        cat.save_user_entries(self.root, [*cat.load_user_entries(self.root), entry])
        return entry

    def fit(self, entry: CatalogEntry) -> FitEstimate | None:
        """Whether ``entry`` fits this machine (imports torch to ask about the GPU); None if size unknown."""
        if entry.download_bytes is None:
            return None
        machine = probe_machine(self.root)
        local = inspect(self.root / entry.name) if (self.root / entry.name).is_dir() else None
        expert = entry.expert_bytes if entry.expert_bytes is not None else entry.download_bytes * 3 // 4
        return estimate_fit(
            entry.download_bytes,
            expert,
            entry.download_bytes - expert,
            machine.free_disk + (local.size_bytes if local else 0),
            machine.ram,
            machine.vram,
            config=self._shape(entry, local),
            fused_kernels=machine.fused_kernels,
        )

    def _shape(self, entry: CatalogEntry, local: LocalModel | None) -> ModelConfig | None:
        """The model's config: from its files when downloaded, else the built-in shape of a pinned model."""
        if local is not None:
            try:
                config = read_config(local.path / "config.json")
            except ModelFilesError:  # not downloaded yet
                config = None
            if isinstance(config, dict) and (shape := config_from_json(config)) is not None:
                return shape
        return PRESETS.get(entry.name) if entry.builtin else None

    # ---- local models --------------------------------------------------------------------------------
    def list(self) -> list[LocalModel]:
        """Every model in the folder with a status from sizes alone (fast enough for start-up)."""
        return [model for folder in self._folders() if (model := inspect(folder)) is not None]

    def get(self, name: str) -> LocalModel:
        model = inspect(self.root / name) if (self.root / name).is_dir() else None
        if model is None:
            raise ModelFilesError(
                f"There is no model named {name} in {self.root}; download or import it first."
            )
        return model

    def open_folder(self, name: str) -> Path:
        """The folder to show the user (the GUI opens it in the file manager)."""
        model = self.get(name)
        return model.path if model.source == "in_place" else model.folder

    def download(
        self, name: str, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> LocalModel:
        """Download a catalog entry, or a Hub repo as owner/name[@rev] (added on the way), until verified."""
        added = False
        if cat.parse_repo_spec(name) is not None:
            before = {e.name for e in self.catalog()}
            entry = self.add_repo(name)
            added = entry.name not in before
        else:
            entry = self.entry(name)
        folder = self.root / entry.name
        with self._model_lock(
            entry.name,
            busy=DownloadError(
                f"{entry.name} is already being downloaded (or checked) by another window or process; "
                "wait for it to finish."
            ),
        ):
            try:
                manifest = download_model(folder, entry, self.hub, progress, cancel)
            except UnsupportedModelError:
                shutil.rmtree(folder, ignore_errors=True)  # only its config came down; nothing to keep
                if added:
                    self._save_entries([e for e in cat.load_user_entries(self.root) if e.name != entry.name])
                raise
            except OSError as error:  # writing the manifest or a folder, outside the byte stream
                if error.errno in DISK_FULL_ERRNOS:
                    raise DownloadError(
                        f"The disk is full ({error.strerror}) in {folder}. Free some space and "
                        "download again; it continues where it stopped."
                    ) from error
                raise DownloadError(f"Cannot write the model to {folder}: {error}") from error
        if not entry.builtin and entry.download_bytes != manifest.total_bytes:
            expert = None
            if manifest.layout == HF:
                config = read_config(folder / "config.json")
                expert = expert_bytes_from_config(config) if isinstance(config, dict) else None
            self._save_entries(
                [
                    cat.with_sizes(e, manifest.total_bytes, expert) if e.name == entry.name else e
                    for e in cat.load_user_entries(self.root)
                ]
            )
        return self.get(entry.name)

    def verify(
        self,
        name: str,
        full: bool = True,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> LocalModel:
        """Hash every file again (``full``) or check sizes; VerificationError names the files that fail.

        Failing files of a download are deleted so the next download fetches them again; files of an
        import are left alone (there is nowhere to fetch them from).
        """
        folder = self.root / name
        with self._model_lock(
            name,
            busy=ModelInUseError(
                f"{name} is being downloaded (or checked) by another window or process; wait for it to end."
            ),
        ):
            manifest = read_manifest(folder)
            if manifest is None:
                raise ModelFilesError(
                    f"There is no model named {name} in {self.root}; download or import it."
                )
            base = files_base(folder, manifest)
            missing = [r.path for r in manifest.files if not (base / r.path).is_file()]
            if missing and manifest.source == "hub" and manifest.verified_at is None:
                raise ModelFilesError(
                    f"{name} is not completely downloaded ({len(missing)} files to go); "
                    f"run `python -m engine models download {name}` to finish it."
                )
            tracker = ProgressTracker(name, "verify", manifest.total_bytes, len(manifest.files), progress)
            bad = check_files(manifest, base, full, tracker, cancel)
            if bad:
                manifest.corrupt, manifest.verified_at = bad, None
                for record in manifest.files:
                    record.verified = record.verified and record.path not in bad
                    if record.path in bad and manifest.source == "hub":
                        (base / record.path).unlink(missing_ok=True)
                write_manifest(folder, manifest)
                then = (
                    f"They were deleted: run `python -m engine models download {name}` to fetch them again."
                    if manifest.source == "hub"
                    else "Import the model again from a good copy."
                )
                raise VerificationError(
                    f"{name}: {', '.join(bad)} {'are' if len(bad) > 1 else 'is'} missing or "
                    f"{'do' if len(bad) > 1 else 'does'} not match the recorded "
                    f"{'sha256' if full else 'size'}. {then}"
                )
            if full or manifest.verified:
                manifest.mark_verified()
                write_manifest(folder, manifest)
        return self.get(name)

    def remove(self, name: str) -> None:
        """Delete a model and free its space; an in-place model is only forgotten (its folder stays)."""
        model = self.get(name)
        with (
            self._model_lock(
                name,
                busy=ModelInUseError(
                    f"{name} is being downloaded (or checked); stop that first, then remove it."
                ),
            ),
            in_use.exclusive(_held_paths(model), f"Cannot remove {name}"),
        ):
            trash = self.root / f".trash-{name}-{uuid.uuid4().hex[:8]}"
            os.replace(model.folder, trash)  # gone from list() at once, even if deleting takes a while
            shutil.rmtree(trash, ignore_errors=True)

    def import_folder(
        self,
        path: Path | str,
        name: str | None = None,
        copy: bool = True,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> LocalModel:
        """Import a gpt-oss model folder: checked like a download, copied (default) or registered in place."""
        src = Path(path).expanduser()
        taken = {e.name for e in self.catalog()} | {p.name for p in self._folders()}
        name = cat.check_name(name) if name else cat.default_name(f"local/{src.resolve().name}", taken)
        if name in taken:
            raise ModelFilesError(f"There is already a model named {name}; choose another name.")
        with self._model_lock(name, busy=ModelInUseError(f"{name} is being imported already.")):
            import_model(src, self.root / name, name, copy, progress, cancel)
        return self.get(name)

    # ---- the folder itself ---------------------------------------------------------------------------
    def move_root(self, new_root: Path | str) -> None:
        """Move every model to ``new_root`` (empty or new) and remember it there for later runs.

        Refused while a model is loaded, downloading or being checked. On one disk this is a rename; across
        disks the copy is finished and checked before the old folder is deleted, so a crash loses nothing.
        """
        new_root = Path(new_root).expanduser().absolute()
        old_root = self.root.absolute()
        if new_root == old_root:
            return
        if new_root.is_relative_to(old_root) or old_root.is_relative_to(new_root):
            raise EngineError(f"Cannot move the models folder into itself ({old_root} -> {new_root}).")
        if new_root.exists() and (not new_root.is_dir() or any(new_root.iterdir())):
            raise EngineError(f"{new_root} is not empty; choose a new or empty folder for the models.")
        models = self.list()
        with ExitStack() as stack:
            for model in models:
                stack.enter_context(
                    self._model_lock(
                        model.name,
                        busy=ModelInUseError(
                            f"{model.name} is being downloaded or checked; wait for it, then move the models."
                        ),
                    )
                )
            stack.enter_context(
                in_use.exclusive(
                    [p for m in models if m.source != "in_place" for p in _held_paths(m)],
                    "Cannot move the models",
                )
            )
            if old_root.exists():
                _move_tree(old_root, new_root)
            else:
                new_root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(user_config_dir() / ROOT_SETTING, {"root": str(new_root)})
        self.root = new_root

    # ---- helpers ---------------------------------------------------------------------------------------
    def _folders(self) -> Iterator[Path]:
        if self.root.is_dir():
            yield from sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _save_entries(self, entries: list[CatalogEntry]) -> None:
        cat.save_user_entries(self.root, entries)

    @contextmanager
    def _model_lock(self, name: str, busy: EngineError) -> Iterator[None]:
        """One download, verify, import or remove of a model at a time, across threads and processes."""
        lock = FileLock(self.root / LOCKS_DIR / f"{cat.check_name(name)}.lock")
        if not lock.acquire(exclusive=True, blocking=False):
            raise busy
        try:
            yield
        finally:
            lock.release()


def _held_paths(model: LocalModel) -> list[Path]:
    """The folders a loader may have been given for ``model``."""
    return list(dict.fromkeys([model.path, model.folder]))


def _move_tree(old_root: Path, new_root: Path) -> None:
    """Rename on the same disk; otherwise copy, check every size, switch, then delete the old copy."""
    same_disk = os.stat(old_root).st_dev == os.stat(existing_ancestor(new_root)).st_dev
    if same_disk:
        if new_root.exists():
            new_root.rmdir()  # empty, checked by the caller
        new_root.parent.mkdir(parents=True, exist_ok=True)
        os.replace(old_root, new_root)
        return
    need = sum(p.stat().st_size for p in old_root.rglob("*") if p.is_file())
    free = shutil.disk_usage(existing_ancestor(new_root)).free
    if need > free:
        raise EngineError(f"{new_root} has {human_bytes(free)} free; the models need {human_bytes(need)}.")
    staging = new_root.parent / f".{new_root.name}.moving-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(old_root, staging, ignore=shutil.ignore_patterns(LOCKS_DIR))
        for src in (p for p in old_root.rglob("*") if p.is_file() and LOCKS_DIR not in p.parts):
            copied = staging / src.relative_to(old_root)
            if not copied.is_file() or copied.stat().st_size != src.stat().st_size:
                raise EngineError(f"Copying {src} to {copied} went wrong; the models stay in {old_root}.")
        if new_root.exists():
            new_root.rmdir()
        os.replace(staging, new_root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old_root, ignore_errors=True)
