"""Deal import benchmark, parsing part: 100,000-row amoCRM exports through parse_deal_file.

    .venv/bin/python bench/import.py                  # 100,000 rows: CSV and two XLSX
    .venv/bin/python bench/import.py --rows 20000     # a quick run
    .venv/bin/python bench/import.py --skip-xlsx      # CSV only

Files are written to a temporary directory in amoCRM's shape (36 columns, repeated
headers, "Бюджет " with its trailing space, multi-line notes, "не закрыта"):

* ``amocrm.csv`` — cp1251 with ``;``, as amoCRM's CSV export;
* ``amocrm-excel.xlsx`` — shared strings and date cells, as Excel and PHP writers save;
* ``amocrm-openpyxl.xlsx`` — openpyxl's write-only output (inline strings, the slowest
  kind for openpyxl to read back).

Each file is parsed in a fresh process, once timed with ``resource`` peak RSS and once
under ``tracemalloc`` for the Python heap peak, so neither measurement disturbs the other.
Targets: parsing well inside the 60 s import budget (aim < 15 s), peak memory ≤ 400 MB.
Writing to the database is measured separately (see bench/README.md, "Import").
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADERS = [
    "ID",
    "Название сделки",
    "Бюджет ",
    "Ответственный",
    "Дата создания сделки",
    "Кем создана сделка",
    "Дата редактирования",
    "Кем редактирована",
    "Дата закрытия",
    "Теги",
    "Примечание",
    "Примечание",
    "Этап сделки",
    "Воронка",
    "Полное имя контакта",
    "Компания контакта",
    "Ответственный за контакт",
    "Рабочий телефон",
    "Рабочий телефон",
    "Рабочий email",
    "Должность",
    "Компания",
    "Город",
    "Отрасль",
    "Источник сделки",
    "Причина отказа",
    "Номер договора",
    "Дата оплаты",
    "Продукт",
    "Скидка, %",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "roistat",
    "Компания",
]
DATE_COLUMNS = {4, 6, 8, 27}

MANAGERS = [
    "Дмитрий Козлов",
    "Анна Смирнова",
    "Сергей Иванов",
    "Ольга Соколова",
    "Алексей Морозов",
    "Екатерина Волкова",
    "Михаил Лебедев",
    "Наталья Новикова",
    "Игорь Павлов",
    "Татьяна Фёдорова",
]
FORMS = ["ООО", "АО", "ПАО", "ИП", "ООО"]
WORDS = [
    "Стройинвест",
    "ТехноСервис",
    "Северсталь-Дистрибуция",
    "ПромИнвест",
    "Логистик Плюс",
    "ТеплоЭнерго",
    "Ритейл Групп",
    "АгроХолдинг",
    "МедТех",
    "Уралмаш-Сервис",
    "ИнфоСистемы",
    "Балтика-Трейд",
]
DEALS = [
    "Поставка станков ЧПУ",
    "Внедрение CRM",
    "Аудит логистики склада",
    "Сервисный контракт",
    "Лицензии 1С",
    "Модернизация котельной",
    "Обучение отдела продаж",
    "Пилот видеоаналитики",
]
STAGES = [
    ("Первичный контакт", 0.2),
    ("Переговоры", 0.25),
    ("Принимают решение", 0.15),
    ("Согласование договора", 0.1),
    ("Успешно реализовано", 0.18),
    ("Закрыто и не реализовано", 0.12),
]
INDUSTRIES = ["Производство", "Металлургия", "Логистика", "Энергетика", "Ритейл", "Медицина"]
CITIES = ["Москва", "Санкт-Петербург", "Екатеринбург", "Казань", "Новосибирск", "Тверь"]


def amocrm_rows(count: int, seed: int = 20261127):
    """Deals as amoCRM writes them: (text cells for CSV, typed cells for XLSX)."""
    rng = random.Random(seed)
    stage_names = [name for name, _ in STAGES]
    stage_weights = [weight for _, weight in STAGES]
    start = datetime(2025, 1, 1, 9, 0)
    for number in range(count):
        created = start + timedelta(minutes=rng.randrange(0, 700 * 24 * 60))
        edited = created + timedelta(hours=rng.randrange(1, 2000))
        stage = rng.choices(stage_names, stage_weights)[0]
        closed = edited if stage in ("Успешно реализовано", "Закрыто и не реализовано") else None
        amount = rng.choice([0, rng.randrange(10_000, 5_000_000), rng.randrange(1, 900) * 10_000])
        manager = rng.choice(MANAGERS)
        company = f"{rng.choice(FORMS)} «{rng.choice(WORDS)}»"
        note = ""
        if rng.random() < 0.2:
            note = f"Звонок {created:%d.%m}:\nклиент просит КП; бюджет {amount} руб."
        typed = [
            31_000_000 + number,
            f"{rng.choice(DEALS)} №{number}",
            amount,
            manager,
            created,
            manager,
            edited,
            rng.choice(MANAGERS),
            closed,
            ", ".join(rng.sample(["Приоритет", "Тендер", "Повторная", "Станки", "Сервис"], 2)),
            note,
            "",
            stage,
            "Продажи B2B",
            f"Иван Петров {number % 977}",
            company if rng.random() < 0.5 else "",
            manager,
            f"+7 495 {rng.randrange(100, 999)}-{rng.randrange(10, 99)}-{rng.randrange(10, 99)}",
            "",
            f"client{number}@example.ru",
            "Директор по закупкам",
            company,
            rng.choice(CITIES),
            rng.choice(INDUSTRIES),
            rng.choice(["Сайт", "Выставка", "Рекомендация", "Холодный звонок"]),
            "Дорого" if stage == "Закрыто и не реализовано" else "",
            f"Д-{number:06d}" if closed else "",
            closed if stage == "Успешно реализовано" else None,
            rng.choice(["Станок ЧПУ", "Сервис", "Лицензия", "Обучение"]),
            rng.choice(["", "5", "10"]),
            rng.choice(["yandex", "google", ""]),
            "cpc",
            "",
            "",
            "",
            "",
        ]
        text = [_amocrm_text(i, value) for i, value in enumerate(typed)]
        yield text, typed


def _amocrm_text(column: int, value) -> str:
    if value is None:
        return "не закрыта" if column == 8 else ""
    if isinstance(value, datetime):
        return f"{value:%d.%m.%Y %H:%M:%S}"
    if column == 2:
        return f"{value:,}".replace(",", " ")  # "1 250 000"
    return str(value)


# --- writing the files ----------------------------------------------------------------------


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="cp1251", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADERS)
        for text, _ in amocrm_rows(rows):
            writer.writerow(text)


def write_openpyxl_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Сделки")
    sheet.append(HEADERS)
    for _, typed in amocrm_rows(rows):
        sheet.append([None if value == "" else value for value in typed])
    workbook.save(path)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_HEAD = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
)


def write_excel_like_xlsx(path: Path, rows: int) -> None:
    """The package Excel saves: shared strings, dates as styled serial numbers."""
    strings: dict[str, int] = {}
    epoch = datetime(1899, 12, 30)

    def column(index: int) -> str:
        name = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        return name

    letters = [column(i) for i in range(len(HEADERS))]

    def row_xml(number: int, values) -> str:
        cells = []
        for letter, value in zip(letters, values, strict=True):
            ref = f"{letter}{number}"
            if value is None or value == "":
                continue
            if isinstance(value, datetime):
                serial = (value - epoch).total_seconds() / 86400
                cells.append(f'<c r="{ref}" s="1"><v>{serial!r}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                index = strings.setdefault(value, len(strings))
                cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
        return f'<row r="{number}">{"".join(cells)}</row>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            # Excel always writes <dimension>; without it openpyxl reads the sheet twice.
            size = f"A1:{letters[-1]}{rows + 1}"
            sheet.write(f'{_SHEET_HEAD}<dimension ref="{size}"/><sheetData>'.encode())
            sheet.write(row_xml(1, HEADERS).encode())
            for number, (_, typed) in enumerate(amocrm_rows(rows), start=2):
                sheet.write(row_xml(number, typed).encode())
            sheet.write(b"</sheetData></worksheet>")
        shared = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in strings)
        package.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{_MAIN}" '
            f'uniqueCount="{len(strings)}">{shared}</sst>',
        )
        package.writestr(
            "xl/styles.xml",
            f'<?xml version="1.0" encoding="UTF-8"?>\n<styleSheet xmlns="{_MAIN}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>'
            "</cellXfs></styleSheet>",
        )
        package.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{_MAIN}" '
            f'xmlns:r="{_REL}"><sheets><sheet name="Сделки" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        package.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        package.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package'
            '.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            "</Types>",
        )


# --- measuring --------------------------------------------------------------------------------


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(path: Path, mode: str) -> dict:
    """Parse ``path`` once in this (fresh) process; ``mode`` is ``time`` or ``trace``."""
    import tracemalloc

    from portal.deals.importing import parse_deal_file

    baseline = _maxrss_mb()
    if mode == "trace":
        tracemalloc.start()
    started = time.perf_counter()
    result = parse_deal_file(path, path.name)
    seconds = time.perf_counter() - started
    figures = {
        "seconds": seconds,
        "deals": len(result.deals),
        "errors": len(result.errors),
        "format": result.format,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _maxrss_mb(),
    }
    if mode == "trace":
        figures["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return figures


def _child(*args: str) -> str:
    # Everything heavy runs in children: Linux carries a parent's peak RSS over into
    # ru_maxrss of the processes it starts, so the parent stays small.
    return subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout


def _measured(path: Path, mode: str) -> dict:
    return json.loads(_child("--measure", str(path), "--mode", mode).strip().splitlines()[-1])


WRITERS = {
    "amocrm.csv": ("CSV cp1251 ;", write_csv),
    "amocrm-excel.xlsx": ("XLSX shared strings", write_excel_like_xlsx),
    "amocrm-openpyxl.xlsx": ("XLSX openpyxl-written", write_openpyxl_xlsx),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="time", help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.mode)))
        return
    if args.write:
        WRITERS[args.write.name][1](args.write, args.rows)
        return

    print(f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    names = ["amocrm.csv"] if args.skip_xlsx else list(WRITERS)
    with tempfile.TemporaryDirectory(prefix="planerka-import-bench-") as tmp:
        print(f"{args.rows:,} deals × {len(HEADERS)} columns")
        print(
            f"{'file':<24} {'size':>8} {'write':>7} {'parse':>7} {'rows/s':>8} "
            f"{'traced peak':>11} {'RSS peak':>9} {'RSS base':>9}"
        )
        for name in names:
            label = WRITERS[name][0]
            path = Path(tmp) / name
            started = time.perf_counter()
            _child("--write", str(path), "--rows", str(args.rows))
            written = time.perf_counter() - started
            timed = _measured(path, "time")
            traced = _measured(path, "trace")
            assert timed["deals"] == args.rows and timed["errors"] == 0, timed
            print(
                f"{label:<24} {path.stat().st_size / 2**20:>6.1f}MB {written:>6.1f}s "
                f"{timed['seconds']:>6.1f}s {args.rows / timed['seconds']:>8,.0f} "
                f"{traced['traced_peak_mb']:>9.0f}MB {timed['peak_rss_mb']:>7.0f}MB "
                f"{timed['baseline_rss_mb']:>7.0f}MB"
            )


if __name__ == "__main__":
    main()
