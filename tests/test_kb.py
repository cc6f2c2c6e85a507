"""The knowledge base through its pages: create, version, approve, conflicts, access."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from portal.extensions import db
from portal.models import SalesTool, ToolVersion

from .conftest import HTMX, page_text


def _tool_form(**overrides):
    data = {
        "kind": "objection",
        "title": "Возражение «Дорого»",
        "summary": "Как отвечать, когда клиент говорит, что дорого",
        "body": "Клиент: Дорого.\n\nМенеджер: Давайте посчитаем стоимость владения.",
        "tags": "дорого, цена",
        "segments": "Производство",
        "status": "draft",
        "review_by": "",
        "change_note": "",
    }
    data.update(overrides)
    return data


def _versions(app, tool_id):
    with app.app_context():
        return [
            (v.number, v.title, v.change_note)
            for v in db.session.scalars(
                db.select(ToolVersion)
                .where(ToolVersion.tool_id == tool_id)
                .order_by(ToolVersion.number)
            )
        ]


def test_manager_creates_a_draft_even_when_asking_for_approved(app, client, sign_in):
    sign_in("manager")
    response = client.post("/kb/new", data=_tool_form(status="approved"))
    assert response.status_code == 303
    with app.app_context():
        tool = db.session.scalar(db.select(SalesTool))
        assert tool.status == "draft"
        assert tool.version == 1
        assert [t.name for t in tool.tags] == ["дорого", "цена"]


def test_lead_creates_an_approved_tool(app, client, sign_in):
    sign_in("lead")
    client.post("/kb/new", data=_tool_form(status="approved"))
    with app.app_context():
        assert db.session.scalar(db.select(SalesTool.status)) == "approved"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Дайте инструменту название."),
        ("kind", "spaceship", ""),
        ("title", "x" * 201, ""),
    ],
)
def test_invalid_tool_is_refused_with_422(client, sign_in, field, value, message):
    sign_in("lead")
    response = client.post("/kb/new", data=_tool_form(**{field: value}))
    assert response.status_code == 422
    if message:
        assert message in page_text(response)


def test_editing_the_body_makes_a_new_version_with_its_note(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead, title="КП на компрессоры", kind="proposal")
    response = client.post(
        f"/kb/{tool.id}/edit",
        data=_tool_form(
            kind="proposal",
            title="КП на компрессоры",
            body="Новый расчёт окупаемости",
            status="approved",
            change_note="Убрали прайс, добавили окупаемость",
            base_version="1",
        ),  # fmt: skip
    )
    assert response.status_code == 303
    assert _versions(app, tool.id) == [
        (1, "КП на компрессоры", "Первая версия"),
        (2, "КП на компрессоры", "Убрали прайс, добавили окупаемость"),
    ]
    page = page_text(client.get(f"/kb/{tool.id}/versions/1"))
    assert "Менеджер: Добрый день!" in page


def test_changing_the_body_without_a_note_is_refused(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead)
    response = client.post(
        f"/kb/{tool.id}/edit",
        data=_tool_form(
            kind="script",
            title=tool.title,
            body="другой текст",
            base_version="1",
            status="approved",
        ),  # fmt: skip
    )
    assert response.status_code == 422
    assert "Опишите, что изменилось и почему." in page_text(response)
    assert _versions(app, tool.id) == [(1, tool.title, "Первая версия")]


def test_tags_only_edit_keeps_the_version(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead)
    client.post(
        f"/kb/{tool.id}/edit",
        data=_tool_form(
            kind="script",
            title=tool.title,
            body=tool.body,
            tags="новый тег",
            base_version="1",
            status="approved",
        ),  # fmt: skip
    )
    with app.app_context():
        saved = db.session.get(SalesTool, tool.id)
        assert saved.version == 1
        assert [t.name for t in saved.tags] == ["новый тег"]


def test_stale_edit_returns_conflict_and_keeps_the_text(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead)
    first = _tool_form(kind="script", title=tool.title, body="Текст коллеги", base_version="1",
                       change_note="Правка коллеги", status="approved")  # fmt: skip
    assert client.post(f"/kb/{tool.id}/edit", data=first).status_code == 303
    mine = _tool_form(kind="script", title=tool.title, body="Мой важный текст", base_version="1",
                      change_note="Моя правка", status="approved")  # fmt: skip
    response = client.post(f"/kb/{tool.id}/edit", data=mine)
    assert response.status_code == 409
    page = page_text(response)
    assert "Мой важный текст" in page
    assert "Текст коллеги" in page
    with app.app_context():
        saved = db.session.get(SalesTool, tool.id)
        assert (saved.version, saved.body) == (2, "Текст коллеги")


def test_diff_marks_changed_words(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead, body="Срок поставки 8 недель")
    client.post(
        f"/kb/{tool.id}/edit",
        data=_tool_form(
            kind="script",
            title=tool.title,
            body="Срок поставки 6 недель",
            change_note="Срок короче",
            base_version="1",
            status="approved",
        ),  # fmt: skip
    )
    html = client.get(f"/kb/{tool.id}/diff?a=1&b=2").get_data(as_text=True)
    assert "<del>8</del>" in html
    assert "<ins>6</ins>" in html


def test_manager_cannot_see_someone_elses_draft(client, make, sign_in):
    other = make.user(role="manager")
    draft = make.tool(other, status="draft")
    sign_in("manager")
    assert client.get(f"/kb/{draft.id}").status_code == 404
    assert client.get(f"/kb/{draft.id}/versions/1").status_code == 404
    assert "Скрипт холодного звонка" not in page_text(client.get("/kb"))


def test_manager_proposes_an_edit_and_lead_accepts_it(app, client, make, auth, sign_in):
    lead = make.user(role="lead")
    tool = make.tool(lead)
    manager = sign_in("manager")
    response = client.post(
        f"/kb/{tool.id}/edit",
        data=_tool_form(
            kind="script",
            title=tool.title,
            body="Предложенный текст",
            change_note="Добавил вопрос про ЛПР",
            base_version="1",
        ),  # fmt: skip
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(SalesTool, tool.id).version == 1
    auth.logout()
    auth.login(lead.email)
    page = page_text(client.get(f"/kb/{tool.id}"))
    assert "Добавил вопрос про ЛПР" in page
    with app.app_context():
        from portal.models import ToolEditProposal

        proposal_id = db.session.scalar(db.select(ToolEditProposal.id))
    client.post(f"/kb/{tool.id}/proposals/{proposal_id}/accept")
    with app.app_context():
        saved = db.session.get(SalesTool, tool.id)
        assert (saved.version, saved.body) == (2, "Предложенный текст")
        assert manager.name in saved.versions[-1].change_note


def test_manager_cannot_approve(client, make, sign_in):
    manager = sign_in("manager")
    tool = make.tool(manager, status="draft")
    assert client.post(f"/kb/{tool.id}/status", data={"status": "approved"}).status_code == 403


def test_lead_approves_and_archives(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead, status="draft")
    client.post(f"/kb/{tool.id}/status", data={"status": "approved"})
    client.post(f"/kb/{tool.id}/status", data={"status": "archived"})
    with app.app_context():
        assert db.session.get(SalesTool, tool.id).status == "archived"
    assert tool.title not in page_text(client.get("/kb"))
    assert tool.title in page_text(client.get("/kb?status=archived"))


def test_tool_page_renders_markdown_sanitised(client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(
        lead, body="**важно**\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"
    )
    html = client.get(f"/kb/{tool.id}").get_data(as_text=True)
    assert "<strong>важно</strong>" in html
    assert "<script>alert(1)" not in html
    assert "javascript:alert" not in html


def test_hostile_title_is_shown_as_text(client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead, title="<img src=x onerror=alert(1)>")
    html = client.get(f"/kb/{tool.id}").get_data(as_text=True)
    assert "<img src=x onerror" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_preview_returns_a_fragment_for_htmx_and_a_page_otherwise(client, sign_in):
    sign_in("manager")
    fragment = client.post("/kb/preview", data={"body": "# Заголовок"}, headers=HTMX)
    assert "<h1>Заголовок</h1>" in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    page = client.post("/kb/preview", data={"body": "# Заголовок"})
    assert "<html" in page.get_data(as_text=True)


def test_library_filters_by_kind_tag_and_needs_review(app, client, make, sign_in):
    lead = sign_in("lead")
    make.tool(lead, title="Скрипт А", kind="script", tags=["холодный звонок"])
    make.tool(lead, title="КП Б", kind="proposal", tags=["окупаемость"])
    with app.app_context():
        from datetime import date

        tool = db.session.scalar(db.select(SalesTool).where(SalesTool.title == "КП Б"))
        tool.review_by = date(2020, 1, 1)
        db.session.commit()
    assert "КП Б" not in page_text(client.get("/kb?kind=script"))
    assert "Скрипт А" in page_text(client.get("/kb?kind=script"))
    assert "Скрипт А" not in page_text(client.get("/kb?tag=окупаемость"))
    needs_review = page_text(client.get("/kb?needs_review=1"))
    assert "КП Б" in needs_review and "Скрипт А" not in needs_review
    assert "Требует пересмотра" in needs_review


def test_library_list_fragment_for_htmx(client, make, sign_in):
    lead = sign_in("lead")
    make.tool(lead)
    response = client.get("/kb?kind=script", headers={**HTMX, "HX-Target": "tool-list"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="tool-list">')
    assert "HX-Request" in response.vary


def test_each_opening_of_a_tool_page_counts_one_view(app, client, make, sign_in):
    user = sign_in("manager")
    tool = make.tool(user, title="Скрипт повторного звонка")
    for expected in (1, 2):
        page = page_text(client.get(f"/kb/{tool.id}"))
        assert re.search(rf"<dt>Просмотры</dt><dd>{expected}</dd>", page), expected
    with app.app_context():
        assert db.session.get(SalesTool, tool.id).view_count == 2


class _FormFields(HTMLParser):
    """The fields of the page's tool form as a browser would send them, unchanged."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_form = False
        self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.in_form = "tool-form" in (a.get("class") or "")
        if not self.in_form or not a.get("name") and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file"):
            self.fields[a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self.select = a["name"]
            self.fields.setdefault(a["name"], "")
        elif tag == "option" and self.select and "selected" in a:
            self.fields[self.select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea] += (
                data.strip("\n") if not self.fields[self.textarea] else data
            )


def _fields_on_page(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


@pytest.mark.parametrize("role", ["manager", "lead"])
def test_the_new_tool_page_submits_as_rendered(app, client, sign_in, role):
    sign_in(role)
    page = client.get("/kb/new?kind=objection")
    fields = _fields_on_page(page.get_data(as_text=True))
    assert ("status" in fields) == (role == "lead")  # only approvers choose a status
    fields.update(title="Возражение «Нам не нужно»", body="Клиент: Нам не нужно.\n\nМенеджер: …")
    response = client.post("/kb/new", data=fields)
    assert response.status_code == 303, page_text(response)
    with app.app_context():
        assert db.session.scalar(db.select(SalesTool.status)) == "draft"


def test_a_manager_edits_their_draft_and_proposes_edits_as_the_pages_render(
    app, client, make, sign_in
):
    manager = sign_in("manager")
    own = make.tool(manager, status="draft")
    fields = _fields_on_page(client.get(f"/kb/{own.id}/edit").get_data(as_text=True))
    assert "status" not in fields
    fields.update(body="Новый текст черновика", change_note="Уточнил формулировку")
    response = client.post(f"/kb/{own.id}/edit", data=fields)
    assert response.status_code == 303, page_text(response)

    lead_tool = make.tool(make.user(role="lead"))
    fields = _fields_on_page(client.get(f"/kb/{lead_tool.id}/edit").get_data(as_text=True))
    fields.update(body="Предложенный текст", change_note="Добавил вопрос про ЛПР")
    response = client.post(f"/kb/{lead_tool.id}/edit", data=fields)
    assert response.status_code == 303, page_text(response)
    with app.app_context():
        assert db.session.get(SalesTool, own.id).body == "Новый текст черновика"
        assert db.session.get(SalesTool, lead_tool.id).body != "Предложенный текст"  # proposed
