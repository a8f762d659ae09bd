"""The model manager: catalog, download with resume, sha256 verification, manifest, list/remove/import.

Imports nothing heavy: huggingface_hub only when a download starts, torch only to ask about the GPU.
"""

from __future__ import annotations

from engine.hub import in_use
from engine.hub.catalog import CatalogEntry
from engine.hub.fit import FitEstimate, estimate_fit
from engine.hub.progress import Cancelled, DownloadProgress
from engine.hub.status import CORRUPT, INCOMPLETE, UNVERIFIED, VERIFIED, LocalModel
from engine.hub.store import ModelStore, default_root
from engine.hub.trust import LoadCheck, check_before_load

__all__ = [
    "CORRUPT",
    "INCOMPLETE",
    "UNVERIFIED",
    "VERIFIED",
    "Cancelled",
    "CatalogEntry",
    "DownloadProgress",
    "FitEstimate",
    "LoadCheck",
    "LocalModel",
    "ModelStore",
    "check_before_load",
    "default_root",
    "estimate_fit",
    "in_use",
]
