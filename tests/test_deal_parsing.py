"""The deal file parser: CRM exports in their real shapes in, deals and row errors out.

The parser is pure, so these tests need neither the app nor the database.
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from flask_babel.speaklater import LazyString

from portal.deals.importing import (
    ImportFileError,
    ParsedDeal,
    normalize_header,
    parse_deal_file,
)

from . import deal_files as files
from .deal_files import (
    AMOCRM_HEADERS,
    AMOCRM_ROWS,
    BITRIX24_HEADERS,
    BITRIX24_ROWS,
    GENERIC_HEADERS,
    GENERIC_ROWS,
    amocrm_row,
)


def without_raw(deal: ParsedDeal) -> dict:
    fields = asdict(deal)
    del fields["raw"]
    return fields


def only_deal(result) -> ParsedDeal:
    assert result.errors == [], [(e.row, str(e.message)) for e in result.errors]
    assert len(result.deals) == 1
    return result.deals[0]


def amocrm_with(tmp_path, **changes) -> ParsedDeal:
    """One amoCRM deal (UTF-8: cp1251 has no ₽ nor thin spaces) with columns changed."""
    path = files.write_csv(
        tmp_path, AMOCRM_HEADERS, [amocrm_row(**changes)], encoding="utf-8", bom=True
    )
    return only_deal(parse_deal_file(path, path.name))


# --- amoCRM -----------------------------------------------------------------------------


def test_amocrm_cp1251_semicolon_csv_is_read(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS, encoding="cp1251", delimiter=";")

    result = parse_deal_file(path, path.name)

    assert (result.format, result.encoding, result.delimiter) == ("amocrm", "cp1251", ";")
    assert result.total_rows == 4
    assert result.errors == []
    assert result.headers == AMOCRM_HEADERS
    first = result.deals[0]
    assert without_raw(first) == {
        "row": 2,
        "external_id": "31870451",
        "title": "Поставка станков ЧПУ",
        "client": "ООО «СтанкоПром»",
        "segment": None,
        "manager": "Дмитрий Козлов",
        "amount": Decimal("1250000"),
        "currency": "RUB",
        "stage": "Переговоры",
        "pipeline": "Продажи B2B",
        "status": "open",
        "created_at": datetime(2026, 11, 27, 14, 5),
        "closed_at": None,
        "tags": ["Станки", "Приоритет"],
    }
    assert first.raw["отрасль"] == "Производство"
    assert first.raw["бюджет"] == "1 250 000"
    assert "теги" in first.raw and "рабочий телефон" in first.raw
    assert [d.status for d in result.deals] == ["open", "won", "lost", "open"]
    assert result.deals[1].closed_at == datetime(2026, 11, 15, 17, 30)
    assert result.deals[2].manager == "sergey.ivanov@planerka.example"


def test_amocrm_mapping_names_the_headers_as_written(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)

    mapping = parse_deal_file(path, path.name).mapping

    assert mapping == {
        "external_id": "ID",
        "title": "Название сделки",
        "client": "Компания",
        "manager": "Ответственный",
        "amount": "Бюджет ",
        "stage": "Этап сделки",
        "pipeline": "Воронка",
        "created_at": "Дата создания сделки",
        "closed_at": "Дата закрытия",
        "tags": "Теги",
    }


def test_amocrm_utf8_bom_comma_csv_reads_the_same_deals(tmp_path):
    cp1251 = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS, name="a.csv")
    utf8 = files.write_csv(
        tmp_path,
        AMOCRM_HEADERS,
        AMOCRM_ROWS,
        name="b.csv",
        encoding="utf-8",
        delimiter=",",
        bom=True,
    )

    result = parse_deal_file(utf8, utf8.name)

    assert (result.format, result.encoding, result.delimiter) == ("amocrm", "utf-8-sig", ",")
    assert result.headers[0] == "ID"
    assert result.deals == parse_deal_file(cp1251, cp1251.name).deals


def test_amocrm_utf8_without_bom_is_detected(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS, encoding="utf-8")

    result = parse_deal_file(path, path.name)

    assert result.encoding == "utf-8"
    assert result.deals[1].client == "АО «Северсталь-Дистрибуция»"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_and_tabs(tmp_path, encoding):
    path = files.write_csv(
        tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS, encoding=encoding, delimiter="\t", bom=True
    )

    result = parse_deal_file(path, path.name)

    assert (result.format, result.encoding, result.delimiter) == ("amocrm", encoding, "\t")
    assert [d.title for d in result.deals][:2] == [
        "Поставка станков ЧПУ",
        "Внедрение CRM для дилеров",
    ]


def test_amocrm_xlsx_with_text_cells_matches_the_csv(tmp_path):
    xlsx = files.write_xlsx(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)
    csv_path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)

    result = parse_deal_file(xlsx, xlsx.name)

    assert (result.format, result.encoding, result.delimiter) == ("amocrm", "utf-8", None)
    assert result.headers == AMOCRM_HEADERS
    assert result.deals == parse_deal_file(csv_path, csv_path.name).deals


def test_amocrm_xlsx_typed_cells(tmp_path):
    row = amocrm_row()
    row[0] = 31870455  # ID as a number
    row[2] = 1250000.5  # Бюджет as a number
    row[4] = datetime(2026, 11, 27, 14, 5)  # a date cell
    row[7] = files.excel_serial(datetime(2026, 11, 28, 18, 0))  # a bare serial number
    path = files.write_xlsx(tmp_path, AMOCRM_HEADERS, [row])

    deal = only_deal(parse_deal_file(path, path.name))

    assert deal.external_id == "31870455"
    assert deal.amount == Decimal("1250000.5")
    assert deal.created_at == datetime(2026, 11, 27, 14, 5)
    assert deal.closed_at == datetime(2026, 11, 28, 18, 0)
    assert deal.raw["id"] == "31870455"


def test_xlsx_from_other_writers_is_read_whole(tmp_path):
    # Shared strings, date-styled serial numbers, no default style (openpyxl warns about
    # that) and a <dimension> claiming two rows: all rows are still read.
    row = amocrm_row()
    row[0] = 31870455
    row[2] = 1250000
    row[4] = datetime(2026, 11, 27, 14, 5)
    rows = [row, amocrm_row(ID="31870456"), amocrm_row(ID="31870457")]
    path = files.write_xlsx_by_hand(tmp_path, AMOCRM_HEADERS, rows, dimension="A1:B2")

    result = parse_deal_file(path, path.name)

    assert [d.external_id for d in result.deals] == ["31870455", "31870456", "31870457"]
    assert (result.deals[0].amount, result.deals[0].created_at) == (
        Decimal("1250000"),
        datetime(2026, 11, 27, 14, 5),
    )
    assert result.deals[0].raw["компания"] == "ООО «СтанкоПром»"


def test_xlsx_skips_an_empty_first_sheet_and_a_title_row(tmp_path):
    path = files.write_xlsx(
        tmp_path,
        AMOCRM_HEADERS,
        AMOCRM_ROWS,
        empty_first_sheet=True,
        above_header=[["Выгрузка сделок amoCRM за ноябрь 2026"], []],
    )

    result = parse_deal_file(path, path.name)

    assert result.format == "amocrm"
    assert [d.row for d in result.deals] == [4, 5, 6, 7]


def test_duplicated_headers_take_the_first_non_empty_cell(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)

    deals = parse_deal_file(path, path.name).deals

    # Row 3: the first "Компания" is empty, the second one holds the company.
    assert deals[1].client == "АО «Северсталь-Дистрибуция»"
    assert deals[1].raw["рабочий телефон"] == "+7 812 555-01-02"
    assert deals[2].client == 'ООО "Логистик Плюс"'
    # Row 5 has no company at all: the contact is the client.
    assert deals[3].client == "Мария Орлова"


def test_trailing_space_and_case_in_headers_do_not_matter(tmp_path):
    headers = [" id ", "НАЗВАНИЕ\u00a0 СДЕЛКИ", "бюджет   ", "ответственный", "Этап  сделки"]
    rows = [["7", "Поставка", "1 000", "Дмитрий Козлов", "Успешно реализовано"]]
    path = files.write_csv(tmp_path, headers, rows)

    result = parse_deal_file(path, path.name)

    deal = only_deal(result)
    assert result.format == "amocrm"
    assert (deal.amount, deal.status) == (Decimal("1000"), "won")
    assert result.mapping["title"] == "НАЗВАНИЕ\u00a0 СДЕЛКИ"


def test_normalize_header():
    assert normalize_header("\ufeff Дата\u00a0 создания  ЁЛКИ ") == "дата создания елки"


@pytest.mark.parametrize("closed", ["не закрыта", "Не закрыта", "", "—"])
def test_open_deal_has_no_closed_at(tmp_path, closed):
    deal = amocrm_with(tmp_path, Дата_закрытия=closed)

    assert deal.closed_at is None


def test_quoted_multiline_cells_keep_row_numbers(tmp_path):
    rows = [
        amocrm_row(Примечание='Первая строка\nвторая; с точкой с запятой\r\nи «кавычки» "внутри"'),
        amocrm_row(ID="31870460", Название_сделки='Поставка "под ключ";\nэтап 2'),
        amocrm_row(ID="31870461"),
    ]
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, rows)

    result = parse_deal_file(path, path.name)

    assert [d.row for d in result.deals] == [2, 3, 4]
    assert result.deals[0].raw["примечание"] == (
        'Первая строка\nвторая; с точкой с запятой\r\nи «кавычки» "внутри"'
    )
    assert result.deals[1].title == 'Поставка "под ключ"; этап 2'


def test_tags_are_split_and_deduplicated(tmp_path):
    deal = amocrm_with(tmp_path, Теги="Станки,  Приоритет , ,Станки")

    assert deal.tags == ["Станки", "Приоритет"]


# --- amounts and dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "amount", "currency"),
    [
        ("1 250 000", "1250000", "RUB"),
        ("1 250 000,50", "1250000.50", "RUB"),
        ("1250000.50 ₽", "1250000.50", "RUB"),
        ("1 250 000 руб.", "1250000", "RUB"),
        ("1 250 000 руб", "1250000", "RUB"),
        ("1250000р.", "1250000", "RUB"),
        ("1\u00a0250\u00a0000,50", "1250000.50", "RUB"),
        ("1\u202f250\u202f000", "1250000", "RUB"),
        ("1\u2009250\u2009000,5", "1250000.5", "RUB"),
        ("1,250,000.50", "1250000.50", "RUB"),
        ("1.250.000,50", "1250000.50", "RUB"),
        ("1250000", "1250000", "RUB"),
        ("-5000", "-5000", "RUB"),
        ("0", "0", "RUB"),
        ("1 250 000 RUB", "1250000", "RUB"),
        ("$12,500.00", "12500.00", "USD"),
        ("12 500 USD", "12500", "USD"),
        ("€ 9 900", "9900", "EUR"),
        ("9900 EUR", "9900", "EUR"),
    ],
)
def test_amount_spellings(tmp_path, written, amount, currency):
    deal = amocrm_with(tmp_path, **{"Бюджет ": written})

    assert deal.amount == Decimal(amount)
    assert deal.currency == currency


def test_empty_amount_is_none(tmp_path):
    deal = amocrm_with(tmp_path, **{"Бюджет ": ""})

    assert (deal.amount, deal.currency) == (None, "RUB")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("27.11.2026", datetime(2026, 11, 27)),
        ("27.11.2026 14:05", datetime(2026, 11, 27, 14, 5)),
        ("27.11.2026 14:05:00", datetime(2026, 11, 27, 14, 5)),
        ("27.11.2026 9:05:30", datetime(2026, 11, 27, 9, 5, 30)),
        ("27-11-2026 14:05:00", datetime(2026, 11, 27, 14, 5)),
        ("2026-11-27", datetime(2026, 11, 27)),
        ("2026-11-27T14:05:00", datetime(2026, 11, 27, 14, 5)),
        ("2026-11-27 14:05", datetime(2026, 11, 27, 14, 5)),
        ("46353", datetime(2026, 11, 27)),
        ("46353.5", datetime(2026, 11, 27, 12)),
        (
            "2026-11-27T14:05:00+03:00",
            datetime(2026, 11, 27, 14, 5, tzinfo=timezone(timedelta(hours=3))),
        ),
    ],
)
def test_date_spellings(tmp_path, written, expected):
    deal = amocrm_with(tmp_path, Дата_создания_сделки=written)

    assert deal.created_at == expected
    assert (deal.created_at.tzinfo is None) == (expected.tzinfo is None)


# --- Bitrix24 ---------------------------------------------------------------------------


def check_bitrix24_deals(result) -> None:
    assert result.format == "bitrix24"
    assert result.errors == []
    won, lost, open_ = result.deals
    assert without_raw(won) == {
        "row": 2,
        "external_id": "1024",
        "title": "Поставка серверного оборудования",
        "client": 'ООО "ТехноСервис" & партнёры',
        "segment": None,
        "manager": "Дмитрий Козлов",
        "amount": Decimal("2400000.00"),
        "currency": "RUB",
        "stage": "Сделка успешна",
        "pipeline": "Общее",
        "status": "won",
        "created_at": datetime(2026, 11, 2, 10, 15),
        # No "Дата закрытия" column: a closed deal's expected date is when it closed.
        "closed_at": datetime(2026, 11, 26),
        "tags": [],
    }
    assert won.raw["комментарий"] == "Счёт оплачен\nдоставка 30.11"
    assert (lost.status, lost.closed_at, lost.client) == (
        "lost",
        datetime(2026, 11, 20),
        "АО «ПромИнвест»",
    )
    assert (open_.status, open_.closed_at, open_.currency) == ("open", None, "USD")
    assert (open_.client, open_.amount) == ("Елена Кузнецова", Decimal("12500"))
    assert result.mapping["closed_at"] == "Предполагаемая дата закрытия"
    assert result.mapping["created_at"] == "Дата создания"


@pytest.mark.parametrize(
    ("encoding", "meta", "label"),
    [
        ("cp1251", "windows-1251", "cp1251"),
        ("cp1251", None, "cp1251"),
        ("utf-8", "utf-8", "utf-8"),
        ("utf-8", None, "utf-8"),
    ],
)
def test_bitrix24_html_xls(tmp_path, encoding, meta, label):
    path = files.write_bitrix_html(
        tmp_path, BITRIX24_HEADERS, BITRIX24_ROWS, encoding=encoding, meta_charset=meta
    )

    result = parse_deal_file(path, path.name)

    check_bitrix24_deals(result)
    assert (result.encoding, result.delimiter) == (label, None)
    assert result.headers == BITRIX24_HEADERS
    assert result.deals[0].raw["сумма"] == "2\u00a0400\u00a0000.00"


def test_bitrix24_csv(tmp_path):
    path = files.write_csv(
        tmp_path, BITRIX24_HEADERS, BITRIX24_ROWS, encoding="utf-8", delimiter=";", bom=True
    )

    check_bitrix24_deals(parse_deal_file(path, path.name))


def test_bitrix24_xlsx(tmp_path):
    path = files.write_xlsx(tmp_path, BITRIX24_HEADERS, BITRIX24_ROWS)

    check_bitrix24_deals(parse_deal_file(path, path.name))


def test_bitrix24_closing_date_column_wins_over_the_expected_one(tmp_path):
    headers = [*BITRIX24_HEADERS, "Дата закрытия"]
    rows = [[*row, "25.11.2026 18:00:00"] for row in BITRIX24_ROWS]
    path = files.write_csv(tmp_path, headers, rows)

    deals = parse_deal_file(path, path.name).deals

    assert [d.closed_at for d in deals] == [datetime(2026, 11, 25, 18)] * 3


def test_bitrix24_unknown_currency_is_a_row_error(tmp_path):
    rows = [BITRIX24_ROWS[0][:4] + ["Пиастры"] + BITRIX24_ROWS[0][5:]]
    path = files.write_csv(tmp_path, BITRIX24_HEADERS, rows)

    result = parse_deal_file(path, path.name)

    assert result.deals == []
    assert [(e.row, e.field) for e in result.errors] == [(2, "currency")]
    assert "Пиастры" in str(result.errors[0].message)


# --- statuses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "status"),
    [
        ("Успешно реализовано", "won"),
        ("Закрыто и не реализовано", "lost"),
        ("Переговоры", "open"),
        ("Первичный контакт", "open"),
        ("Сделка успешна", "won"),
        ("СДЕЛКА ПРОВАЛЕНА", "lost"),
        ("  успешно  ", "won"),
        ("Провал", "lost"),
        ("Проиграна", "lost"),
        ("Анализ причины провала", "lost"),
        ("", "open"),
    ],
)
def test_stage_gives_the_status(tmp_path, stage, status):
    deal = amocrm_with(tmp_path, Этап_сделки=stage)

    assert deal.status == status


def test_stage_map_overrides_the_built_in_names(tmp_path):
    rows = [
        amocrm_row(ID="1", Этап_сделки="Договор подписан"),
        amocrm_row(ID="2", Этап_сделки="Успешно реализовано"),
        amocrm_row(ID="3", Этап_сделки="Переговоры"),
    ]
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, rows)

    result = parse_deal_file(
        path,
        path.name,
        stage_map={"договор ПОДПИСАН": "won", "Успешно реализовано": "lost"},
    )

    assert [d.status for d in result.deals] == ["won", "lost", "open"]


def test_stage_map_with_a_bad_status_is_refused(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)

    with pytest.raises(ValueError, match="maybe"):
        parse_deal_file(path, path.name, stage_map={"Переговоры": "maybe"})


# --- the generic template -----------------------------------------------------------------


def test_generic_csv(tmp_path):
    path = files.write_csv(tmp_path, GENERIC_HEADERS, GENERIC_ROWS, encoding="utf-8", delimiter=",")

    result = parse_deal_file(path, path.name)

    assert result.format == "generic"
    assert result.errors == []
    first, second = result.deals
    assert without_raw(first) == {
        "row": 2,
        "external_id": "GEN-1",
        "title": "Модернизация котельной",
        "client": "ООО «ТеплоЭнерго»",
        "segment": "Энергетика",
        "manager": "d.kozlov@planerka.example",
        "amount": Decimal("3100000"),
        "currency": "RUB",
        "stage": "Договор",
        "pipeline": None,
        "status": "won",
        "created_at": datetime(2026, 10, 1, 9),
        "closed_at": datetime(2026, 11, 27, 14, 5),
        "tags": [],
    }
    # The template may lack an ID; the status then follows the stage.
    assert (second.external_id, second.status, second.amount) == (None, "open", None)
    assert result.mapping["manager"] == "manager_email"


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("won", "won"),
        ("LOST", "lost"),
        ("Выиграна", "won"),
        ("проиграна", "lost"),
        ("в работе", "open"),
    ],
)
def test_generic_status_words(tmp_path, written, status):
    row = list(GENERIC_ROWS[0])
    row[GENERIC_HEADERS.index("status")] = written
    path = files.write_csv(tmp_path, GENERIC_HEADERS, [row])

    assert only_deal(parse_deal_file(path, path.name)).status == status


def test_generic_unknown_status_is_a_row_error(tmp_path):
    row = list(GENERIC_ROWS[0])
    row[GENERIC_HEADERS.index("status")] = "maybe"
    path = files.write_csv(tmp_path, GENERIC_HEADERS, [row])

    result = parse_deal_file(path, path.name)

    assert [(e.row, e.field) for e in result.errors] == [(2, "status")]


def test_generic_xlsx(tmp_path):
    path = files.write_xlsx(tmp_path, GENERIC_HEADERS, GENERIC_ROWS)

    result = parse_deal_file(path, path.name)

    assert result.format == "generic"
    assert [d.title for d in result.deals] == ["Модернизация котельной", "Пилот видеоаналитики"]


# --- detection and forced formats ---------------------------------------------------------


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda d: files.write_csv(d, AMOCRM_HEADERS, AMOCRM_ROWS), "amocrm"),
        (lambda d: files.write_xlsx(d, AMOCRM_HEADERS, AMOCRM_ROWS), "amocrm"),
        (lambda d: files.write_bitrix_html(d, BITRIX24_HEADERS, BITRIX24_ROWS), "bitrix24"),
        (lambda d: files.write_csv(d, BITRIX24_HEADERS, BITRIX24_ROWS), "bitrix24"),
        (lambda d: files.write_xlsx(d, BITRIX24_HEADERS, BITRIX24_ROWS), "bitrix24"),
        (lambda d: files.write_csv(d, GENERIC_HEADERS, GENERIC_ROWS), "generic"),
        (lambda d: files.write_xlsx(d, GENERIC_HEADERS, GENERIC_ROWS), "generic"),
    ],
)
def test_format_is_detected_and_can_be_forced(tmp_path, write, expected):
    path = write(tmp_path)

    assert parse_deal_file(path, path.name).format == expected
    assert parse_deal_file(path, path.name, expected).format == expected


def test_detection_ignores_the_file_extension(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS, name="deals.xlsx")

    assert parse_deal_file(path, "deals.xlsx").format == "amocrm"


@pytest.mark.parametrize(
    ("headers", "rows", "fmt", "named"),
    [
        (GENERIC_HEADERS, GENERIC_ROWS, "amocrm", ["“ID”", "“Название сделки”", "“Ответственный”"]),
        (AMOCRM_HEADERS, AMOCRM_ROWS, "generic", ["“title”", "“manager_email”"]),
        (
            ["ID", "Название сделки", "Стадия сделки", "Сумма"],
            [["1", "Поставка", "Новая", "100"]],
            "bitrix24",
            ["“Ответственный”"],
        ),
    ],
)
def test_forced_format_names_the_missing_columns(tmp_path, headers, rows, fmt, named):
    path = files.write_csv(tmp_path, headers, rows)

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name, fmt)

    assert caught.value.code == "missing_columns"
    message = str(caught.value.message)
    assert all(name in message for name in named), message


def test_unrecognised_columns(tmp_path):
    path = files.write_csv(tmp_path, ["Имя", "Телефон", "Город"], [["Иван", "+7 900", "Тверь"]])

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name)

    assert caught.value.code == "unknown_format"


def test_unknown_format_name_is_a_programming_error(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)

    with pytest.raises(ValueError, match="salesforce"):
        parse_deal_file(path, path.name, "salesforce")


# --- overrides ------------------------------------------------------------------------------


def test_column_overrides_and_segment_column(tmp_path):
    headers = [h if h != "Бюджет " else "Сумма, руб" for h in AMOCRM_HEADERS]
    path = files.write_csv(tmp_path, headers, AMOCRM_ROWS[:1])

    result = parse_deal_file(
        path,
        path.name,
        column_overrides={"amount": "сумма, руб", "manager_email": "Кем создана сделка"},
        segment_column="Отрасль",
    )

    deal = only_deal(result)
    assert (deal.amount, deal.segment, deal.manager) == (
        Decimal("1250000"),
        "Производство",
        "Дмитрий Козлов",
    )
    assert result.mapping["amount"] == "Сумма, руб"
    assert result.mapping["segment"] == "Отрасль"


def test_override_naming_an_absent_column(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name, segment_column="Сегмент рынка")

    assert caught.value.code == "missing_columns"
    assert "Сегмент рынка" in str(caught.value)


def test_empty_overrides_keep_the_detected_columns(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS[:1])

    result = parse_deal_file(
        path, path.name, column_overrides={"amount": "", "stage": " "}, segment_column=""
    )

    assert result.mapping["amount"] == "Бюджет "
    assert only_deal(result).segment is None


def test_override_of_an_unknown_field_is_a_programming_error(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, AMOCRM_ROWS)

    with pytest.raises(ValueError, match="budget"):
        parse_deal_file(path, path.name, column_overrides={"budget": "Бюджет"})


# --- formulas -------------------------------------------------------------------------------


def test_xlsx_formula_cells_stay_text(tmp_path):
    hyperlink = '=HYPERLINK("https://example.amocrm.ru/leads/detail/31870451";"Поставка")'
    row = amocrm_row(Название_сделки=hyperlink, Компания="@Ромашка", Полное_имя_контакта="+7 495")
    row[0] = "=31870450+1"
    row[2] = -5000
    path = files.write_xlsx(tmp_path, AMOCRM_HEADERS, [row])

    deal = only_deal(parse_deal_file(path, path.name))

    assert deal.title == hyperlink
    assert deal.external_id == "=31870450+1"
    assert deal.client == "@Ромашка"
    assert deal.amount == Decimal("-5000")
    assert deal.raw["название сделки"] == hyperlink


def test_csv_formula_text_stays_text(tmp_path):
    row = amocrm_row(Название_сделки="=1+2", Компания="-ООО  Ромашка", **{"Бюджет ": "-5 000"})

    path = files.write_csv(tmp_path, AMOCRM_HEADERS, [row])
    deal = only_deal(parse_deal_file(path, path.name))

    assert (deal.title, deal.client, deal.amount) == ("=1+2", "-ООО  Ромашка", Decimal("-5000"))


def test_a_formula_in_the_amount_column_is_not_evaluated(tmp_path):
    row = amocrm_row()
    row[2] = "=1000*5"
    path = files.write_xlsx(tmp_path, AMOCRM_HEADERS, [row])

    result = parse_deal_file(path, path.name)

    assert [(e.row, e.field) for e in result.errors] == [(2, "amount")]
    assert "=1000*5" in str(result.errors[0].message)


# --- row errors ---------------------------------------------------------------------------


def test_row_errors_carry_the_row_a_person_sees(tmp_path):
    rows = [
        amocrm_row(ID="1"),
        amocrm_row(ID=""),
        amocrm_row(ID="3", **{"Бюджет ": "12abc"}),
        [],  # a blank line still counts as a row in Excel
        amocrm_row(ID="5", Дата_создания_сделки="31.02.2026"),
        amocrm_row(ID="6", Ответственный=" "),
        amocrm_row(ID="7", Название_сделки=""),
        amocrm_row(ID="8", Дата_закрытия="вчера", **{"Бюджет ": "много"}),
        amocrm_row(ID="9"),
    ]
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, rows)

    result = parse_deal_file(path, path.name)

    assert [d.row for d in result.deals] == [2, 10]
    assert [(e.row, e.field) for e in result.errors] == [
        (3, "external_id"),
        (4, "amount"),
        (6, "created_at"),
        (7, "manager"),
        (8, "title"),
        (9, "amount"),
        (9, "closed_at"),
    ]
    assert result.total_rows == 8
    messages = {(e.row, e.field): str(e.message) for e in result.errors}
    assert "“12abc”" in messages[4, "amount"]
    assert "“31.02.2026”" in messages[6, "created_at"]
    assert messages[7, "manager"] == "The deal has no responsible manager."


def test_long_bad_values_are_shortened_in_messages(tmp_path):
    deal_files_row = amocrm_row(**{"Бюджет ": "сумма " + "очень длинная " * 10})
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, [deal_files_row])

    (error,) = parse_deal_file(path, path.name).errors

    quoted = str(error.message).split("“")[1].split("”")[0]
    assert len(quoted) == 50
    assert quoted.endswith("…")


def test_messages_are_lazy_and_escape_the_file_text_in_html(tmp_path):
    path = files.write_csv(
        tmp_path, AMOCRM_HEADERS, [amocrm_row(**{"Бюджет ": "<script>alert(1)</script>"})]
    )

    (error,) = parse_deal_file(path, path.name).errors

    assert isinstance(error.message, LazyString)
    assert "<script>" in str(error.message)
    assert "<script>" not in error.message.__html__()
    assert "&lt;script&gt;" in error.message.__html__()


# --- files that are not tables --------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b";;;\r\n;;\r\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "deals.csv"
    path.write_bytes(content)

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name)

    assert caught.value.code == "empty"
    assert isinstance(caught.value.message, LazyString)


def test_header_without_rows_gives_no_deals(tmp_path):
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, [])

    result = parse_deal_file(path, path.name)

    assert (result.format, result.deals, result.errors, result.total_rows) == ("amocrm", [], [], 0)


def test_binary_garbage_is_not_a_table(tmp_path):
    path = files.write_garbage(tmp_path)

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name)

    assert caught.value.code == "binary"


def test_real_binary_xls_asks_for_xlsx_or_csv(tmp_path):
    path = files.write_biff_xls(tmp_path)

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name)

    assert caught.value.code == "legacy_xls"
    assert "XLSX" in str(caught.value.message) and "CSV" in str(caught.value.message)


def test_a_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "deals.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name)

    assert caught.value.code == "unreadable"


def test_unclosed_quote_swallowing_the_file_is_malformed(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(
        "ID;Название сделки;Ответственный\r\n"
        "1;Поставка;Дмитрий Козлов\r\n"
        '2;"Аудит склада;Анна Смирнова\r\n' + "3;Сделка;Сергей Иванов\r\n" * 10_000,
        encoding="cp1251",
    )

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name)

    assert caught.value.code == "malformed"
    assert "row 2" in str(caught.value.message)


def test_html_without_a_table(tmp_path):
    path = tmp_path / "deals.xls"
    path.write_text("<html><body><p>Доступ запрещён</p></body></html>", encoding="utf-8")

    with pytest.raises(ImportFileError) as caught:
        parse_deal_file(path, path.name)

    assert caught.value.code == "not_a_table"


# --- inputs and progress --------------------------------------------------------------------


def test_bytes_path_and_stream_give_the_same_result(tmp_path):
    path = files.write_bitrix_html(tmp_path, BITRIX24_HEADERS, BITRIX24_ROWS)

    from_path = parse_deal_file(path, path.name)
    from_bytes = parse_deal_file(path.read_bytes(), path.name)
    with path.open("rb") as stream:
        from_stream = parse_deal_file(stream, path.name)
        assert not stream.closed

    assert from_path == from_bytes == from_stream


def test_progress_is_reported_every_thousand_rows(tmp_path):
    rows = [amocrm_row(ID=str(n)) for n in range(2500)]
    path = files.write_csv(tmp_path, AMOCRM_HEADERS, rows)
    seen: list[int] = []

    result = parse_deal_file(path, path.name, progress=seen.append)

    assert seen == [1000, 2000, 2500]
    assert len(result.deals) == 2500
