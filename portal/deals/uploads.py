"""CRM files kept between the preview and the import."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from pathlib import Path

from flask import current_app

from .. import storage

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_SECONDS = 24 * 3600


class UploadTooLarge(Exception):
    pass


class UploadDiskFull(Exception):
    """The disk filled up while the upload was written; the partial file is removed."""


def imports_dir() -> Path:
    path = Path(current_app.config["IMPORTS_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_upload(
    stream, filename: str, max_bytes: int, owner_id: int | None = None
) -> tuple[str, Path, str]:
    """Stream an upload to disk; returns (token, path, sha256). Old uploads are swept.

    ``owner_id`` goes into the file name: only its owner (or someone who may import for every
    team) opens the preview, whoever else learns the token."""
    _sweep()
    token = secrets.token_urlsafe(24)
    suffix = Path(filename or "").suffix.lower()[:8]
    if not re.fullmatch(r"\.[a-z0-9]{1,6}", suffix or ""):
        suffix = ".bin"
    owner = f".u{int(owner_id)}" if owner_id else ""
    path = imports_dir() / f"{token}{owner}{suffix}"
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge()
                digest.update(chunk)
                storage.write_chunk(out, chunk)
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if storage.is_disk_full(exc):
            raise UploadDiskFull() from exc
        raise
    return token, path, digest.hexdigest()


def find_upload(token: str, user=None) -> Path | None:
    """The kept upload of ``token``; with ``user``, only if they may open it (else None: 404)."""
    if not token or not TOKEN_RE.match(token):
        return None
    matches = list(imports_dir().glob(f"{token}.*"))
    if not matches:
        return None
    if user is not None and not _may_open(matches[0], token, user):
        return None
    return matches[0]


def _may_open(path: Path, token: str, user) -> bool:
    from ..policy import can

    owner = re.match(r"\.u(\d+)\.", path.name[len(token) :])
    return can(user, "deals.open_upload", int(owner.group(1)) if owner else None)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _sweep() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in imports_dir().glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass
