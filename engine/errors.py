"""Errors a user can act on. Each message says what happened and what to do about it.

Internal invariants are asserts; only the outermost layer (the CLI, the GUI) shows these to people.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class: ``str(error)`` is a complete sentence for the user."""


class ModelFilesError(EngineError):
    """Model files are missing, truncated, corrupt or of the wrong shape."""


class UnsupportedModelError(EngineError):
    """The folder holds a model that is not of the gpt-oss architecture."""


class OutOfMemoryError(EngineError):
    """The model or its context does not fit in the memory it may use."""


class ContextFullError(EngineError):
    """The conversation does not fit in the model's context window."""


class DownloadError(EngineError):
    """A download failed (network, server, permissions, disk)."""


class VerificationError(EngineError):
    """A file's bytes do not match the hash the Hub published for it."""


class ModelInUseError(EngineError):
    """The model is loaded, so it cannot be deleted or replaced."""


class NonFiniteLogitsError(EngineError):
    """The model produced NaN or infinite logits: its files may be damaged, or a kernel failed."""
