"""Cross-site request forgery: forms and htmx need the token, the bearer-token API does not."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ApiToken, User, UserSession

from .conftest import HTMX, page_text
from .factories import DEFAULT_PASSWORD

CSRF_MESSAGE = (
    "Форма устарела или отправлена с другого сайта. Обновите страницу и попробуйте ещё раз."
)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def locale_of(app, user) -> str:
    with app.app_context():
        return db.session.get(User, user.id).locale


def test_login_without_token_is_rejected(app, client, make):
    user = make.user()
    response = client.post(
        "/login", data={"email": user.email, "password": DEFAULT_PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert CSRF_MESSAGE in page_text(response)
    assert count(app, UserSession) == 0
    assert client.get("/").status_code == 302


def test_logout_without_token_is_rejected(client, sign_in):
    sign_in()
    response = client.post("/logout", csrf=False)
    assert response.status_code == 400
    assert CSRF_MESSAGE in page_text(response)
    assert client.get("/").status_code == 200


def test_language_switch_without_token_is_rejected(app, client, sign_in):
    user = sign_in()
    response = client.post("/language", data={"lang": "en"}, csrf=False)
    assert response.status_code == 400
    assert locale_of(app, user) == "ru"


def test_token_creation_without_token_is_rejected(app, client, sign_in):
    sign_in()
    response = client.post("/profile/tokens", data={"tok-name": "CRM"}, csrf=False)
    assert response.status_code == 400
    assert count(app, ApiToken) == 0


def test_token_from_another_session_is_rejected(app, client, make, sign_in):
    sign_in()
    stranger = app.test_client()
    forged = stranger.csrf_token()
    response = client.post(
        "/profile/tokens", data={"tok-name": "CRM"}, headers={"X-CSRFToken": forged}
    )
    assert response.status_code == 400
    assert count(app, ApiToken) == 0


def test_htmx_request_without_token_gets_a_notice_fragment(app, client, sign_in):
    user = sign_in()
    response = client.post("/language", data={"lang": "en"}, headers=HTMX, csrf=False)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#notice"
    body = page_text(response)
    assert "<html" not in body
    assert CSRF_MESSAGE in body
    assert locale_of(app, user) == "ru"


def test_htmx_request_with_token_header_works(app, client, sign_in):
    user = sign_in()
    response = client.post("/language", data={"lang": "en"}, headers=HTMX)
    assert response.status_code == 303
    assert locale_of(app, user) == "en"


@pytest.fixture
def api_post_probe(app):
    """A POST endpoint inside the API blueprint: v1 has only GET endpoints so far.

    The endpoint name ``api.…`` puts it under the blueprint's CSRF exemption and
    its bearer-token check, exactly like a real API view.
    """
    from flask import jsonify

    from portal.api.auth import api_user

    def probe():
        return jsonify(email=api_user().email), 201

    app.add_url_rule("/api/v1/_probe", "api.csrf_probe", probe, methods=["POST"])
    return "/api/v1/_probe"


def test_api_post_needs_no_csrf_token(client, make, api_post_probe):
    user = make.user()
    token = make.token(user)
    response = client.post(
        api_post_probe, json={}, headers={"Authorization": f"Bearer {token}"}, csrf=False
    )
    assert response.status_code == 201
    assert response.get_json() == {"email": user.email}


def test_api_post_without_bearer_token_is_unauthorized(client, api_post_probe):
    response = client.post(api_post_probe, json={}, csrf=False)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_api_session_cookie_is_not_enough(client, sign_in, api_post_probe):
    sign_in()
    response = client.post(api_post_probe, json={})
    assert response.status_code == 401
