"""One Gossamer per profile: a lock file in the data folder, and a local socket to reach the running one.

Two windows on one chats file would each stream into chats the other may delete. The first launch takes
``gossamer.lock`` in the data folder (a QLockFile: a crashed holder's lock is taken over, its process being
gone) and listens on a local socket named after that folder. A second launch cannot take the lock: it
sends its ``--model`` (or nothing) to the first, which brings its window forward and loads that model,
and exits.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

LOCK_NAME = "gossamer.lock"
TIMEOUT_MS = 3000
ACK = b"ok\n"
MAX_MESSAGE_BYTES = 64 * 1024  # a path and a little JSON


def server_name(data_dir: Path) -> str:
    """The local socket's name: one per data folder (a profile), short enough for every OS."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return f"gossamer-{digest}"


class SingleInstance(QObject):
    """``acquire()`` in the first instance; ``hand_over(model)`` in a second. ``activated(model)`` fires in
    the first when a second launch hands over (``model``: a folder path or None)."""

    activated = Signal(object)

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.name = server_name(data_dir)
        self.lock = QLockFile(str(data_dir / LOCK_NAME))
        self.lock.setStaleLockTime(0)  # never stale by age: only when its process is gone
        self.server: QLocalServer | None = None

    def acquire(self) -> bool:
        """Take the profile and listen for later launches; False when another instance holds it."""
        if not self.lock.tryLock(0):
            if self.lock.error() == QLockFile.LockError.LockFailedError:
                return False  # held by a running instance
            # the data folder cannot hold a lock (read-only, a network share): run, unguarded
            log.warning("cannot lock %s (%s): running unguarded", LOCK_NAME, self.lock.error())
            return True
        QLocalServer.removeServer(self.name)  # a socket file left by a crashed instance
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(self.name):
            log.warning("cannot listen on %s: %s", self.name, self.server.errorString())
        self.server.newConnection.connect(self._on_connection)
        return True

    def hand_over(self, model: str | None) -> bool:
        """Send ``model`` to the running instance; True when it answered that it got it."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(TIMEOUT_MS):
            return False
        socket.write(json.dumps({"model": model}).encode() + b"\n")
        socket.flush()
        got = b""
        while not got.endswith(b"\n") and socket.waitForReadyRead(TIMEOUT_MS):
            got += bytes(socket.readAll().data())
        socket.disconnectFromServer()
        return got == ACK

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self.lock.unlock()

    def _on_connection(self) -> None:
        while self.server is not None and (socket := self.server.nextPendingConnection()) is not None:
            socket.setParent(self)
            buffer = bytearray()

            def read(socket=socket, buffer=buffer) -> None:
                buffer += bytes(socket.readAll().data())
                if not buffer.endswith(b"\n") and len(buffer) < MAX_MESSAGE_BYTES:
                    return
                socket.write(ACK)
                socket.flush()
                socket.disconnectFromServer()
                try:
                    message = json.loads(buffer.decode("utf-8"))
                    model = message.get("model") if isinstance(message, dict) else None
                except (ValueError, RecursionError):  # not from a Gossamer launch
                    model = None
                self.activated.emit(model if isinstance(model, str) else None)

            socket.readyRead.connect(read)
            socket.disconnected.connect(socket.deleteLater)
