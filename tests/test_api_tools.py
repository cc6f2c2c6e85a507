"""The knowledge-base part of API.md, through the real app and a bearer token."""

from __future__ import annotations

import pytest


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def lead_api(make):
    lead = make.user(role="lead", team="Москва")
    return lead, bearer(make.token(lead))


@pytest.fixture
def manager_api(make):
    manager = make.user(role="manager", team="Москва")
    return manager, bearer(make.token(manager))


TOOL = {
    "kind": "proposal",
    "title": "КП на винтовые компрессоры",
    "summary": "Для пищевого производства",
    "body": "## Решение\n\nКомпрессор **ВК-30**: 1 250 000 ₽",
    "tags": ["окупаемость", "компрессоры"],
    "segments": ["Производство"],
}


def test_create_and_get_a_tool(client, lead_api):
    _, headers = lead_api
    created = client.post("/api/v1/tools", json=TOOL, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["version"] == 1
    assert body["status"] == "draft"
    fetched = client.get(f"/api/v1/tools/{body['id']}", headers=headers).get_json()
    for key in ("id", "kind", "title", "summary", "body", "body_html", "tags", "segments",
                "status", "version", "versions", "uses_in_won_deals"):  # fmt: skip
        assert key in fetched
    assert "<strong>ВК-30</strong>" in fetched["body_html"]
    assert fetched["versions"][0]["number"] == 1
    assert fetched["uses_in_won_deals"] == 0
    assert "КП на винтовые компрессоры" in created.get_data(as_text=True)  # Cyrillic unescaped


def test_put_with_new_body_makes_version_two(client, lead_api):
    _, headers = lead_api
    tool = client.post("/api/v1/tools", json=TOOL, headers=headers).get_json()
    response = client.put(
        f"/api/v1/tools/{tool['id']}",
        json={
            **TOOL,
            "body": "Новый текст",
            "change_note": "Сократили до 2 страниц",
            "base_version": 1,
        },  # fmt: skip
        headers=headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == 2
    assert [v["change_note"] for v in body["versions"]][-1] == "Сократили до 2 страниц"
    old = client.get(f"/api/v1/tools/{tool['id']}/versions/1", headers=headers).get_json()
    assert old["body"] == TOOL["body"]
    assert {"title", "body", "body_html", "change_note"} <= old.keys()


def test_put_from_a_stale_version_is_409_and_overwrites_nothing(client, lead_api):
    _, headers = lead_api
    tool = client.post("/api/v1/tools", json=TOOL, headers=headers).get_json()
    url = f"/api/v1/tools/{tool['id']}"
    first = {**TOOL, "body": "Первая правка", "change_note": "1", "base_version": 1}
    assert client.put(url, json=first, headers=headers).status_code == 200
    stale = {**TOOL, "body": "Вторая правка", "change_note": "2", "base_version": 1}
    response = client.put(url, json=stale, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"]
    assert client.get(url, headers=headers).get_json()["body"] == "Первая правка"


def test_manager_may_not_create_approved_tools(client, manager_api):
    _, headers = manager_api
    response = client.post("/api/v1/tools", json={**TOOL, "status": "approved"}, headers=headers)
    assert response.status_code == 403
    assert client.post("/api/v1/tools", json=TOOL, headers=headers).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**TOOL, "kind": "spaceship"}, "kind"),
        ({**TOOL, "title": ""}, "title"),
        ({**TOOL, "tags": "не список"}, "tags"),
        ({**TOOL, "tags": [1, 2]}, "tags"),
        ({**TOOL, "tags": [f"тег {i}" for i in range(21)]}, "tags"),  # 20 at most, not cut
        ({**TOOL, "segments": {"name": "Ритейл"}}, "segments"),
        ({k: v for k, v in TOOL.items() if k != "body"}, "body"),
        ({**TOOL, "status": "published"}, "status"),
    ],
)
def test_invalid_values_are_422_with_fields(client, lead_api, payload, field):
    _, headers = lead_api
    response = client.post("/api/v1/tools", json=payload, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"text"'])
def test_malformed_json_is_400(client, lead_api, data):
    _, headers = lead_api
    response = client.post(
        "/api/v1/tools", data=data, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_other_peoples_drafts_are_404_for_managers(client, make, manager_api):
    other = make.user(role="manager")
    draft = make.tool(other, status="draft")
    _, headers = manager_api
    assert client.get(f"/api/v1/tools/{draft.id}", headers=headers).status_code == 404
    listing = client.get("/api/v1/tools", headers=headers).get_json()
    assert listing["total"] == 0


def test_list_is_paginated_and_filtered(client, make, lead_api):
    lead, headers = lead_api
    for n in range(3):
        make.tool(lead, title=f"Скрипт {n}", kind="script")
    make.tool(lead, title="Кейс", kind="case")
    page = client.get("/api/v1/tools?kind=script&per_page=2&page=2", headers=headers).get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (3, 2, 2, 1)
    bad = client.get("/api/v1/tools?per_page=abc", headers=headers)
    assert bad.status_code == 422


def test_tools_api_needs_a_token(client):
    assert client.get("/api/v1/tools").status_code == 401
    assert client.post("/api/v1/tools", json=TOOL).status_code == 401


def test_search_finds_word_forms_and_returns_the_contract_shape(client, make, lead_api):
    lead, headers = lead_api
    tool = make.tool(lead, title="Скрипт звонка ЛПР", body="Как дойти до ЛПРа за два звонка.")
    response = client.get("/api/v1/search?q=скриптов", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1
    hit = body["results"][0]
    assert {"id", "kind", "title", "snippet_html", "score"} <= hit.keys()
    assert hit["id"] == tool.id
    assert client.get("/api/v1/search?q=звонки", headers=headers).get_json()["total"] == 1
    assert client.get("/api/v1/search?q=ЛПР", headers=headers).get_json()["total"] == 1


def test_search_never_counts_what_the_user_may_not_see(client, make, manager_api):
    other = make.user(role="manager")
    make.tool(other, title="Черновик про окупаемость", status="draft")
    _, headers = manager_api
    body = client.get("/api/v1/search?q=окупаемость", headers=headers).get_json()
    assert body == {"total": 0, "results": []}


def test_search_filters_by_kind_and_archived_only_on_request(client, make, lead_api):
    lead, headers = lead_api
    make.tool(lead, title="Возражение дорого", kind="objection")
    make.tool(lead, title="Кейс: дорого, но окупилось", kind="case", status="archived")
    only_objections = client.get(
        "/api/v1/search?q=дорого&kind=objection", headers=headers
    ).get_json()
    assert [r["kind"] for r in only_objections["results"]] == ["objection"]
    assert client.get("/api/v1/search?q=дорого", headers=headers).get_json()["total"] == 1
    archived = client.get("/api/v1/search?q=дорого&status=archived", headers=headers).get_json()
    assert [r["kind"] for r in archived["results"]] == ["case"]


def test_search_snippet_escapes_html(client, make, lead_api):
    lead, headers = lead_api
    make.tool(lead, title="Опасный", body="<img src=x onerror=alert(1)> возражение")
    hit = client.get("/api/v1/search?q=возражение", headers=headers).get_json()["results"][0]
    assert "<img" not in hit["snippet_html"]


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=500", "kind=spaceship"])
def test_search_rejects_bad_parameters(client, lead_api, query):
    _, headers = lead_api
    response = client.get(f"/api/v1/search?q=скрипт&{query}", headers=headers)
    assert response.status_code == 422


def test_search_page_and_dropdown_fragment(client, make, sign_in):
    lead = sign_in("lead")
    make.tool(lead, title="Скрипт холодного звонка")
    page = client.get("/search?q=звонки")
    assert "<html" in page.get_data(as_text=True)
    assert "Скрипт холодного звонка" in page.get_data(as_text=True)
    fragment = client.get(
        "/search?q=звонки", headers={"HX-Request": "true", "HX-Target": "search-dropdown"}
    )
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="search-dropdown"')
    assert "Скрипт холодного звонка" in body
