"""Deals: CRM import through the page, the API and the CLI; scoping; proposal sends."""

from __future__ import annotations

import io
import re

import pytest

from portal.extensions import db
from portal.models import Deal, DealStageChange, ProposalSend, SalesTool

from .conftest import HTMX, page_text
from .deal_files import write_csv, write_xlsx

HEADERS = ["ID", "Название сделки", "Бюджет ", "Ответственный", "Дата создания сделки",
           "Дата закрытия", "Этап сделки", "Воронка", "Компания", "Компания", "Отрасль"]  # fmt: skip


def row(deal_id, title, amount, manager, stage="Успешно реализовано", closed="20.11.2026 12:00",
        client="ООО «Хлебозавод №3»", segment="Производство"):  # fmt: skip
    return [deal_id, title, amount, manager, "01.11.2026 10:00", closed, stage, "Продажи",
            client, "", segment]  # fmt: skip


@pytest.fixture
def team(make):
    lead = make.user(
        role="lead", team="Москва", name="Алексей Морозов", email="lead@tehpromsnab.ru"
    )
    kozlov = make.user(team="Москва", name="Дмитрий Козлов", email="d.kozlov@tehpromsnab.ru")
    other = make.user(role="lead", team="Екатеринбург", name="Наталья Волкова")
    popova = make.user(team="Екатеринбург", name="Мария Попова")
    return {"lead": lead, "kozlov": kozlov, "other_lead": other, "popova": popova}


def bearer(make, user) -> dict:
    return {"Authorization": f"Bearer {make.token(user)}"}


def api_import(client, headers, path, **form):
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), "format": "auto", **form}
    return client.post("/api/v1/deals/import", data=data, headers=headers,
                       content_type="multipart/form-data")  # fmt: skip


def deal_rows(app):
    with app.app_context():
        return {
            d.external_id: (d.title, d.amount, d.status, d.stage)
            for d in db.session.scalars(db.select(Deal))
        }


def test_dry_run_writes_nothing(app, client, make, team, tmp_path):
    path = write_csv(
        tmp_path, HEADERS, [row("101", "Поставка компрессоров", "1 250 000", "Дмитрий Козлов")]
    )
    response = api_import(client, bearer(make, team["lead"]), path, dry_run="true")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["created"], body["updated"], body["skipped"], body["errors"]) == (1, 0, 0, [])
    assert deal_rows(app) == {}


def test_import_then_reimport_changes_nothing(app, client, make, team, tmp_path):
    path = write_csv(tmp_path, HEADERS, [
        row("101", "Поставка компрессоров", "1 250 000", "Дмитрий Козлов"),
        row("102", "Сервисный контракт", "480 000,50", "Козлов Дмитрий", stage="Переговоры", closed="не закрыта"),
    ])  # fmt: skip
    headers = bearer(make, team["lead"])
    first = api_import(client, headers, path).get_json()
    assert (first["created"], first["updated"], first["errors"]) == (2, 0, [])
    before = deal_rows(app)
    assert before["101"][2] == "won" and before["102"][2] == "open"
    with app.app_context():
        history = db.session.scalar(db.select(db.func.count(DealStageChange.id)))
    second = api_import(client, headers, path).get_json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 2)
    assert deal_rows(app) == before
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(DealStageChange.id))) == history


GENERIC = ["title", "client", "manager_email", "amount", "stage", "status", "created_at"]


def test_a_lead_cannot_overwrite_another_teams_deal_by_importing_its_crm_id(
    app, client, make, team, tmp_path
):
    head = make.user(role="head", team=None, name="Ольга Директорова")
    moscow = write_csv(tmp_path, HEADERS, [row("901", "Москва: станки", "2 000 000", "Дмитрий Козлов")],
                       name="moscow.csv")  # fmt: skip
    assert api_import(client, bearer(make, head), moscow).get_json()["created"] == 1
    before = deal_rows(app)
    ural = write_csv(tmp_path, HEADERS, [
        row("901", "Урал: логистика", "100 000", "Мария Попова", stage="Переговоры", closed="не закрыта"),
        row("902", "Урал: склад", "300 000", "Мария Попова"),
    ], name="ural.csv")  # fmt: skip
    body = api_import(client, bearer(make, team["other_lead"]), ural).get_json()
    assert body["created"] == 0 and body["updated"] == 0
    assert [(e["row"], "901" in e["message"]) for e in body["errors"]] == [(2, True)]
    assert deal_rows(app) == before  # all or nothing: the good row waits for a fixed file
    body = api_import(client, bearer(make, team["other_lead"]), ural, skip_errors="true").get_json()
    assert (body["created"], body["updated"], body["skipped"]) == (1, 0, 1)
    assert deal_rows(app)["901"] == before["901"]


def test_a_generic_file_without_ids_imported_again_changes_nothing(
    app, client, make, team, tmp_path
):
    """No ID column: rows match deals without an ID by manager, title, client (and date)."""
    email = "d.kozlov@tehpromsnab.ru"
    rows = [
        ["Поставка компрессоров", "ООО «Хлебозавод №3»", email, "1 250 000", "КП отправлено", "open", ""],
        ["Сервисный контракт", "АО «Тулачермет»", email, "480 000", "Договор", "won", "2026-11-02"],
        ["Сервисный контракт", "АО «Тулачермет»", email, "480 000", "Договор", "won", "2026-11-02"],
    ]  # fmt: skip
    headers = bearer(make, team["lead"])
    first = api_import(client, headers, write_csv(tmp_path, GENERIC, rows), format="generic")
    assert first.status_code == 200, first.get_json()
    assert (first.get_json()["created"], first.get_json()["errors"]) == (
        3,
        [],
    )  # two alike: two deals

    def deals():
        with app.app_context():
            return sorted((d.id, d.title, d.status, d.stage, float(d.amount))
                          for d in db.session.scalars(db.select(Deal)))  # fmt: skip

    before = deals()
    again = api_import(client, headers, write_csv(tmp_path, GENERIC, rows), format="generic")
    assert (
        again.get_json()["created"],
        again.get_json()["updated"],
        again.get_json()["unchanged"],
    ) == (0, 0, 3)
    assert deals() == before

    rows[0][3:6] = ["1 300 000", "Договор", "won"]  # a later export: the first deal was won
    later = api_import(client, headers, write_csv(tmp_path, GENERIC, rows), format="generic")
    assert (
        later.get_json()["created"],
        later.get_json()["updated"],
        later.get_json()["unchanged"],
    ) == (0, 1, 2)
    after = deals()
    assert [d[0] for d in after] == [d[0] for d in before]
    assert after[0][2:] == ("won", "Договор", 1300000.0)

    rows.append(list(rows[2]))  # a third such deal in the CRM now: one new deal
    more = api_import(client, headers, write_csv(tmp_path, GENERIC, rows), format="generic",
                      dry_run="true")  # fmt: skip
    assert (more.get_json()["created"], more.get_json()["unchanged"]) == (1, 3)


def test_later_export_updates_stage_amount_and_close_date(app, client, make, team, tmp_path):
    headers = bearer(make, team["lead"])
    early = write_csv(tmp_path, HEADERS, [row("201", "Осушители", "300 000", "Дмитрий Козлов",
                                              stage="КП отправлено", closed="не закрыта")],
                      name="early.csv")  # fmt: skip
    api_import(client, headers, early)
    later = write_xlsx(tmp_path, HEADERS, [row("201", "Осушители", "350 000", "Дмитрий Козлов")])
    body = api_import(client, headers, later).get_json()
    assert (body["created"], body["updated"]) == (0, 1)
    title, amount, status, stage = deal_rows(app)["201"]
    assert (float(amount), status, stage) == (350000.0, "won", "Успешно реализовано")
    with app.app_context():
        deal = db.session.scalar(db.select(Deal))
        assert [c.stage for c in deal.stage_changes] == ["КП отправлено", "Успешно реализовано"]
        assert deal.closed_at is not None


def test_one_bad_row_means_nothing_is_written(app, client, make, team, tmp_path):
    path = write_csv(tmp_path, HEADERS, [
        row("301", "Хорошая сделка", "100 000", "Дмитрий Козлов"),
        row("302", "Плохая сумма", "сто тысяч", "Дмитрий Козлов"),
    ])  # fmt: skip
    body = api_import(client, bearer(make, team["lead"]), path).get_json()
    assert body["created"] == 0
    assert [e["row"] for e in body["errors"]] == [3]
    assert deal_rows(app) == {}


def test_skip_errors_imports_the_rest_and_writes_a_report(app, client, make, team, tmp_path):
    path = write_csv(tmp_path, HEADERS, [
        row("301", "Хорошая сделка", "100 000", "Дмитрий Козлов"),
        row("302", "Плохая дата", "100", "Дмитрий Козлов", closed="31.02.2026"),
    ])  # fmt: skip
    headers = bearer(make, team["lead"])
    body = api_import(client, headers, path, skip_errors="true").get_json()
    assert (body["created"], body["skipped"]) == (1, 1)
    assert set(deal_rows(app)) == {"301"}
    report_url = body["error_report_url"]
    assert report_url.startswith("/api/v1/")  # an integration fetches it with its token
    report = client.get(report_url, headers=headers)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    text = report.get_data(as_text=True)
    assert text.startswith("\ufeffrow;message") and "\n3;" in text.replace("\r\n", "\n")
    assert client.get(report_url).status_code == 401
    assert client.get(report_url, headers=bearer(make, team["other_lead"])).status_code == 404
    assert client.get(report_url, headers=bearer(make, team["kozlov"])).status_code == 403


def test_formula_cells_are_kept_as_text(app, client, make, team, tmp_path):
    path = write_csv(tmp_path, HEADERS, [row("401", '=HYPERLINK("http://evil","КП")', "100", "Дмитрий Козлов",
                                             client="@SUM(A1:A2)")])  # fmt: skip
    api_import(client, bearer(make, team["lead"]), path)
    with app.app_context():
        deal = db.session.scalar(db.select(Deal))
        assert deal.title == '=HYPERLINK("http://evil","КП")'
        assert deal.client == "@SUM(A1:A2)"


def test_unknown_manager_is_listed_then_mapped_in_the_preview(
    app, client, make, auth, team, tmp_path
):
    path = write_csv(tmp_path, HEADERS, [row("501", "Сделка нового", "10 000", "Пётр Неизвестный")])
    auth.login(team["lead"].email)
    upload = client.post("/deals/import", data={"file": (io.BytesIO(path.read_bytes()), "amo.csv"),
                                                "format": "auto"}, content_type="multipart/form-data")  # fmt: skip
    assert upload.status_code == 303
    preview = client.get(upload.headers["Location"])
    text = page_text(preview)
    assert "Пётр Неизвестный" in text
    token = re.search(r"/deals/import/([A-Za-z0-9_-]+)/run", preview.get_data(as_text=True)).group(
        1
    )
    mapped = client.post(f"/deals/import/{token}/managers", data={
        "name": "Пётр Неизвестный", "action": "map", "user_id": str(team["kozlov"].id),
        "format": "amocrm", "filename": "amo.csv"})  # fmt: skip
    assert mapped.status_code == 303
    assert 'data-testid="count-errors">1<' in preview.get_data(as_text=True)
    again = client.get(mapped.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="count-errors">0<' in again
    assert 'data-testid="count-new">1<' in again
    done = client.post(
        f"/deals/import/{token}/run", data={"format": "amocrm", "filename": "amo.csv"}
    )
    assert done.status_code == 200
    with app.app_context():
        deal = db.session.scalar(db.select(Deal))
        assert deal.manager_id == team["kozlov"].id


def test_lead_cannot_import_other_teams_deals(app, client, make, team, tmp_path):
    path = write_csv(tmp_path, HEADERS, [row("601", "Чужая сделка", "10", "Мария Попова")])
    body = api_import(client, bearer(make, team["lead"]), path).get_json()
    assert body["created"] == 0 and body["errors"]


def test_manager_may_not_import(client, make, team, tmp_path):
    path = write_csv(tmp_path, HEADERS, [row("701", "Сделка", "10", "Дмитрий Козлов")])
    assert api_import(client, bearer(make, team["kozlov"]), path).status_code == 403


def test_deal_lists_are_scoped(app, client, make, team):
    head = make.user(role="head")
    for user, ext in ((team["kozlov"], "A"), (team["popova"], "B")):
        response = client.post("/api/v1/deals", json={
            "external_id": ext, "title": f"Сделка {ext}", "client": "ООО «Ромашка»",
            "manager_email": user.email, "status": "won", "closed_at": "2026-11-20"},
            headers=bearer(make, head))  # fmt: skip
        assert response.status_code == 201

    def titles(user):
        data = client.get("/api/v1/deals", headers=bearer(make, user)).get_json()
        return sorted(d["title"] for d in data["items"])

    assert titles(head) == ["Сделка A", "Сделка B"]
    assert titles(team["lead"]) == ["Сделка A"]
    assert titles(team["kozlov"]) == ["Сделка A"]
    assert titles(team["popova"]) == ["Сделка B"]
    with app.app_context():
        other_id = db.session.scalar(db.select(Deal.id).where(Deal.external_id == "B"))
    assert (
        client.get(f"/api/v1/deals/{other_id}", headers=bearer(make, team["lead"])).status_code
        == 404
    )


def test_repeated_external_id_updates_the_deal(client, make, team):
    headers = bearer(make, team["lead"])
    payload = {"external_id": "X1", "title": "Сделка", "client": "ООО «Ромашка»",
               "manager_email": team["kozlov"].email, "status": "open", "amount": 1000}  # fmt: skip
    assert client.post("/api/v1/deals", json=payload, headers=headers).status_code == 201
    again = client.post(
        "/api/v1/deals", json={**payload, "status": "won", "amount": 2000}, headers=headers
    )
    assert again.status_code == 200
    assert again.get_json()["status"] == "won"


def test_proposal_send_and_reaction_through_the_api(app, client, make, team):
    lead = team["lead"]
    headers = bearer(make, lead)
    kp = make.tool(lead, title="КП на компрессоры", kind="proposal")
    script = make.tool(lead, title="Скрипт", kind="script")
    deal = client.post("/api/v1/deals", json={"title": "Сделка", "client": "ООО «Ромашка»",
                       "manager_email": team["kozlov"].email, "status": "open"}, headers=headers).get_json()  # fmt: skip
    url = f"/api/v1/deals/{deal['id']}/proposal-sends"
    bad = client.post(url, json={"tool_id": script.id, "version": 1, "sent_at": "2026-11-20T10:00:00+03:00"},
                      headers=headers)  # fmt: skip
    assert bad.status_code == 422 and "tool_id" in bad.get_json()["error"]["fields"]
    sent = client.post(url, json={"tool_id": kp.id, "version": 1, "sent_at": "2026-11-20T10:00:00+03:00"},
                       headers=headers)  # fmt: skip
    assert sent.status_code == 201
    send = sent.get_json()
    assert send["reaction"] == "none"
    patched = client.patch(f"/api/v1/proposal-sends/{send['id']}",
                           json={"reaction": "meeting", "reacted_at": "2026-11-21T16:00:00+03:00"},
                           headers=headers)  # fmt: skip
    assert patched.status_code == 200
    assert patched.get_json()["hours_to_reaction"] == 30.0
    wrong = client.patch(
        f"/api/v1/proposal-sends/{send['id']}", json={"reaction": "maybe"}, headers=headers
    )
    assert wrong.status_code == 422
    outsider = bearer(make, team["other_lead"])
    assert client.patch(f"/api/v1/proposal-sends/{send['id']}", json={"reaction": "accepted"},
                        headers=outsider).status_code == 404  # fmt: skip


def test_proposal_send_and_reaction_through_the_page(app, client, make, auth, team):
    kozlov = team["kozlov"]
    kp = make.tool(team["lead"], title="КП на осушители", kind="proposal")
    auth.login(kozlov.email)
    created = client.post("/deals/new", data={"title": "Осушители для склада", "client": "АО «СеверЛогистик»",
                          "segment": "Логистика", "manager_id": str(kozlov.id), "amount": "350000",
                          "stage": "КП", "status": "open", "closed_at": "", "external_id": ""})  # fmt: skip
    assert created.status_code == 303
    deal_url = created.headers["Location"]
    deal_id = int(deal_url.rstrip("/").split("/")[-1])
    sent = client.post(f"/deals/{deal_id}/sends", data={"tool_id": str(kp.id), "version": "",
                       "sent_at": "2026-11-20T10:00", "reaction": "none"}, headers=HTMX)  # fmt: skip
    assert sent.status_code == 200
    assert "КП на осушители" in page_text(sent)
    with app.app_context():
        send_id = db.session.scalar(db.select(ProposalSend.id))
    row = client.post(f"/proposal-sends/{send_id}/reaction",
                      data={"reaction": "accepted", "reacted_at": "2026-11-22T10:00"}, headers=HTMX)  # fmt: skip
    assert row.status_code == 200
    assert row.get_data(as_text=True).lstrip().startswith(f'<tr id="send-{send_id}">')
    assert "48.0" in page_text(row)
    assert "Осушители для склада" in page_text(client.get("/deals"))


def test_editing_a_deal_on_its_page_keeps_what_the_form_does_not_show(
    app, client, make, auth, team
):
    kozlov = team["kozlov"]
    created = client.post("/api/v1/deals", headers=bearer(make, team["lead"]), json={
        "external_id": "USD-7", "title": "Компрессор для экспорта", "client": "Kazakh Steel LLP",
        "manager_email": kozlov.email, "amount": 10000, "currency": "USD", "status": "open",
    })  # fmt: skip
    deal_id = created.get_json()["id"]
    with app.app_context():
        db.session.get(Deal, deal_id).pipeline = "Экспорт"
        db.session.commit()
    auth.login(kozlov.email)
    saved = client.post(f"/deals/{deal_id}/edit", data={
        "title": "Компрессор для экспорта (2 шт.)", "client": "Kazakh Steel LLP", "segment": "",
        "manager_id": str(kozlov.id), "amount": "10000", "stage": "", "status": "open",
        "closed_at": "", "external_id": "USD-7",
    })  # fmt: skip
    assert saved.status_code == 303
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        assert (deal.title, deal.currency, deal.pipeline) == (
            "Компрессор для экспорта (2 шт.)", "USD", "Экспорт"
        )  # fmt: skip


def test_deal_pages_take_numbers_and_dates_from_the_edge_of_the_calendar(client, auth, team):
    auth.login(team["lead"].email)
    for query in ("page=999999999999999999", "manager=99999999999999999999",
                  "team=99999999999999999999", "to=9999-12-31", "from=0001-01-01"):  # fmt: skip
        assert client.get(f"/deals?{query}").status_code == 200, query
    refused = client.post("/deals/new", data={
        "title": "Сделка из прошлого", "client": "ООО «Альфа»", "manager_id": str(team["kozlov"].id),
        "status": "won", "closed_at": "0001-01-01T00:00",
    })  # fmt: skip
    assert refused.status_code == 422
    assert "между 2000 и 2100" in page_text(refused)


def test_any_proposal_can_be_found_by_its_words_and_recorded_as_sent(app, client, make, auth, team):
    kozlov = team["kozlov"]
    old_kp = make.tool(team["lead"], title="КП на винтовые компрессоры для склада", kind="proposal")
    with app.app_context():  # 200 newer proposals push it out of the form's latest 200
        db.session.add_all(
            SalesTool(kind="proposal", title=f"КП на сервис №{i}", body="", status="approved")
            for i in range(200)
        )
        db.session.commit()
        deal_id = make.deal(kozlov, title="Компрессоры для склада").id
    auth.login(kozlov.email)
    page = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Найти КП или ТКП" in page and f'value="{old_kp.id}"' not in page

    found = client.get(f"/deals/{deal_id}/proposal-options", query_string={"proposal_q": "компрессоров"},
                       headers={**HTMX, "HX-Target": "send-tool-field"})  # fmt: skip
    assert found.status_code == 200
    assert found.get_data(as_text=True).lstrip().startswith('<div id="send-tool-field"')
    assert f'value="{old_kp.id}"' in found.get_data(as_text=True)  # another word form, found
    full = client.get(f"/deals/{deal_id}/proposal-options?proposal_q=компрессоров")
    assert "<html" in full.get_data(as_text=True) and f'value="{old_kp.id}"' in full.get_data(
        as_text=True
    )

    sent = client.post(f"/deals/{deal_id}/sends", data={"tool_id": str(old_kp.id), "version": "",
                       "sent_at": "2026-11-20T10:00", "reaction": "none"})  # fmt: skip
    assert sent.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(ProposalSend.tool_id)) == old_kp.id


def test_cli_import_deals(app, runner, make, team, tmp_path):
    make.user(role="admin")
    path = write_csv(tmp_path, HEADERS, [row("901", "CLI сделка", "5 000", "Дмитрий Козлов")])
    dry = runner.invoke(args=["import-deals", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 new" in dry.output
    assert deal_rows(app) == {}
    real = runner.invoke(args=["import-deals", str(path)])
    assert real.exit_code == 0, real.output
    assert set(deal_rows(app)) == {"901"}


def test_column_mapping_edited_in_the_preview_is_used_by_the_import(
    app, client, auth, team, tmp_path
):
    headers = [*HEADERS, "Полное имя контакта"]
    path = write_csv(
        tmp_path, headers, [[*row("801", "Сделка", "10", "Дмитрий Козлов"), "Иван Петров"]]
    )
    auth.login(team["lead"].email)
    upload = client.post("/deals/import", data={"file": (io.BytesIO(path.read_bytes()), "amo.csv"),
                                                "format": "auto"}, content_type="multipart/form-data")  # fmt: skip
    token = upload.headers["Location"].split("/deals/import/")[1].split("?")[0]
    preview = client.get(f"/deals/import/{token}?format=amocrm&name=amo.csv&map_client=Полное имя контакта",
                         headers={**HTMX, "HX-Target": "import-preview"})  # fmt: skip
    html = preview.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="import-preview">')
    assert '<option value="Полное имя контакта" selected>' in html
    done = client.post(f"/deals/import/{token}/run", data={"format": "amocrm", "filename": "amo.csv",
                                                           "map_client": "Полное имя контакта"})  # fmt: skip
    assert done.status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(Deal.client)) == "Иван Петров"


def test_forcing_the_wrong_format_is_refused(app, client, make, team, tmp_path):
    path = write_csv(tmp_path, HEADERS, [row("111", "Сделка", "1 000", "Дмитрий Козлов")])
    response = api_import(client, bearer(make, team["lead"]), path, format="bitrix24")
    assert response.status_code == 422
    assert "amoCRM" in response.get_json()["error"]["message"]
    assert deal_rows(app) == {}


def test_admin_rules_give_stages_and_segments(app, client, make, auth, team, tmp_path):
    admin = make.user(role="admin")
    auth.login(admin.email)
    saved = client.post("/admin/stages", data={"stages-mapping": "Договор подписан = won"})
    assert saved.status_code == 303
    saved = client.post(
        "/admin/stages", data={"segments-rules": "Пищевое производство = Производство"}
    )
    assert saved.status_code == 303
    page = page_text(client.get("/admin/stages"))
    assert "договор подписан = won" in page and "пищевое производство = Производство" in page
    headers = [*HEADERS, "Теги"]
    rows = [[*row("121", "Сделка", "1 000", "Дмитрий Козлов", stage="Договор подписан", segment=""),
             "Пищевое производство, Приоритет"]]  # fmt: skip
    path = write_csv(tmp_path, headers, rows)
    body = api_import(client, bearer(make, team["lead"]), path).get_json()
    assert body["created"] == 1, body
    with app.app_context():
        deal = db.session.scalar(db.select(Deal))
        assert (deal.status, deal.segment) == ("won", "Производство")
