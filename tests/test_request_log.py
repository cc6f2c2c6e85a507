"""One JSON line per request, with nothing secret and nothing that breaks the line."""

from __future__ import annotations

import json
import logging
from urllib.parse import unquote

import pytest

LOGGER = "planerka.request"
FIELDS = {"time", "method", "path", "query", "status", "duration_ms", "user_id", "request_id"}


@pytest.fixture
def client(client):
    """Buffered responses: the line is written when the server closes the response, as
    gunicorn does after sending it; an unbuffered test response is never closed."""
    original = client.open

    def open_buffered(*args, **kwargs):
        kwargs.setdefault("buffered", True)
        return original(*args, **kwargs)

    client.open = open_buffered
    return client


@pytest.fixture
def lines(caplog):
    """The request log's messages so far, each checked to be a single line of JSON."""
    caplog.set_level(logging.INFO, logger=LOGGER)

    def lines() -> list[dict]:
        out = []
        for record in caplog.records:
            if record.name != LOGGER:
                continue
            message = record.getMessage()
            assert "\n" not in message and "\r" not in message, message
            out.append(json.loads(message))
        return out

    return lines


def test_one_line_per_request_with_the_expected_fields(client, lines):
    response = client.get("/login?next=/kb")

    [entry] = lines()
    assert set(entry) == FIELDS
    assert entry["method"] == "GET"
    assert entry["path"] == "/login"
    assert entry["query"] == "next=/kb"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["user_id"] is None
    assert entry["time"].endswith("+00:00")
    assert response.headers["X-Request-ID"] == entry["request_id"]


def test_request_id_is_taken_from_a_well_formed_header_only(client, lines):
    client.get("/healthz", headers={"X-Request-ID": "proxy-1234abcd"})
    client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})

    first, second = lines()
    assert first["request_id"] == "proxy-1234abcd"
    assert second["request_id"] != "bad id <script>" and len(second["request_id"]) == 32


def test_newlines_and_control_characters_in_the_path_stay_on_one_line(client, lines, caplog):
    client.get("/kb/%0A%0D%1B[31mfake%20200%20line%E2%80%A8%7F/x?q=%0Aevil")

    [entry] = lines()
    assert entry["status"] == 404
    assert "\n" not in entry["path"] and "\x1b" not in entry["path"]
    assert "\u2028" not in entry["path"] and "\x7f" not in entry["path"]
    assert entry["path"].startswith("/kb/\\u000a\\u000d\\u001b[31mfake 200 line")
    assert "\n" not in entry["query"]
    raw = [r.getMessage() for r in caplog.records if r.name == LOGGER][0]
    assert raw.count("\n") == 0 and "\u2028" not in raw and "\x1b" not in raw


def test_secrets_never_reach_the_log(client, make, lines, caplog):
    user = make.user(role="manager", email="log@example.ru")
    token = make.token(user)
    client.get(
        "/api/v1/tools?token=tok-SECRET-1&password=pw-SECRET-2&csrf_token=csrf-SECRET-3&kind=script",
        headers={"Authorization": f"Bearer {token}", "Cookie": "planerka_session=cookie-SECRET-4"},
    )
    client.post("/login", data={"email": user.email, "password": "pw-SECRET-5"})

    text = "\n".join(r.getMessage() for r in caplog.records if r.name == LOGGER)
    for secret in (token, "tok-SECRET-1", "pw-SECRET-2", "csrf-SECRET-3", "cookie-SECRET-4",
                   "pw-SECRET-5", client.csrf_token()):  # fmt: skip
        assert secret not in text
    api_line = lines()[0]
    assert "token=%5Bredacted%5D" in api_line["query"] or "token=[redacted]" in api_line["query"]
    assert "kind=script" in api_line["query"]


@pytest.mark.parametrize(
    "query",
    ["pwd=S3CRET", "key=S3CRET", "private_key=S3CRET", "credentials=S3CRET", "sig=S3CRET",
     "jwt=S3CRET", "refresh=S3CRET", "access_token=S3CRET", "next=/kb%3Ftoken%3DS3CRET",
     "redirect_to=https://x.ru/cb%23code%3DS3CRET"],
)  # fmt: skip
def test_credential_like_query_values_and_path_parameters_are_redacted(
    client, lines, caplog, query
):
    client.get(f"/search;token=S3CRET?{query}&q=возражения&page=2")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == LOGGER)
    assert "S3CRET" not in text
    line = lines()[-1]
    assert line["path"] == "/search;[redacted]"
    assert "q=возражения" in unquote(line["query"]) and "page=2" in line["query"]


def test_user_id_is_logged_when_signed_in(client, sign_in, lines, make):
    user = sign_in("lead")
    client.get("/kb")
    other = make.user(role="manager", email="api@example.ru")
    token = make.token(other)
    client.get("/api/v1/tools", headers={"Authorization": f"Bearer {token}"})

    entries = lines()
    kb = [e for e in entries if e["path"] == "/kb"][-1]
    api = [e for e in entries if e["path"] == "/api/v1/tools"][-1]
    assert kb["status"] == 200 and kb["user_id"] == user.id
    assert api["status"] == 200 and api["user_id"] == other.id


def test_unhandled_error_is_logged_as_500(app, client, lines):
    @app.route("/test/boom")
    def boom():
        raise RuntimeError("boom")

    client.get("/test/boom")

    assert [e["status"] for e in lines() if e["path"] == "/test/boom"] == [500]
