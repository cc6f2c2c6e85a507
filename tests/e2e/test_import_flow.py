"""A lead uploads an amoCRM export, checks the preview, imports it and sees the deals."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..deal_files import write_csv

HEADERS = ["ID", "Название сделки", "Бюджет ", "Ответственный", "Дата создания сделки",
           "Дата закрытия", "Этап сделки", "Воронка", "Компания"]  # fmt: skip
ROWS = [
    ["90000001", "Компрессор для ООО «Хлебозавод №3»", "1 250 000", "Дмитрий Козлов",
     "01.11.2026 10:00", "20.11.2026 12:00", "Успешно реализовано", "Продажи", "ООО «Хлебозавод №3»"],
    ["90000002", "Осушитель для склада", "480 000,50", "Козлов Дмитрий",
     "05.11.2026 10:00", "не закрыта", "Переговоры", "Продажи", "АО «СеверЛогистик»"],
]  # fmt: skip


@pytest.mark.e2e
def test_lead_uploads_previews_and_imports_deals(live_server, browser, tmp_path):
    path = write_csv(tmp_path, HEADERS, ROWS, name="amocrm_export.csv")
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("a.morozov@tehpromsnab.ru")
    page.get_by_label("Пароль", exact=True).fill("planerka-demo")
    page.get_by_role("button", name="Войти").click()

    page.goto(f"{live_server}/deals/import")
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Загрузить и посмотреть").click()

    expect(page.locator("[data-testid=count-new]")).to_have_text("2")
    expect(page.locator("[data-testid=count-errors]")).to_have_text("0")
    expect(page.locator("#import-preview")).to_contain_text("amocrm")
    page.locator("[data-testid=run-import]").click()

    expect(page.locator("h1")).to_have_text("Импорт завершён")
    page.get_by_role("link", name="Посмотреть сделки").click()
    expect(page.locator("#deal-rows")).to_contain_text("Компрессор для ООО «Хлебозавод №3»")
    page.locator("select[name=status]").select_option("won")
    expect(page.locator("#deal-rows")).not_to_contain_text("Осушитель для склада")
    expect(page).to_have_url(re.compile(r".*/deals\?.*status=won.*"))
    context.close()
