"""Reads the text out of an attachment, in a process of its own.

:func:`portal.kb.attachments.extract_text` runs this file as a script::

    python -I extract_worker.py [--max-chars N] [--memory-mb M] [--cpu-seconds S] -- PATH KIND

The worker caps its own address space and CPU time before it opens the file, prints the text
as UTF-8 on stdout and exits 0; on failure it prints one line on stderr and exits with
``EXIT_MALFORMED`` or ``EXIT_TOO_COMPLEX``. A hostile file can therefore crash or exhaust only
this process, never a web worker.

Only the standard library is imported at module level: the web process imports this module
for the ZIP and charset checks it shares with the worker, and the worker must start small
under its memory limit (pypdf is imported only for PDFs). The file runs as a script rather
than ``python -m portal.kb.extract_worker`` so that starting it does not import the Flask
application (``portal/__init__`` and the blueprint's views).
"""

from __future__ import annotations

import argparse
import codecs
import posixpath
import re
import struct
import sys
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

MB = 1024 * 1024

EXIT_MALFORMED = 3
EXIT_TOO_COMPLEX = 4

# Zip-bomb limits, checked on the central directory before anything is decompressed.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_UNCOMPRESSED = 200 * MB  # declared total of all entries
MAX_ZIP_RATIO = 100  # uncompressed : compressed, for entries above RATIO_CHECK_FROM
RATIO_CHECK_FROM = 1 * MB
# 10,000 entries with generous names and extra fields fit in well under 2 MB; a bigger
# central directory would make zipfile build hundreds of thousands of ZipInfo objects.
MAX_CENTRAL_DIRECTORY = 2 * MB
MAX_SMALL_PART = 4 * MB  # [Content_Types].xml, relationships, workbook.xml, presentation.xml

READ_CHUNK = 64 * 1024

# The main part of each accepted OOXML kind, by the content type [Content_Types].xml gives it.
OOXML_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
# Main parts of the OOXML kinds we refuse (macros, templates, slide shows, binary workbooks).
OTHER_OOXML_MAIN_TYPES = frozenset(
    {
        "application/vnd.ms-word.document.macroenabled.main+xml",
        "application/vnd.ms-word.template.macroenabledtemplate.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
        "application/vnd.ms-excel.sheet.macroenabled.main+xml",
        "application/vnd.ms-excel.sheet.binary.macroenabled.main",
        "application/vnd.ms-excel.template.macroenabled.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
        "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml",
        "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml",
        "application/vnd.ms-powerpoint.template.macroenabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    }
)


class ExtractionError(Exception):
    """The file cannot be read; ``str(exc)`` is a one-line reason for the logs."""


class MalformedFile(ExtractionError):
    """Damaged, encrypted, or not what it claims to be."""


class TooComplex(ExtractionError):
    """Would take more memory or time than a file of this kind honestly needs."""


# --- plain text -------------------------------------------------------------------------

# Control characters other than \t \n \v \f \r, C1 controls included: their presence means
# binary data or the wrong charset.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def sniff_text_encoding(fp: BinaryIO) -> str | None:
    """The codec that decodes the whole of ``fp`` into clean text, or None.

    UTF-8 (with or without BOM) and UTF-16 with BOM are recognised; anything else that
    decodes as cp1251 — what Russian Windows still writes — is taken to be cp1251.
    """
    fp.seek(0)
    head = fp.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "cp1251")
    for encoding in candidates:
        fp.seek(0)
        if _decodes_cleanly(fp, encoding):
            return encoding
    return None


def _decodes_cleanly(fp: BinaryIO, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := fp.read(READ_CHUNK):
            if _CONTROL_CHARS.search(decoder.decode(chunk)):
                return False
        return not _CONTROL_CHARS.search(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return False


# --- ZIP containers ---------------------------------------------------------------------

_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"


def open_archive(fp: BinaryIO) -> zipfile.ZipFile:
    """A ZipFile over ``fp``, refused before decompressing anything if it looks like a bomb.

    Raises :class:`TooComplex` for too many or too large entries and :class:`MalformedFile`
    for anything zipfile cannot make sense of or for encrypted entries.
    """
    _check_central_directory(fp)
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, struct.error) as exc:
        raise MalformedFile(f"not a readable ZIP archive: {exc}") from None
    try:
        _check_entries(archive.infolist())
    except ExtractionError:
        archive.close()
        raise
    return archive


def _check_central_directory(fp: BinaryIO) -> None:
    # Read the end record ourselves, the way zipfile finds it, because zipfile loads the
    # whole central directory into ZipInfo objects before we could count them.
    fp.seek(0, 2)
    size = fp.tell()
    tail_size = min(size, _EOCD.size + 0xFFFF)
    fp.seek(size - tail_size)
    tail = fp.read(tail_size)
    if tail[-_EOCD.size : -_EOCD.size + 4] == _EOCD_SIGNATURE and tail[-2:] == b"\0\0":
        at = len(tail) - _EOCD.size
    else:
        at = tail.rfind(_EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise MalformedFile("no ZIP end-of-central-directory record")
    _sig, _disk, _cd_disk, _here, entries, cd_size, cd_offset, _comment = _EOCD.unpack_from(
        tail, at
    )
    # A legitimate office document under our size limit never needs ZIP64, whose records
    # would let the archive declare sizes this check does not see.
    zip64_locator = at >= 20 and tail[at - 20 : at - 16] == _ZIP64_LOCATOR_SIGNATURE
    if zip64_locator or entries == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):
        raise TooComplex("ZIP64 archive")
    if entries > MAX_ZIP_ENTRIES:
        raise TooComplex(f"{entries} entries in the archive (limit {MAX_ZIP_ENTRIES})")
    if cd_size > MAX_CENTRAL_DIRECTORY:
        raise TooComplex(f"central directory of {cd_size} bytes")


def _check_entries(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ZIP_ENTRIES:
        raise TooComplex(f"{len(infos)} entries in the archive (limit {MAX_ZIP_ENTRIES})")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise MalformedFile(f"encrypted entry {info.filename!r}")
        total += info.file_size
        if info.file_size > RATIO_CHECK_FROM and (
            info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1)
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise TooComplex(f"entry {info.filename!r} expands {ratio}:1")
    if total > MAX_ZIP_UNCOMPRESSED:
        raise TooComplex(f"entries expand to {total // MB} MB (limit {MAX_ZIP_UNCOMPRESSED // MB})")


def member_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Lower-cased part name → name in the archive (OPC part names ignore case)."""
    return {name.lower(): name for name in archive.namelist()}


# Markers of a DTD, which no OOXML part has and which entity-expansion attacks need. Looked
# for in the bytes, case-insensitively, in UTF-8/ASCII and both UTF-16 byte orders.
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!doctype", "<!entity")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
_DTD_OVERLAP = max(len(marker) for marker in _DTD_MARKERS) - 1


class BoundedPart:
    """One archive member as a binary file that refuses DTDs and stops at ``limit`` bytes.

    The limit holds whatever size the central directory declares for the member.
    """

    def __init__(self, archive: zipfile.ZipFile, name: str, limit: int = MAX_ZIP_UNCOMPRESSED):
        try:
            self._raw = archive.open(name)
        except (KeyError, zipfile.BadZipFile, NotImplementedError, ValueError, OSError) as exc:
            raise MalformedFile(f"cannot open part {name!r}: {exc}") from None
        self.name = name
        self._limit = limit
        self._count = 0
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > READ_CHUNK:
            size = READ_CHUNK
        try:
            data = self._raw.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
            raise MalformedFile(f"part {self.name!r} is damaged: {exc}") from None
        self._count += len(data)
        if self._count > self._limit:
            raise TooComplex(f"part {self.name!r} is larger than {self._limit} bytes")
        window = self._tail + data.lower()
        if any(marker in window for marker in _DTD_MARKERS):
            raise MalformedFile(f"part {self.name!r} declares a DTD or entities")
        self._tail = window[-_DTD_OVERLAP:]
        return data

    def read_all(self) -> bytes:
        chunks = []
        while chunk := self.read(READ_CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> BoundedPart:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_small_xml(archive: zipfile.ZipFile, name: str) -> ET.Element:
    """Parse a small part (content types, relationships, workbook) in one go."""
    with BoundedPart(archive, name, MAX_SMALL_PART) as part:
        data = part.read_all()
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise MalformedFile(f"part {name!r} is not well-formed XML: {exc}") from None


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def find_main_part(archive: zipfile.ZipFile) -> tuple[str, str] | None:
    """``(content type, member name)`` of the package's main part, or None if not OOXML.

    The content type is lower-cased; the member is checked to exist. Raises
    :class:`MalformedFile` if [Content_Types].xml names a main part that is missing.
    """
    names = member_names(archive)
    types_name = names.get("[content_types].xml")
    if types_name is None:
        return None
    types = read_small_xml(archive, types_name)
    known = OOXML_MAIN_TYPES.keys() | OTHER_OOXML_MAIN_TYPES
    for element in types:
        if local_name(element.tag) != "Override":
            continue
        content_type = (element.get("ContentType") or "").strip().lower()
        if content_type not in known:
            continue
        part = (element.get("PartName") or "").lstrip("/").lower()
        if part not in names:
            raise MalformedFile(f"main part {part!r} is missing")
        return content_type, names[part]
    return None


# --- streaming XML ----------------------------------------------------------------------


def _walk(part: BoundedPart) -> Iterator[tuple[str, str, ET.Element]]:
    """``(event, local name, element)`` for a streamed part, keeping memory flat.

    Each finished element is dropped from its parent at once, so only the open elements
    stay in memory. Handlers must take an element's text on its "end" event.
    """
    open_elements: list[ET.Element] = []
    try:
        for event, element in ET.iterparse(part, events=("start", "end")):
            if event == "start":
                open_elements.append(element)
                yield event, local_name(element.tag), element
            else:
                open_elements.pop()
                yield event, local_name(element.tag), element
                if open_elements:
                    del open_elements[-1][:]
    except ET.ParseError as exc:
        raise MalformedFile(f"part {part.name!r} is not well-formed XML: {exc}") from None


class _Enough(Exception):
    """The text has reached max_chars; stop reading."""


class TextSink:
    """Collects text up to ``max_chars`` characters, then stops the reading."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self._parts: list[str] = []
        self._size = 0

    def add(self, text: str | None) -> None:
        if not text:
            return
        room = self.max_chars - self._size
        if len(text) >= room:
            self._parts.append(text[:room])
            self._size = self.max_chars
            raise _Enough
        self._parts.append(text)
        self._size += len(text)

    def text(self) -> str:
        text = "".join(self._parts).replace("\r\n", "\n").replace("\r", "\n")
        text = re.sub(r"[ \t]+\n", "\n", text)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


class _Fallbacks:
    """Tracks mc:Fallback blocks, which repeat the text of the mc:Choice beside them."""

    def __init__(self) -> None:
        self.depth = 0

    def see(self, event: str, name: str) -> bool:
        """Follow one event; True while inside a fallback."""
        if name == "Fallback":
            self.depth += 1 if event == "start" else -1
        return self.depth > 0


def _docx_text(archive: zipfile.ZipFile, main_part: str, sink: TextSink) -> None:
    fallback = _Fallbacks()
    tab_stops = 0  # w:tab inside w:tabs defines a tab stop, not a tab character
    with BoundedPart(archive, main_part) as part:
        for event, name, element in _walk(part):
            if fallback.see(event, name):
                continue
            if name == "tabs":
                tab_stops += 1 if event == "start" else -1
            if event != "end":
                continue
            if name == "t":
                sink.add(element.text)
            elif name == "tab" and not tab_stops:
                sink.add("\t")
            elif name in ("br", "cr", "p"):
                sink.add("\n")


def _xlsx_text(archive: zipfile.ZipFile, main_part: str, sink: TextSink) -> None:
    names = member_names(archive)
    base = posixpath.dirname(main_part)
    shared_name = names.get(f"{base}/sharedstrings.xml".lower())
    shared = _shared_strings(archive, shared_name, sink.max_chars) if shared_name else []
    for sheet_name, sheet_part in _ordered_parts(archive, main_part, "sheet", "worksheets/sheet"):
        sink.add(f"{sheet_name}\n")
        cell_type, values = "n", []
        with BoundedPart(archive, sheet_part) as part:
            for event, name, element in _walk(part):
                if event == "start":
                    if name == "c":
                        cell_type, values = element.get("t", "n"), []
                    continue
                if name == "v" or (name == "t" and cell_type == "inlineStr"):
                    values.append(element.text or "")
                elif name == "c":
                    sink.add(_cell_text(cell_type, "".join(values), shared))
                    sink.add("\t")
                elif name == "row":
                    sink.add("\n")
        sink.add("\n")


def _cell_text(cell_type: str, value: str, shared: list[str]) -> str:
    if cell_type == "s":
        try:
            return shared[int(value)]
        except (ValueError, IndexError):
            return ""
    if cell_type in ("b", "e"):  # booleans and #N/A-style errors say nothing searchable
        return ""
    return value


def _shared_strings(archive: zipfile.ZipFile, name: str, max_chars: int) -> list[str]:
    # Only as many strings as could ever be printed are kept, so a huge table of tiny
    # strings cannot exhaust memory; cells pointing past the kept ones print nothing.
    strings: list[str] = []
    budget = max_chars
    current: list[str] = []
    phonetic = 0  # rPh runs repeat East Asian readings of the text
    with BoundedPart(archive, name) as part:
        for event, local, element in _walk(part):
            if local == "rPh":
                phonetic += 1 if event == "start" else -1
            if event != "end":
                continue
            if local == "t" and not phonetic:
                current.append(element.text or "")
            elif local == "si":
                text = "".join(current)
                current = []
                strings.append(text)
                budget -= len(text) + 1
                if budget <= 0:
                    break
    return strings


def _pptx_text(archive: zipfile.ZipFile, main_part: str, sink: TextSink) -> None:
    for _name, slide_part in _ordered_parts(archive, main_part, "sldId", "slides/slide"):
        fallback = _Fallbacks()
        with BoundedPart(archive, slide_part) as part:
            for event, name, element in _walk(part):
                if fallback.see(event, name) or event != "end":
                    continue
                if name == "t":
                    sink.add(element.text)
                elif name in ("br", "p"):
                    sink.add("\n")
        sink.add("\n\n")


_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _ordered_parts(
    archive: zipfile.ZipFile, main_part: str, item: str, fallback_stem: str
) -> list[tuple[str, str]]:
    """``(name, member)`` of the sheets or slides in the order the main part lists them.

    Falls back to the numbered part names (sheet1.xml, sheet2.xml…) when the main part or
    its relationships do not lead anywhere.
    """
    names = member_names(archive)
    base, main_file = posixpath.split(main_part)
    parts: list[tuple[str, str]] = []
    rels_name = names.get(f"{base}/_rels/{main_file}.rels".lower())
    if rels_name is not None:
        targets = {
            rel.get("Id"): rel.get("Target", "")
            for rel in read_small_xml(archive, rels_name)
            if rel.get("TargetMode") != "External"
        }
        for element in read_small_xml(archive, main_part).iter():
            if local_name(element.tag) != item:
                continue
            target = targets.get(element.get(_REL_ID))
            if not target:
                continue
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = posixpath.normpath(posixpath.join(base, target))
            member = names.get(path.lower())
            if member is not None and member != main_part:
                parts.append((element.get("name", ""), member))
    if parts:
        return parts
    pattern = re.compile(re.escape(f"{base}/{fallback_stem}".lower()) + r"(\d+)\.xml")
    numbered = sorted(
        (int(match.group(1)), member)
        for lower, member in names.items()
        if (match := pattern.fullmatch(lower))
    )
    return [("", member) for _number, member in numbered]


# --- per kind ---------------------------------------------------------------------------


def _pdf_text(path: Path, sink: TextSink) -> None:
    import logging

    logging.disable(logging.CRITICAL)  # pypdf logs every oddity of real-world PDFs
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception:  # noqa: BLE001 - any failure here means we cannot open it
            opened = 0
        if not opened:
            raise MalformedFile("the PDF is password-protected")
    for page in reader.pages:
        sink.add(page.extract_text())
        sink.add("\n\n")


def _txt_text(path: Path, sink: TextSink) -> None:
    with path.open("rb") as fp:
        encoding = sniff_text_encoding(fp)
    if encoding is None:
        raise MalformedFile("not text in UTF-8, UTF-16 or cp1251")
    with path.open(encoding=encoding, errors="replace") as text:
        sink.add(text.read(sink.max_chars + 1))


_OOXML_READERS = {"docx": _docx_text, "xlsx": _xlsx_text, "pptx": _pptx_text}


def _ooxml_text(path: Path, kind: str, sink: TextSink) -> None:
    with path.open("rb") as fp, open_archive(fp) as archive:
        found = find_main_part(archive)
        if found is None or OOXML_MAIN_TYPES.get(found[0]) != kind:
            raise MalformedFile(f"not a {kind.upper()} package")
        _OOXML_READERS[kind](archive, found[1], sink)


def extract(path: Path, kind: str, *, max_chars: int) -> str:
    """The text of ``path`` read as ``kind``, at most ``max_chars`` characters."""
    sink = TextSink(max_chars)
    try:
        if kind == "pdf":
            _pdf_text(path, sink)
        elif kind in _OOXML_READERS:
            _ooxml_text(path, kind, sink)
        elif kind == "txt":
            _txt_text(path, sink)
        elif kind not in ("png", "jpeg"):
            raise MalformedFile(f"unknown kind {kind!r}")
    except _Enough:
        pass
    return sink.text()


def apply_limits(*, memory_mb: int, cpu_seconds: int) -> None:
    """Cap this process's address space and CPU time (never raising an existing cap)."""
    import resource

    def lower(which: int, soft: int, hard: int) -> None:
        _current_soft, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(which, (soft, hard))

    lower(resource.RLIMIT_AS, memory_mb * MB, memory_mb * MB)
    # SIGXCPU at the soft limit, SIGKILL a second later if that is caught.
    lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the text of an attachment.")
    parser.add_argument("path", type=Path)
    parser.add_argument("kind")
    parser.add_argument("--max-chars", type=int, default=500_000)
    parser.add_argument("--memory-mb", type=int, default=512)
    parser.add_argument("--cpu-seconds", type=int, default=16)
    args = parser.parse_args(argv)
    apply_limits(memory_mb=args.memory_mb, cpu_seconds=args.cpu_seconds)
    warnings.simplefilter("ignore")
    try:
        text = extract(args.path, args.kind, max_chars=args.max_chars)
    except TooComplex as exc:
        return _fail(f"too complex: {exc}", EXIT_TOO_COMPLEX)
    except (MemoryError, RecursionError) as exc:
        return _fail(f"too complex: {type(exc).__name__}", EXIT_TOO_COMPLEX)
    except MalformedFile as exc:
        return _fail(f"malformed: {exc}", EXIT_MALFORMED)
    except Exception as exc:  # noqa: BLE001 - whatever a hostile file provokes is a verdict
        return _fail(f"malformed: {type(exc).__name__}: {exc}", EXIT_MALFORMED)
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()
    return 0


def _fail(reason: str, code: int) -> int:
    line = " ".join(reason.split())[:500]
    sys.stderr.write(line + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
