"""Gossamer's desktop app (PySide6): the window, conversations, model manager and settings.

Nothing here imports torch at import time: the engine is loaded on a worker thread after the
window has painted (see ``app.worker``).
"""
