"""Attachments through the tool page: checked by content, served safely, only to viewers."""

from __future__ import annotations

import io
from pathlib import Path

from portal.extensions import db
from portal.models import Attachment

from .conftest import page_text
from .fixtures_files import docx, png


def _upload(client, tool_id, data: bytes, name: str):
    return client.post(
        f"/kb/{tool_id}/attachments",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_docx_is_stored_and_its_text_indexed(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead)
    response = _upload(
        client, tool.id, docx(["Расчёт окупаемости компрессора за 14 месяцев"]), "КП.docx"
    )
    assert response.status_code == 303
    with app.app_context():
        attachment = db.session.scalar(db.select(Attachment))
        assert "окупаемости" in attachment.extracted_text
        assert attachment.original_name == "КП.docx"
        stored = Path(app.config["ATTACHMENTS_DIR"]) / attachment.stored_name
        assert stored.is_file()
        assert "КП" not in attachment.stored_name


def test_download_is_an_attachment_with_nosniff(client, make, sign_in, app):
    lead = sign_in("lead")
    tool = make.tool(lead)
    _upload(client, tool.id, docx(["текст"]), "Коммерческое предложение.docx")
    with app.app_context():
        attachment_id = db.session.scalar(db.select(Attachment.id))
    response = client.get(f"/kb/attachments/{attachment_id}")
    body = response.get_data()
    response.close()
    assert response.status_code == 200
    assert body.startswith(b"PK")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_spoofed_file_is_refused_and_nothing_is_left(app, client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead)
    response = _upload(client, tool.id, png(), "договор.pdf")
    assert response.status_code == 303
    page = page_text(client.get(f"/kb/{tool.id}"))
    assert "PNG" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0
    files = list(Path(app.config["ATTACHMENTS_DIR"]).iterdir())
    assert files == []


def test_oversize_upload_is_refused(app, client, make, sign_in):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    lead = sign_in("lead")
    tool = make.tool(lead)
    response = _upload(client, tool.id, b"a" * 5000, "notes.txt")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_attachment_of_a_hidden_draft_is_404(app, client, make, auth):
    owner = make.user(role="manager")
    draft = make.tool(owner, status="draft")
    auth.login(owner.email)
    _upload(client, draft.id, docx(["секрет"]), "секрет.docx")
    with app.app_context():
        attachment_id = db.session.scalar(db.select(Attachment.id))
    auth.logout()
    stranger = make.user(role="manager")
    auth.login(stranger.email)
    assert client.get(f"/kb/attachments/{attachment_id}").status_code == 404
    assert client.post(f"/kb/attachments/{attachment_id}/delete").status_code == 404


def test_htmx_upload_error_comes_back_as_a_422_fragment(client, make, sign_in):
    lead = sign_in("lead")
    tool = make.tool(lead)
    response = client.post(
        f"/kb/{tool.id}/attachments",
        data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "price.pdf")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true", "HX-Target": "attachments"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="card" id="attachments">')


def test_a_text_file_is_served_with_its_charset_once(client, make, sign_in, app):
    lead = sign_in("lead")
    tool = make.tool(lead)
    text = "Чек-лист звонка: поздороваться, назвать цель, спросить про ЛПР.\n".encode("cp1251")
    _upload(client, tool.id, text, "чек-лист.txt")
    with app.app_context():
        attachment = db.session.scalar(db.select(Attachment))
    response = client.get(f"/kb/attachments/{attachment.id}")
    response.close()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == attachment.content_type
    assert response.headers["Content-Type"].count("charset=") == 1
