"""CRM files kept between the preview and the import."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from pathlib import Path

from flask import current_app

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_SECONDS = 24 * 3600


class UploadTooLarge(Exception):
    pass


def imports_dir() -> Path:
    path = Path(current_app.config["IMPORTS_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_upload(stream, filename: str, max_bytes: int) -> tuple[str, Path, str]:
    """Stream an upload to disk; returns (token, path, sha256). Old uploads are swept."""
    _sweep()
    token = secrets.token_urlsafe(24)
    suffix = Path(filename or "").suffix.lower()[:8]
    if not re.fullmatch(r"\.[a-z0-9]{1,6}", suffix or ""):
        suffix = ".bin"
    path = imports_dir() / f"{token}{suffix}"
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge()
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return token, path, digest.hexdigest()


def find_upload(token: str) -> Path | None:
    if not token or not TOKEN_RE.match(token):
        return None
    matches = list(imports_dir().glob(f"{token}.*"))
    return matches[0] if matches else None


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
