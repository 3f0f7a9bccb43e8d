"""Where attachment bytes live. The CRM talks to a small backend interface so a host can swap
the filesystem default for object storage (set ``app.extensions["kw_crm_storage"]``)."""
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK = 64 * 1024


class StorageBackend(Protocol):
    def save(self, key: str, stream: BinaryIO, max_bytes: int) -> int: ...
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...


class TooBig(Exception):
    """The stream went past ``max_bytes``; nothing was kept."""


class FilesystemStorage:
    """Files under one root directory, named by generated keys only (never client paths)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("storage keys are generated hex strings")
        return self.root / key[:2] / key

    def save(self, key: str, stream: BinaryIO, max_bytes: int) -> int:
        """Copy ``stream`` to ``key`` in chunks, refusing (and removing) anything over ``max_bytes``."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            with open(path, "xb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooBig
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def new_key() -> str:
    return uuid.uuid4().hex


def get_storage() -> StorageBackend:
    """The configured backend: an injected one, else files under ``CRM_STORAGE_DIR`` (default:
    ``<instance folder>/crm_attachments``)."""
    backend = current_app.extensions.get("kw_crm_storage")
    if backend is not None:
        return backend
    root = current_app.config.get("CRM_STORAGE_DIR") or os.path.join(current_app.instance_path, "crm_attachments")
    return FilesystemStorage(root)
