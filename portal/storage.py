"""Writing files to disk: one place that knows what a full disk looks like."""

from __future__ import annotations

import errno
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FULL_STATUS = 507  # Insufficient Storage
DISK_FULL_MESSAGE = _l(
    "The server's disk is full, so nothing was saved. Try again later or tell the administrator."
)


def write_chunk(fp: BinaryIO, chunk: bytes) -> None:
    """Every upload, import and export byte goes through here (tests make it fail)."""
    fp.write(chunk)


def is_disk_full(exc: BaseException) -> bool:
    """A full disk or quota, from ``write`` itself or from SQLite ("database or disk is full")."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if "database or disk is full" in str(exc):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__
    return False
