from .conftest import HTMX, page_text


def test_smoke_meeting_flow(app, client, make, auth):
    lead = make.user(role="lead", team="Москва")
    manager = make.user(role="manager", team="Москва", name="Дмитрий Козлов")
    spin = make.tool(lead, title="SPIN-вопросы для первой встречи", kind="technique")
    kp = make.tool(lead, title="КП на поставку компрессоров", kind="proposal")
    deal = make.deal(manager, title="Компрессоры для склада в Подольске")
    make.send(deal, kp, reaction="accepted")
    auth.login(lead.email)
    r = client.post("/meetings", data={"team_id": lead.team_id, "week": ""})
    assert r.status_code == 303, page_text(r)
    url = r.headers["Location"]
    r = client.get(url)
    assert "Компрессоры для склада" in page_text(r), page_text(r)
    mid = int(url.rstrip("/").split("/")[-1])
    r = client.get(f"/meetings/{mid}/present")
    assert r.status_code == 200, page_text(r)
    text = page_text(r)
    assert "Компрессоры для склада" in text
    r = client.post(f"/meetings/{mid}/show", data={"n": 1}, headers={**HTMX, "HX-Target": "stage"})
    assert r.status_code == 200
    r = client.get(
        f"/meetings/{mid}/deals/{deal.id}/tool-suggestions?q=spin",
        headers={**HTMX, "HX-Target": "tag-suggestions"},
    )
    assert "SPIN" in page_text(r), page_text(r)
    r = client.post(
        f"/meetings/{mid}/deals/{deal.id}/tags",
        data={"tool_id": spin.id},
        headers={**HTMX, "HX-Target": "review-tags"},
    )
    assert r.status_code == 200 and "SPIN" in page_text(r), page_text(r)
    r = client.post(
        f"/meetings/{mid}/deals/{deal.id}/key",
        data={"tool_id": spin.id},
        headers={**HTMX, "HX-Target": "review-tags"},
    )
    assert "is-key" in page_text(r)
    r = client.post(
        f"/meetings/{mid}/deals/{deal.id}/lesson",
        data={"lesson": "**Спросили** про простои", "version": 0},
        headers={**HTMX, "HX-Target": "lesson-box"},
    )
    assert r.status_code == 200 and "<strong>Спросили</strong>" in page_text(r), page_text(r)
    r = client.post(
        f"/meetings/{mid}/deals/{deal.id}/lesson",
        data={"lesson": "другое", "version": 1},
        headers={**HTMX, "HX-Target": "lesson-box"},
    )
    assert r.status_code == 409 and "другое" in page_text(r), page_text(r)
    r = client.post(
        f"/meetings/{mid}/deals/{deal.id}/actions",
        data={"text": "Обновить КП", "owner_id": manager.id},
        headers={**HTMX, "HX-Target": "review-actions"},
    )
    assert "Обновить КП" in page_text(r), page_text(r)
    r = client.post(
        f"/meetings/{mid}/deals/{deal.id}/capture",
        data={"kind": "objection", "title": "У нас уже есть поставщик"},
        headers={**HTMX, "HX-Target": "review-drafts"},
    )
    assert "У нас уже есть поставщик" in page_text(r), page_text(r)
    r = client.get(f"/meetings/{mid}/follow")
    assert r.status_code == 200
    r = client.post(f"/meetings/{mid}/close")
    assert r.status_code == 303, page_text(r)
    r = client.get(f"/meetings/{mid}/summary")
    assert "SPIN" in page_text(r)
    r = client.get(f"/meetings/{mid}/summary.md")
    assert "SPIN" in r.get_data(as_text=True)
    print(r.get_data(as_text=True))
    r = client.get(f"/deals/{deal.id}")
    assert "SPIN" in page_text(r)
    r = client.get("/meetings")
    assert r.status_code == 200
    r = client.get("/")
    assert r.status_code == 200
