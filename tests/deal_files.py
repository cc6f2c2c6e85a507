"""Deal exports in the shapes CRMs really write them, for the import parser's tests.

Each writer takes a list of headers and rows of cell values and writes one file into a
directory (usually ``tmp_path``): amoCRM's CSV (cp1251 with ``;`` or UTF-8 with a BOM and
``,``), XLSX written by openpyxl, Bitrix24's ``.xls`` that is an HTML table, UTF-16 text
with tabs, and the binary files people upload by mistake.
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
import struct
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

# --- amoCRM -----------------------------------------------------------------------------

# As amoCRM writes them: "Бюджет " with its trailing space, "Компания" and "Рабочий
# телефон" twice (the deal's and the contact's fields), account-specific columns at the end.
AMOCRM_HEADERS = [
    "ID",
    "Название сделки",
    "Бюджет ",
    "Ответственный",
    "Дата создания сделки",
    "Кем создана сделка",
    "Дата редактирования",
    "Дата закрытия",
    "Теги",
    "Примечание",
    "Этап сделки",
    "Воронка",
    "Полное имя контакта",
    "Компания контакта",
    "Компания",
    "Рабочий телефон",
    "Рабочий телефон",
    "Отрасль",
    "utm_source",
    "Компания",
]

AMOCRM_ROWS = [
    [
        "31870451",
        "Поставка станков ЧПУ",
        "1 250 000",
        "Дмитрий Козлов",
        "27.11.2026 14:05:00",
        "Дмитрий Козлов",
        "28.11.2026 09:00:00",
        "не закрыта",
        "Станки, Приоритет",
        "Звонок 27.11:\nклиент просит КП до пятницы; бюджет согласован",
        "Переговоры",
        "Продажи B2B",
        "Иван Петров",
        "ООО «СтанкоПром»",
        "ООО «СтанкоПром»",
        "+7 495 123-45-67",
        "",
        "Производство",
        "yandex",
        "",
    ],
    [
        "31870452",
        "Внедрение CRM для дилеров",
        "480 000,50",
        "Анна Смирнова",
        "01.10.2026 10:00:00",
        "Анна Смирнова",
        "15.11.2026 17:30:00",
        "15.11.2026 17:30:00",
        "",
        "",
        "Успешно реализовано",
        "Продажи B2B",
        "Ольга Соколова",
        "АО «Северсталь-Дистрибуция»",
        "",
        "",
        "+7 812 555-01-02",
        "Металлургия",
        "",
        "АО «Северсталь-Дистрибуция»",
    ],
    [
        "31870453",
        "Аудит логистики склада",
        "95000",
        "sergey.ivanov@planerka.example",
        "03.09.2026 11:20:00",
        "Сергей Иванов",
        "20.10.2026 12:00:00",
        "20.10.2026 12:00:00",
        "Логистика",
        "",
        "Закрыто и не реализовано",
        "Продажи B2B",
        "Пётр Никитин",
        "",
        'ООО "Логистик Плюс"',
        "",
        "",
        "Логистика",
        "google",
        "",
    ],
    [
        "31870454",
        "Сервисный контракт на 2027 год",
        "",
        "Дмитрий Козлов",
        "25.11.2026 09:15:00",
        "Дмитрий Козлов",
        "25.11.2026 09:15:00",
        "не закрыта",
        "",
        "",
        "Первичный контакт",
        "Продажи B2B",
        "Мария Орлова",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
]


def amocrm_row(**changes: str) -> list[str]:
    """The first sample deal with some columns changed: ``amocrm_row(ID="", Теги="")``."""
    row = list(AMOCRM_ROWS[0])
    for header, value in changes.items():
        row[AMOCRM_HEADERS.index(header.replace("_", " "))] = value
    return row


# --- Bitrix24 ---------------------------------------------------------------------------

BITRIX24_HEADERS = [
    "ID",
    "Название сделки",
    "Стадия сделки",
    "Сумма",
    "Валюта",
    "Ответственный",
    "Компания",
    "Контакт",
    "Дата начала",
    "Дата создания",
    "Предполагаемая дата закрытия",
    "Направление",
    "Комментарий",
]

BITRIX24_ROWS = [
    [
        "1024",
        "Поставка серверного оборудования",
        "Сделка успешна",
        "2 400 000.00",
        "Российский рубль",
        "Дмитрий Козлов",
        'ООО "ТехноСервис" & партнёры',
        "Андрей Волков",
        "02.11.2026",
        "02.11.2026 10:15:00",
        "26.11.2026",
        "Общее",
        "Счёт оплачен\nдоставка 30.11",
    ],
    [
        "1025",
        "Лицензии 1С на 50 рабочих мест",
        "Сделка провалена",
        "780 000",
        "RUB",
        "Анна Смирнова",
        "АО «ПромИнвест»",
        "",
        "15.10.2026",
        "15.10.2026 16:40:00",
        "20.11.2026",
        "Общее",
        "",
    ],
    [
        "1026",
        "Обучение отдела продаж",
        "Подготовка документов",
        "12 500",
        "Доллар США",
        "Сергей Иванов",
        "",
        "Елена Кузнецова",
        "20.11.2026",
        "20.11.2026 12:00:00",
        "15.12.2026",
        "Обучение",
        "",
    ],
]


# --- the Planerka template (API.md field names) ------------------------------------------

GENERIC_HEADERS = [
    "external_id",
    "title",
    "client",
    "segment",
    "manager_email",
    "amount",
    "currency",
    "stage",
    "status",
    "created_at",
    "closed_at",
]

GENERIC_ROWS = [
    [
        "GEN-1",
        "Модернизация котельной",
        "ООО «ТеплоЭнерго»",
        "Энергетика",
        "d.kozlov@planerka.example",
        "3 100 000",
        "RUB",
        "Договор",
        "won",
        "2026-10-01T09:00:00",
        "2026-11-27 14:05",
    ],
    [
        "",
        "Пилот видеоаналитики",
        "АО «Ритейл Групп»",
        "",
        "a.smirnova@planerka.example",
        "",
        "",
        "Переговоры",
        "",
        "2026-11-20",
        "",
    ],
]


# --- writers ------------------------------------------------------------------------------


def write_csv(
    directory: Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    name: str = "deals.csv",
    encoding: str = "cp1251",
    delimiter: str = ";",
    bom: bool = False,
) -> Path:
    """A CSV as Excel and the CRMs write it: CRLF rows, cells quoted where needed."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    data = text.getvalue()
    if encoding == "utf-16-le":
        raw = (b"\xff\xfe" if bom else b"") + data.encode("utf-16-le")
    elif encoding == "utf-16-be":
        raw = (b"\xfe\xff" if bom else b"") + data.encode("utf-16-be")
    else:
        raw = (b"\xef\xbb\xbf" if bom else b"") + data.encode(encoding)
    path = directory / name
    path.write_bytes(raw)
    return path


def write_xlsx(
    directory: Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    name: str = "deals.xlsx",
    above_header: Sequence[Sequence[object]] = (),
    empty_first_sheet: bool = False,
) -> Path:
    """A workbook written by openpyxl; strings starting with ``=`` become formula cells."""
    workbook = Workbook()
    sheet = workbook.active
    if empty_first_sheet:
        sheet.title = "Инструкция"
        sheet = workbook.create_sheet("Сделки")
    else:
        sheet.title = "Сделки"
    for row in above_header:
        sheet.append(list(row))
    sheet.append(list(headers))
    for row in rows:
        sheet.append([None if v == "" else v for v in row])
    path = directory / name
    workbook.save(path)
    return path


def write_xlsx_by_hand(
    directory: Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    name: str = "deals.xlsx",
    dimension: str = "A1:B2",
) -> Path:
    """A workbook as PHP exporters write it: shared strings, dates as styled serial numbers,
    no default style, and a ``<dimension>`` that undersells the sheet."""
    strings: dict[str, int] = {}

    def cell(ref: str, value: object) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, datetime):
            return f'<c r="{ref}" s="1"><v>{excel_serial(value)!r}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value}</v></c>'
        index = strings.setdefault(str(value), len(strings))
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    def letter(index: int) -> str:
        return chr(65 + index) if index < 26 else "A" + chr(65 + index - 26)

    sheet_rows = []
    for number, values in enumerate([headers, *rows], start=1):
        cells = "".join(cell(f"{letter(i)}{number}", v) for i, v in enumerate(values))
        sheet_rows.append(f'<row r="{number}">{cells}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    shared = "".join(f"<si><t>{html.escape(text, quote=False)}</t></si>" for text in strings)
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package'
            '.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Сделки" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{pkg}">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{main}"><cellXfs count="2"><xf numFmtId="0"/>'
            '<xf numFmtId="22" applyNumberFormat="1"/></cellXfs></styleSheet>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{main}" uniqueCount="{len(strings)}">{shared}</sst>',
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{main}"><dimension ref="{dimension}"/>'
            f"<sheetData>{''.join(sheet_rows)}</sheetData></worksheet>"
        ),
    }
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for part, xml in parts.items():
            package.writestr(part, '<?xml version="1.0" encoding="UTF-8"?>\n' + xml)
    return path


def write_bitrix_html(
    directory: Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    name: str = "deal.xls",
    encoding: str = "cp1251",
    meta_charset: str | None = "windows-1251",
) -> Path:
    """Bitrix24's "Excel" export: an HTML table saved as ``.xls``, ``<br>`` for new lines."""

    def cell(tag: str, value: object) -> str:
        text = html.escape(str(value), quote=True).replace("\n", "<br>")
        if re.fullmatch(r"[\d ]+(?:[.,]\d+)?", text):
            text = text.replace(" ", "&nbsp;")  # Bitrix24 groups thousands with NBSP
        return f"<{tag}>{text}</{tag}>"

    parts = []
    if meta_charset:
        parts.append(
            f'<meta http-equiv="Content-type" content="text/html;charset={meta_charset}" />\n'
        )
    parts.append('<style>td { mso-number-format:"\\@"; }</style>\n<table border="1">\n<thead>')
    parts.append("<tr>" + "".join(cell("th", h) for h in headers) + "</tr></thead>\n<tbody>\n")
    for row in rows:
        parts.append("<tr>" + "".join(cell("td", v) for v in row) + "</tr>\n")
    parts.append("</tbody></table>\n")
    path = directory / name
    path.write_bytes("".join(parts).encode(encoding))
    return path


def write_biff_xls(directory: Path, name: str = "deals.xls") -> Path:
    """The first sector of a real Excel 97–2003 file: an OLE compound document header."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
    header += struct.pack("<HHHHHI", 0x3E, 0x03, 0xFFFE, 0x09, 0x06, 0) + bytes(4)
    header += struct.pack("<IIIIIII", 1, 1, 0, 0x1000, 0xFFFFFFFE, 0, 0xFFFFFFFE)
    header = header.ljust(512, b"\xff")
    path = directory / name
    path.write_bytes(header + b"\x09\x08\x10\x00\x00\x06\x05\x00" + bytes(504))
    return path


def write_garbage(directory: Path, name: str = "deals.csv", size: int = 4096) -> Path:
    """Random bytes under a table's name (a broken download, an encrypted file)."""
    rng = random.Random(20261127)
    path = directory / name
    path.write_bytes(bytes(rng.randrange(256) for _ in range(size)))
    return path


def excel_serial(moment: datetime) -> float:
    """The number Excel stores for ``moment`` (days since 1899-12-30)."""
    return (moment - datetime(1899, 12, 30)).total_seconds() / 86400
