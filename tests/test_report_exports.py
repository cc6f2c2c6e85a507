"""Report exports: CSV and XLSX that open as data, never as formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal.reports.exports import inert, to_csv, to_xlsx

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]
COLUMNS = [("name", "Приём"), ("note", "=Note"), ("count", "Count"), ("amount", "Amount")]


def hostile_rows() -> list[dict]:
    rows = [{"name": text, "note": "ok", "count": 1, "amount": 0.5} for text in HOSTILE]
    rows.append(
        {"name": "Возражение «Дорого»", "note": None, "count": -5, "amount": Decimal("-12.50")}
    )
    rows.append({"name": "plain", "note": 'a, b; "c"\nd', "count": 0, "amount": -0.25})
    return rows


def parse_csv(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def load_sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_prefixes_formula_text(text):
    assert inert(text) == "'" + text


@pytest.mark.parametrize(
    "value",
    ["plain", "", "Возражение «Дорого»", " =1", "'=1", "a=b", -5, -0.5, Decimal("-1"), None],
)
def test_inert_leaves_everything_else_alone(value):
    assert inert(value) is value


def test_csv_starts_with_bom_and_uses_comma_and_crlf():
    data = to_csv([("a", "A"), ("b", "B")], [{"a": 1, "b": "x"}])
    assert data.startswith("\ufeff".encode())
    assert data == "\ufeffA,B\r\n1,x\r\n".encode()


def test_csv_round_trip_keeps_hostile_text_inert():
    rows = hostile_rows()
    parsed = parse_csv(to_csv(COLUMNS, rows))
    assert parsed[0] == ["Приём", "'=Note", "Count", "Amount"]
    body = parsed[1:]
    assert [line[0] for line in body[: len(HOSTILE)]] == ["'" + text for text in HOSTILE]
    assert body[len(HOSTILE)] == ["Возражение «Дорого»", "", "-5", "-12.50"]
    assert body[-1] == ["plain", 'a, b; "c"\nd', "0", "-0.25"]
    assert all(line[2:] == ["1", "0.5"] for line in body[: len(HOSTILE)])


def test_csv_numbers_stay_plain():
    columns = [("v", "v")]
    values = [3, -7, 0.1, 1e-07, 1.5e20, 2.0, Decimal("1E+3"), float("nan"), True, None]
    parsed = parse_csv(to_csv(columns, [{"v": v} for v in values]))
    assert [line[0] for line in parsed[1:]] == [
        "3",
        "-7",
        "0.1",
        "0.0000001",
        "150000000000000000000",
        "2.0",
        "1000",
        "",
        "True",
        "",
    ]


def test_csv_dates_and_missing_keys():
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    parsed = parse_csv(
        to_csv([("d", "D"), ("t", "T"), ("gone", "G")], [{"d": date(2026, 3, 2), "t": moment}])
    )
    assert parsed[1] == ["2026-03-02", "2026-03-02T09:30:00+00:00", ""]


def test_csv_of_no_rows_is_just_the_header():
    assert parse_csv(to_csv([("a", "A")], [])) == [["A"]]


def test_xlsx_round_trip_keeps_text_as_text_and_numbers_as_numbers():
    sheet = load_sheet(to_xlsx(COLUMNS, hostile_rows(), "Reactions"))
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]

    header = [cell.value for cell in sheet[1]]
    assert header == ["Приём", "'=Note", "Count", "Amount"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"

    names = [sheet.cell(row=r, column=1).value for r in range(2, 2 + len(HOSTILE))]
    # XML reads a carriage return back as a newline; the leading quote is what matters.
    assert names == ["'" + text.replace("\r", "\n") for text in HOSTILE]
    assert all(sheet.cell(row=r, column=1).data_type == "s" for r in range(2, 2 + len(HOSTILE)))

    cyrillic = [cell.value for cell in sheet[2 + len(HOSTILE)]]
    assert cyrillic == ["Возражение «Дорого»", None, -5, -12.5]
    count, amount = (
        sheet.cell(row=2 + len(HOSTILE), column=3),
        sheet.cell(row=2 + len(HOSTILE), column=4),
    )
    assert isinstance(count.value, int) and count.data_type == "n"
    assert isinstance(amount.value, float) and amount.data_type == "n"
    assert sheet.cell(row=2, column=4).value == 0.5


def test_xlsx_dates_are_date_cells():
    moscow = timezone(timedelta(hours=3))
    rows = [
        {
            "day": date(2026, 3, 2),
            "aware": datetime(2026, 3, 2, 21, 30, tzinfo=UTC),
            "naive": datetime(2026, 3, 2, 8, 0),
        }
    ]
    columns = [("day", "Day"), ("aware", "Aware"), ("naive", "Naive")]

    shifted = load_sheet(to_xlsx(columns, rows, "Dates", tz=moscow))
    assert shifted["A2"].is_date and shifted["B2"].is_date and shifted["C2"].is_date
    assert shifted["A2"].value.date() == date(2026, 3, 2)
    assert shifted["B2"].value == datetime(2026, 3, 3, 0, 30)
    assert shifted["C2"].value == datetime(2026, 3, 2, 8, 0)

    as_is = load_sheet(to_xlsx(columns, rows, "Dates"))
    assert as_is["B2"].value == datetime(2026, 3, 2, 21, 30)


def test_xlsx_drops_what_a_cell_cannot_hold():
    rows = [{"a": "bell\x07 here", "b": float("inf"), "c": Decimal("NaN"), "d": True}]
    columns = [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]
    sheet = load_sheet(to_xlsx(columns, rows, "x"))
    assert [cell.value for cell in sheet[2]] == ["bell here", None, None, True]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Reactions", "Reactions"),
        ("a[b]c:d*e?f/g\\h", "abcdefgh"),
        ("Реакции на предложения по версиям за квартал", "Реакции на предложения по верси"),
        ("'quoted'", "quoted"),
        ("[]:*?/\\", "Report"),
        ("", "Report"),
    ],
)
def test_xlsx_sheet_title_is_one_excel_accepts(title, expected):
    sheet = load_sheet(to_xlsx([("a", "A")], [], title))
    assert sheet.title == expected
    assert len(sheet.title) <= 31


def test_xlsx_column_widths_fit_roughly_and_are_capped():
    rows = [{"short": "x", "long": "y" * 500, "mid": "z" * 20}]
    columns = [("short", "S"), ("long", "Long"), ("mid", "Mid")]
    sheet = load_sheet(to_xlsx(columns, rows, "w"))
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    assert widths["A"] < widths["C"] < widths["B"]
    assert widths["B"] == 60
    assert widths["C"] == 22


def test_lazy_header_labels_work():
    class Lazy:
        def __str__(self) -> str:
            return "-Lazy"

    columns = [("a", Lazy())]
    assert parse_csv(to_csv(columns, []))[0] == ["'-Lazy"]
    assert load_sheet(to_xlsx(columns, [], "x"))["A1"].value == "'-Lazy"
