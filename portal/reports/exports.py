"""Report tables as CSV and XLSX files that a spreadsheet opens as data, never as formulas."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (as in deals.services)."""

Columns = Sequence[tuple[str, str]]
Rows = Sequence[Mapping[str, Any]]

_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_TITLE_MAX = 31
_CELL_TEXT_MAX = 32767  # Excel's limit for the text of one cell
_WIDTH_MIN = 8
_WIDTH_MAX = 60
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def inert(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading ', everything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _csv_number(value: int | float | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        # repr keeps every digit; Decimal turns 1e-07 into 0.0000001 without losing any.
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    if not value.is_finite():
        return ""
    return format(value, "f")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if _is_number(value):
        return _csv_number(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return inert(str(value))


def to_csv(columns: Columns, rows: Rows) -> bytes:
    """A UTF-8 CSV (with BOM, comma, CRLF) of rows, one column per (key, header label)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([_csv_cell(label) for _, label in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(key)) for key, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _sheet_title(title: str) -> str:
    cleaned = _SHEET_TITLE_FORBIDDEN.sub("", ILLEGAL_CHARACTERS_RE.sub("", title))
    # Excel also refuses a title that starts or ends with an apostrophe.
    cleaned = cleaned[:_SHEET_TITLE_MAX].strip().strip("'").strip()
    return cleaned or "Report"


def _xlsx_text(value: str) -> str:
    return inert(ILLEGAL_CHARACTERS_RE.sub("", value))[:_CELL_TEXT_MAX]


def _xlsx_value(value: Any, tz: tzinfo | None) -> tuple[Any, str | None]:
    """The value to store and its number format (None: the default)."""
    if value is None or isinstance(value, bool):
        return value, None
    if _is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None, None
        if isinstance(value, Decimal) and not value.is_finite():
            return None, None
        return value, None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            if tz is not None:
                value = value.astimezone(tz)
            value = value.replace(tzinfo=None)
        return value, _DATETIME_FORMAT
    if isinstance(value, date):
        return value, _DATE_FORMAT
    return _xlsx_text(str(value)), None


def _shown_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len(_DATETIME_FORMAT)
    if isinstance(value, date):
        return len(_DATE_FORMAT)
    text = _csv_number(value) if _is_number(value) else str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def to_xlsx(columns: Columns, rows: Rows, sheet_title: str, tz: tzinfo | None = None) -> bytes:
    """An XLSX workbook of rows: bold frozen header, numbers and dates as such, text as text.

    Aware datetimes are shown in `tz` when given (else in their own zone), without the zone,
    since spreadsheet cells have none.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_title)
    bold = Font(bold=True)
    widths = [0] * len(columns)

    for index, (_, label) in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=_xlsx_text(str(label)))
        cell.data_type = "s"
        cell.font = bold
        widths[index - 1] = _shown_width(cell.value)

    for row_index, row in enumerate(rows, start=2):
        for index, (key, _) in enumerate(columns, start=1):
            value, number_format = _xlsx_value(row.get(key), tz)
            cell = sheet.cell(row=row_index, column=index)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text looks like
            if number_format:
                cell.number_format = number_format
            widths[index - 1] = max(widths[index - 1], _shown_width(value))

    for index, width in enumerate(widths, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(_WIDTH_MAX, max(_WIDTH_MIN, width + 2))
    sheet.freeze_panes = "A2"

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
