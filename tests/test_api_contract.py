"""The API as integrations see it: the OpenAPI document, and no 500 for bad input."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate


def bearer(make, user) -> dict:
    return {"Authorization": f"Bearer {make.token(user)}"}


def test_openapi_document_is_valid_and_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        path = re.sub(r"\{\w+\}", "{id}", path, count=1)  # the object's own id is {id}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in openapi.json"


@pytest.fixture
def head_headers(make):
    return bearer(make, make.user(role="head", team="Москва"))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tools/99999999999999999999999",
        "/api/v1/deals/123456789012345678901234",
    ],
)
def test_huge_ids_in_the_path_are_404(client, head_headers, path):
    assert client.get(path, headers=head_headers).status_code == 404


def test_huge_page_number_is_422(client, head_headers):
    response = client.get("/api/v1/tools?page=999999999999999999999", headers=head_headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"kind": "script", "title": "\\ud800", "body": "x"}',
        '{"kind": "script", "title": ' + "[" * 50 + "]" * 50 + ', "body": "x"}',
    ],
    ids=["deep-nesting", "lone-surrogate", "nested-title"],
)
def test_hostile_json_is_400_or_422(client, head_headers, body):
    response = client.post(
        "/api/v1/tools", data=body, headers={**head_headers, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "0001-01-01"),
        ("closed_at", "9999-12-31T23:00:00-05:00"),
        ("amount", "много"),
        ("amount", [1]),
        ("currency", "руб"),
        ("status", "done"),
        ("client", "   "),
        ("manager_email", "nobody@example.com"),
        ("title", 12),
    ],
)
def test_invalid_deal_values_are_422(client, make, head_headers, field, value):
    manager = make.user(team="Москва")
    payload = {"title": "Сделка", "client": "ООО «Ромашка»", "manager_email": manager.email,
               "status": "won", field: value}  # fmt: skip
    response = client.post("/api/v1/deals", json=payload, headers=head_headers)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_blank_external_ids_do_not_collide(client, make, head_headers):
    manager = make.user(team="Москва")
    payload = {"title": "Сделка", "client": "ООО «Ромашка»", "manager_email": manager.email,
               "status": "open", "external_id": "   "}  # fmt: skip
    assert client.post("/api/v1/deals", json=payload, headers=head_headers).status_code == 201
    assert client.post("/api/v1/deals", json=payload, headers=head_headers).status_code == 201


def test_repeated_external_id_keeps_fields_not_sent(client, make, head_headers):
    manager = make.user(team="Москва")
    first = {"external_id": "A-1", "title": "Сделка", "client": "ООО «Ромашка»",
             "manager_email": manager.email, "status": "open", "segment": "Ритейл",
             "stage": "Переговоры", "created_at": "2026-11-01T10:00:00+03:00"}  # fmt: skip
    client.post("/api/v1/deals", json=first, headers=head_headers)
    update = {"external_id": "A-1", "status": "won", "closed_at": "2026-11-27T14:05:00+03:00"}
    response = client.post("/api/v1/deals", json=update, headers=head_headers)
    assert response.status_code == 200
    deal = response.get_json()
    assert (deal["segment"], deal["stage"], deal["status"]) == ("Ритейл", "Переговоры", "won")
    assert deal["created_at"].startswith("2026-11-01T07:00")


def test_external_id_of_another_teams_deal_is_404(client, make):
    ours = make.user(role="lead", team="Москва")
    theirs = make.user(team="Екатеринбург")
    head = make.user(role="head")
    client.post("/api/v1/deals", json={"external_id": "E-1", "title": "Их сделка", "client": "АО «Урал»",
                "manager_email": theirs.email, "status": "open"}, headers=bearer(make, head))  # fmt: skip
    own_manager = make.user(team="Москва")
    response = client.post("/api/v1/deals", json={"external_id": "E-1", "title": "Наша", "client": "ООО",
                           "manager_email": own_manager.email, "status": "open"},
                           headers=bearer(make, ours))  # fmt: skip
    assert response.status_code == 404


@pytest.mark.parametrize("base_version", [0, -5, 99, 10**30, "1"])
def test_put_with_an_impossible_base_version_is_422(client, make, base_version):
    lead = make.user(role="lead")
    tool = make.tool(lead)
    response = client.put(f"/api/v1/tools/{tool.id}", json={"body": "новый", "change_note": "x",
                          "base_version": base_version}, headers=bearer(make, lead))  # fmt: skip
    assert response.status_code == 422


@pytest.mark.parametrize("value", [10**20, 0, -1, "1", None, True])
def test_proposal_send_with_a_bad_tool_id_is_422(client, make, value):
    head = make.user(role="head")
    manager = make.user(team="Москва")
    headers = bearer(make, head)
    deal = client.post("/api/v1/deals", json={"title": "Сделка", "client": "ООО", "manager_email": manager.email,
                       "status": "open"}, headers=headers).get_json()  # fmt: skip
    response = client.post(f"/api/v1/deals/{deal['id']}/proposal-sends",
                           json={"tool_id": value, "sent_at": "2026-11-20"}, headers=headers)  # fmt: skip
    assert response.status_code == 422


def test_deal_list_with_dates_at_the_edge_is_422(client, head_headers):
    assert client.get("/api/v1/deals?to=9999-12-31", headers=head_headers).status_code == 422
    assert (
        client.get("/api/v1/deals?from=2026-11-01&to=2026-11-30", headers=head_headers).status_code
        == 200
    )
