"""The models a user can switch to, as one plain list: the header's picker shows it, the window loads from it.

Three kinds of choice: a model in the models folder ("library"), a folder loaded with ``--model DIR`` or
chosen on the welcome screen that is not in the models folder ("folder"), and later models on a server
("remote"). Library and folder choices are keyed by the folder to load; a remote one by whatever its
server names it. Nothing here imports Qt widgets or the engine's model code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QStandardPaths

from app import formatting

translate = QCoreApplication.translate

MAX_FOLDERS = 8  # folders remembered outside the models folder
LOADABLE = ("verified", "unverified")  # a library model in these states can be loaded


@dataclass(frozen=True)
class ModelChoice:
    kind: str  # "library" | "folder" | "remote"
    key: str  # library, folder: the folder to load (holds config.json); remote: the server's name for it
    label: str  # what the picker shows
    detail: str = ""  # a second, quieter line: size, where it is


def same_folder(a: str | Path | None, b: str | Path | None) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return str(a) == str(b)


def in_library(path: str | Path, library: list) -> bool:
    """Whether ``path`` is the folder of a model in the models folder (imported in place counts)."""
    return any(same_folder(path, model.path) for model in library)


def outside_folders(folders: list[str], library: list, *also: str | None) -> list[str]:
    """The remembered folders and ``also`` (the loaded or loading one) that still exist and are not in the
    models folder, newest first, each once."""
    result: list[str] = []
    for folder in [f for f in also if f] + list(folders):
        fresh = not any(same_folder(folder, seen) for seen in result)
        if fresh and Path(folder).is_dir() and not in_library(folder, library):
            result.append(str(folder))
    return result


def remember(folders: list[str], path: str) -> list[str]:
    """``folders`` with ``path`` first (a folder loaded just now), at most MAX_FOLDERS."""
    rest = [f for f in folders if not same_folder(f, path)]
    return ([str(path)] + rest)[:MAX_FOLDERS]


def local_choices(library: list, folders: list[str], *also: str | None) -> list[ModelChoice]:
    """The models on this computer to pick from: the loadable ones in the models folder, then folders
    outside it (``folders``, and ``also``: the loaded or loading one)."""
    choices = [
        ModelChoice("library", str(model.path), model.name, formatting.size(model.size_bytes))
        for model in library
        if model.status in LOADABLE
    ]
    for folder in outside_folders(folders, library, *also):
        choices.append(
            ModelChoice(
                "folder",
                folder,
                Path(folder).name,
                translate("ModelChoices", "Not in the models folder: %1").replace("%1", folder),
            )
        )
    return choices


def folder_size(path: str | Path) -> int:
    """Bytes of the files under ``path`` (a model folder: a few dozen files, so a walk is cheap)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def folder_model(path: str | Path):
    """A folder outside the models folder as the Models window lists it: an ``engine.hub.LocalModel`` whose
    source is "folder" (nothing recorded about it, so not verified)."""
    from engine.hub.status import UNVERIFIED, LocalModel

    folder = Path(path)
    return LocalModel(
        folder.name, folder, folder, None, folder_size(folder), None, UNVERIFIED, "folder", None, None
    )


def picker_start_folder() -> str:
    """Where a folder picker opens: the user's Downloads (where a model fetched by hand lands), else home;
    never the folder the app happens to run from."""
    downloads = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    if downloads and Path(downloads).is_dir():
        return downloads
    return str(Path.home())


def holds_model(path: str | Path) -> bool:
    """Whether a folder looks like a gpt-oss checkpoint (a config.json that does not name another model,
    at the top or in original/), before the loader reads it: a folder of anything else gets a plain
    "no model here" instead of the loader's "files missing or damaged"."""
    for config in (Path(path) / "config.json", Path(path) / "original" / "config.json"):
        if not config.is_file():
            continue
        try:
            values = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return True  # a gpt-oss folder with a damaged config: the loader says what is wrong
        model_type = values.get("model_type") if isinstance(values, dict) else None
        return model_type in (None, "gpt_oss")
    return False
