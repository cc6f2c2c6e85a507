"""Uploaded attachments: checked by their content, stored under generated names, read safely.

:func:`store_upload` streams an upload to ``upload_dir`` and keeps it only if its bytes are one
of the accepted kinds and its extension agrees. :func:`extract_text` reads the text for search
in a separate, resource-limited process (``extract_worker.py``).

Messages are lazy translations whose parameters are never user input: a lazy string has
``__html__``, so Jinja and the flash session treat it as markup and would not escape them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import storage
from . import extract_worker
from .extract_worker import (
    OOXML_MAIN_TYPES,
    BoundedPart,
    MalformedFile,
    TooComplex,
    find_main_part,
    member_names,
    open_archive,
    sniff_text_encoding,
)

__all__ = [
    "ALLOWED_EXTENSIONS",
    "AttachmentError",
    "KINDS",
    "StoredFile",
    "extract_text",
    "human_size",
    "kind_for_content_type",
    "safe_download_name",
    "store_upload",
]

log = logging.getLogger(__name__)

MB = 1024 * 1024
UPLOAD_CHUNK = 64 * 1024
MAX_NAME_CHARS = 255  # Attachment.original_name
MAX_DOWNLOAD_NAME_BYTES = 200  # file systems allow 255 bytes; Cyrillic takes two each


@dataclass(frozen=True)
class FileKind:
    name: str
    extensions: tuple[str, ...]  # the first one is given to stored files
    content_type: str
    label: object  # lazy string: "a PDF document"


KINDS: dict[str, FileKind] = {
    kind.name: kind
    for kind in (
        FileKind("pdf", ("pdf",), "application/pdf", _l("a PDF document")),
        FileKind(
            "docx",
            ("docx",),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            _l("a Word document (DOCX)"),
        ),
        FileKind(
            "xlsx",
            ("xlsx",),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _l("an Excel workbook (XLSX)"),
        ),
        FileKind(
            "pptx",
            ("pptx",),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            _l("a PowerPoint presentation (PPTX)"),
        ),
        FileKind("txt", ("txt",), "text/plain", _l("a plain text file")),
        FileKind("png", ("png",), "image/png", _l("a PNG image")),
        FileKind("jpeg", ("jpg", "jpeg"), "image/jpeg", _l("a JPEG image")),
    )
}
ALLOWED_EXTENSIONS: tuple[str, ...] = tuple(
    ext for kind in KINDS.values() for ext in kind.extensions
)
_KIND_BY_EXTENSION = {ext: kind.name for kind in KINDS.values() for ext in kind.extensions}
_ALLOWED_LIST = "PDF, DOCX, XLSX, PPTX, TXT, PNG, JPEG"
_CHARSETS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16", "cp1251": "windows-1251"}


# --- errors -----------------------------------------------------------------------------

_HTTP_STATUS = {
    "too_large": 413,
    "unsupported_type": 415,
    "type_mismatch": 415,
    "malformed": 422,
    "too_complex": 422,
    "empty": 422,
    "storage_failed": 507,
}


class AttachmentError(Exception):
    """A file we refuse or could not keep, with a message the uploader can act on.

    ``code`` is one of too_large, unsupported_type, type_mismatch, malformed, too_complex,
    empty, storage_failed; ``detail`` is a technical reason for the logs, never shown.
    """

    def __init__(self, message, code: str, *, detail: str = ""):
        super().__init__(message, code)
        self.message = message
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return str(self.message)

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self.code]


def _unsupported(label) -> AttachmentError:
    return AttachmentError(
        _l(
            "The file is %(actual)s. Only %(allowed)s files can be attached.",
            actual=label,
            allowed=_ALLOWED_LIST,
        ),
        "unsupported_type",
    )


def _damaged(detail: str) -> AttachmentError:
    return AttachmentError(
        _l("The file is damaged and cannot be read. Save it again and upload the new copy."),
        "malformed",
        detail=detail,
    )


def _too_complex(detail: str) -> AttachmentError:
    return AttachmentError(
        _l(
            "The document unpacks into far more data than its size suggests, so it was not "
            "accepted. Save it again from Word, Excel or PowerPoint, or split it into parts."
        ),
        "too_complex",
        detail=detail,
    )


def _storage_failed(detail: str) -> AttachmentError:
    return AttachmentError(
        _l("The file could not be saved on the server. Try again later or tell the administrator."),
        "storage_failed",
        detail=detail,
    )


# --- storing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    original_name: str  # for display; always ends in an extension of ``kind``
    stored_name: str  # uuid4 hex + canonical extension, inside upload_dir
    content_type: str  # canonical MIME type; text/plain carries its charset
    size: int
    sha256: str
    kind: str  # a key of KINDS


def store_upload(
    stream: BinaryIO, filename: str | None, upload_dir: Path, max_bytes: int
) -> StoredFile:
    """Check an upload by its content and keep it in ``upload_dir`` under a generated name.

    The stream is copied in chunks to a temporary file in ``upload_dir`` and abandoned as
    soon as it exceeds ``max_bytes``; the type is detected from the bytes, and the name's
    extension must agree with it. On any failure the temporary file is removed and an
    :class:`AttachmentError` is raised; nothing is left behind.
    """
    display_name = _clean_name(filename)
    extension = _extension(display_name)
    if extension and extension not in ALLOWED_EXTENSIONS:
        raise AttachmentError(
            _l(
                "Files of type .%(ext)s cannot be attached. Allowed types: %(allowed)s.",
                ext=extension,
                allowed=_ALLOWED_LIST,
            ),
            "unsupported_type",
        )
    try:
        upload_dir.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=upload_dir)
    except OSError as exc:
        raise _storage_failed(f"cannot create a temporary file: {exc}") from exc
    temp_path = Path(temp_name)
    kept = False
    try:
        with os.fdopen(handle, "w+b") as fp:
            size, sha256 = _copy_limited(stream, fp, max_bytes)
            if size == 0:
                raise AttachmentError(_l("The file is empty."), "empty")
            fp.flush()
            os.fsync(fp.fileno())
            kind, encoding = _detect_kind(fp)
        _check_extension(extension, kind)
        file_kind = KINDS[kind]
        stored_name = f"{uuid.uuid4().hex}.{file_kind.extensions[0]}"
        os.replace(temp_path, upload_dir / stored_name)
        kept = True
    except OSError as exc:
        if storage.is_disk_full(exc):
            # Still "storage_failed" (507), with a message that says what is wrong.
            raise AttachmentError(
                storage.DISK_FULL_MESSAGE, "storage_failed", detail=str(exc)
            ) from exc
        raise _storage_failed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        if not kept:
            try:
                temp_path.unlink(missing_ok=True)
            except OSError:
                log.warning("Could not remove the temporary upload %s", temp_path)
    content_type = file_kind.content_type
    if encoding:
        content_type += f"; charset={_CHARSETS[encoding]}"
    return StoredFile(
        original_name=_with_extension(display_name, file_kind, MAX_NAME_CHARS),
        stored_name=stored_name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        kind=kind,
    )


def _copy_limited(stream: BinaryIO, fp: BinaryIO, max_bytes: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(UPLOAD_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise AttachmentError(
                _l(
                    "The file is larger than %(limit)s. Upload a smaller file or split it.",
                    limit=human_size(max_bytes),
                ),
                "too_large",
            )
        digest.update(chunk)
        storage.write_chunk(fp, chunk)
    return size, digest.hexdigest()


def _check_extension(extension: str, kind: str) -> None:
    file_kind = KINDS[kind]
    if not extension or extension in file_kind.extensions:
        return
    claimed = KINDS[_KIND_BY_EXTENSION[extension]]
    raise AttachmentError(
        _l(
            "The file is %(actual)s, not %(expected)s. Check that you chose the right file; "
            "if it is, rename it to .%(ext)s.",
            actual=file_kind.label,
            expected=claimed.label,
            ext=file_kind.extensions[0],
        ),
        "type_mismatch",
    )


# --- detection by content ---------------------------------------------------------------

_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # DOC/XLS/PPT, and password-protected DOCX/XLSX/PPTX
_FOREIGN_SIGNATURES = (
    (b"MZ", _l("a Windows program")),
    (b"\x7fELF", _l("a program")),
    (b"PK\x05\x06", _l("a ZIP archive")),
    (b"PK\x07\x08", _l("a ZIP archive")),
    (b"Rar!\x1a\x07", _l("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", _l("a 7-Zip archive")),
    (b"\x1f\x8b", _l("a compressed (gzip) file")),
    (b"GIF87a", _l("a GIF image")),
    (b"GIF89a", _l("a GIF image")),
    (b"BM", _l("a BMP image")),
)
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def _detect_kind(fp: BinaryIO) -> tuple[str, str]:
    """``(kind, text encoding or "")`` of the file's content; AttachmentError if refused."""
    fp.seek(0)
    head = fp.read(8192)
    if head.startswith(b"%PDF-"):
        return "pdf", ""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", ""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg", ""
    if head.startswith(b"PK\x03\x04"):
        return _detect_ooxml(fp), ""
    if head.startswith(_CFB):
        raise AttachmentError(
            _l(
                "The file is an old-format (DOC, XLS, PPT) or password-protected Office "
                "document. Save it as DOCX, XLSX or PPTX without a password and upload again."
            ),
            "unsupported_type",
        )
    encoding = sniff_text_encoding(fp)
    if encoding is not None:
        markup = _markup_label(head, encoding)
        if markup is not None:
            raise _unsupported(markup)
        return "txt", encoding
    for signature, label in _FOREIGN_SIGNATURES:
        if head.startswith(signature):
            raise _unsupported(label)
    if head[4:8] == b"ftyp":
        heic = head[8:12] in _HEIC_BRANDS
        raise _unsupported(_l("a HEIC photo") if heic else _l("a video or audio file"))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise _unsupported(_l("a WebP image"))
    raise AttachmentError(
        _l(
            "The file's format was not recognised. Only %(allowed)s files can be attached.",
            allowed=_ALLOWED_LIST,
        ),
        "unsupported_type",
    )


def _markup_label(head: bytes, encoding: str):
    """A label for text the browser would run or render (HTML, SVG, XML), else None."""
    start = head.decode(encoding, errors="ignore").lstrip("\ufeff \t\r\n").lower()[:2048]
    if start.startswith("{\\rtf"):
        return _l("an RTF document")
    if not start.startswith("<"):
        return None
    if "<svg" in start:
        return _l("an SVG image")
    if any(tag in start for tag in ("<!doctype html", "<html", "<head", "<body", "<script")):
        return _l("an HTML page")
    if start.startswith("<?xml"):
        return _l("an XML file")
    return None


def _detect_ooxml(fp: BinaryIO) -> str:
    try:
        with open_archive(fp) as archive:
            found = find_main_part(archive)
            if found is None:
                raise _unsupported(_zip_label(archive))
    except TooComplex as exc:
        raise _too_complex(str(exc)) from None
    except MalformedFile as exc:
        raise _damaged(str(exc)) from None
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:  # zipfile's own complaints
        raise _damaged(f"{type(exc).__name__}: {exc}") from None
    kind = OOXML_MAIN_TYPES.get(found[0])
    if kind is None:
        raise _unsupported(_l("an Office file with macros, a template or a slide show"))
    return kind


def _zip_label(archive: zipfile.ZipFile):
    mimetype = member_names(archive).get("mimetype")
    if mimetype is not None:
        with BoundedPart(archive, mimetype, 200) as part:
            if part.read(200).startswith(b"application/vnd.oasis.opendocument"):
                return _l("an OpenDocument file (ODT, ODS, ODP); save it as DOCX, XLSX or PPTX")
    return _l("a ZIP archive")


# --- names ------------------------------------------------------------------------------

# C0 and C1 controls, and the bidirectional overrides that make "fdp.exe" display as "exe.pdf".
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_EXTENSION = re.compile(r"[a-z0-9]{1,10}")


def _clean_name(filename: str | None) -> str:
    """The client's file name without folders, control characters or edge spaces and dots."""
    name = (filename or "").replace("\\", "/").rpartition("/")[2]
    # Windows drops trailing dots and spaces; leading dots hide files elsewhere.
    return _tidy(name).strip(". ")


def _tidy(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    name = _INVISIBLE.sub("", re.sub(r"\s", " ", name))  # a line break becomes a space
    return " ".join(name.split())


def _extension(name: str) -> str:
    """The lower-case extension, or "" when the name has none (``Договор от 12.03`` has none)."""
    stem, dot, extension = name.rpartition(".")
    extension = extension.lower()
    if not dot or not stem or not _EXTENSION.fullmatch(extension) or extension.isdigit():
        return ""
    return extension


def _with_extension(name: str, kind: FileKind, limit: int, *, unit=len) -> str:
    """``name`` ending in an extension of ``kind`` and at most ``limit`` units long."""
    if _extension(name) in kind.extensions:
        stem, _dot, extension = name.rpartition(".")
    else:
        stem, extension = name, kind.extensions[0]
    stem = stem.strip(". ") or "attachment"
    while stem and unit(f"{stem}.{extension}") > limit:
        stem = stem[:-1].rstrip()
    return f"{stem or 'attachment'}.{extension}"


_UNSAFE_IN_DOWNLOAD = re.compile(r"[\"'`]")
_SEPARATORS = re.compile(r"[/\\<>:|?*]")


def safe_download_name(original_name: str, kind: str | None = None) -> str:
    """A file name for Content-Disposition: Cyrillic kept; quotes, slashes and controls gone.

    With ``kind`` the name is made to end in that kind's extension (``store_upload``
    already guarantees one in ``original_name``). Flask's ``send_file`` adds the RFC 5987
    ``filename*`` form for non-ASCII names.
    """
    name = _tidy(_SEPARATORS.sub("_", _UNSAFE_IN_DOWNLOAD.sub("", original_name or "")))
    name = name.lstrip("._ ").rstrip(". ") or "attachment"
    if kind is not None:
        return _with_extension(name, KINDS[kind], MAX_DOWNLOAD_NAME_BYTES, unit=_utf8_length)
    stem, dot, extension = name.rpartition(".")
    if dot and stem:
        kind_for_extension = _KIND_BY_EXTENSION.get(extension.lower())
        if kind_for_extension is not None:
            return _with_extension(
                name, KINDS[kind_for_extension], MAX_DOWNLOAD_NAME_BYTES, unit=_utf8_length
            )
    while _utf8_length(name) > MAX_DOWNLOAD_NAME_BYTES:
        name = name[:-1]
    return name


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def kind_for_content_type(content_type: str) -> str | None:
    """The kind of a stored ``content_type`` (``text/plain; charset=utf-8`` → ``txt``)."""
    bare = content_type.partition(";")[0].strip().lower()
    return next((kind.name for kind in KINDS.values() if kind.content_type == bare), None)


def human_size(n: int) -> str:
    """``512 B``, ``1.5 KB``, ``20 MB`` — binary units, the request's number format."""
    locale = get_locale() or "en"
    if n < 1024:
        return _("%(size)s B", size=format_decimal(n, locale=locale))
    value, unit = n / 1024, "KB"
    if value >= 1024:
        value, unit = value / 1024, "MB"
    if value >= 1024:
        value, unit = value / 1024, "GB"
    size = format_decimal(value, format="#,##0.#" if value < 10 else "#,##0", locale=locale)
    if unit == "KB":
        return _("%(size)s KB", size=size)
    if unit == "MB":
        return _("%(size)s MB", size=size)
    return _("%(size)s GB", size=size)


# --- text extraction --------------------------------------------------------------------

WORKER_SCRIPT = Path(extract_worker.__file__).resolve()


def _worker_command(
    path: Path, kind: str, *, max_chars: int, memory_mb: int, cpu_seconds: int
) -> list[str]:
    # -I: no PYTHON* variables, no user site-packages, no script directory on sys.path.
    return [
        sys.executable,
        "-I",
        str(WORKER_SCRIPT),
        "--max-chars",
        str(max_chars),
        "--memory-mb",
        str(memory_mb),
        "--cpu-seconds",
        str(cpu_seconds),
        "--",
        str(path),
        kind,
    ]


def extract_text(
    path: Path,
    kind: str,
    *,
    timeout: float = 15,
    memory_mb: int = 512,
    max_chars: int = 500_000,
) -> str:
    """The text of a stored attachment for search, at most ``max_chars`` characters.

    Images have none. Everything else is read by ``extract_worker.py`` in a child process
    limited to ``memory_mb`` of address space and killed after ``timeout`` seconds, so a
    hostile file costs at most that. Raises :class:`AttachmentError` with code
    ``malformed`` or ``too_complex``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown attachment kind {kind!r}")
    if kind in ("png", "jpeg"):
        return ""
    command = _worker_command(
        Path(path),
        kind,
        max_chars=max_chars,
        memory_mb=memory_mb,
        cpu_seconds=math.ceil(timeout) + 1,
    )
    try:
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:  # run() has killed the worker already
        log.warning("Text extraction of %s timed out after %s s", path, timeout)
        raise _unreadable("too_complex", f"timed out after {timeout} s") from None
    if result.returncode == 0:
        return result.stdout.decode("utf-8", errors="replace")[:max_chars]
    lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
    reason = lines[-1][:500] if lines else f"exit status {result.returncode}"
    log.warning("Text extraction of %s failed: %s", path, reason)
    exhausted = result.returncode in (
        extract_worker.EXIT_TOO_COMPLEX,
        -signal.SIGXCPU,
        -signal.SIGKILL,
    ) or ("MemoryError" in reason)
    raise _unreadable("too_complex" if exhausted else "malformed", reason)


def _unreadable(code: str, detail: str) -> AttachmentError:
    if code == "too_complex":
        message = _l(
            "Reading the text of the file took too long or needed too much memory. "
            "Try a smaller or simpler file."
        )
    else:
        message = _l(
            "The text of the file could not be read: it seems damaged or password-protected."
        )
    return AttachmentError(message, code, detail=detail)
