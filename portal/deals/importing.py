"""Deal files exported from CRMs, read into rows: amoCRM, Bitrix24 and the Planerka template.

:func:`parse_deal_file` is pure — no database, no Flask app needed: it reads a CSV, an XLSX
or Bitrix24's HTML ``.xls`` and returns :class:`ParsedDeal` rows plus a :class:`RowError`
for every row it could not take. The import service matches managers, applies segment
rules, attaches the team's timezone and writes.

Decisions worth knowing:

* The format (amoCRM, Bitrix24, the generic template of API.md) is recognised from the
  header row, whatever the file's extension; the header row is the first row that names
  the required columns of a format (a title line above it is skipped).
* Formula-looking text (``=HYPERLINK(…)``, ``+7 495 …``, ``-``, ``@…``) is kept as plain
  text exactly as written and never evaluated: XLSX is read with ``data_only=False``, so a
  formula cell yields its formula text rather than a cached value (which an export may not
  even carry). Amount and date columns are numbers: ``-5000`` is a negative amount there,
  and a formula is an invalid value. Whoever writes these strings to CSV/XLSX again must
  neutralise them on the way out.
* Messages are lazy (translated when rendered) and may quote the file through
  ``%(value)s``; flask_babel's lazy strings have ``__html__`` and Jinja would trust them as
  markup, so our ``_l`` makes lazy strings that escape themselves in HTML. Put
  ``str(message)`` into JSON.
* Datetimes are naive local time as written in the file. Only when a generic file states
  an offset (``2026-11-27T14:05:00+03:00``, ``…Z``) is the datetime aware, so that the
  instant is not lost; the service attaches the team's timezone to naive ones only.
* A single comma in an amount is the decimal separator (``1250,50``), as Russian locales
  write it; several commas, or a comma before a dot, are thousands separators.
* ``raw`` holds only non-empty cells (stripped), which keeps 100,000 wide amoCRM rows within
  the memory budget; a missing key means an empty cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from itertools import chain
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError

from flask_babel import gettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape
from openpyxl import load_workbook
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel
from openpyxl.utils.exceptions import InvalidFileException

__all__ = [
    "FIELDS",
    "FORMATS",
    "STATUSES",
    "ImportFileError",
    "ParseResult",
    "ParsedDeal",
    "RowError",
    "normalize_header",
    "parse_deal_file",
]

log = logging.getLogger(__name__)

FORMATS = ("amocrm", "bitrix24", "generic")
STATUSES = ("open", "won", "lost")
# Our fields, as ``column_overrides`` and ``ParseResult.mapping`` name them.
FIELDS = (
    "external_id",
    "title",
    "client",
    "segment",
    "manager",
    "amount",
    "currency",
    "stage",
    "pipeline",
    "status",
    "created_at",
    "closed_at",
    "tags",
)
_FIELD_ALIASES = {"manager_email": "manager"}  # API.md's name for it

PROGRESS_EVERY = 1000
HEADER_SEARCH_ROWS = 20  # non-blank rows looked at for the header row
SAMPLE_BYTES = 64 * 1024
SHOWN_VALUE_CHARS = 50
MAX_AMOUNT_DIGITS = 15  # integer digits; more is a typo or a pasted phone number
EXCEL_MAX_SERIAL = 2958465  # 9999-12-31


class _Message(LazyString):
    """A lazy message that may quote the file: escaped when Jinja renders it."""

    def __html__(self) -> Markup:
        return escape(str(self))


def _l(msgid: str, **variables: Any) -> LazyString:
    """``lazy_gettext`` (extracted with ``-k _l``) whose HTML form escapes the values."""
    return _Message(gettext, msgid, **variables)


# --- results ----------------------------------------------------------------------------


@dataclass(slots=True)
class ParsedDeal:
    row: int  # as a person counts rows in the file: the header is row 1 of a plain export
    external_id: str | None
    title: str
    client: str  # "" when the file names no company or contact
    segment: str | None
    manager: str  # the name or e-mail as written; the service finds the user
    amount: Decimal | None
    currency: str
    stage: str | None
    pipeline: str | None
    status: str  # open | won | lost
    created_at: datetime | None  # naive local time unless the file states an offset
    closed_at: datetime | None
    tags: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)  # normalized header → non-empty cell


@dataclass(slots=True)
class RowError:
    row: int
    message: LazyString
    field: str | None = None


@dataclass
class ParseResult:
    format: str
    encoding: str
    delimiter: str | None
    headers: list[str]
    mapping: dict[str, str]
    deals: list[ParsedDeal]
    errors: list[RowError]
    total_rows: int


class ImportFileError(Exception):
    """A file that cannot be read as a deals table at all; ``message`` is lazy.

    ``code``: empty, binary, legacy_xls, unreadable, not_a_table, malformed,
    unknown_format, missing_columns.
    """

    def __init__(self, message: LazyString, code: str, *, detail: str = ""):
        super().__init__(message, code)
        self.message = message
        self.code = code
        self.detail = detail  # for the logs, never shown

    def __str__(self) -> str:
        return str(self.message)


# --- headers and formats -----------------------------------------------------------------


def normalize_header(text: str) -> str:
    """``" Бюджет\xa0 "`` → ``"бюджет"``: whitespace collapsed, casefolded, ё → е."""
    return " ".join(text.replace("\ufeff", "").split()).casefold().replace("ё", "е")


@dataclass(frozen=True)
class _Layout:
    name: str
    columns: dict[str, tuple[str, ...]]  # field → normalized headers, best first
    required: dict[str, str]  # field → header as the export writes it, for messages
    signature: frozenset[str]  # headers that tell this export from the others


_AMOCRM = _Layout(
    name="amocrm",
    columns={
        "external_id": ("id",),
        "title": ("название сделки", "название"),
        "client": ("компания", "компания контакта", "полное имя контакта", "контакт"),
        "segment": ("сегмент",),
        "manager": ("ответственный",),
        "amount": ("бюджет", "бюджет, руб.", "бюджет, руб", "бюджет сделки"),
        "currency": ("валюта",),
        "stage": ("этап сделки", "этап", "статус сделки"),
        "pipeline": ("воронка",),
        "created_at": ("дата создания сделки", "дата создания"),
        "closed_at": ("дата закрытия", "дата закрытия сделки"),
        "tags": ("теги",),
    },
    required={"external_id": "ID", "title": "Название сделки", "manager": "Ответственный"},
    signature=frozenset(
        {
            "бюджет",
            "этап сделки",
            "дата создания сделки",
            "кем создана сделка",
            "воронка",
            "теги",
            "полное имя контакта",
            "компания контакта",
        }
    ),
)

_BITRIX24 = _Layout(
    name="bitrix24",
    columns={
        "external_id": ("id",),
        "title": ("название сделки", "название"),
        "client": ("компания", "контакт", "клиент"),
        "segment": ("сегмент",),
        "manager": ("ответственный",),
        "amount": ("сумма", "сумма сделки", "возможная сумма"),
        "currency": ("валюта",),
        "stage": ("стадия сделки", "стадия"),
        "pipeline": ("направление", "воронка"),
        "created_at": ("дата создания", "дата начала"),
        "closed_at": ("дата закрытия",),
        # Bitrix24 sets CLOSEDATE to the day a deal closes; for open deals it is a plan.
        "expected_close": ("предполагаемая дата закрытия",),
        "tags": ("теги",),
    },
    required={"external_id": "ID", "title": "Название сделки", "manager": "Ответственный"},
    signature=frozenset(
        {
            "стадия сделки",
            "сумма",
            "валюта",
            "дата начала",
            "предполагаемая дата закрытия",
            "контакт",
            "направление",
        }
    ),
)

_GENERIC = _Layout(
    name="generic",
    columns={
        "external_id": ("external_id",),
        "title": ("title",),
        "client": ("client",),
        "segment": ("segment",),
        "manager": ("manager_email", "manager"),
        "amount": ("amount",),
        "currency": ("currency",),
        "stage": ("stage",),
        "pipeline": ("pipeline",),
        "status": ("status",),
        "created_at": ("created_at",),
        "closed_at": ("closed_at",),
        "tags": ("tags",),
    },
    required={"title": "title", "manager": "manager_email"},
    signature=frozenset(
        {"external_id", "client", "amount", "currency", "stage", "status", "created_at"}
    ),
)

_LAYOUTS = {layout.name: layout for layout in (_AMOCRM, _BITRIX24, _GENERIC)}
_FORMAT_LABELS = {"amocrm": "amoCRM", "bitrix24": "Bitrix24", "generic": "Planerka"}


# --- statuses, currencies ----------------------------------------------------------------

_WON = {
    "успешно реализовано",
    "сделка успешна",
    "успешная сделка",
    "сделка выиграна",
    "успешно",
    "успешна",
    "успех",
    "выиграна",
    "won",
    "closed won",
    "closed - won",
    "deal won",
    "successfully realized",
}
_LOST = {
    "закрыто и не реализовано",
    "сделка провалена",
    "сделка проиграна",
    "анализ причины провала",
    "провал",
    "провалена",
    "проиграна",
    "неуспешно",
    "lost",
    "closed lost",
    "closed - lost",
    "deal lost",
    "analyse failure",
    "analyze failure",
    "closed and not implemented",
}
_STATUS_WORDS = {
    **{word: "open" for word in ("open", "открыта", "открыто", "открытая", "в работе")},
    **{word: "won" for word in (*_WON, "выиграно", "реализовано", "закрыта успешно")},
    **{word: "lost" for word in (*_LOST, "проиграно", "отказ", "закрыта неуспешно")},
}

_CURRENCY_NAMES = {
    "₽": "RUB",
    "руб": "RUB",
    "руб.": "RUB",
    "р": "RUB",
    "р.": "RUB",
    "рубль": "RUB",
    "рубли": "RUB",
    "российский рубль": "RUB",
    "rur": "RUB",
    "$": "USD",
    "доллар": "USD",
    "доллар сша": "USD",
    "доллары сша": "USD",
    "us dollar": "USD",
    "€": "EUR",
    "евро": "EUR",
    "euro": "EUR",
    "тенге": "KZT",
    "казахстанский тенге": "KZT",
    "белорусский рубль": "BYN",
    "юань": "CNY",
    "китайский юань": "CNY",
    "гривна": "UAH",
}
_CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")


# --- cell values ------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    """A cell as the text a person sees (XLSX cells come typed)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    text = getattr(value, "text", None)  # openpyxl's ArrayFormula
    return text if isinstance(text, str) else str(value)


def _shown(value: Any) -> str:
    """The bad value as quoted in a message: one line, at most 50 characters."""
    text = " ".join(_cell_text(value).split())
    if len(text) > SHOWN_VALUE_CHARS:
        text = text[: SHOWN_VALUE_CHARS - 1] + "…"
    return text


_FORMULA_START = ("=", "+", "-", "@")


def _line(text: str) -> str:
    """One-line text with whitespace collapsed; formula-looking text is kept as written."""
    if text.lstrip().startswith(_FORMULA_START):
        return text.strip()
    collapsed = " ".join(text.split())
    return text if collapsed == text else collapsed  # the same object, shared with ``raw``


class _Strings:
    """Each distinct short cell text kept once for the whole file.

    Managers, stages, cities and tags repeat on every row; without this, 100,000 CSV rows
    hold a million copies of them. The first ``limit`` distinct texts are remembered, which
    catches the repeating ones early on; unique texts (IDs, titles) then just pass through.
    """

    def __init__(self, limit: int = 200_000, longest: int = 100):
        self._known: dict[str, str] = {}
        self._limit = limit
        self._longest = longest

    def __call__(self, text: str) -> str:
        known = self._known.get(text)
        if known is not None:
            return known
        if len(self._known) < self._limit and len(text) <= self._longest:
            self._known[text] = text
        return text


_AMOUNT = re.compile(
    r"(?P<sign>[-+−]?)\s*"
    r"(?P<pre>₽|\$|€|rub|rur|usd|eur)?\s*"
    r"(?P<num>\d[\d\s'’.,]*?)\s*"
    r"(?P<post>₽|руб\.?|р\.?|rub\.?|rur|usd|\$|eur|€)?",
    re.IGNORECASE,
)
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_AMOUNT_CURRENCY = {"₽": "RUB", "руб": "RUB", "р": "RUB", "rub": "RUB", "rur": "RUB"}
_AMOUNT_CURRENCY |= {"usd": "USD", "$": "USD", "eur": "EUR", "€": "EUR"}
_NO_VALUE = {"-", "—", "–"}


def _parse_amount(value: Any) -> tuple[Decimal | None, str | None]:
    """``"1 250 000,50 ₽"`` → ``(Decimal("1250000.50"), "RUB")``; ValueError if not a sum."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not finite")
        amount = Decimal(repr(value))
    elif isinstance(value, Decimal):
        amount = value
    else:
        text = _cell_text(value).strip()
        if not text or text in _NO_VALUE:
            return None, None
        match = _AMOUNT.fullmatch(text)
        if match is None or (match["pre"] and match["post"]):
            raise ValueError("not a number")
        marker = (match["pre"] or match["post"] or "").casefold().rstrip(".")
        number = re.sub(r"[\s'’]", "", match["num"])
        if "," in number and "." in number:
            thousands, decimal = (".", ",") if number.rfind(",") > number.rfind(".") else (",", ".")
            number = number.replace(thousands, "").replace(decimal, ".")
        elif "," in number:
            number = number.replace(",", "") if number.count(",") > 1 else number.replace(",", ".")
        elif number.count(".") > 1:
            number = number.replace(".", "")
        if not _PLAIN_NUMBER.fullmatch(number):
            raise ValueError("not a number")
        amount = Decimal(number)
        if match["sign"] in ("-", "−"):
            amount = -amount
        if len(number.partition(".")[0].lstrip("0")) > MAX_AMOUNT_DIGITS:
            raise OverflowError("too large")
        return amount, _AMOUNT_CURRENCY.get(marker)
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** MAX_AMOUNT_DIGITS:
        raise OverflowError("too large")
    return amount, None


def _parse_currency(text: str) -> str:
    """``"Российский рубль"``/``"rub"``/``"₽"`` → ``"RUB"``; ValueError if unknown."""
    key = " ".join(text.split()).casefold()
    if key in _CURRENCY_NAMES:
        return _CURRENCY_NAMES[key]
    if _CURRENCY_CODE.fullmatch(key):
        return key.upper()
    raise ValueError("unknown currency")


_DATE_DMY = re.compile(
    r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:(?:,?\s+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
_DATE_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_EXCEL_SERIAL = re.compile(r"\d{5,7}(?:[.,]\d+)?")  # 10000 = 1927; "2026" is not a date
_NO_DATE = {"не закрыта", "не закрыто", "нет", *_NO_VALUE}


def _parse_datetime(value: Any, epoch: datetime = CALENDAR_WINDOWS_1900) -> datetime | None:
    """A date cell in any spelling the exports use → datetime; ValueError if it is not one."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, int | float):
        return _from_serial(float(value), epoch)
    text = " ".join(_cell_text(value).split())
    if not text or text.casefold() in _NO_DATE:
        return None
    if match := _DATE_DMY.fullmatch(text):
        day, month, year, hour, minute, second = match.groups()
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    if match := _DATE_ISO.fullmatch(text):
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        tzinfo = None
        if offset:
            tzinfo = UTC if offset.upper() == "Z" else _offset(offset)
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tzinfo,
        )
    if _EXCEL_SERIAL.fullmatch(text):
        return _from_serial(float(text.replace(",", ".")), epoch)
    raise ValueError("not a date")


def _offset(text: str) -> timezone:
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return timezone(-delta if text[0] == "-" else delta)


def _from_serial(serial: float, epoch: datetime) -> datetime:
    if not 1 <= serial <= EXCEL_MAX_SERIAL:
        raise ValueError("serial out of range")
    result = from_excel(serial, epoch=epoch)
    if not isinstance(result, datetime):
        raise ValueError("not a date")
    # Excel keeps whole seconds; the float carries noise either side of them.
    return (result + timedelta(microseconds=500_000)).replace(microsecond=0)


def _status_of_stage(stage: str | None, stage_map: dict[str, str]) -> str:
    if not stage:
        return "open"
    key = normalize_header(stage)
    if key in stage_map:
        return stage_map[key]
    if key in _WON:
        return "won"
    if key in _LOST:
        return "lost"
    return "open"


# --- reading tables ---------------------------------------------------------------------

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # BIFF .xls, .doc and other OLE files
_OTHER_BINARY = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
)
_META_CHARSET = re.compile(rb"<meta[^>]*charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\ufffd]")


class _Table:
    """Rows of one table in a file, read lazily: ``rows`` yields (row number, cells)."""

    def __init__(self, kind: str, encoding: str, delimiter: str | None, rows: Iterator, epoch):
        self.kind = kind  # csv | html | xlsx
        self.encoding = encoding
        self.delimiter = delimiter
        self.rows: Iterator[tuple[int, list[Any] | tuple[Any, ...]]] = rows
        self.epoch = epoch
        self.closers: list[Callable[[], None]] = []

    def close(self) -> None:
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()
        for closer in self.closers:
            closer()


def _open_table(stream: BinaryIO) -> _Table:
    start = stream.tell()
    head = stream.read(SAMPLE_BYTES)
    if not head:
        raise ImportFileError(
            _l("The file is empty. Export the deals from your CRM again and upload the new file."),
            "empty",
        )
    if head.startswith(_ZIP_MAGIC):
        stream.seek(start)
        return _xlsx_table(stream)
    if head.startswith(_OLE_MAGIC):
        raise ImportFileError(
            _l(
                "This is an old binary Excel file (.xls), which cannot be read. Open it in "
                "Excel and save it as an Excel workbook (XLSX) or as CSV, then upload that file."
            ),
            "legacy_xls",
        )
    if head.startswith(_OTHER_BINARY):
        raise _not_a_table("binary", "known binary signature")

    label, codec, bom = _detect_encoding(stream, start, head)
    if not codec.startswith("utf-16") and b"\x00" in head[bom:]:
        raise _not_a_table("binary", "NUL bytes")
    sample = codecs.getincrementaldecoder(codec)(errors="replace").decode(head[bom:])
    if len(_CONTROL.findall(sample)) > max(4, len(sample) // 200):
        raise _not_a_table("binary", "control characters")
    if sample.lstrip().startswith("<"):
        return _Table("html", label, None, _html_rows(stream, start + bom, codec), None)
    delimiter = _sniff_delimiter(sample)
    return _Table("csv", label, delimiter, _csv_rows(stream, start + bom, codec, delimiter), None)


def _not_a_table(code: str, detail: str) -> ImportFileError:
    return ImportFileError(
        _l(
            "The file is not a table. Upload the deals export from amoCRM or Bitrix24 as CSV "
            "or XLSX, or the Planerka template."
        ),
        code,
        detail=detail,
    )


def _detect_encoding(stream: BinaryIO, start: int, head: bytes) -> tuple[str, str, int]:
    """(label, codec, BOM length): a BOM, else strict UTF-8 over the whole file, else
    the charset an HTML page declares, else cp1251."""
    for bom, label, codec in _BOMS:
        if head.startswith(bom):
            return label, codec, len(bom)
    stream.seek(start)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", "utf-8", 0
    if head.lstrip().startswith(b"<") and (match := _META_CHARSET.search(head)):
        try:
            codec = codecs.lookup(match[1].decode("ascii")).name
        except LookupError:
            codec = ""
        if codec and codec != "utf-8":
            return codec, codec, 0
    return "cp1251", "cp1251", 0


def _sniff_delimiter(sample: str) -> str:
    """``;``, ``,`` or tab: csv.Sniffer on the first lines, checked against the header."""
    lines = sample.splitlines()
    header = next((line for line in lines if line.strip()), "")
    counts = {d: _count_unquoted(header, d) for d in (";", ",", "\t")}
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=";,\t").delimiter
    except csv.Error:
        sniffed = ""
    best = max(counts, key=lambda d: counts[d])
    if sniffed in counts and counts[sniffed] and counts[sniffed] >= counts[best]:
        return sniffed
    return best if counts[best] else ","


def _count_unquoted(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def _csv_rows(stream: BinaryIO, offset: int, codec: str, delimiter: str) -> Iterator:
    stream.seek(offset)
    text = io.TextIOWrapper(stream, encoding=codec, errors="replace", newline="")
    number = 0
    try:
        for cells in csv.reader(text, delimiter=delimiter):
            number += 1
            yield number, cells
    except csv.Error as exc:
        raise ImportFileError(
            _l(
                "The file cannot be read as a table after row %(row)s: a cell is too long "
                "or its quotes are not closed. Save the file from Excel again as CSV or XLSX.",
                row=number,
            ),
            "malformed",
            detail=str(exc),
        ) from exc
    finally:
        text.detach()  # the stream is closed by whoever opened it


class _HTMLTable(HTMLParser):
    """``<tr>``/``<td>``/``<th>`` of an HTML page (Bitrix24's ``.xls``) as rows of text."""

    _INLINE_SPACE = re.compile(r"[ \t\r\n\f]+")  # NBSP stays: amounts use it

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.done: list[tuple[int, list[str]]] = []
        self.rows_seen = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._span = 1
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag == "tr":
            self._end_row()
            self._row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self._row is None:
                self._row = []
            self._cell = []
            span = dict(attrs).get("colspan") or "1"
            self._span = (
                min(int(span), 1000) if span.isascii() and span.isdigit() and int(span) > 0 else 1
            )
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._hidden:
            self._cell.append(self._INLINE_SPACE.sub(" ", data))

    def finish(self) -> None:
        self.close()
        self._end_row()

    def _end_cell(self) -> None:
        if self._cell is None or self._row is None:
            return
        text = "\n".join(line.strip(" ") for line in "".join(self._cell).split("\n"))
        self._row.append(text.strip("\n "))
        self._row.extend([""] * (self._span - 1))
        self._cell, self._span = None, 1

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is not None:
            self.rows_seen += 1
            self.done.append((self.rows_seen, self._row))
            self._row = None


def _html_rows(stream: BinaryIO, offset: int, codec: str) -> Iterator:
    stream.seek(offset)
    text = io.TextIOWrapper(stream, encoding=codec, errors="replace")
    parser = _HTMLTable()
    try:
        while chunk := text.read(SAMPLE_BYTES):
            parser.feed(chunk)
            yield from parser.done
            parser.done.clear()
        parser.finish()
        yield from parser.done
    finally:
        text.detach()


def _xlsx_table(stream: BinaryIO) -> _Table:
    try:
        # Files from CRMs lack styles openpyxl expects, and it warns about them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # data_only=False: a formula cell gives its formula as text, never a value.
            workbook = load_workbook(stream, read_only=True, data_only=False, keep_links=False)
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        ParseError,
        ValueError,
        TypeError,
        OSError,
        EOFError,
        IndexError,
        AttributeError,
    ) as exc:
        raise ImportFileError(
            _l(
                "The file is damaged or is not an Excel workbook. Open it in Excel, save it "
                "as XLSX or CSV and upload it again."
            ),
            "unreadable",
            detail=repr(exc),
        ) from exc
    try:
        rows = _first_sheet_with_data(workbook)
    except BaseException:
        workbook.close()
        raise
    table = _Table("xlsx", "utf-8", None, rows, workbook.epoch)
    table.closers.append(workbook.close)
    return table


def _first_sheet_with_data(workbook) -> Iterator:
    for sheet in workbook.worksheets:
        # Exports often carry a wrong <dimension>; read-only mode would trust it.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        seen: list[tuple] = []
        for row in rows:
            seen.append(row)
            if not _blank(row):
                return _numbered(seen, rows)
    return iter(())


def _numbered(seen: list[tuple], rest: Iterator[tuple]) -> Iterator:
    try:
        yield from enumerate(chain(seen, rest), start=1)
    finally:
        rest.close()  # type: ignore[attr-defined]  # openpyxl's generator holds the sheet open


def _blank(cells) -> bool:
    for value in cells:
        if value is not None and (not isinstance(value, str) or value.strip()):
            return False
    return True


# --- the header row ---------------------------------------------------------------------


def _column_index(headers: list[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for number, header in enumerate(headers):
        key = normalize_header(header)
        if key:
            index.setdefault(key, []).append(number)
    return index


def _columns(
    layout: _Layout, index: dict[str, list[int]], overrides: dict[str, str]
) -> dict[str, tuple[int, ...]]:
    """Our field → the file's columns holding it, best first (repeated headers included)."""
    columns = {}
    for name in {**layout.columns, **overrides}:
        candidates = (overrides[name],) if name in overrides else layout.columns[name]
        found = tuple(number for key in candidates for number in index.get(key, ()))
        if found:
            columns[name] = found
    return columns


def _detect(
    index: dict[str, list[int]], fmt: str, overrides: dict[str, str]
) -> tuple[_Layout, dict[str, tuple[int, ...]]] | None:
    best = None
    for layout in _LAYOUTS.values() if fmt == "auto" else (_LAYOUTS[fmt],):
        columns = _columns(layout, index, overrides)
        if all(name in columns for name in layout.required):
            score = len(layout.signature & index.keys())
            if best is None or score > best[0]:
                best = (score, layout, columns)
    return None if best is None else (best[1], best[2])


def _header_error(
    headers: list[str], fmt: str, overrides: dict[str, str], original: dict[str, str]
) -> ImportFileError:
    index = _column_index(headers)
    absent = [name for name, key in overrides.items() if key not in index]
    if absent:
        return ImportFileError(
            _l(
                "The column “%(column)s” chosen for %(field)s is not in the file.",
                column=original[absent[0]],
                field=absent[0],
            ),
            "missing_columns",
        )
    if fmt == "auto":
        return ImportFileError(
            _l(
                "The columns of this file were not recognised. The first row must name the "
                "columns: “ID”, “Название сделки”, “Ответственный” and the others of an amoCRM "
                "or Bitrix24 deals export, or title, manager_email and the others of the "
                "Planerka template."
            ),
            "unknown_format",
        )
    layout = _LAYOUTS[fmt]
    columns = _columns(layout, index, overrides)
    missing = [header for name, header in layout.required.items() if name not in columns]
    return ImportFileError(
        _l(
            "The file lacks columns required for the %(format)s format: %(columns)s.",
            format=_FORMAT_LABELS[fmt],
            columns=", ".join(f"“{header}”" for header in missing),
        ),
        "missing_columns",
    )


# --- rows → deals -----------------------------------------------------------------------


@dataclass
class _Plan:
    layout: _Layout
    columns: dict[str, tuple[int, ...]]
    keys: list[str]  # normalized header of each column ("" for an unnamed one)
    stage_map: dict[str, str]
    epoch: datetime
    typed: bool  # cells are XLSX values, not text
    strings: _Strings = field(default_factory=_Strings)


def _pick(texts, columns: tuple[int, ...]) -> int:
    """The first of ``columns`` whose cell is not empty, or -1."""
    size = len(texts)
    for number in columns:
        if number < size and texts[number] and not texts[number].isspace():
            return number
    return -1


def _texts(cells) -> list[str]:
    return [value if value.__class__ is str else _cell_text(value) for value in cells]


def _deal(plan: _Plan, row: int, cells) -> ParsedDeal | list[RowError]:
    texts = _texts(cells) if plan.typed else cells
    columns = plan.columns
    errors: list[RowError] = []
    empty: tuple[int, ...] = ()
    strings = plan.strings

    def text(name: str) -> str | None:
        number = _pick(texts, columns.get(name, empty))
        return None if number < 0 else strings(_line(texts[number]))

    external_id = text("external_id")
    title = text("title")
    manager = text("manager")
    if plan.layout is not _GENERIC and not external_id:
        errors.append(RowError(row, _l("The deal has no ID."), "external_id"))
    if not title:
        errors.append(RowError(row, _l("The deal has no title."), "title"))
    if not manager:
        errors.append(RowError(row, _l("The deal has no responsible manager."), "manager"))

    amount = currency = None
    number = _pick(texts, columns.get("amount", empty))
    if number >= 0:
        value = cells[number]
        try:
            amount, currency = _parse_amount(value)
        except OverflowError:
            errors.append(
                RowError(
                    row, _l("The amount “%(value)s” is too large.", value=_shown(value)), "amount"
                )
            )
        except (ValueError, InvalidOperation):
            errors.append(
                RowError(
                    row,
                    _l(
                        "The amount “%(value)s” is not a number. Write it like 1 250 000,50.",
                        value=_shown(value),
                    ),
                    "amount",
                )
            )
    if currency_text := text("currency"):
        try:
            currency = _parse_currency(currency_text)
        except ValueError:
            errors.append(
                RowError(
                    row,
                    _l(
                        "The currency “%(value)s” is unknown. Write a code such as RUB, USD or EUR.",
                        value=_shown(currency_text),
                    ),
                    "currency",
                )
            )

    def when(name: str, shown_as: str) -> datetime | None:
        number = _pick(texts, columns.get(name, empty))
        if number < 0:
            return None
        value = cells[number]
        try:
            return _parse_datetime(value, plan.epoch)
        except (ValueError, OverflowError):
            errors.append(
                RowError(
                    row,
                    _l(
                        "The date “%(value)s” is not a date. Write it like 27.11.2026 14:05 "
                        "or 2026-11-27.",
                        value=_shown(value),
                    ),
                    shown_as,
                )
            )
            return None

    created_at = when("created_at", "created_at")
    closed_at = when("closed_at", "closed_at")

    stage = text("stage") or None
    status_text = text("status")
    if status_text:
        status = _STATUS_WORDS.get(normalize_header(status_text))
        if status is None:
            errors.append(
                RowError(
                    row,
                    _l(
                        "The status “%(value)s” is unknown. Write open, won or lost.",
                        value=_shown(status_text),
                    ),
                    "status",
                )
            )
    else:
        status = _status_of_stage(stage, plan.stage_map)
    if closed_at is None and status not in (None, "open"):
        closed_at = when("expected_close", "closed_at")
    if errors:
        return errors

    tags_text = text("tags")
    tags = (
        list(dict.fromkeys(strings(t) for t in (_line(p) for p in tags_text.split(",")) if t))
        if tags_text
        else []
    )
    raw: dict[str, str] = {}
    for key, cell in zip(plan.keys, texts):  # noqa: B905 — short rows are normal in CSV
        if key and cell and key not in raw:
            cell = cell.strip()
            if cell:
                raw[key] = strings(cell)
    return ParsedDeal(
        row=row,
        external_id=external_id,
        title=title or "",
        client=text("client") or "",
        segment=text("segment") or None,
        manager=manager or "",
        amount=amount,
        currency=currency or "RUB",
        stage=stage,
        pipeline=text("pipeline") or None,
        status=status or "open",
        created_at=created_at,
        closed_at=closed_at,
        tags=tags,
        raw=raw,
    )


# --- the entry point --------------------------------------------------------------------


def parse_deal_file(
    path_or_bytes: str | os.PathLike[str] | bytes | BinaryIO,
    filename: str,
    fmt: str = "auto",
    *,
    stage_map: dict[str, str] | None = None,
    column_overrides: dict[str, str] | None = None,
    segment_column: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ParseResult:
    """Read a deals file (CSV, XLSX or Bitrix24's HTML ``.xls``) into deals and row errors.

    ``fmt`` is ``auto`` or one of :data:`FORMATS`. ``stage_map`` maps stage names to
    open/won/lost ahead of the built-in names; ``column_overrides`` maps our field names
    (:data:`FIELDS`) to the file's header to read them from; ``segment_column`` names the
    header whose value is the segment. ``progress(n)`` is called every 1000 data rows and
    once at the end. Raises :class:`ImportFileError` when the file is not a readable table
    of deals; rows with bad values become :class:`RowError` and are left out of ``deals``.
    """
    if fmt != "auto" and fmt not in _LAYOUTS:
        raise ValueError(f"unknown format {fmt!r}")
    checked_map = {}
    for stage, status in (stage_map or {}).items():
        if status not in STATUSES:
            raise ValueError(f"stage {stage!r} maps to {status!r}, not one of {STATUSES}")
        checked_map[normalize_header(stage)] = status
    original: dict[str, str] = {}  # field → header as the caller wrote it
    for name, header in [*(column_overrides or {}).items(), ("segment", segment_column)]:
        name = _FIELD_ALIASES.get(name, name)
        if name not in FIELDS:
            raise ValueError(f"unknown field {name!r} in column_overrides")
        if header and header.strip():  # an empty setting means "as detected"
            original[name] = header
    overrides = {name: normalize_header(header) for name, header in original.items()}

    stream, owned = _binary_stream(path_or_bytes)
    try:
        table = _open_table(stream)
        try:
            return _parse_table(table, fmt, checked_map, overrides, original, progress, filename)
        finally:
            table.close()
    finally:
        if owned:
            stream.close()


def _binary_stream(source) -> tuple[BinaryIO, bool]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True  # noqa: SIM115 — closed by parse_deal_file
    if hasattr(source, "read"):
        if getattr(source, "seekable", lambda: False)():
            return source, False
        return io.BytesIO(source.read()), True
    raise TypeError(f"cannot read deals from {type(source).__name__}")


def _parse_table(
    table: _Table,
    fmt: str,
    stage_map: dict[str, str],
    overrides: dict[str, str],
    original: dict[str, str],
    progress: Callable[[int], None] | None,
    filename: str,
) -> ParseResult:
    rows = table.rows
    candidates: list[tuple[int, list[str]]] = []
    found = None
    for number, cells in rows:
        if _blank(cells):
            continue
        headers = [_cell_text(value) for value in cells]
        detected = _detect(_column_index(headers), fmt, overrides)
        if detected is not None:
            found = (number, headers, *detected)
            break
        candidates.append((number, headers))
        if len(candidates) >= HEADER_SEARCH_ROWS:
            break
    if found is None:
        if not candidates:
            if table.kind == "html":
                raise _not_a_table("not_a_table", "no <tr> rows")
            raise ImportFileError(
                _l(
                    "The file has no rows. Export the deals from your CRM again and upload "
                    "the new file."
                ),
                "empty",
            )
        raise _header_error(candidates[0][1], fmt, overrides, original)
    header_row, headers, layout, columns = found
    index = _column_index(headers)
    if fmt != "auto":
        # A forced format must not read another CRM's file with the wrong columns (and,
        # say, null every amount of an amoCRM file read as Bitrix24).
        best = _detect(index, "auto", overrides)
        if (
            best is not None
            and best[0].name != layout.name
            and (len(best[0].signature & index.keys()) > len(layout.signature & index.keys()))
        ):
            raise ImportFileError(
                _l(
                    "This file looks like a %(detected)s export, not %(chosen)s. Choose "
                    "%(detected)s or “Detect automatically”.",
                    detected=_FORMAT_LABELS[best[0].name],
                    chosen=_FORMAT_LABELS[layout.name],
                ),
                "wrong_format",
            )
    absent = [name for name, key in overrides.items() if key not in index]
    if absent:
        raise _header_error(headers, fmt, overrides, original)

    plan = _Plan(
        layout=layout,
        columns=columns,
        keys=[normalize_header(header) for header in headers],
        stage_map=stage_map,
        epoch=table.epoch or CALENDAR_WINDOWS_1900,
        typed=table.kind == "xlsx",
    )
    deals: list[ParsedDeal] = []
    errors: list[RowError] = []
    total = 0
    for number, cells in rows:
        if _blank(cells):
            continue
        total += 1
        parsed = _deal(plan, number, cells)
        if isinstance(parsed, list):
            errors.extend(parsed)
        else:
            deals.append(parsed)
        if progress is not None and total % PROGRESS_EVERY == 0:
            progress(total)
    if progress is not None and total % PROGRESS_EVERY:
        progress(total)

    mapping = {name: headers[numbers[0]] for name, numbers in columns.items() if name in FIELDS}
    if "expected_close" in columns:
        mapping.setdefault("closed_at", headers[columns["expected_close"][0]])
    log.info(
        "deal file %r: %s, %s rows from row %s, %s errors",
        filename,
        layout.name,
        total,
        header_row,
        len(errors),
    )
    return ParseResult(
        format=layout.name,
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=headers,
        mapping=mapping,
        deals=deals,
        errors=errors,
        total_rows=total,
    )
