"""One renderer for every error: a full page, an htmx notice or API JSON; security headers."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import UserSession
from portal.models.base import utcnow

from .conftest import HTMX, page_text


def unknown_url(client, app, sign_in, headers):
    return client.get("/no-such-page", headers=headers)


def manager_on_admin_page(client, app, sign_in, headers):
    sign_in("manager")
    return client.get("/admin/users", headers=headers)


def wrong_method(client, app, sign_in, headers):
    return client.get("/logout", headers=headers)


def body_too_large(client, app, sign_in, headers):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    return client.post("/login", data={"email": "a@b.ru", "password": "x" * 4096}, headers=headers)


def missing_csrf_token(client, app, sign_in, headers):
    return client.post(
        "/login", data={"email": "a@b.ru", "password": "x"}, headers=headers, csrf=False
    )


ERROR_CASES = [
    pytest.param(unknown_url, 404, "Страница не найдена", id="404-unknown-url"),
    pytest.param(manager_on_admin_page, 403, "У вас нет доступа к этой странице", id="403-role"),
    pytest.param(wrong_method, 405, "Это действие здесь недоступно", id="405-method"),
    pytest.param(body_too_large, 413, "Файл слишком большой", id="413-too-large"),
    pytest.param(missing_csrf_token, 400, "Не удалось разобрать запрос", id="400-csrf"),
]


@pytest.mark.parametrize(("make_request", "status", "title"), ERROR_CASES)
def test_error_is_a_full_page_for_a_browser(app, client, sign_in, make_request, status, title):
    response = make_request(client, app, sign_in, headers={})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    body = page_text(response)
    assert "<html" in body
    assert f"<h1>{title}</h1>" in body
    assert f'<p class="error-code">{status}</p>' in body
    assert "На главную" in body
    assert "HX-Retarget" not in response.headers


@pytest.mark.parametrize(("make_request", "status", "title"), ERROR_CASES)
def test_error_is_a_notice_fragment_for_htmx(app, client, sign_in, make_request, status, title):
    response = make_request(client, app, sign_in, headers=HTMX)
    assert response.status_code == status
    body = page_text(response)
    assert "<html" not in body
    assert f'data-status="{status}"' in body
    assert f"<h1>{title}</h1>" in body
    assert response.headers["HX-Retarget"] == "#notice"
    assert response.headers["HX-Reswap"] == "innerHTML"


def test_wrong_method_names_the_allowed_ones(client):
    response = client.get("/logout")
    assert "POST" in response.headers["Allow"]


def test_htmx_request_with_expired_session_is_sent_to_login(app, client, sign_in):
    sign_in("admin")
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(days=30)))
        db.session.commit()

    response = client.get(
        "/admin/users?q=a",
        headers={
            **HTMX,
            "HX-Target": "user-rows",
            "HX-Current-URL": "http://localhost/admin/users?q=a",
        },
    )
    assert response.status_code == 401
    assert "Сеанс завершён. Войдите, чтобы продолжить." in page_text(response)
    redirect = urlsplit(response.headers["HX-Redirect"])
    assert redirect.path == "/login"
    assert parse_qs(redirect.query) == {"next": ["/admin/users?q=a"]}


def test_htmx_login_redirect_never_points_off_site(client):
    response = client.get("/", headers={**HTMX, "HX-Current-URL": "https://evil.com//x"})
    assert response.status_code == 401
    target = response.headers["HX-Redirect"]
    assert target.startswith("/login")
    assert "evil.com" not in target


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v2/me"])
def test_unknown_api_path_without_a_token_is_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v2/me"])
def test_unknown_api_path_returns_json_error(client, make, path):
    user = make.user()
    response = client.get(path, headers={"Authorization": f"Bearer {make.token(user)}"})
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == "not_found"
    assert error["message"]
    assert error["fields"] == {}


def csp_directives(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/healthz", "/api/v1/me"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = csp_directives(response)
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_are_not_cached(client, sign_in):
    sign_in()
    assert "no-store" in client.get("/").headers["Cache-Control"]


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_is_not_ok_on_a_database_without_the_portals_tables(tmp_path):
    from portal import create_app
    from portal.extensions import db

    empty = tmp_path / "empty.db"  # a wrong DATABASE_URL or migrations not run
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{empty}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "search_index")})  # fmt: skip
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "detail": "database"}
    with app.app_context():
        db.create_all()
    assert app.test_client().get("/healthz").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
