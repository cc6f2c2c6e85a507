"""Real files, built byte by byte, for the attachment tests: PDF, OOXML, text, images, bombs."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"

MAIN_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    "docm": "application/vnd.ms-word.document.macroEnabled.main+xml",
}
MAIN_PARTS = {
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
    "pptx": "ppt/presentation.xml",
    "docm": "word/document.xml",
}

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n'
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">'
    "]>\n"
)


# --- PDF ----------------------------------------------------------------------------------


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines``; any Unicode text, extractable through a ToUnicode map.

    Each distinct character gets a one-byte code in a simple font whose ToUnicode CMap maps
    the codes back, which is how real PDFs carry Cyrillic in non-Unicode fonts.
    """
    alphabet = sorted({char for line in lines for char in line})
    assert len(alphabet) < 255, "one-byte codes only"
    code = {char: index + 1 for index, char in enumerate(alphabet)}
    text_ops = []
    for number, line in enumerate(lines):
        hex_codes = "".join(f"{code[char]:02X}" for char in line)
        text_ops.append(f"1 0 0 1 72 {760 - 20 * number} Tm <{hex_codes}> Tj")
    content = ("BT /F1 14 Tf\n" + "\n".join(text_ops) + "\nET\n").encode("ascii")
    bfchars = "\n".join(f"<{code[char]:02X}> <{ord(char):04X}>" for char in alphabet)
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
        f"{len(alphabet)} beginbfchar\n{bfchars}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 1 "
        + f"/LastChar {len(alphabet)} /Widths [{' '.join(['600'] * len(alphabet))}] ".encode()
        + b"/ToUnicode 6 0 R >>",
        _stream(content),
        _stream(cmap),
    ]
    return _pdf_file(objects)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _pdf_file(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


# --- OOXML --------------------------------------------------------------------------------


def content_types(kind: str, extra_overrides: dict[str, str] | None = None) -> str:
    overrides = {f"/{MAIN_PARTS[kind]}": MAIN_TYPES[kind], **(extra_overrides or {})}
    items = "".join(
        f'<Override PartName="{name}" ContentType="{ctype}"/>' for name, ctype in overrides.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{items}</Types>"
    )


def _relationships(targets: dict[str, tuple[str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="{rid}" Type="{rtype}" Target="{target}"/>'
        for rid, (rtype, target) in targets.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{PKG_REL_NS}">{items}</Relationships>'
    )


def package(kind: str, parts: dict[str, str | bytes], *, types: str | None = None) -> bytes:
    """An OOXML zip: [Content_Types].xml, the package relationships and ``parts``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types or content_types(kind))
        archive.writestr("_rels/.rels", _relationships({"rId1": (OFFICE_DOC, MAIN_PARTS[kind])}))
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def document_xml(paragraphs: list[str]) -> str:
    body = "".join(
        f"<w:p><w:pPr><w:tabs><w:tab w:val='left' w:pos='720'/></w:tabs></w:pPr>"
        f"<w:r><w:t xml:space='preserve'>{escape(text)}</w:t></w:r></w:p>"
        for text in paragraphs
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    )


def docx(paragraphs: list[str]) -> bytes:
    return package("docx", {"word/document.xml": document_xml(paragraphs)})


def xlsx_inline(sheets: dict[str, list[list[str | int | float]]]) -> bytes:
    """An XLSX written by hand: inline strings and numbers, no shared strings."""
    sheet_items, rels, parts = [], {}, {}
    for number, (name, rows) in enumerate(sheets.items(), start=1):
        sheet_items.append(f'<sheet name="{escape(name)}" sheetId="{number}" r:id="rId{number}"/>')
        rels[f"rId{number}"] = (f"{R_NS}/worksheet", f"worksheets/sheet{number}.xml")
        row_xml = []
        for row in rows:
            cells = []
            for value in row:
                if isinstance(value, str):
                    cells.append(f'<c t="inlineStr"><is><t>{escape(value)}</t></is></c>')
                else:
                    cells.append(f"<c><v>{value}</v></c>")
            row_xml.append(f"<row>{''.join(cells)}</row>")
        parts[f"xl/worksheets/sheet{number}.xml"] = (
            f'<worksheet xmlns="{S_NS}"><sheetData>{"".join(row_xml)}</sheetData></worksheet>'
        )
    parts["xl/workbook.xml"] = (
        f'<workbook xmlns="{S_NS}" xmlns:r="{R_NS}"><sheets>{"".join(sheet_items)}</sheets>'
        "</workbook>"
    )
    parts["xl/_rels/workbook.xml.rels"] = _relationships(rels)
    return package("xlsx", parts)


def pptx(slides: list[list[str]], *, order: list[int] | None = None) -> bytes:
    """A PPTX whose slide files are numbered 1..n but shown in ``order`` (1-based)."""
    order = order or list(range(1, len(slides) + 1))
    parts, rels = {}, {}
    for number, paragraphs in enumerate(slides, start=1):
        paras = "".join(f"<a:p><a:r><a:t>{escape(text)}</a:t></a:r></a:p>" for text in paragraphs)
        parts[f"ppt/slides/slide{number}.xml"] = (
            f'<p:sld xmlns:p="{P_NS}" xmlns:a="{A_NS}"><p:cSld><p:spTree><p:sp><p:txBody>'
            f"{paras}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
        )
        rels[f"rId{number}"] = (f"{R_NS}/slide", f"slides/slide{number}.xml")
    ids = "".join(f'<p:sldId id="{255 + n}" r:id="rId{n}"/>' for n in order)
    parts["ppt/presentation.xml"] = (
        f'<p:presentation xmlns:p="{P_NS}" xmlns:r="{R_NS}"><p:sldIdLst>{ids}</p:sldIdLst>'
        "</p:presentation>"
    )
    parts["ppt/_rels/presentation.xml.rels"] = _relationships(rels)
    return package("pptx", parts)


def plain_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_docx_bomb(path: Path, expanded_mb: int) -> None:
    """A DOCX whose document.xml inflates to ``expanded_mb`` MB of zeros, written streaming."""
    chunk = b"0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", content_types("docx"))
        archive.writestr("_rels/.rels", _relationships({"rId1": (OFFICE_DOC, "word/document.xml")}))
        with archive.open("word/document.xml", "w") as part:
            part.write(f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>'.encode())
            for _ in range(expanded_mb):
                part.write(chunk)
            part.write(b"</w:t></w:r></w:p></w:body></w:document>")


def lie_about_size(data: bytes, member: str, declared: int) -> bytes:
    """The zip ``data`` with ``member``'s uncompressed size rewritten to ``declared``."""
    out = bytearray(data)
    name = member.encode()
    local = out.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", out, local + 26)[0]
        if out[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", out, local + 22, declared)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", out, central + 28)[0]
        if out[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", out, central + 24, declared)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


# --- images and others --------------------------------------------------------------------


def png() -> bytes:
    """A real 1×1 white PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """The start and end of a JFIF file: enough for a content check."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xd9"


def windows_exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\0\0"


def old_office() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
